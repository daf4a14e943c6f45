package spec

import (
	"net"
	"net/mail"
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
)

// Notify is the top-level `notify:` key: who is told when a run of the
// pipeline ends badly. Failures to notify are logged, never fatal (see
// engine/notify).
//
//	notify:
//	  on: [error, warning]          # default: [error]
//	  webhook:
//	    url: https://hooks.example.org/kontor
//	    headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}
//	  email:
//	    smtp: mail.example.org:587  # host:port; STARTTLS is required
//	    from: kontor@example.org
//	    to: [ops@example.org]
//	    username: kontor
//	    password: ${env:SMTP_PASSWORD}
type Notify struct {
	// On lists the run statuses that notify: "ERROR" (the default) and
	// "WARNING" (upper case here; the YAML is case-insensitive).
	On      []string
	Webhook *Webhook
	Email   *Email
	Pos     diag.Pos
}

// Webhook is `notify.webhook`: a JSON POST of the run summary.
type Webhook struct {
	// URL is an absolute http or https URL (required).
	URL string
	// Headers are extra request headers (e.g. Authorization); values may
	// be secrets.
	Headers map[string]string
	Pos     diag.Pos
}

// Email is `notify.email`: a mail sent over SMTP.
type Email struct {
	// SMTP is the server as host:port (required; port 587 is usual).
	SMTP string
	// From is the sender address (required).
	From string
	// To lists the recipients (required, at least one).
	To []string
	// Username and Password authenticate with AUTH PLAIN (optional; a
	// password needs a username). Use ${env:...} for the password.
	Username string
	Password string
	// StartTLS (default true) refuses to send when the server does not
	// offer STARTTLS. false sends in the clear (only for a relay on the
	// same host).
	StartTLS bool
	Pos      diag.Pos
}

// Notifies reports whether a run that ended with status should notify.
// INVALID (the pipeline file no longer loads) counts as ERROR.
func (n *Notify) Notifies(status string) bool {
	if n == nil {
		return false
	}
	if status == "INVALID" {
		status = "ERROR"
	}
	for _, s := range n.On {
		if strings.EqualFold(s, status) {
			return true
		}
	}
	return false
}

var notifyKeys = []string{"on", "webhook", "email"}

// notify checks the `notify:` mapping.
func (l *loader) notify(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "notify must be a mapping (on, webhook, email), got %s", kindName(v))
		return
	}
	n := &Notify{On: []string{"ERROR"}, Pos: l.posOf(v)}
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "on":
			n.On = nil
			for _, e := range l.stringList(kv.val, "notify.on") {
				s, ok := l.stringValue(e, "notify.on")
				if !ok {
					continue
				}
				switch strings.ToUpper(s) {
				case "ERROR", "WARNING":
					n.On = append(n.On, strings.ToUpper(s))
				default:
					l.diags.Errorf(l.posOf(e), "enum", "notify.on: invalid status %q: expected error or warning", s)
				}
			}
		case "webhook":
			n.Webhook = l.webhook(kv.val)
		case "email":
			n.Email = l.email(kv.val)
		default:
			l.unknownKey(kv.key, "in notify", notifyKeys)
		}
	}
	if n.Webhook == nil && n.Email == nil {
		l.diags.Errorf(n.Pos, "missing-key", "notify needs a webhook or an email (or both)")
	}
	l.p.Notify = n
}

// stringList returns the items of a list, or the node itself for a scalar.
func (l *loader) stringList(v *yaml.Node, key string) []*yaml.Node {
	switch v.Kind {
	case yaml.SequenceNode:
		out := make([]*yaml.Node, 0, len(v.Content))
		for _, c := range v.Content {
			out = append(out, resolve(c))
		}
		return out
	case yaml.ScalarNode:
		return []*yaml.Node{v}
	}
	l.diags.Errorf(l.posOf(v), "type", "%s: expected a list of strings, got %s", key, kindName(v))
	return nil
}

func (l *loader) webhook(v *yaml.Node) *Webhook { return l.webhookAt(v, "notify.webhook") }

