package tixngo

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// Conn is the connection option group of every tixngo component: the API
// URL plus the shared HTTP options (auth, TLS, retries, rate limit, dumps).
type Conn struct {
	// APIURL is the organizer API: either the S-360 style injection URL
	// ending in "organizer/tickets" or the base ("https://api.tixngo.io/v3").
	APIURL            string `yaml:"api_url"`
	httpclient.Config `yaml:",inline"`
}

// connFields returns the spec fields of Conn.
func connFields() []sdk.Field {
	f := []sdk.Field{{Name: "api_url", Type: sdk.TypeString, Required: true,
		Description: "TIXnGO organizer API: the URL ending in organizer/tickets as given by TIXnGO (S-360 style), or the base such as https://api.tixngo.io/v3; paths of the other calls are resolved against the base.",
		Example:     "https://pp5-api.tixngo.io/v3/organizer/tickets"}}
	// TIXnGO: login ignored, password = API key of the organizer ADMIN
	// account (DOC); the rate limit is not public, so stay well below a
	// minute's worth of calls by default.
	return append(f, httpclient.Fields(httpclient.Defaults{Auth: httpclient.AuthBasic, RateLimit: 60, RatePeriod: "1m", Timeout: "2m"})...)
}

// Base returns the API base URL: api_url without a trailing
// "organizer/tickets" or "organizer".
func (c Conn) Base() string {
	u := strings.TrimRight(c.APIURL, "/")
	u = strings.TrimSuffix(u, "/organizer/tickets")
	u = strings.TrimSuffix(u, "/organizer")
	return u + "/"
}

// client builds the HTTP client.
func (c Conn) client(env sdk.Env) (*httpclient.Client, error) {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o, err := c.Options(env.Dir, logger)
	if err != nil {
		return nil, err
	}
	cl, err := httpclient.New(c.Base(), o)
	if err != nil {
		return nil, sdk.FieldError{Path: "api_url", Message: err.Error()}
	}
	return cl, nil
}

func decode(cfg sdk.Config, v any) error {
	if err := cfg.Decode(v); err != nil {
		return fmt.Errorf("tixngo: %w", err)
	}
	return nil
}
