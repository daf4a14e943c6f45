package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// ReadConfig is the configuration of http.json_read.
type ReadConfig struct {
	URL               string            `yaml:"url"`
	Query             map[string]string `yaml:"query"`
	ItemsPath         string            `yaml:"items_path"`
	Pagination        string            `yaml:"pagination"`
	CursorParam       string            `yaml:"cursor_param"`
	CursorPath        string            `yaml:"cursor_path"`
	HasMorePath       string            `yaml:"has_more_path"`
	NextURLPath       string            `yaml:"next_url_path"`
	PageParam         string            `yaml:"page_param"`
	PageStart         int               `yaml:"page_start"`
	OffsetParam       string            `yaml:"offset_param"`
	SizeParam         string            `yaml:"size_param"`
	PageSize          int               `yaml:"page_size"`
	MaxPages          int               `yaml:"max_pages"`
	SinceParam        string            `yaml:"since_param"`
	SinceFormat       string            `yaml:"since_format"`
	Fields            []FieldMap        `yaml:"fields"`
	httpclient.Config `yaml:",inline"`
}

// FieldMap maps one JSON value of an item to a record field.
type FieldMap struct {
	Name     string `yaml:"name"`
	Path     string `yaml:"path"`
	Type     string `yaml:"type"`
	Format   string `yaml:"format"`
	Required bool   `yaml:"required"`
}

var fieldTypes = []string{"string", "int", "decimal", "bool", "date", "datetime", "json"}

func readSpec() sdk.Spec {
	return sdk.Spec{Fields: append([]sdk.Field{
		{Name: "url", Type: sdk.TypeString, Required: true,
			Description: "URL of the list endpoint (absolute http or https).", Example: "https://pretix.example/api/v1/organizers/t/events/e/orders/"},
		{Name: "query", Type: sdk.TypeMap, Elem: sdk.TypeString,
			Description: "Fixed query parameters added to every page request.", Example: map[string]any{"status": "p"}},
		{Name: "items_path", Type: sdk.TypeString, Default: "",
			Description: "Dotted path of the item list in the response; empty when the response is the list itself.", Example: "results"},
		{Name: "pagination", Type: sdk.TypeEnum, Enum: []string{"none", "cursor", "page", "offset", "next_url"}, Default: "none",
			Description: "How pages are requested: none (one request), cursor (cursor_param from cursor_path of the previous page), page (page numbers), offset (item offsets) or next_url (a full URL at next_url_path).", Example: "cursor"},
		{Name: "cursor_param", Type: sdk.TypeString, Default: "cursor",
			Description: "Query parameter that carries the cursor (pagination: cursor).", Example: "starting_after"},
		{Name: "cursor_path", Type: sdk.TypeString, Default: "next_cursor",
			Description: "Dotted path of the next cursor in the response (pagination: cursor); a missing, null or empty cursor ends the read.", Example: "meta.next"},
		{Name: "has_more_path", Type: sdk.TypeString, Default: "",
			Description: "Dotted path of a boolean that says whether more pages follow; empty: a short or empty page ends the read.", Example: "has_more"},
		{Name: "next_url_path", Type: sdk.TypeString, Default: "next",
			Description: "Dotted path of the next page's URL (pagination: next_url, as pretix does).", Example: "next"},
		{Name: "page_param", Type: sdk.TypeString, Default: "page",
			Description: "Query parameter of the page number (pagination: page).", Example: "page"},
		{Name: "page_start", Type: sdk.TypeInt, Default: 1, Min: sdk.Int64(0),
			Description: "Number of the first page (pagination: page).", Example: 0},
		{Name: "offset_param", Type: sdk.TypeString, Default: "offset",
			Description: "Query parameter of the item offset (pagination: offset).", Example: "skip"},
		{Name: "size_param", Type: sdk.TypeString, Default: "limit",
			Description: "Query parameter of the page size; empty sends none.", Example: "page_size"},
		{Name: "page_size", Type: sdk.TypeInt, Default: 100, Min: sdk.Int64(1),
			Description: "Items requested per page.", Example: 50},
		{Name: "max_pages", Type: sdk.TypeInt, Default: 100000, Min: sdk.Int64(1),
			Description: "Safety bound on the number of pages per run; reaching it is an error, never an endless loop.", Example: 1000},
		{Name: "since_param", Type: sdk.TypeString, Default: "",
			Description: "Query parameter for incremental runs: set to the pipeline's watermark (changed-since); empty reads everything every run.", Example: "modified_since"},
		{Name: "since_format", Type: sdk.TypeString, Default: "rfc3339",
			Description: "Format of since_param: rfc3339, unix, or a date pattern such as YYYY-MM-DD.", Example: "unix"},
		{Name: "fields", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1),
			Description: "Record fields taken from each item, in order.",
			Children: []sdk.Field{
				{Name: "name", Type: sdk.TypeString, Required: true, Pattern: `[A-Za-z_][A-Za-z0-9_]*`,
					Description: "Record field name.", Example: "order_code"},
				{Name: "path", Type: sdk.TypeString, Default: "",
					Description: "Dotted path of the value inside the item; empty means the same as name.", Example: "invoice_address.city"},
				{Name: "type", Type: sdk.TypeEnum, Enum: fieldTypes, Default: "string",
					Description: "Record type; decimal is parsed exactly from the JSON number's text (never through a float), json keeps objects and lists.", Example: "decimal"},
				{Name: "format", Type: sdk.TypeString, Default: "",
					Description: "Date pattern for type date given as text (default YYYY-MM-DD).", Example: "DD.MM.YYYY"},
				{Name: "required", Type: sdk.TypeBool, Default: false,
					Description: "Reject items where the value is missing or null.", Example: true},
			}},
	}, httpclient.Fields(httpclient.Defaults{})...)}
}

