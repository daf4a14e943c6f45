package runner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Test components: small, deterministic, configured by Config keys.

var genSchema = record.MustSchema(
	record.Field{Name: "id", Kind: record.KindInt},
	record.Field{Name: "name", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
)

// genSource yields n records (config "n"); "fail_at" makes Next fail after
// that many records; "block_at" blocks (until ctx is done) after that many.
type genSource struct {
	n, i, failAt, blockAt, batch int
	ctx                          context.Context
}

func cfgInt(c sdk.Config, k string) int {
	switch v := c[k].(type) {
	case int:
		return v
	case int64:
		return int(v)
	}
	return 0
}

func newGen(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Source, error) {
	return &genSource{n: cfgInt(c, "n"), failAt: cfgInt(c, "fail_at"), blockAt: cfgInt(c, "block_at"), batch: env.BatchSize}, nil
}

func (g *genSource) Next(ctx context.Context) (*record.Batch, error) {
	if g.i >= g.n {
		return nil, io.EOF
	}
	if g.failAt > 0 && g.i >= g.failAt {
		return nil, errors.New("generator broke")
	}
	if g.blockAt > 0 && g.i >= g.blockAt {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b := &record.Batch{Records: make([]record.Record, 0, g.batch)}
	for ; g.i < g.n && len(b.Records) < g.batch; g.i++ {
		if g.failAt > 0 && g.i >= g.failAt || g.blockAt > 0 && g.i >= g.blockAt {
			break
		}
		r := record.New(genSchema, record.Origin{File: "gen", Index: int64(g.i + 1)})
		r.Values[0] = record.Int(int64(g.i + 1))
		r.Values[1] = record.String(fmt.Sprintf("name%d", g.i+1))
		d, _ := record.NewDecimal(int64(g.i+1)*100+50, 2)
		r.Values[2] = record.Dec(d)
		b.Records = append(b.Records, r)
	}
	return b, nil
}

func (g *genSource) Close() error { return nil }

var lineSchema = record.MustSchema(record.Field{Name: "line", Kind: record.KindString})

// linesDecoder: one record per line; lines starting with "!" are rejected.
type linesDecoder struct{ batch int }

type linesSource struct {
	name string
	sc   *bufio.Scanner
	line int
	n    int
}

func (d linesDecoder) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	return &linesSource{name: in.Name, sc: bufio.NewScanner(in.R), n: d.batch}, nil
}

func (s *linesSource) Next(context.Context) (*record.Batch, error) {
	b := &record.Batch{}
	for len(b.Records)+len(b.Rejects) < s.n && s.sc.Scan() {
		s.line++
		r := record.New(lineSchema, record.Origin{File: s.name, Line: s.line, Col: 1, Index: int64(s.line)})
		r.Values[0] = record.String(s.sc.Text())
		if strings.HasPrefix(s.sc.Text(), "!") {
			b.Reject(r, "lines", "line", "line starts with !")
			continue
		}
		b.Records = append(b.Records, r)
	}
	if len(b.Records)+len(b.Rejects) == 0 {
		return nil, io.EOF
	}
	return b, nil
}

func (s *linesSource) Close() error { return nil }

// funcTransform applies f to each record: keep, drop (filter) or reject.
type funcTransform struct {
	f      func(r record.Record) (keep bool, reason string)
	closed *int
}

func (t funcTransform) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		keep, reason := t.f(r)
		switch {
		case reason != "":
			out.Reject(r, "whatever", "name", reason)
		case keep:
			out.Records = append(out.Records, r)
		}
	}
	return nil
}

func (t funcTransform) Close() error {
	if t.closed != nil {
		*t.closed++
	}
	return nil
}

// holdTransform holds all records and emits them reversed at Flush.
type holdTransform struct{ held []record.Record }

func (t *holdTransform) Process(_ context.Context, in, _ *record.Batch) error {
	t.held = append(t.held, in.Records...)
	return nil
}

