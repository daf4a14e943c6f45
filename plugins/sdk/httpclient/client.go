// Package httpclient is the HTTP layer shared by every API sink and source
// (tixngo, http.json_*, partner plugins): TLS with a custom CA, API-key
// authentication, an exact client-side rate limit, retries with exponential
// backoff and jitter that honour Retry-After, idempotency keys so re-sends
// are safe, per-request and overall timeouts, and a payload dump for
// troubleshooting with secrets redacted.
//
// Components embed Config in their config struct, add Fields(...) to their
// Spec, and build a Client with Config.Options + New:
//
//	type Config struct {
//		URL               string `yaml:"url"`
//		httpclient.Config `yaml:",inline"`
//	}
//	opts, err := cfg.Config.Options(env.Dir, env.Logger)
//	c, err := httpclient.New(cfg.URL, opts)
//	resp, err := c.Do(ctx, httpclient.Request{Method: "POST", Path: "tickets", Body: b})
package httpclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Auth modes of Options.Auth.
const (
	AuthNone   = "none"   // no credentials
	AuthBasic  = "basic"  // HTTP Basic: Username and APIKey as the password
	AuthHeader = "header" // APIKey in the header named KeyHeader
	AuthBearer = "bearer" // Authorization: Bearer APIKey
)

// Options configure a Client. The zero value of a field means its default.
type Options struct {
	// Auth is one of AuthNone (default), AuthBasic, AuthHeader, AuthBearer.
	Auth string
	// Username for AuthBasic; may be empty (TIXnGO ignores it).
	Username string
	// APIKey is the secret: the Basic password, the key header's value or the
	// bearer token. It is never logged.
	APIKey string
	// KeyHeader names the header for AuthHeader (default "X-Api-Key").
	KeyHeader string
	// Timeout bounds one attempt, including reading the body (default 30s).
	Timeout time.Duration
	// TotalTimeout bounds one Do call across all attempts and waits
	// (default 10m).
	TotalTimeout time.Duration
	// MaxAttempts is the number of attempts per Do call, the first one
	// included (default 5; 1 disables retries).
	MaxAttempts int
	// BackoffBase is the first backoff (default 500ms); attempt k waits a
	// random time in [d/2, d] with d = min(BackoffMax, BackoffBase*2^(k-1)).
	BackoffBase time.Duration
	// BackoffMax caps the backoff (default 30s).
	BackoffMax time.Duration
	// MaxRetryAfter is the longest Retry-After the client accepts (default
	// 5m); a longer one ends the call with an error instead of waiting.
	MaxRetryAfter time.Duration
	// RateLimit is the maximum number of calls (attempts, retries included)
	// in any RatePeriod (0: unlimited).
	RateLimit int
	// RatePeriod is the window of RateLimit (default 1m).
	RatePeriod time.Duration
	// Limiter, when set, is used instead of one built from RateLimit (share
	// one limiter between components that talk to the same partner).
	Limiter *Limiter
	// IdempotencyHeader names the header carrying a key that stays the same
	// across re-sends of one logical request ("" disables it). POST and PATCH
	// requests get one and then count as safe to re-send.
	IdempotencyHeader string
	// RetryStatus lists the statuses that are retried (default 408, 423,
	// 425, 429, 500, 502, 503, 504). 429 and 503 are retried for any
	// request; the others only for idempotent ones.
	RetryStatus []int
	// DumpKB > 0 logs each request and response (bodies cut to DumpKB
	// kilobytes) with the Authorization and key headers, the API key and
	// the RedactFields values replaced by "***". For troubleshooting only.
	DumpKB int
	// RedactFields are JSON keys (any depth, case-insensitive) and query
	// parameters whose values the dump replaces by "***".
	RedactFields []string
	// UserAgent is sent as User-Agent (default "kontor").
	UserAgent string
	// Header is added to every request (after the defaults).
	Header http.Header
	// MaxResponseBytes caps a response body (default 64 MiB).
	MaxResponseBytes int64
	// Logger receives retry warnings and dumps (default: discard).
	Logger *slog.Logger
	// Clock is the time source (default: the wall clock).
	Clock Clock
	// Transport is the round tripper (default: a clone of
	// http.DefaultTransport with the TLS settings of Config applied).
	Transport http.RoundTripper
	// Jitter returns a random float in [0,1) (default math/rand/v2).
	Jitter func() float64
}

