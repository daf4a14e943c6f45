package tixngo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

// StatusConfig is the configuration of tixngo.status.
type StatusConfig struct {
	Conn `yaml:",inline"`
	// Path of the feedback call (default "organizer/tickets", GET, GUESS).
	Path string `yaml:"path"`
	// Limit is the page size (default 1000).
	Limit int `yaml:"limit"`
	// Product, Performance, Tariff, Category filter (ANDed).
	Product     string `yaml:"product"`
	Performance string `yaml:"performance"`
	Tariff      string `yaml:"tariff"`
	Category    string `yaml:"category"`
	// FileNumber filters one file (order); excludes the other filters.
	FileNumber string `yaml:"file_number"`
	// DateFrom overrides the stored pagination key (RFC 3339 or
	// "DD/MM/YY hh:mm"); it never advances the stored key.
	DateFrom string `yaml:"date_from"`
	// Params renames the query parameters.
	Params map[string]string `yaml:"params"`
}

// statusKey is the State key of the pagination key.
const statusKey = "pagination_key"

var statusSchema = record.MustSchema(
	record.Field{Name: "ticket_id", Kind: record.KindString},
	record.Field{Name: "status", Kind: record.KindString},
	record.Field{Name: "event_id", Kind: record.KindString},
	record.Field{Name: "file_id", Kind: record.KindString},
	record.Field{Name: "owner_first_name", Kind: record.KindString},
	record.Field{Name: "owner_last_name", Kind: record.KindString},
	record.Field{Name: "owner_email", Kind: record.KindString},
	record.Field{Name: "holder_first_name", Kind: record.KindString},
	record.Field{Name: "holder_last_name", Kind: record.KindString},
	record.Field{Name: "holder_email", Kind: record.KindString},
	record.Field{Name: "initial_owner_email", Kind: record.KindString},
	record.Field{Name: "previous_owner_email", Kind: record.KindString},
	record.Field{Name: "updated_at", Kind: record.KindDateTime},
)

var defaultParams = map[string]string{
	"pagination_key": "paginationKey", "limit": "limit", "product": "product", "performance": "performance",
	"tariff": "tariff", "category": "category", "file_number": "fileNumber", "date_from": "dateFrom",
}

func statusSpec() sdk.Spec {
	s := sdk.Spec{Fields: connFields()}
	return s.With(
		sdk.Field{Name: "path", Type: sdk.TypeString, Default: "organizer/tickets",
			Description: "Path of the ticket status (feedback) call, relative to the API base (not public: confirm with TIXnGO).", Example: "organizer/tickets"},
		sdk.Field{Name: "limit", Type: sdk.TypeInt, Default: 1000, Min: sdk.Int64(1), Max: sdk.Int64(10000),
			Description: "Tickets per page; S-360 uses 1000.", Example: 1000},
		sdk.Field{Name: "product", Type: sdk.TypeString, Default: "",
			Description: "Only tickets of this product; all set filters must match (AND).", Example: "P-1001"},
		sdk.Field{Name: "performance", Type: sdk.TypeString, Default: "",
			Description: "Only tickets of this performance (event id); ANDed with the other filters.", Example: "EV-2025-10-03"},
		sdk.Field{Name: "tariff", Type: sdk.TypeString, Default: "",
			Description: "Only tickets of this tariff; ANDed with the other filters.", Example: "ERM"},
		sdk.Field{Name: "category", Type: sdk.TypeString, Default: "",
			Description: "Only tickets of this seat category; ANDed with the other filters.", Example: "ADULT"},
		sdk.Field{Name: "file_number", Type: sdk.TypeString, Default: "",
			Description: "Only the tickets of this file (order) number; it excludes every other filter.", Example: "F-778812"},
		sdk.Field{Name: "date_from", Type: sdk.TypeString, Default: "",
			Description: "Re-read all changes since this time (RFC 3339 or DD/MM/YY hh:mm) instead of continuing from the stored pagination key; the stored key is then left unchanged, so remove it again after the catch-up run.", Example: "2025-10-01T00:00:00+02:00"},
		sdk.Field{Name: "params", Type: sdk.TypeMap, Elem: sdk.TypeString,
			Description: "Renames query parameters (keys: pagination_key, limit, product, performance, tariff, category, file_number, date_from), since the real names are not public.",
			Example:     map[string]any{"pagination_key": "cursor"}},
	)
}

type statusSource struct {
	step   string
	client *httpclient.Client
	cfg    StatusConfig
	params map[string]string
	state  sdk.State
	from   time.Time // dateFrom sent while there is no key
	key    string
	keep   bool // date_from set: do not store the key
	done   bool
	page   int
	count  int64
}