func readSchema(cfg sdk.Config) (*record.Schema, error) {
	var c ReadConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	return schemaOf(c.Fields)
}

func schemaOf(fs []FieldMap) (*record.Schema, error) {
	out := make([]record.Field, len(fs))
	for i, f := range fs {
		k := record.KindString
		switch f.Type {
		case "int":
			k = record.KindInt
		case "decimal":
			k = record.KindDecimal
		case "bool":
			k = record.KindBool
		case "date":
			k = record.KindDate
		case "datetime":
			k = record.KindDateTime
		case "json":
			k = record.KindNull
		}
		out[i] = record.Field{Name: f.Name, Kind: k}
	}
	return record.NewSchema(out...)
}

const readDescription = `Reads a JSON list API page by page and turns each item into a record.

Pagination is by cursor (cursor_param ← cursor_path, has_more_path optional), page number,
offset or next URL; every read is bounded by max_pages. With since_param set, an incremental
pipeline sends its watermark (Env.Since, the start of the last OK/WARNING run minus the overlap)
so each run reads only what changed.

Each field takes the value at its dotted path and converts it: decimals come from the JSON
number's own text (json.Number), so 0.1 stays exactly 0.1; a value that does not fit its type
rejects the item with the field and reason, and the read goes on. An item with a key that occurs
twice in one object is rejected too, naming the key and the line and column of both occurrences
in the response (JSON readers differ on which value counts); the same in the rest of the page
(cursors, has_more) fails the read. A rejected item keeps its JSON text, up to 4 KiB, in the
reject's field _json, so the rejects file shows what came.`

const readExample = `source:
  type: http.json_read
  url: https://shop.example/api/orders
  auth: bearer
  api_key: ${env:SHOP_TOKEN}
  items_path: data
  pagination: cursor
  cursor_param: cursor
  cursor_path: meta.next_cursor
  since_param: updated_since
  rate_limit: 50
  fields:
    - {name: order_id, path: id, required: true}
    - {name: amount, path: total.amount, type: decimal}
    - {name: ordered_at, path: created_at, type: datetime}`