// Client is a resilient HTTP client bound to a base URL. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL
	o       Options
	hc      *http.Client
	lim     *Limiter
	retry   map[int]bool
	redact  map[string]bool
	secrets []string
}

// New returns a client for base (absolute http or https URL); request paths
// are resolved against it.
func New(base string, o Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base url %q: must be an absolute http or https URL", base)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if o.Auth == "" {
		o.Auth = AuthNone
	}
	switch o.Auth {
	case AuthNone, AuthBasic, AuthHeader, AuthBearer:
	default:
		return nil, fmt.Errorf("auth %q: must be none, basic, header or bearer", o.Auth)
	}
	if o.Auth != AuthNone && o.APIKey == "" {
		return nil, fmt.Errorf("auth %s needs an api key", o.Auth)
	}
	if o.KeyHeader == "" {
		o.KeyHeader = "X-Api-Key"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Timeout, 30*time.Second)
	def(&o.TotalTimeout, 10*time.Minute)
	def(&o.BackoffBase, 500*time.Millisecond)
	def(&o.BackoffMax, 30*time.Second)
	def(&o.MaxRetryAfter, 5*time.Minute)
	def(&o.RatePeriod, time.Minute)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryStatus == nil {
		o.RetryStatus = []int{408, 423, 425, 429, 500, 502, 503, 504}
	}
	if o.UserAgent == "" {
		o.UserAgent = "kontor"
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Jitter == nil {
		o.Jitter = mrand.Float64
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	c := &Client{base: u, o: o, hc: &http.Client{Transport: o.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		retry: map[int]bool{}, redact: map[string]bool{}}
	for _, s := range o.RetryStatus {
		c.retry[s] = true
	}
	for _, f := range o.RedactFields {
		c.redact[strings.ToLower(f)] = true
	}
	if o.APIKey != "" {
		c.secrets = append(c.secrets, o.APIKey)
	}
	c.lim = o.Limiter
	if c.lim == nil {
		c.lim = NewLimiter(o.RateLimit, o.RatePeriod, o.Clock)
	}
	return c, nil
}

// Limiter returns the client's rate limiter (to share it).
func (c *Client) Limiter() *Limiter { return c.lim }

// Base returns the base URL.
func (c *Client) Base() string { return c.base.String() }

// Request is one logical call; Do may send it several times.
type Request struct {
	Method string // default GET
	// Path is resolved against the base URL ("tickets", "/v3/x", or an
	// absolute URL).
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte // sent as application/json unless Header sets Content-Type
	// Idempotent marks the request safe to re-send after a connection error
	// or a 5xx (GET, HEAD, PUT, DELETE and requests with an idempotency key
	// are idempotent anyway).
	Idempotent bool
	// IdempotencyKey is sent in Options.IdempotencyHeader; "" generates a
	// random key for POST/PATCH when the header is configured.
	IdempotencyKey string
}

// Response is the final answer of a Do call.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int // how many attempts it took
}

// StatusError is returned by Do when the final answer is not 2xx.
type StatusError struct {
	Method, URL string // URL without query secrets
	Status      int
	Body        string // start of the body (at most 512 bytes), for messages
	Attempts    int
	Header      http.Header
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.Method, e.URL, e.Status)
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// ErrRetryAfterTooLong is wrapped in the error Do returns when the server
// asks to wait longer than MaxRetryAfter or the time left.
var ErrRetryAfterTooLong = errors.New("server asks to wait longer than allowed")

// ErrTotalTimeout is wrapped in the error Do returns when the next retry
// would end after Options.TotalTimeout.
var ErrTotalTimeout = errors.New("total timeout reached")

// IsStatus reports whether err is a StatusError with status code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == code
}

