package httpclient

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

const redacted = "***"

// showURL renders u for messages with redacted query parameters.
func (c *Client) showURL(u *url.URL) string {
	if u.RawQuery == "" && u.User == nil {
		return u.String()
	}
	v := *u
	v.User = nil
	q := v.Query()
	for k := range q {
		if c.redact[strings.ToLower(k)] {
			q[k] = []string{redacted}
		}
	}
	v.RawQuery = q.Encode()
	return c.scrubText(v.String())
}

// scrubText replaces the API key wherever it appears.
func (c *Client) scrubText(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

type scrubbed struct{ msg string }

func (e scrubbed) Error() string { return e.msg }

func (c *Client) scrub(err error) error {
	if len(c.secrets) == 0 {
		return err
	}
	msg := err.Error()
	if s := c.scrubText(msg); s != msg {
		return scrubbed{s}
	}
	return err
}

// Redact returns body with the values of the configured secret fields
// replaced (JSON bodies; other bodies only lose the API key), cut to max
// bytes (max <= 0: no cut).
func (c *Client) Redact(body []byte, max int) string {
	s := string(body)
	if len(c.redact) > 0 && json.Valid(body) {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		var v any
		if d.Decode(&v) == nil {
			v = c.redactValue(v)
			if b, err := json.Marshal(v); err == nil {
				s = string(b)
			}
		}
	}
	s = c.scrubText(s)
	if max > 0 && len(s) > max {
		s = s[:max] + "…(cut)"
	}
	return s
}

func (c *Client) redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if c.redact[strings.ToLower(k)] {
				x[k] = redacted
			} else {
				x[k] = c.redactValue(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = c.redactValue(e)
		}
	}
	return v
}

func (c *Client) headerText(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if strings.EqualFold(k, "Authorization") || strings.EqualFold(k, c.o.KeyHeader) ||
			strings.EqualFold(k, "Cookie") || strings.EqualFold(k, "Set-Cookie") || c.redact[strings.ToLower(k)] {
			v = redacted
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(c.scrubText(v))
		b.WriteString("\n")
	}
	return b.String()
}

func (c *Client) dumpRequest(req *http.Request, body []byte) {
	c.o.Logger.Info("http dump request", "method", req.Method, "url", c.showURL(req.URL),
		"header", c.headerText(req.Header), "body", c.Redact(body, c.o.DumpKB*1024))
}

func (c *Client) dumpResponse(req *http.Request, r *Response) {
	c.o.Logger.Info("http dump response", "method", req.Method, "url", c.showURL(req.URL), "status", r.Status,
		"header", c.headerText(r.Header), "body", c.Redact(r.Body, c.o.DumpKB*1024))
}