func newStatus(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Source, error) {
	var c StatusConfig
	if err := decode(cfg, &c); err != nil {
		return nil, err
	}
	var es sdk.FieldErrors
	if c.FileNumber != "" && (c.Product != "" || c.Performance != "" || c.Tariff != "" || c.Category != "") {
		es.Add("file_number", "excludes the filters product, performance, tariff and category")
	}
	params := map[string]string{}
	for k, v := range defaultParams {
		params[k] = v
	}
	for k, v := range c.Params {
		if _, ok := defaultParams[k]; !ok {
			es.Add("params."+k, "unknown parameter (known: pagination_key, limit, product, performance, tariff, category, file_number, date_from)")
			continue
		}
		params[k] = v
	}
	s := &statusSource{step: env.Step, cfg: c, params: params, state: env.State}
	if c.DateFrom != "" {
		t, err := parseDateFrom(c.DateFrom)
		if err != nil {
			es.Add("date_from", "%v", err)
		}
		s.from, s.keep = t, true
	}
	cl, err := c.Conn.client(env)
	if err != nil {
		fe, _ := sdk.AsFieldErrors(err)
		es = append(es, fe...)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	s.client = cl
	if !s.keep {
		if s.state != nil {
			k, ok, err := s.state.Get(ctx, statusKey)
			if err != nil {
				return nil, fmt.Errorf("reading the stored pagination key: %w", err)
			}
			if ok {
				s.key = k
			}
		}
		if s.key == "" && !env.Since.IsZero() {
			s.from = env.Since // first run of an incremental pipeline with --since
		}
	}
	if s.cfg.Limit <= 0 {
		s.cfg.Limit = 1000
	}
	return s, nil
}

func parseDateFrom(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("02/01/06 15:04", v, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2025-10-01T00:00:00+02:00) nor DD/MM/YY hh:mm", v)
}

type statusPage struct {
	Tickets []struct {
		TicketID      string     `json:"ticketId"`
		Status        string     `json:"status"`
		EventID       string     `json:"eventId"`
		FileID        string     `json:"fileId"`
		Owner         *person    `json:"owner"`
		Holder        *person    `json:"holder"`
		InitialOwner  *person    `json:"initialOwner"`
		PreviousOwner *person    `json:"previousOwner"`
		UpdatedAt     *time.Time `json:"updatedAt"`
	} `json:"tickets"`
	PaginationKey *string `json:"paginationKey"`
}

type person struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
}

func (s *statusSource) Next(ctx context.Context) (*record.Batch, error) {
	for !s.done {
		q := url.Values{}
		set := func(name, v string) {
			if v != "" {
				q.Set(s.params[name], v)
			}
		}
		set("pagination_key", s.key)
		set("limit", strconv.Itoa(s.cfg.Limit))
		set("product", s.cfg.Product)
		set("performance", s.cfg.Performance)
		set("tariff", s.cfg.Tariff)
		set("category", s.cfg.Category)
		set("file_number", s.cfg.FileNumber)
		if s.key == "" && !s.from.IsZero() {
			set("date_from", s.from.UTC().Format(time.RFC3339))
		}
		s.page++
		resp, err := s.client.Do(ctx, httpclient.Request{Path: s.cfg.Path, Query: q})
		if err != nil {
			return nil, fmt.Errorf("%s: ticket status page %d: %w", s.step, s.page, err)
		}
		var p statusPage
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return nil, fmt.Errorf("%s: ticket status page %d: %w", s.step, s.page, err)
		}
		if p.PaginationKey == nil || len(p.Tickets) < s.cfg.Limit {
			s.done = true
		}
		if p.PaginationKey != nil && *p.PaginationKey != "" {
			s.key = *p.PaginationKey
			if !s.keep && s.state != nil {
				if err := s.state.Put(ctx, statusKey, s.key); err != nil {
					return nil, fmt.Errorf("%s: storing the pagination key: %w", s.step, err)
				}
			}
		}
		if len(p.Tickets) == 0 {
			continue
		}
		b := &record.Batch{Records: make([]record.Record, 0, len(p.Tickets))}
		file := "GET " + s.client.Base() + s.cfg.Path
		for i, t := range p.Tickets {
			s.count++
			r := record.New(statusSchema, record.Origin{File: file, Path: fmt.Sprintf("page %d tickets[%d]", s.page, i), Index: s.count})
			v := r.Values
			v[0], v[1], v[2], v[3] = str(t.TicketID), str(t.Status), str(t.EventID), str(t.FileID)
			if t.Owner != nil {
				v[4], v[5], v[6] = str(t.Owner.FirstName), str(t.Owner.LastName), str(t.Owner.Email)
			}
			if t.Holder != nil {
				v[7], v[8], v[9] = str(t.Holder.FirstName), str(t.Holder.LastName), str(t.Holder.Email)
			}
			if t.InitialOwner != nil {
				v[10] = str(t.InitialOwner.Email)
			}
			if t.PreviousOwner != nil {
				v[11] = str(t.PreviousOwner.Email)
			}
			if t.UpdatedAt != nil {
				v[12] = record.DateTime(*t.UpdatedAt)
			}
			if t.TicketID == "" {
				b.Reject(r, s.step, "ticket_id", "status entry without ticketId")
				continue
			}
			b.Records = append(b.Records, r)
		}
		return b, nil
	}
	return nil, io.EOF
}

func str(s string) record.Value {
	if s == "" {
		return record.Null
	}
	return record.String(s)
}

func (s *statusSource) Close() error { return nil }