// Do sends the request, retrying as configured, and returns the final 2xx
// response. A non-2xx final answer is a *StatusError; the response is then
// returned too (with its body) so callers can read per-item error bodies.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	u, err := c.base.Parse(strings.TrimPrefix(r.Path, "/"))
	if strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "://") {
		u, err = c.base.Parse(r.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("request path %q: %w", r.Path, err)
	}
	if len(r.Query) > 0 {
		q := u.Query()
		for k, vs := range r.Query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	idem := r.Idempotent
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		idem = true
	}
	key := r.IdempotencyKey
	if c.o.IdempotencyHeader != "" && (r.Method == http.MethodPost || r.Method == http.MethodPatch) {
		if key == "" {
			key = newKey()
		}
		idem = true
	}
	start := c.o.Clock.Now()
	deadline := start.Add(c.o.TotalTimeout)
	ctx, cancel := context.WithTimeout(ctx, c.o.TotalTimeout)
	defer cancel()
	shown := c.showURL(u)

	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, r, u, key)
		var wait time.Duration
		retry := false
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", r.Method, shown, errors.Join(err, ctx.Err()))
			}
			lastErr = fmt.Errorf("%s %s: %w", r.Method, shown, c.scrub(err))
			retry = idem
		} else {
			resp.Attempts = attempt
			if resp.Status >= 200 && resp.Status < 300 {
				return resp, nil
			}
			lastErr = &StatusError{Method: r.Method, URL: shown, Status: resp.Status,
				Body: snippet(c.scrubText(string(resp.Body))), Attempts: attempt, Header: resp.Header}
			if c.retry[resp.Status] && (idem || resp.Status == 429 || resp.Status == 503) {
				retry = true
				if ra, ok := retryAfter(resp.Header.Get("Retry-After"), c.o.Clock.Now()); ok {
					if ra > c.o.MaxRetryAfter {
						return resp, fmt.Errorf("%w (%s > %s): %w", ErrRetryAfterTooLong, ra, c.o.MaxRetryAfter, lastErr)
					}
					wait = ra
				}
			}
			if !retry {
				return resp, lastErr
			}
		}
		if !retry || attempt >= c.o.MaxAttempts {
			if resp != nil {
				return resp, lastErr
			}
			return nil, lastErr
		}
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if c.o.Clock.Now().Add(wait).After(deadline) {
			return resp, fmt.Errorf("%w: retry in %s would pass the total timeout %s: %w", ErrTotalTimeout, wait, c.o.TotalTimeout, lastErr)
		}
		c.o.Logger.Warn("http retry", "method", r.Method, "url", shown, "attempt", attempt, "wait", wait.String(), "error", lastErr.Error())
		if err := c.o.Clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w: %w", r.Method, shown, err, lastErr)
		}
	}
}

// backoff returns the wait before attempt+1: equal jitter over an
// exponentially growing cap.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.o.BackoffBase
	for i := 1; i < attempt && d < c.o.BackoffMax; i++ {
		d *= 2
	}
	if d > c.o.BackoffMax {
		d = c.o.BackoffMax
	}
	half := d / 2
	return half + time.Duration(c.o.Jitter()*float64(d-half))
}

func (c *Client) attempt(ctx context.Context, r Request, u *url.URL, key string) (*Response, error) {
	release, err := c.lim.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.o.UserAgent)
	req.Header.Set("Accept", "application/json")
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.o.Auth {
	case AuthBasic:
		req.SetBasicAuth(c.o.Username, c.o.APIKey)
	case AuthHeader:
		req.Header.Set(c.o.KeyHeader, c.o.APIKey)
	case AuthBearer:
		req.Header.Set("Authorization", "Bearer "+c.o.APIKey)
	}
	if key != "" {
		req.Header.Set(c.o.IdempotencyHeader, key)
	}
	for k, vs := range c.o.Header {
		req.Header[k] = vs
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if c.o.DumpKB > 0 {
		c.dumpRequest(req, r.Body)
	}
	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer hr.Body.Close()
	b, err := io.ReadAll(io.LimitReader(hr.Body, c.o.MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if int64(len(b)) > c.o.MaxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", c.o.MaxResponseBytes)
	}
	resp := &Response{Status: hr.StatusCode, Header: hr.Header, Body: b}
	if c.o.DumpKB > 0 {
		c.dumpResponse(req, resp)
	}
	return resp, nil
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(1<<62/time.Second) {
			n = int64(1 << 62 / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func snippet(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 512 {
		s = s[:512] + "…"
	}
	return s
}
