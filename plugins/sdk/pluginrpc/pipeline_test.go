package pluginrpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// render writes the records and rejects of b, origins included.
func render(s *strings.Builder, b *record.Batch) {
	renderTo(s, s, b)
}

// renderTo writes the records of b to recs and its rejects to rejs.
func renderTo(recs, rejs *strings.Builder, b *record.Batch) {
	for _, r := range b.Records {
		recs.WriteString(r.Origin.String() + " " + r.String() + "\n")
	}
	for _, rj := range b.Rejects {
		rejs.WriteString("reject " + rj.Record.Origin.String() + " " + rj.Step + " " + rj.Field + ": " + rj.Reason + " " + rj.Record.String() + "\n")
	}
}

func newTransform(t *testing.T, p sdk.Plugin, comp string, cfg sdk.Config) sdk.Transform {
	t.Helper()
	c, ok := p.Component(comp)
	if !ok {
		t.Fatalf("no component %s", comp)
	}
	tr, err := c.NewTransform(context.Background(), sdk.ApplyDefaults(c.Spec, cfg),
		sdk.Env{Step: "t", Logger: slog.New(slog.DiscardHandler), State: &sdk.MemState{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// TestPipelineHoldsOneBatchBack: the first batch of a stream comes back
// at once, later ones one call later, Flush emits what is in flight (one
// batch per batch) and the stream goes on after a Flush.
func TestPipelineHoldsOneBatchBack(t *testing.T) {
	remote, r := Loopback(t, vat.Plugin())
	tr := newTransform(t, remote, "vat_split", sdk.Config{"gross": "amount"})
	if _, ok := tr.(sdk.Flusher); !ok {
		t.Fatal("the remote transform is no sdk.Flusher")
	}
	in := vatInput(5000)
	batch := func(k int) *record.Batch {
		return &record.Batch{Records: append([]record.Record(nil), in.Records[k*1000:(k+1)*1000]...)}
	}
	// first and last origin index of the records and rejects of b
	span := func(b *record.Batch) string {
		if len(b.Records)+len(b.Rejects) == 0 {
			return "-"
		}
		lo, hi := int64(1<<62), int64(0)
		for _, r := range b.Records {
			lo, hi = min(lo, r.Origin.Index), max(hi, r.Origin.Index)
		}
		for _, rj := range b.Rejects {
			lo, hi = min(lo, rj.Record.Origin.Index), max(hi, rj.Record.Origin.Index)
		}
		return fmt.Sprintf("%d-%d/%d", lo, hi, len(b.Records)+len(b.Rejects))
	}
	var got []string
	process := func(k int) {
		out := &record.Batch{}
		if err := tr.Process(context.Background(), batch(k), out); err != nil {
			t.Fatal(err)
		}
		got = append(got, span(out))
	}
	flush := func() {
		var spans []string
		err := tr.(sdk.Flusher).Flush(context.Background(), func(b *record.Batch) error {
			spans = append(spans, span(b))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, "flush["+strings.Join(spans, " ")+"]")
	}
	process(0)
	process(1)
	process(2)
	flush()
	process(3)
	process(4)
	flush()
	flush()
	want := "1-1000/1000 - 1001-2000/1000 flush[2001-3000/1000] - 3001-4000/1000 flush[4001-5000/1000] flush[]"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("got  %s\nwant %s", g, want)
	}
	if r.Broken() != nil {
		t.Error(r.Broken())
	}
}

// TestPipelineInputReused: the caller overwrites the batch it handed to
// Process as soon as Process returns (the runner recycles source batches):
// the results, which come one call later, are still those of the input as
// it was. Batch sizes cover chunked batches (>= 2000 records) and batches
// too large to pipeline (long texts, more than pipelineBytes).
func TestPipelineInputReused(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "show", Kind: record.KindString})
	sizes := []int{700, 1000, 4500, 1000, 3, 1200, 2100, 1000, 999}
	long := 8 // the batch with index long has texts of 2000 bytes (> 1 MiB)
	sizes = append(sizes[:long], append([]int{1000}, sizes[long:]...)...)
	// one batch of records and values, refilled for every call
	buf := &record.Batch{Records: make([]record.Record, 4500)}
	vals := make([]record.Value, 4500*3)
	for i := range buf.Records {
		buf.Records[i].Values = vals[i*3 : i*3+3 : i*3+3]
	}
	fill := func(k, lo, n int) *record.Batch {
		b := &record.Batch{Records: buf.Records[:n]}
		for i := range b.Records {
			id := lo + i
			r := &b.Records[i]
			r.Schema = s
			r.Origin = record.Origin{File: fmt.Sprintf("in%d.csv", k%3), Line: id + 2, Col: 1, Index: int64(id + 1)}
			r.Values[0] = record.Int(int64(id))
			r.Values[1] = record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", id*7%5000, id%100)))
			if id%331 == 17 {
				r.Values[1] = record.String("n/a") // a reject
			}
			show := fmt.Sprintf("show %d", id%5)
			if k == long {
				show = strings.Repeat(show, 300)
			}
			r.Values[2] = record.String(show)
		}
		return b
	}
	run := func(p sdk.Plugin) string {
		tr := newTransform(t, p, "vat_split", sdk.Config{"gross": "amount"})
		// A call may return the results of two batches (the one in flight
		// and the large one that made a round trip): records and rejects
		// each keep their order.
		var recs, rejs strings.Builder
		lo := 0
		for k, n := range sizes {
			res := &record.Batch{}
			if err := tr.Process(context.Background(), fill(k, lo, n), res); err != nil {
				t.Fatal(err)
			}
			renderTo(&recs, &rejs, res) // before the next fill: in process, results refer to the input
			lo += n
		}
		if f, ok := tr.(sdk.Flusher); ok {
			if err := f.Flush(context.Background(), func(b *record.Batch) error { renderTo(&recs, &rejs, b); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		return recs.String() + rejs.String()
	}
	want := run(vat.Plugin())
	remote, _ := Loopback(t, vat.Plugin())
	if got := run(remote); got != want {
		t.Errorf("out of process differs from in process:\n%s", firstDiff(got, want))
	}
	if n := strings.Count(want, "\n"); n != 13502 {
		t.Errorf("only %d lines", n)
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < min(len(g), len(w)); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d:\n got  %.300s\n want %.300s", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(g), len(w))
}

// holder passes records with an even id on at once and holds the others
// back until Flush; it fails on the id failAt.
type holder struct {
	held   []record.Record
	failAt int64
}

func (h *holder) Process(ctx context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		id := r.Values[0].Int()
		switch {
		case id == h.failAt:
			return fmt.Errorf("record %d is cursed", id)
		case id%2 == 0:
			out.Records = append(out.Records, r)
		case id%7 == 3:
			out.Reject(r, "t", "id", "multiple of seven plus three")
		default:
			h.held = append(h.held, r.Clone())
		}
	}
	return nil
}

func (h *holder) Flush(ctx context.Context, emit func(*record.Batch) error) error {
	for len(h.held) > 0 {
		n := min(len(h.held), 300)
		if err := emit(&record.Batch{Records: h.held[:n:n]}); err != nil {
			return err
		}
		h.held = h.held[n:]
	}
	return nil
}

func (h *holder) Close() error { return nil }

func holderPlugin(failAt int64) sdk.Plugin {
	return sdk.Plugin{Name: "hold", Version: "0.1.0", Components: []sdk.Component{{
		Name: "back", Kind: sdk.KindTransform, Summary: "Holds records back.",
		NewTransform: func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
			return &holder{failAt: failAt}, nil
		},
	}}}
}

// runAll runs tr over in in batches of size and renders everything it
// emits; it stops at the first error.
func runAll(tr sdk.Transform, in *record.Batch, size int) (string, error) {
	var out strings.Builder
	for lo := 0; lo < len(in.Records); lo += size {
		b := &record.Batch{Records: append([]record.Record(nil), in.Records[lo:min(lo+size, len(in.Records))]...)}
		res := &record.Batch{}
		if err := tr.Process(context.Background(), b, res); err != nil {
			return out.String(), err // what a failed call appended does not count
		}
		render(&out, res)
	}
	if f, ok := tr.(sdk.Flusher); ok {
		err := f.Flush(context.Background(), func(b *record.Batch) error { render(&out, b); return nil })
		if err != nil {
			return out.String(), err
		}
	}
	return out.String(), nil
}

// TestPipelineFlusherAndComponentErrors: a plugin transform that holds
// records back itself gets its Flush after the batches in flight; a
// component error of batch N ends the run with the component's message
// (as in process) and everything before batch N delivered.
func TestPipelineFlusherAndComponentErrors(t *testing.T) {
	in := vatInput(5500)
	for _, tc := range []struct {
		name   string
		failAt int64
	}{{"ok", -1}, {"fails in batch 3", 2345}, {"fails in batch 1", 12}, {"fails in the last batch", 5400}} {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := runAll(newTransform(t, holderPlugin(tc.failAt), "back", nil), in, 1000)
			remote, r := Loopback(t, holderPlugin(tc.failAt))
			tr := newTransform(t, remote, "back", nil)
			got, gerr := runAll(tr, in, 1000)
			if got != want {
				t.Errorf("out of process differs from in process:\n%s", firstDiff(got, want))
			}
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("error %v, want %v", gerr, werr)
			}
			if gerr != nil {
				// the transform is done: later calls get the same error
				if err := tr.Process(context.Background(), &record.Batch{Records: in.Records[:10]}, &record.Batch{}); fmt.Sprint(err) != fmt.Sprint(werr) {
					t.Errorf("after the error: %v", err)
				}
			}
			if r.Broken() != nil {
				t.Errorf("a component error broke the plugin: %v", r.Broken())
			}
		})
	}
}

// blocker is vat_split that, on the record with id at, waits for the
// call's cancellation (hang) or calls onAt.
type blocker struct {
	sdk.Transform
	at   int64
	onAt func()
}

func (b *blocker) Process(ctx context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		if r.Values[0].Int() == b.at {
			if b.onAt != nil {
				b.onAt()
			}
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return b.Transform.Process(ctx, in, out)
}

func blockerPlugin(at int64, onAt func()) sdk.Plugin {
	p := vat.Plugin()
	c := &p.Components[0]
	newT := c.NewTransform
	c.NewTransform = func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
		t, err := newT(ctx, cfg, env)
		return &blocker{Transform: t, at: at, onAt: onAt}, err
	}
	return p
}

// TestPipelineTransportFailures: a hang, a lost connection and a
// malformed result of batch 2 (pipelined) fail the next call with a
// message naming the plugin, the operation and batch 2, and break the
// Remote; a cancelled call returns the cancellation and breaks nothing.
func TestPipelineTransportFailures(t *testing.T) {
	in := vatInput(4000)
	// runs batches of 1000 until the first error
	run := func(tr sdk.Transform) error {
		_, err := runAll(tr, in, 1000)
		return err
	}
	check := func(t *testing.T, r *Remote, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q lacks %q", err, w)
			}
		}
		if b := r.Broken(); b == nil || b.Error() != err.Error() {
			t.Errorf("broken = %v", b)
		}
	}
	t.Run("hang", func(t *testing.T) {
		remote, r := Loopback(t, blockerPlugin(1500, nil))
		r.Timeout = 300 * time.Millisecond
		failed := 0
		r.OnFailure = func() { failed++ }
		start := time.Now()
		err := run(newTransform(t, remote, "vat_split", sdk.Config{"gross": "amount"}))
		check(t, r, err, "plugin example did not answer Process of batch 2 (vat_split) within 300ms")
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %s", d)
		}
		if failed != 1 {
			t.Errorf("OnFailure ran %d times", failed)
		}
	})
	t.Run("connection lost", func(t *testing.T) {
		var srv *grpc.Server
		var once sync.Once
		remote, r, s := serveWith(t, blockerPlugin(1500, func() { once.Do(func() { go srv.Stop() }) }))
		srv = s
		check(t, r, run(newTransform(t, remote, "vat_split", sdk.Config{"gross": "amount"})),
			"plugin example: connection lost during Process of batch 2 (vat_split)")
	})
	t.Run("malformed", func(t *testing.T) {
		var mu sync.Mutex
		n := 0
		remote, r, _ := serveWith(t, vat.Plugin(), grpc.StreamInterceptor(
			func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				return h(srv, &mangler{ServerStream: ss, mangle: func(resp *pb.ProcessResponse) {
					mu.Lock()
					defer mu.Unlock()
					if n++; n == 2 {
						resp.Batch = []byte{2, 0, 0, 5}
					}
				}})
			}))
		check(t, r, run(newTransform(t, remote, "vat_split", sdk.Config{"gross": "amount"})),
			"plugin example returned a malformed batch in Process of batch 2 (vat_split)")
	})
	t.Run("cancelled", func(t *testing.T) {
		remote, r := Loopback(t, blockerPlugin(1500, nil))
		tr := newTransform(t, remote, "vat_split", sdk.Config{"gross": "amount"})
		ctx, cancel := context.WithCancel(context.Background())
		for k := 0; k < 2; k++ {
			if err := tr.Process(ctx, &record.Batch{Records: in.Records[k*1000 : (k+1)*1000]}, &record.Batch{}); err != nil {
				t.Fatal(err)
			}
		}
		time.AfterFunc(50*time.Millisecond, cancel) // while Process waits for the hung batch 2
		err := tr.Process(ctx, &record.Batch{Records: in.Records[2000:3000]}, &record.Batch{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if r.Broken() != nil {
			t.Errorf("cancelling broke the plugin: %v", r.Broken())
		}
	})
}

// mangler lets mangle change the ProcessStream answers.
type mangler struct {
	grpc.ServerStream
	mangle func(*pb.ProcessResponse)
}

func (m *mangler) SendMsg(v any) error {
	if resp, ok := v.(*pb.ProcessResponse); ok {
		m.mangle(resp)
	}
	return m.ServerStream.SendMsg(v)
}