type readSource struct {
	c      ReadConfig
	step   string
	client *httpclient.Client
	schema *record.Schema
	since  time.Time
	logger *slog.Logger

	page    int
	cursor  string
	nextURL string
	offset  int
	done    bool
	count   int64
	// rejSchema is schema plus _json, the item's text (see rejectRecord).
	rejSchema *record.Schema
}

func newRead(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Source, error) {
	var c ReadConfig
	if err := cfg.Decode(&c); err != nil {
		return nil, fmt.Errorf("http.json_read: %w", err)
	}
	var es sdk.FieldErrors
	schema, err := schemaOf(c.Fields)
	if err != nil {
		es.Add("fields", "%v", err)
	}
	for i, f := range c.Fields {
		if f.Path != "" && !validPath(f.Path) {
			es.Add(fmt.Sprintf("fields[%d].path", i), "invalid dotted path %q", f.Path)
		}
	}
	if c.SinceFormat != "" && c.SinceFormat != "rfc3339" && c.SinceFormat != "unix" && !strings.ContainsAny(c.SinceFormat, "YMDhms") {
		es.Add("since_format", "use rfc3339, unix or a date pattern such as YYYY-MM-DD")
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o, err := c.Config.Options(env.Dir, logger)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(es, fe...)
	}
	var cl *httpclient.Client
	if err == nil {
		cl, err = httpclient.New(c.URL, o)
		if err != nil {
			es.Add("url", "%v", err)
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	if c.MaxPages <= 0 {
		c.MaxPages = 100000
	}
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
	return &readSource{c: c, step: env.Step, client: cl, schema: schema, since: env.Since, logger: logger, page: 0, offset: 0}, nil
}

func (s *readSource) formatSince() string {
	switch s.c.SinceFormat {
	case "", "rfc3339":
		return s.since.UTC().Format(time.RFC3339)
	case "unix":
		return strconv.FormatInt(s.since.Unix(), 10)
	}
	return s.since.Format(record.GoLayout(s.c.SinceFormat))
}

func (s *readSource) Next(ctx context.Context) (*record.Batch, error) {
	for !s.done {
		if s.page >= s.c.MaxPages {
			return nil, fmt.Errorf("%s: more than max_pages=%d pages; raise max_pages if this is expected", s.step, s.c.MaxPages)
		}
		req := httpclient.Request{Path: s.client.Base(), Query: url.Values{}}
		for k, v := range s.c.Query {
			req.Query.Set(k, v)
		}
		if s.c.SinceParam != "" && !s.since.IsZero() {
			req.Query.Set(s.c.SinceParam, s.formatSince())
		}
		if s.c.SizeParam != "" && s.c.Pagination != "none" {
			req.Query.Set(s.c.SizeParam, strconv.Itoa(s.c.PageSize))
		}
		switch s.c.Pagination {
		case "cursor":
			if s.cursor != "" {
				req.Query.Set(s.c.CursorParam, s.cursor)
			}
		case "page":
			req.Query.Set(s.c.PageParam, strconv.Itoa(s.c.PageStart+s.page))
		case "offset":
			req.Query.Set(s.c.OffsetParam, strconv.Itoa(s.offset))
		case "next_url":
			if s.nextURL != "" {
				req = httpclient.Request{Path: s.nextURL} // the next URL carries every parameter
			}
		}
		s.page++
		resp, err := s.client.Do(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("%s: page %d: %w", s.step, s.page, err)
		}
		doc, err := decodeJSON(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("%s: page %d: %w", s.step, s.page, err)
		}
		raw, ok := getPath(doc, s.c.ItemsPath)
		items, isList := raw.([]any)
		if !ok || (!isList && raw != nil) {
			return nil, fmt.Errorf("%s: page %d: no list at items_path %q", s.step, s.page, s.c.ItemsPath)
		}
		spans, dups := scanJSON(resp.Body, s.c.ItemsPath)
		var segs []string
		if s.c.ItemsPath != "" {
			segs = strings.Split(s.c.ItemsPath, ".")
		}
		if d, ok := outsideItems(dups, segs); ok {
			return nil, fmt.Errorf("%s: page %d: invalid JSON: %s", s.step, s.page, dupReason(resp.Body, d))
		}
		s.advance(doc, len(items))
		if len(items) == 0 {
			continue
		}
		b := &record.Batch{Records: make([]record.Record, 0, len(items))}
		origin := record.Origin{File: "GET " + s.client.Base() + " page " + strconv.Itoa(s.page)}
		for i, it := range items {
			s.count++
			o := origin
			o.Path = fmt.Sprintf("%s[%d]", strings.TrimPrefix(s.c.ItemsPath+"", ""), i)
			if s.c.ItemsPath == "" {
				o.Path = fmt.Sprintf("[%d]", i)
			}
			o.Index = s.count
			r := record.New(s.schema, o)
			f, reason := "", ""
			if d, ok := itemDup(dups, segs, i); ok {
				f, reason = d.keyPath(segs), dupReason(resp.Body, d)
			} else {
				f, reason = s.convert(it, r)
			}
			if reason != "" {
				var raw []byte
				if i < len(spans) {
					raw = resp.Body[spans[i][0]:spans[i][1]]
				}
				b.Reject(s.rejectRecord(r, raw), s.step, f, reason)
				continue
			}
			b.Records = append(b.Records, r)
		}
		return b, nil
	}
	return nil, io.EOF
}

// rejectRecord returns r with the field _json added: the item's JSON text
// as it came (at most MaxRejectJSONBytes), so the rejects file shows the
// item and not only the fields converted before the problem.
func (s *readSource) rejectRecord(r record.Record, raw []byte) record.Record {
	if s.rejSchema == nil {
		name := "_json"
		for s.schema.Index(name) >= 0 {
			name += "_"
		}
		s.rejSchema = record.MustSchema(append(s.schema.Fields(), record.Field{Name: name, Kind: record.KindString})...)
	}
	vals := make([]record.Value, s.rejSchema.Len())
	copy(vals, r.Values)
	vals[len(vals)-1] = record.String(rawItem(raw))
	return record.Record{Schema: s.rejSchema, Values: vals, Origin: r.Origin}
}

// advance decides about the next page from the response.
func (s *readSource) advance(doc any, n int) {
	more := true
	if s.c.HasMorePath != "" {
		v, _ := getPath(doc, s.c.HasMorePath)
		b, _ := v.(bool)
		more = b
	}
	switch s.c.Pagination {
	case "none":
		s.done = true
	case "cursor":
		v, _ := getPath(doc, s.c.CursorPath)
		next := ""
		switch x := v.(type) {
		case string:
			next = x
		case json.Number:
			next = x.String()
		}
		if next == "" || next == s.cursor || !more || n == 0 {
			s.done = true
		}
		s.cursor = next
	case "page", "offset":
		s.offset += n
		if n == 0 || !more || (s.c.HasMorePath == "" && n < s.c.PageSize) {
			s.done = true
		}
	case "next_url":
		v, _ := getPath(doc, s.c.NextURLPath)
		next, _ := v.(string)
		if next == "" || next == s.nextURL || !more {
			s.done = true
		}
		s.nextURL = next
	}
}

// convert fills r from item; it returns the failing field and reason.
func (s *readSource) convert(item any, r record.Record) (string, string) {
	for i, f := range s.c.Fields {
		p := f.Path
		if p == "" {
			p = f.Name
		}
		v, ok := getPath(item, p)
		if !ok || v == nil {
			if f.Required {
				return f.Name, fmt.Sprintf("%s is missing", p)
			}
			continue
		}
		val, err := convertValue(v, f)
		if err != nil {
			return f.Name, fmt.Sprintf("%s: %v", p, err)
		}
		r.Values[i] = val
	}
	return "", ""
}

func convertValue(v any, f FieldMap) (record.Value, error) {
	text := func() (string, bool) {
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case bool:
			return strconv.FormatBool(x), true
		}
		return "", false
	}
	switch f.Type {
	case "", "string":
		if s, ok := text(); ok {
			return record.String(s), nil
		}
		return record.Null, fmt.Errorf("is an object or list, not a string (use type json)")
	case "int":
		s, ok := text()
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if !ok || err != nil {
			return record.Null, fmt.Errorf("%q is not an integer", s)
		}
		return record.Int(n), nil
	case "decimal":
		s, ok := text()
		if _, isBool := v.(bool); isBool || !ok {
			return record.Null, fmt.Errorf("is not a number")
		}
		d, err := record.ParseDecimal(strings.TrimSpace(s), '.')
		if err != nil {
			return record.Null, fmt.Errorf("%q is not an exact decimal: %v", s, err)
		}
		return record.Dec(d), nil
	case "bool":
		switch x := v.(type) {
		case bool:
			return record.Bool(x), nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return record.Bool(b), nil
			}
		}
		return record.Null, fmt.Errorf("%v is not true or false", v)
	case "date":
		s, ok := text()
		layout := f.Format
		if layout == "" {
			layout = "YYYY-MM-DD"
		}
		if ok {
			if len(s) > 10 && (f.Format == "") {
				if t, err := time.Parse(time.RFC3339, s); err == nil {
					return record.DateValue(record.DateOf(t)), nil
				}
			}
			if d, err := record.ParseDate(s, layout); err == nil {
				return record.DateValue(d), nil
			}
		}
		return record.Null, fmt.Errorf("%q is not a date like %s", s, layout)
	case "datetime":
		s, ok := text()
		if ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return record.DateTime(t), nil
			}
		}
		return record.Null, fmt.Errorf("%q is not an RFC 3339 date-time", s)
	case "json":
		return jsonToValue(v)
	}
	return record.Null, fmt.Errorf("unknown type %q", f.Type)
}

