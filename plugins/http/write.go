package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// WriteConfig is the configuration of http.json_write.
type WriteConfig struct {
	URL               string            `yaml:"url"`
	Method            string            `yaml:"method"`
	Mode              string            `yaml:"mode"`
	BatchSize         int               `yaml:"batch_size"`
	BatchKey          string            `yaml:"batch_key"`
	Fields            map[string]string `yaml:"fields"`
	Upsert            bool              `yaml:"upsert"`
	UpdateMethod      string            `yaml:"update_method"`
	CreateURL         string            `yaml:"create_url"`
	CreateMethod      string            `yaml:"create_method"`
	httpclient.Config `yaml:",inline"`
}

func writeSpec() sdk.Spec {
	return sdk.Spec{Fields: append([]sdk.Field{
		{Name: "url", Type: sdk.TypeString, Required: true,
			Description: "Target URL; in record mode {field} placeholders are replaced by the record's (URL-escaped) values.", Example: "https://crm.example/api/customers/{customer_no}"},
		{Name: "method", Type: sdk.TypeEnum, Enum: []string{"POST", "PUT", "PATCH"}, Default: "POST",
			Description: "HTTP method of the write.", Example: "PUT"},
		{Name: "mode", Type: sdk.TypeEnum, Enum: []string{"batch", "record"}, Default: "batch",
			Description: "Either batch (up to batch_size records per call as a JSON list) or record (one call per record).", Example: "record"},
		{Name: "batch_size", Type: sdk.TypeInt, Default: 100, Min: sdk.Int64(1), Max: sdk.Int64(100000),
			Description: "Most records per call in batch mode (e.g. 500 for Hypersoft).", Example: 500},
		{Name: "batch_key", Type: sdk.TypeString, Default: "",
			Description: "Wraps the list of a batch call in an object under this key; empty sends the bare list.", Example: "items"},
		{Name: "fields", Type: sdk.TypeMap, Elem: sdk.TypeString,
			Description: "Body of each record as dotted JSON path → record field; empty sends every record field under its own name. Decimals are sent as exact JSON numbers, dates as YYYY-MM-DD, datetimes as RFC 3339.",
			Example:     map[string]any{"id": "customer_no", "address.city": "city", "balance": "amount"}},
		{Name: "upsert", Type: sdk.TypeBool, Default: false,
			Description: "Read-modify-write per record, for APIs that replace the whole object on update: GET url, merge the mapped fields into what the API returned, send it back with update_method; on 404 create it with create_method at create_url. Needs mode: record.", Example: true},
		{Name: "update_method", Type: sdk.TypeEnum, Enum: []string{"PUT", "POST", "PATCH"}, Default: "PUT",
			Description: "Method that writes the merged object back (upsert).", Example: "POST"},
		{Name: "create_url", Type: sdk.TypeString, Default: "",
			Description: "URL (with {field} placeholders) that creates a missing object (upsert); empty uses url.", Example: "https://crm.example/api/customers"},
		{Name: "create_method", Type: sdk.TypeEnum, Enum: []string{"POST", "PUT"}, Default: "POST",
			Description: "Method that creates a missing object (upsert).", Example: "PUT"},
	}, httpclient.Fields(httpclient.Defaults{})...)}
}

const writeDescription = `Sends records as JSON. In batch mode each call carries up to batch_size records as a list
(optionally wrapped under batch_key); in record mode each record is one call to url with its
{field} placeholders filled in.

A 4xx answer (other than 401, 403, 404 without upsert, 408, 429) refuses the records of that call:
they become rejects with the API's answer as the reason and the run goes on. Connection errors,
5xx and 429 are retried (see retries, rate_limit); when retries are exhausted, or on 401/403,
the run fails (ERROR).

**upsert: true** does a read-modify-write per record: GET the current object, merge the changed
fields into it (only the mapped paths; everything else the API returned is kept), and send the
whole object back. Use it for APIs where an update replaces the whole record, such as
Hypersoft's SetCustomer: a field left out of the update would be deleted there.

In a dry run (kontor run --dry-run) every body is built but nothing is sent, not even the GETs
of upserts; the log shows the calls that would be made.`

