package tixngo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// itemSink sends records as JSON items in batch calls
// (POST {path} {"<bodyKey>":[…]}) and turns the per-item results into
// record outcomes. inject, cancel, control and privileges are itemSinks
// with different mappings.
type itemSink struct {
	step      string
	verb      string // for messages: "inject", "cancel", ...
	client    *httpclient.Client
	path      string
	bodyKey   string
	m         *mapping
	batchSize int
	simulate  bool
	logger    *slog.Logger
	before    func(ctx context.Context) error // once before the first call (privilege definition)
	beforeRun bool
	opts      *injectOptions // inject only: iteration_size, skip_ids, mandatory holder fields

	buf   bytes.Buffer
	items []item
	// Counters for the closing log line.
	calls, sent, accepted, rejected, skipped int
}

type item struct {
	id  string
	rec int // index in the batch
	lo  int // byte range of the item in buf
	hi  int
}

// ErrNoResult is the reason for a record that the API answer did not mention.
var errNoResult = errors.New("the answer holds no result for this item; it is sent again next run")

func (s *itemSink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	s.buf.Reset()
	s.items = s.items[:0]
	for i, r := range b.Records {
		if s.opts != nil {
			skip, ierr := s.opts.screen(s.m, r)
			if skip {
				s.skipped++
				continue
			}
			if ierr != nil {
				rejects = append(rejects, record.Reject{Record: r, Step: s.step, Field: ierr.field, Reason: ierr.reason})
				continue
			}
		}
		lo := s.buf.Len()
		id, ierr := s.m.encode(&s.buf, r)
		if ierr != nil {
			rejects = append(rejects, record.Reject{Record: r, Step: s.step, Field: ierr.field, Reason: ierr.reason})
			continue
		}
		s.items = append(s.items, item{id: id, rec: i, lo: lo, hi: s.buf.Len()})
	}
	// Ticket-id order, so one order's tickets travel together (S-360 does the same).
	sort.SliceStable(s.items, func(i, j int) bool { return s.items[i].id < s.items[j].id })
	// A duplicate id within a batch would be refused by the API anyway.
	valid := s.items[:0]
	for i, it := range s.items {
		if i > 0 && it.id == s.items[i-1].id {
			rejects = append(rejects, record.Reject{Record: b.Records[it.rec], Step: s.step, Field: s.m.idField(),
				Reason: fmt.Sprintf("%s %q occurs more than once in the batch", s.m.idPath, it.id)})
			continue
		}
		valid = append(valid, it)
	}
	s.items = valid
	iter := s.batchSize
	if s.opts != nil && s.opts.iteration > 0 {
		iter = s.opts.iteration
	}
	err := httpclient.Chunks(len(s.items), s.batchSize, func(lo, hi int) error {
		// Each batch in sub-calls of iteration_size, one after the other.
		return httpclient.Chunks(hi-lo, iter, func(l, h int) error {
			rj, err := s.send(ctx, b, s.items[lo+l:lo+h])
			rejects = append(rejects, rj...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return rejects, nil
}

func (s *itemSink) send(ctx context.Context, b *record.Batch, items []item) ([]record.Reject, error) {
	if s.simulate {
		s.calls++
		s.sent += len(items)
		s.accepted += len(items)
		s.logger.Info("simulation: call not sent", "step", s.step, "call", s.calls, "verb", s.verb,
			"items", len(items), "first", items[0].id, "last", items[len(items)-1].id)
		return nil, nil
	}
	if s.before != nil && !s.beforeRun {
		if err := s.before(ctx); err != nil {
			return nil, err
		}
		s.beforeRun = true
	}
	var body bytes.Buffer
	body.Grow(len(items)*(items[0].hi-items[0].lo+1) + 32)
	body.WriteString(`{"`)
	body.WriteString(s.bodyKey)
	body.WriteString(`":[`)
	for i, it := range items {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(s.buf.Bytes()[it.lo:it.hi])
	}
	body.WriteString("]}")
	s.calls++
	s.sent += len(items)
	resp, err := s.client.Do(ctx, httpclient.Request{Method: "POST", Path: s.path, Body: body.Bytes(), Idempotent: true})
	if err != nil {
		var se *httpclient.StatusError
		if errors.As(err, &se) && (se.Status == 400 || se.Status == 422) {
			// The whole call was refused for its content: every item of it
			// is rejected with the API's reason, the run goes on.
			reason := "TIXnGO refused the batch: " + apiReason(resp)
			out := make([]record.Reject, len(items))
			for i, it := range items {
				out[i] = record.Reject{Record: b.Records[it.rec], Step: s.step, Reason: reason}
			}
			s.rejected += len(items)
			return out, nil
		}
		return nil, fmt.Errorf("%s: %s %d items: %w", s.step, s.verb, len(items), err)
	}
	var res tixngoapi.Results
	if err := json.Unmarshal(resp.Body, &res); err != nil {
		return nil, fmt.Errorf("%s: %s: reading the answer: %w", s.step, s.verb, err)
	}
	byID := make(map[string]*tixngoapi.Result, len(res.Results))
	for i := range res.Results {
		byID[res.Results[i].ID()] = &res.Results[i]
	}
	var out []record.Reject
	for _, it := range items {
		r := byID[it.id]
		switch {
		case r == nil:
			out = append(out, record.Reject{Record: b.Records[it.rec], Step: s.step, Field: s.m.idField(), Reason: errNoResult.Error()})
		case r.Status == tixngoapi.Accepted:
			s.accepted++
			continue
		default:
			out = append(out, record.Reject{Record: b.Records[it.rec], Step: s.step, Field: s.m.fieldOf(r), Reason: "TIXnGO: " + r.Reason()})
		}
		s.rejected++
	}
	return out, nil
}

func apiReason(resp *httpclient.Response) string {
	if resp == nil {
		return "no answer"
	}
	var e tixngoapi.ErrorBody
	if json.Unmarshal(resp.Body, &e) == nil && (e.Code != "" || e.Message != "") {
		msg := e.Message
		for _, d := range e.Details {
			msg += "; " + d.Field + ": " + d.Message
		}
		return msg + " [" + e.Code + "]"
	}
	return fmt.Sprintf("status %d", resp.Status)
}

func (s *itemSink) Close(ctx context.Context) error {
	mode := "sent"
	if s.simulate {
		mode = "simulated (nothing sent)"
	}
	s.logger.Info(s.verb+" summary", "step", s.step, "mode", mode, "calls", s.calls, "items", s.sent,
		"accepted", s.accepted, "rejected", s.rejected, "skipped", s.skipped)
	return nil
}

// idField returns the record field of the id.
func (m *mapping) idField() string {
	for _, l := range m.leaves {
		if l.path == m.idPath {
			return l.field
		}
	}
	return ""
}

// fieldOf maps the first JSON path named in a result's errors back to its record field.
func (m *mapping) fieldOf(r *tixngoapi.Result) string {
	for _, e := range r.Errors {
		for _, l := range m.leaves {
			if l.path == e.Field {
				return l.field
			}
		}
	}
	return ""
}

// stringMap converts a decoded TypeMap of strings.
func constantsOf(c map[string]any) (map[string][]byte, error) {
	out := map[string][]byte{}
	var es sdk.FieldErrors
	for k, v := range c {
		b, err := json.Marshal(v)
		if err != nil {
			es.Add("constants."+k, "not representable as JSON: %v", err)
			continue
		}
		out[k] = b
	}
	return out, es.Err()
}
