package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Config is the connection option group of every HTTP component. Embed it
// inline in the component's config struct and add Fields(defaults) to its
// Spec, so `api_key`, `rate_limit`, `retries` are spelled the same way
// everywhere.
type Config struct {
	// Auth is none, basic (api_key as the password), header (api_key in
	// KeyHeader) or bearer.
	Auth string `yaml:"auth"`
	// Username is the Basic user name.
	Username string `yaml:"username"`
	// APIKey is the secret; give it as ${env:NAME}.
	APIKey string `yaml:"api_key"`
	// KeyHeader is the header for auth: header (default X-Api-Key).
	KeyHeader string `yaml:"key_header"`
	// CAFile is a PEM file of extra trusted CAs (relative to the pipeline).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Timeout per attempt, TotalTimeout per call including retries.
	Timeout      string `yaml:"timeout"`
	TotalTimeout string `yaml:"total_timeout"`
	// Retries is the number of re-sends after the first attempt.
	Retries int `yaml:"retries"`
	// Backoff is the first retry wait, BackoffMax its cap.
	Backoff    string `yaml:"backoff"`
	BackoffMax string `yaml:"backoff_max"`
	// MaxRetryAfter is the longest Retry-After honoured.
	MaxRetryAfter string `yaml:"max_retry_after"`
	// RateLimit calls per RatePeriod at most (0: unlimited).
	RateLimit  int    `yaml:"rate_limit"`
	RatePeriod string `yaml:"rate_period"`
	// IdempotencyHeader names the idempotency-key header ("" disables).
	IdempotencyHeader string `yaml:"idempotency_header"`
	// DumpPayloadKB > 0 logs payloads (redacted) cut to that many KB.
	DumpPayloadKB int `yaml:"dump_payload_kb"`
	// RedactFields are JSON keys whose values dumps hide.
	RedactFields []string `yaml:"redact_fields"`
}

// Defaults are the per-component defaults of the option group.
type Defaults struct {
	Auth       string // default "none"
	KeyHeader  string // default "X-Api-Key"
	RateLimit  int    // default 0 (unlimited)
	RatePeriod string // default "1m"
	Retries    int    // default 4
	Timeout    string // default "30s"
}

// Fields returns the spec fields of the option group.
func Fields(d Defaults) []sdk.Field {
	if d.Auth == "" {
		d.Auth = AuthNone
	}
	if d.KeyHeader == "" {
		d.KeyHeader = "X-Api-Key"
	}
	if d.RatePeriod == "" {
		d.RatePeriod = "1m"
	}
	if d.Retries == 0 {
		d.Retries = 4
	}
	if d.Timeout == "" {
		d.Timeout = "30s"
	}
	return []sdk.Field{
		{Name: "auth", Type: sdk.TypeEnum, Enum: []string{AuthNone, AuthBasic, AuthHeader, AuthBearer}, Default: d.Auth,
			Description: "Authentication: none, basic (user name and api_key as the password), header (api_key in key_header) or bearer (api_key as a bearer token).", Example: AuthBasic},
		{Name: "username", Type: sdk.TypeString, Default: "",
			Description: "User name for basic authentication; some partners ignore it.", Example: "admin@theater.example"},
		{Name: "api_key", Type: sdk.TypeString, Secret: true,
			Description: "The API key (password, key header value or bearer token); give it as ${env:NAME} so it never lands in the pipeline file.", Example: "${env:TIXNGO_API_KEY}"},
		{Name: "key_header", Type: sdk.TypeString, Default: d.KeyHeader,
			Description: "Header that carries the API key when auth is header.", Example: "x_tixngo_key"},
		{Name: "ca_file", Type: sdk.TypeString, Default: "",
			Description: "PEM file with additional trusted certificate authorities, relative to the pipeline file.", Example: "certs/partner-ca.pem"},
		{Name: "cert_file", Type: sdk.TypeString, Default: "",
			Description: "PEM client certificate for mutual TLS, relative to the pipeline file; needs key_file.", Example: "certs/client.pem"},
		{Name: "key_file", Type: sdk.TypeString, Default: "",
			Description: "PEM private key of cert_file, relative to the pipeline file.", Example: "certs/client.key"},
		{Name: "timeout", Type: sdk.TypeDuration, Default: d.Timeout,
			Description: "Time limit of one HTTP attempt, reading the response included.", Example: "1m"},
		{Name: "total_timeout", Type: sdk.TypeDuration, Default: "10m",
			Description: "Time limit of one call across all attempts and waits; a retry that would end later is not made.", Example: "30m"},
		{Name: "retries", Type: sdk.TypeInt, Default: d.Retries, Min: sdk.Int64(0), Max: sdk.Int64(100),
			Description: "How many times a call is re-sent after a 429, a 5xx or a connection error (0 disables retries).", Example: 8},
		{Name: "backoff", Type: sdk.TypeDuration, Default: "500ms",
			Description: "First retry wait; it doubles with each retry (with random jitter between half and the full value) unless the server sends Retry-After.", Example: "1s"},
		{Name: "backoff_max", Type: sdk.TypeDuration, Default: "30s",
			Description: "Longest wait between two retries without Retry-After.", Example: "2m"},
		{Name: "max_retry_after", Type: sdk.TypeDuration, Default: "5m",
			Description: "Longest Retry-After (seconds or HTTP date) the client waits for; a longer one fails the call.", Example: "15m"},
		{Name: "rate_limit", Type: sdk.TypeInt, Default: d.RateLimit, Min: sdk.Int64(0),
			Description: "Most calls (retries included) in any rate_period window; exact, counted from the end of each call, 0 means unlimited.", Example: 50},
		{Name: "rate_period", Type: sdk.TypeDuration, Default: d.RatePeriod,
			Description: "Window of rate_limit.", Example: "1m"},
		{Name: "idempotency_header", Type: sdk.TypeString, Default: "Idempotency-Key",
			Description: "Header carrying a key that stays the same when a POST is re-sent, so the partner can drop duplicates; empty disables it.", Example: "X-Idempotency-Key"},
		{Name: "dump_payload_kb", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0),
			Description: "For troubleshooting: log every request and response, bodies cut to this many kilobytes, with the Authorization header, the API key and redact_fields hidden; 0 disables it.", Example: 5000},
		{Name: "redact_fields", Type: sdk.TypeList, Elem: sdk.TypeString,
			Description: "JSON keys (at any depth) and query parameters whose values payload dumps replace by ***.", Example: []any{"email", "barcode"}},
	}
}