// webhookAt checks a webhook mapping (url, headers) found at key.
func (l *loader) webhookAt(v *yaml.Node, key string) *Webhook {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "%s must be a mapping (url, headers), got %s", key, kindName(v))
		return nil
	}
	w := &Webhook{Pos: l.posOf(v)}
	var urlSeen bool
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "url":
			urlSeen = true
			s, ok := l.stringValue(kv.val, key+".url")
			if !ok {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.diags.Errorf(l.posOf(kv.val), "value", "%s.url: want an absolute http:// or https:// URL, got %q", key, l.redact(s))
				continue
			}
			w.URL = s
		case "headers":
			if kv.val.Kind != yaml.MappingNode {
				l.diags.Errorf(l.posOf(kv.val), "type", "%s.headers must be a mapping of header names to values, got %s", key, kindName(kv.val))
				continue
			}
			w.Headers = map[string]string{}
			for _, h := range l.pairs(kv.val) {
				if s, ok := l.stringValue(h.val, key+".headers."+h.key.Value); ok {
					if strings.ContainsAny(h.key.Value, " :\r\n") || strings.ContainsAny(s, "\r\n") {
						l.diags.Errorf(l.posOf(h.key), "value", "%s.headers: invalid header %q", key, h.key.Value)
						continue
					}
					w.Headers[h.key.Value] = s
				}
			}
		default:
			l.unknownKey(kv.key, "in "+key, []string{"url", "headers"})
		}
	}
	if !urlSeen {
		l.diags.Errorf(w.Pos, "missing-key", "missing required key \"url\" in %s", key)
	}
	return w
}

func (l *loader) email(v *yaml.Node) *Email {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "notify.email must be a mapping (smtp, from, to, ...), got %s", kindName(v))
		return nil
	}
	e := &Email{Pos: l.posOf(v), StartTLS: true}
	addr := func(n *yaml.Node, key string) (string, bool) {
		s, ok := l.stringValue(n, key)
		if !ok {
			return "", false
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			l.diags.Errorf(l.posOf(n), "value", "%s: invalid e-mail address %q", key, s)
			return "", false
		}
		return a.Address, true
	}
	var pwPos diag.Pos
	seen := map[string]bool{}
	for _, kv := range l.pairs(v) {
		seen[kv.key.Value] = true
		switch kv.key.Value {
		case "smtp":
			if s, ok := l.stringValue(kv.val, "notify.email.smtp"); ok {
				if host, port, err := net.SplitHostPort(s); err != nil || host == "" || port == "" {
					l.diags.Errorf(l.posOf(kv.val), "value", "notify.email.smtp: want host:port (e.g. mail.example.org:587), got %q", s)
				} else {
					e.SMTP = s
				}
			}
		case "from":
			if a, ok := addr(kv.val, "notify.email.from"); ok {
				e.From = a
			}
		case "to":
			for _, n := range l.stringList(kv.val, "notify.email.to") {
				if a, ok := addr(n, "notify.email.to"); ok {
					e.To = append(e.To, a)
				}
			}
		case "username":
			if s, ok := l.stringValue(kv.val, "notify.email.username"); ok {
				e.Username = s
			}
		case "password":
			if s, ok := l.stringValue(kv.val, "notify.email.password"); ok {
				e.Password = s
				pwPos = l.posOf(kv.val)
			}
		case "starttls":
			if kv.val.Kind == yaml.ScalarNode && kv.val.ShortTag() == "!!bool" {
				e.StartTLS = kv.val.Value == "true"
			} else {
				l.diags.Errorf(l.posOf(kv.val), "type", "notify.email.starttls: expected bool, got %s", kindName(kv.val))
			}
		default:
			l.unknownKey(kv.key, "in notify.email", []string{"smtp", "from", "to", "username", "password", "starttls"})
		}
	}
	for _, key := range []string{"smtp", "from", "to"} {
		if !seen[key] {
			l.diags.Errorf(e.Pos, "missing-key", "missing required key %q in notify.email", key)
		}
	}
	if e.Password != "" && e.Username == "" {
		l.diags.Errorf(pwPos, "value", "notify.email.password needs a username")
	}
	return e
}

// redact replaces resolved secrets in s by "***" (for messages).
func (l *loader) redact(s string) string {
	for _, sec := range l.p.Secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// notifySchema is the JSON Schema of `notify:`.
var notifySchema = map[string]any{
	"type": "object", "additionalProperties": false, "description": "Notifications when a run ends ERROR (or WARNING).",
	"properties": map[string]any{
		"on": map[string]any{"type": "array", "items": map[string]any{"enum": []string{"error", "warning", "ERROR", "WARNING"}},
			"description": "Run statuses that notify; default [error]."},
		"webhook": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"url"},
			"description": "JSON POST of the run summary.",
			"properties": map[string]any{
				"url":     map[string]any{"type": "string", "description": "Absolute http(s) URL."},
				"headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "description": "Extra request headers."},
			}},
		"email": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"smtp", "from", "to"},
			"description": "Mail over SMTP with STARTTLS.",
			"properties": map[string]any{
				"smtp": map[string]any{"type": "string", "description": "Server as host:port."},
				"from": map[string]any{"type": "string", "description": "Sender address."},
				"to": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
					"description": "Recipient addresses."},
				"username": map[string]any{"type": "string", "description": "AUTH PLAIN user."},
				"password": map[string]any{"type": "string", "description": "AUTH PLAIN password; use ${env:NAME}."},
				"starttls": map[string]any{"type": "boolean", "default": true, "description": "Require STARTTLS (default true)."},
			}},
	},
}