func (t *holdTransform) Flush(_ context.Context, emit func(*record.Batch) error) error {
	b := &record.Batch{}
	for i := len(t.held) - 1; i >= 0; i-- {
		b.Records = append(b.Records, t.held[i])
	}
	return emit(b)
}

func (t *holdTransform) Close() error { return nil }

// linesEncoder writes "# header", one line per record (values joined by
// "|"), and at Close "# N records". Config "fail_at": Write fails once
// that many records were written; "reject": records whose name has this
// substring are refused.
type linesEncoder struct {
	failAt int
	reject string
}

type linesSink struct {
	w      *bufio.Writer
	n      int
	failAt int
	reject string
}

func (e linesEncoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	w := bufio.NewWriter(out.W)
	w.WriteString("# header\n")
	return &linesSink{w: w, failAt: e.failAt, reject: e.reject}, nil
}

func (s *linesSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	var rs []record.Reject
	for _, r := range b.Records {
		if s.failAt > 0 && s.n >= s.failAt {
			return nil, errors.New("disk on fire")
		}
		if s.reject != "" && strings.Contains(r.Value("name").String(), s.reject) {
			rs = append(rs, record.Reject{Record: r, Field: "name", Reason: "sink refuses " + s.reject})
			continue
		}
		parts := make([]string, len(r.Values))
		for i, v := range r.Values {
			parts[i] = v.String()
		}
		s.w.WriteString(strings.Join(parts, "|") + "\n")
		s.n++
	}
	return rs, nil
}

func (s *linesSink) Close(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(s.w, "# %d records\n", s.n)
	return s.w.Flush()
}

// memSink collects records.
type memSink struct{ got *[]record.Record }

func (s memSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	*s.got = append(*s.got, b.Records...)
	return nil, nil
}
func (s memSink) Close(context.Context) error { return nil }

// evalFunc is a test sdk.Evaluator.
type evalFunc struct {
	src string
	f   func(record.Record) (record.Value, error)
}

func (e evalFunc) Eval(r record.Record) (record.Value, error) { return e.f(r) }
func (e evalFunc) Source() string                             { return e.src }

func expr(src string, f func(record.Record) (record.Value, error)) *spec.Expr {
	return &spec.Expr{Source: src, Mode: sdk.ExprBool, Program: evalFunc{src, f}}
}

// Component constructors.

func genComp() sdk.Component {
	return sdk.Component{Name: "gen", Kind: sdk.KindSource, NewSource: newGen}
}

func linesReadComp() sdk.Component {
	return sdk.Component{Name: "read", Kind: sdk.KindSource, IO: sdk.IOFile,
		NewDecoder: func(_ context.Context, _ sdk.Config, env sdk.Env) (sdk.Decoder, error) {
			return linesDecoder{batch: env.BatchSize}, nil
		}}
}

func linesWriteComp() sdk.Component {
	return sdk.Component{Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile,
		NewEncoder: func(_ context.Context, c sdk.Config, _ sdk.Env) (sdk.Encoder, error) {
			if c.String("bad") != "" {
				return nil, sdk.FieldErrors{{Path: "bad", Message: "must be empty"}}
			}
			return linesEncoder{failAt: cfgInt(c, "fail_at"), reject: c.String("reject")}, nil
		}}
}

func funcComp(f func(r record.Record) (bool, string)) sdk.Component {
	return sdk.Component{Name: "func", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) {
			return funcTransform{f: f}, nil
		}}
}

func memSinkComp(got *[]record.Record) sdk.Component {
	return sdk.Component{Name: "mem", Kind: sdk.KindSink,
		NewSink: func(context.Context, sdk.Config, sdk.Env) (sdk.Sink, error) { return memSink{got}, nil }}
}

func step(section string, i int, typ string, c sdk.Component, cfg sdk.Config) *spec.Step {
	id := fmt.Sprintf("%s[%d]", section, i)
	if section == "source" {
		id = "source"
	}
	if cfg == nil {
		cfg = sdk.Config{}
	}
	return &spec.Step{Section: section, Index: i, ID: id, Type: typ, Component: c, Config: cfg}
}