// Options turns the config into client options. Relative file names are
// resolved against dir; logger may be nil.
func (c Config) Options(dir string, logger *slog.Logger) (Options, error) {
	var es sdk.FieldErrors
	dur := func(path, v string, def time.Duration) time.Duration {
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			es.Add(path, "invalid duration %q (use e.g. 30s, 5m)", v)
			return def
		}
		return d
	}
	o := Options{
		Auth: c.Auth, Username: c.Username, APIKey: c.APIKey, KeyHeader: c.KeyHeader,
		Timeout:           dur("timeout", c.Timeout, 30*time.Second),
		TotalTimeout:      dur("total_timeout", c.TotalTimeout, 10*time.Minute),
		MaxAttempts:       c.Retries + 1,
		BackoffBase:       dur("backoff", c.Backoff, 500*time.Millisecond),
		BackoffMax:        dur("backoff_max", c.BackoffMax, 30*time.Second),
		MaxRetryAfter:     dur("max_retry_after", c.MaxRetryAfter, 5*time.Minute),
		RateLimit:         c.RateLimit,
		RatePeriod:        dur("rate_period", c.RatePeriod, time.Minute),
		IdempotencyHeader: c.IdempotencyHeader,
		DumpKB:            c.DumpPayloadKB,
		RedactFields:      c.RedactFields,
		Logger:            logger,
	}
	if c.Auth != "" && c.Auth != AuthNone && c.APIKey == "" {
		es.Add("api_key", "required when auth is %s", c.Auth)
	}
	if c.Retries < 0 {
		es.Add("retries", "must not be negative")
	}
	if c.RateLimit < 0 {
		es.Add("rate_limit", "must not be negative")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		es.Add("cert_file", "cert_file and key_file go together")
	}
	if c.CAFile != "" || c.CertFile != "" {
		tc, err := c.tlsConfig(dir)
		if err != nil {
			es = append(es, err.(sdk.FieldError))
		} else {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = tc
			o.Transport = tr
		}
	}
	return o, es.Err()
}

func (c Config) tlsConfig(dir string) (*tls.Config, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(abs(c.CAFile))
		if err != nil {
			return nil, sdk.FieldError{Path: "ca_file", Message: fmt.Sprintf("reading: %v", err)}
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, sdk.FieldError{Path: "ca_file", Message: "no PEM certificate found"}
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(abs(c.CertFile), abs(c.KeyFile))
		if err != nil {
			return nil, sdk.FieldError{Path: "cert_file", Message: fmt.Sprintf("loading client certificate: %v", err)}
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Chunks calls fn for consecutive index ranges [lo,hi) of at most max
// elements covering [0,n) — request batching with a maximum batch size.
// It stops at the first error.
func Chunks(n, max int, fn func(lo, hi int) error) error {
	if max <= 0 {
		max = n
	}
	for lo := 0; lo < n; lo += max {
		hi := min(lo+max, n)
		if err := fn(lo, hi); err != nil {
			return err
		}
	}
	return nil
}