const writeExample = `sinks:
  - type: http.json_write
    url: https://b2b.partner.example/api/customers/{customer_no}
    mode: record
    upsert: true
    auth: header
    key_header: X-Auth-Token
    api_key: ${env:PARTNER_TOKEN}
    rate_limit: 50
    fields:
      customerNo: customer_no
      name.last: last_name
      email: email`

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

type writeSink struct {
	c      WriteConfig
	step   string
	client *httpclient.Client
	logger *slog.Logger
	paths  []string // body JSON paths in a fixed order
	fields []string // record fields, parallel to paths
	dryRun bool     // env.DryRun: build every body, send nothing
	calls  int      // calls made (or, in a dry run, that would be made)
}

func newWrite(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Sink, error) {
	var c WriteConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, fmt.Errorf("http.json_write: %w", err)
	}
	var es sdk.FieldErrors
	if c.Upsert && c.Mode != "record" {
		es.Add("upsert", "needs mode: record (read-modify-write works per record)")
	}
	if c.Mode == "batch" && placeholder.MatchString(c.URL) {
		es.Add("url", "{field} placeholders need mode: record")
	}
	s := &writeSink{c: c, step: env.Step, dryRun: env.DryRun}
	for p := range c.Fields {
		if !validPath(p) {
			es.Add("fields."+p, "invalid dotted path")
		}
		s.paths = append(s.paths, p)
	}
	sortStrings(s.paths)
	for _, p := range s.paths {
		s.fields = append(s.fields, c.Fields[p])
	}
	s.logger = env.Logger
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	o, err := c.Config.Options(env.Dir, s.logger)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(es, fe...)
	} else {
		base := placeholder.ReplaceAllString(c.URL, "x")
		s.client, err = httpclient.New(base, o)
		if err != nil {
			es.Add("url", "%v", err)
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	if s.c.BatchSize <= 0 {
		s.c.BatchSize = 100
	}
	return s, nil
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// toJSON converts a value to what encoding/json writes exactly: decimals
// as json.Number (the exact text), dates as YYYY-MM-DD, datetimes RFC 3339.
func toJSON(v record.Value) any {
	switch v.Kind() {
	case record.KindNull:
		return nil
	case record.KindString:
		return v.Str()
	case record.KindInt:
		return v.Int()
	case record.KindDecimal:
		return json.Number(v.Decimal().String())
	case record.KindBool:
		return v.Bool()
	case record.KindDate:
		return v.Date().String()
	case record.KindDateTime:
		return v.Time().Format(time.RFC3339Nano)
	case record.KindList:
		l := v.List()
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = toJSON(e)
		}
		return out
	case record.KindMap:
		m := v.Map()
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = toJSON(e)
		}
		return out
	}
	return v.String()
}

// merge sets the record's mapped values into obj.
func (s *writeSink) merge(obj map[string]any, r record.Record) map[string]any {
	if len(s.paths) == 0 {
		for i, v := range r.Values {
			obj[r.Schema.Field(i).Name] = toJSON(v)
		}
		return obj
	}
	for i, p := range s.paths {
		v, _ := r.Get(s.fields[i])
		setPath(obj, p, toJSON(v))
	}
	return obj
}