// jsonToValue converts decoded JSON (numbers as json.Number) to a Value.
func jsonToValue(v any) (record.Value, error) {
	switch x := v.(type) {
	case nil:
		return record.Null, nil
	case string:
		return record.String(x), nil
	case bool:
		return record.Bool(x), nil
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return record.Int(n), nil
		}
		d, err := record.ParseDecimal(x.String(), '.')
		if err != nil {
			return record.Null, fmt.Errorf("number %s is not an exact decimal", x)
		}
		return record.Dec(d), nil
	case []any:
		l := make([]record.Value, len(x))
		for i, e := range x {
			ev, err := jsonToValue(e)
			if err != nil {
				return record.Null, err
			}
			l[i] = ev
		}
		return record.List(l), nil
	case map[string]any:
		m := make(map[string]record.Value, len(x))
		for k, e := range x {
			ev, err := jsonToValue(e)
			if err != nil {
				return record.Null, err
			}
			m[k] = ev
		}
		return record.Map(m), nil
	}
	return record.Null, fmt.Errorf("unexpected JSON value %T", v)
}

func (s *readSource) Close() error { return nil }

// decodeJSON decodes one JSON document (numbers as json.Number). Unlike
// json.Decoder alone it fails, with line and column of the response body,
// on invalid UTF-8 (which encoding/json would replace by U+FFFD silently),
// on a syntax error or a truncated body, and on data after the document
// (two documents, or garbage appended by a proxy).
func decodeJSON(body []byte) (any, error) {
	pos := func(off int64) string { return jsonPos(body, int(off)) }
	if !utf8.Valid(body) {
		off := 0
		for off < len(body) {
			r, n := utf8.DecodeRune(body[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return nil, fmt.Errorf("invalid JSON: byte 0x%02X at %s is not UTF-8", body[off], pos(int64(off)))
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("invalid JSON at %s: %w", pos(se.Offset-1), err) // Offset is just after the bad byte
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return nil, fmt.Errorf("invalid JSON: the body ends at %s before the document is complete (truncated response?)", pos(int64(len(body))))
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	end := d.InputOffset()
	if rest := bytes.TrimLeft(body[end:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("invalid JSON: data after the document at %s", pos(int64(len(body)-len(rest))))
	}
	return doc, nil
}