func (s *writeSink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	if s.c.Mode == "record" {
		for _, r := range b.Records {
			reason, err := s.writeOne(ctx, r)
			if err != nil {
				return nil, err
			}
			if reason != "" {
				rejects = append(rejects, record.Reject{Record: r, Step: s.step, Reason: reason})
			}
		}
		return rejects, nil
	}
	err := httpclient.Chunks(len(b.Records), s.c.BatchSize, func(lo, hi int) error {
		list := make([]any, 0, hi-lo)
		for _, r := range b.Records[lo:hi] {
			list = append(list, s.merge(map[string]any{}, r))
		}
		var body any = list
		if s.c.BatchKey != "" {
			body = map[string]any{s.c.BatchKey: list}
		}
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encoding batch: %w", s.step, err)
		}
		s.calls++
		if s.dryRun {
			s.logger.Info("dry run: call not sent", "step", s.step, "method", s.c.Method, "records", hi-lo, "bytes", len(data))
			return nil
		}
		resp, err := s.client.Do(ctx, httpclient.Request{Method: s.c.Method, Path: s.c.URL, Body: data})
		if reason, ferr := s.outcome(resp, err); ferr != nil {
			return ferr
		} else if reason != "" {
			for _, r := range b.Records[lo:hi] {
				rejects = append(rejects, record.Reject{Record: r, Step: s.step, Reason: reason})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rejects, nil
}

// outcome classifies an answer: "" (ok), a reject reason, or a run error.
func (s *writeSink) outcome(resp *httpclient.Response, err error) (string, error) {
	if err == nil {
		return "", nil
	}
	var se *httpclient.StatusError
	if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 {
		switch se.Status {
		case 401, 403, 408, 429:
		default:
			return fmt.Sprintf("%s answered %d: %s", s.c.Method, se.Status, se.Body), nil
		}
	}
	return "", fmt.Errorf("%s: %w", s.step, err)
}

func (s *writeSink) expand(tmpl string, r record.Record) (string, error) {
	var missing string
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := r.Get(name)
		if !ok || v.IsNull() || v.String() == "" {
			missing = name
			return ""
		}
		return url.PathEscape(v.String())
	})
	if missing != "" {
		return "", fmt.Errorf("url placeholder {%s} has no value", missing)
	}
	return out, nil
}

func (s *writeSink) writeOne(ctx context.Context, r record.Record) (string, error) {
	u, err := s.expand(s.c.URL, r)
	if err != nil {
		return err.Error(), nil
	}
	s.calls++
	if s.dryRun {
		if _, err := json.Marshal(s.merge(map[string]any{}, r)); err != nil {
			return "", fmt.Errorf("%s: encoding record: %w", s.step, err)
		}
		s.logger.Info("dry run: call not sent", "step", s.step, "method", s.c.Method, "upsert", s.c.Upsert)
		return "", nil
	}
	if !s.c.Upsert {
		data, err := json.Marshal(s.merge(map[string]any{}, r))
		if err != nil {
			return "", fmt.Errorf("%s: encoding record: %w", s.step, err)
		}
		resp, err := s.client.Do(ctx, httpclient.Request{Method: s.c.Method, Path: u, Body: data})
		return s.outcome(resp, err)
	}
	// Read-modify-write: keep everything the API has, change only our fields.
	resp, err := s.client.Do(ctx, httpclient.Request{Path: u})
	method, target := s.c.UpdateMethod, u
	obj := map[string]any{}
	switch {
	case err == nil:
		d := json.NewDecoder(bytes.NewReader(resp.Body))
		d.UseNumber() // numbers we do not touch go back byte-exact
		if err := d.Decode(&obj); err != nil || obj == nil {
			return fmt.Sprintf("GET %s did not return a JSON object", u), nil
		}
	case httpclient.IsStatus(err, 404):
		method, target = s.c.CreateMethod, u
		if s.c.CreateURL != "" {
			if target, err = s.expand(s.c.CreateURL, r); err != nil {
				return err.Error(), nil
			}
		}
	default:
		return s.outcome(resp, err)
	}
	data, err := json.Marshal(s.merge(obj, r))
	if err != nil {
		return "", fmt.Errorf("%s: encoding record: %w", s.step, err)
	}
	resp, err = s.client.Do(ctx, httpclient.Request{Method: method, Path: target, Body: data})
	return s.outcome(resp, err)
}

func (s *writeSink) Close(ctx context.Context) error {
	verb := "calls"
	if s.dryRun {
		verb = "calls not sent (dry run)"
	}
	s.logger.Info("http.json_write summary", "step", s.step, verb, s.calls)
	return nil
}
