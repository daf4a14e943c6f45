package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// inPlaceFunc is a funcTransform that declares InPlace, like the core
// transforms: the runner fuses it with its neighbours and compacts
// batches in place.
type inPlaceFunc struct{ funcTransform }

func (inPlaceFunc) InPlace() bool { return true }

// withProcs runs f with GOMAXPROCS set to procs.
func withProcs(procs int, f func()) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	f()
}

func stepFunc(i int, inPlace bool, f func(r record.Record) (bool, string)) *spec.Step {
	return step("transforms", i, "t.func", sdk.Component{Name: "func", Kind: sdk.KindTransform,
		NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) {
			if inPlace {
				return inPlaceFunc{funcTransform{f: f}}, nil
			}
			return funcTransform{f: f}, nil
		}}, nil)
}

func TestStreamCuts(t *testing.T) {
	file := &sinkRT{out: &outFile{}}
	peer := &sinkRT{}
	cpu := &transformRT{t: inPlaceFunc{}}
	other := &transformRT{t: funcTransform{}}
	tests := []struct {
		name       string
		fileSource bool
		transforms []*transformRT
		sinks      []*sinkRT
		want       string // per stage 1..n+1: | boundary before it, - fused
	}{
		{"all fused", true, []*transformRT{cpu, cpu}, []*sinkRT{file}, "---"},
		{"no transforms", true, nil, []*sinkRT{file}, "-"},
		{"peer source", false, []*transformRT{cpu}, []*sinkRT{file}, "|-"},
		{"plugin transform isolated", true, []*transformRT{cpu, other, cpu}, []*sinkRT{file}, "-||-"},
		{"peer sink", true, []*transformRT{cpu}, []*sinkRT{file, peer}, "-|"},
	}
	for _, tc := range tests {
		x := &execution{src: &sourceRT{}, transforms: tc.transforms, sinks: tc.sinks}
		if !tc.fileSource {
			x.src.source = &genSource{}
		}
		var b strings.Builder
		for _, c := range x.cuts()[1:] {
			if c {
				b.WriteByte('|')
			} else {
				b.WriteByte('-')
			}
		}
		if b.String() != tc.want {
			t.Errorf("%s: cuts %s, want %s", tc.name, b.String(), tc.want)
		}
	}
}

// TestStreamModes runs the same pipeline fused into one goroutine, split
// per stage, with and without in-place batches, and small batches: the
// outputs, rejects and step counts must be identical.
func TestStreamModes(t *testing.T) {
	var lines []string
	for i := 1; i <= 40; i++ {
		switch {
		case i%9 == 0:
			lines = append(lines, fmt.Sprintf("!src%d", i))
		case i%7 == 0:
			lines = append(lines, fmt.Sprintf("drop%d", i))
		case i%5 == 0:
			lines = append(lines, fmt.Sprintf("bad%d", i))
		case i%11 == 0:
			lines = append(lines, fmt.Sprintf("late%d", i))
		default:
			lines = append(lines, fmt.Sprintf("ok%d", i))
		}
	}
	input := strings.Join(lines, "\n") + "\n"
	run := func(procs int, inPlace bool, hold bool) (string, string, string) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"in/a.txt": input, "in/b.txt": "ok-b\nbad-b\n"})
		first := stepFunc(0, inPlace, func(r record.Record) (bool, string) {
			l := r.Value("line").String()
			if strings.HasPrefix(l, "bad") {
				return false, "no bad lines"
			}
			return !strings.HasPrefix(l, "drop"), ""
		})
		last := stepFunc(2, inPlace, func(r record.Record) (bool, string) {
			if strings.HasPrefix(r.Value("line").String(), "late") {
				return false, "too late"
			}
			return true, ""
		})
		ts := []*spec.Step{first, last}
		if hold {
			ts = []*spec.Step{first, step("transforms", 1, "t.hold", sdk.Component{Name: "hold", Kind: sdk.KindTransform,
				NewTransform: func(context.Context, sdk.Config, sdk.Env) (sdk.Transform, error) { return &holdTransform{}, nil }}, nil), last}
		}
		p := linesPipeline(dir, ts...)
		p.BatchSize = 3
		var rep *Report
		var err error
		withProcs(procs, func() { rep, err = Run(context.Background(), p, Options{Now: clock}) })
		if err != nil {
			t.Fatalf("procs %d in place %v: %v", procs, inPlace, err)
		}
		for i := range rep.Steps {
			rep.Steps[i].DurationMS = 0
		}
		return readFile(t, filepath.Join(dir, "out/result_20261123.txt")),
			readFile(t, filepath.Join(dir, "out/result_20261123.txt.rejects.csv")), jsonOf(rep.Steps)
	}
	for _, hold := range []bool{false, true} {
		wantOut, wantRej, wantSteps := run(2, false, hold)
		if !strings.Contains(wantOut, "ok1\n") || !strings.Contains(wantRej, "too late") || !strings.Contains(wantRej, "line starts with !") {
			t.Fatalf("reference run:\n%s\n%s", wantOut, wantRej)
		}
		for _, procs := range []int{1, 2} {
			for _, inPlace := range []bool{false, true} {
				out, rej, steps := run(procs, inPlace, hold)
				if out != wantOut || rej != wantRej || steps != wantSteps {
					t.Errorf("hold %v procs %d in place %v differs:\n%s\n%s\n%s\nwant\n%s\n%s\n%s",
						hold, procs, inPlace, out, rej, steps, wantOut, wantRej, wantSteps)
				}
			}
		}
	}
}

// TestStreamFusedErrors repeats the error tests with one CPU.
func TestStreamFusedErrors(t *testing.T) {
	withProcs(1, func() {
		t.Run("sink failure", TestRunSinkFailureLeavesNothing)
		t.Run("source error", TestRunSourceError)
		t.Run("cancel", TestRunCancel)
		t.Run("policy fail", TestRunPolicyFail)
		t.Run("max rejects", TestRunMaxRejects)
		t.Run("file to file", TestRunFileToFile)
		t.Run("rejects", TestRunRejectsWarning)
	})
}

// poisonSource hands out linesSource batches and, on Recycle, overwrites
// every value of the batch, so any use after recycling shows in the output.
type poisonSource struct {
	*linesSource
	recycled *int
}

func (s poisonSource) Recycle(b *record.Batch) {
	*s.recycled++
	for _, r := range b.Records {
		for i := range r.Values {
			r.Values[i] = record.String("POISON")
		}
	}
}

type poisonDecoder struct {
	linesDecoder
	recycled *int
}

func (d poisonDecoder) Open(ctx context.Context, in sdk.Input) (sdk.Source, error) {
	s, err := d.linesDecoder.Open(ctx, in)
	return poisonSource{s.(*linesSource), d.recycled}, err
}

// keepNothingSink is a linesSink that declares it keeps no records.
type keepNothingSink struct{ *linesSink }

func (keepNothingSink) RetainsRecords() bool { return false }

// TestStreamRecycle checks that batches are handed back to the source only
// when nothing can reference them any more: with poisoned recycled
// batches, the output, the rejects (kept for the report too) and the
// counts equal those of a run without recycling.
func TestStreamRecycle(t *testing.T) {
	run := func(procs int, recycle bool) (string, string, *Report, int, string) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"in/a.txt": "ok1\nbad2\n!src3\nok4\nsinkrej5\nok6\nbad7\nok8\nok9\n"})
		recycled := 0
		p := linesPipeline(dir,
			stepFunc(0, true, func(r record.Record) (bool, string) {
				if strings.HasPrefix(r.Value("line").String(), "bad") {
					return false, "no bad lines"
				}
				return true, ""
			}))
		p.BatchSize = 2
		p.Source.Component.NewDecoder = func(_ context.Context, _ sdk.Config, env sdk.Env) (sdk.Decoder, error) {
			return poisonDecoder{linesDecoder{batch: env.BatchSize}, &recycled}, nil
		}
		p.Sinks[0].Config = sdk.Config{"reject": "sinkrej"}
		if recycle {
			p.Sinks[0].Component.NewEncoder = func(_ context.Context, c sdk.Config, _ sdk.Env) (sdk.Encoder, error) {
				return keepEncoder{linesEncoder{reject: c.String("reject")}}, nil
			}
		}
		var rep *Report
		var err error
		st := state.NewMemory()
		withProcs(procs, func() { rep, err = Run(context.Background(), p, Options{Now: clock, Store: st}) })
		if err != nil {
			t.Fatal(err)
		}
		for i := range rep.Steps {
			rep.Steps[i].DurationMS = 0
		}
		kept, err := st.Rejects(context.Background(), rep.RunID)
		if err != nil {
			t.Fatal(err)
		}
		return readFile(t, filepath.Join(dir, "out/result_20261123.txt")),
			readFile(t, filepath.Join(dir, "out/result_20261123.txt.rejects.csv")), rep, recycled, jsonOf(kept)
	}
	wantOut, wantRej, wantRep, n, wantKept := run(1, false)
	if n != 0 {
		t.Fatalf("recycled %d batches although the sink keeps records", n)
	}
	if n := strings.Count(wantRej, "\n"); n != 4 || strings.Contains(wantOut+wantRej+wantKept, "POISON") || !strings.Contains(wantKept, "bad7") {
		t.Fatalf("reference run:\n%s\n%s", wantOut, wantRej)
	}
	out, rej, rep, n, kept := run(1, true)
	if n == 0 {
		t.Fatal("no batch recycled")
	}
	if out != wantOut || rej != wantRej || jsonOf(rep.Steps) != jsonOf(wantRep.Steps) || kept != wantKept {
		t.Errorf("with recycling:\n%s\n%s\n%s\nwant\n%s\n%s\n%s", out, rej, kept, wantOut, wantRej, wantKept)
	}
	if _, _, _, n, _ := run(2, true); n == 0 {
		t.Errorf("no batch recycled with two CPUs")
	}
}

type keepEncoder struct{ linesEncoder }

func (e keepEncoder) Create(ctx context.Context, out sdk.Output) (sdk.Sink, error) {
	s, err := e.linesEncoder.Create(ctx, out)
	return keepNothingSink{s.(*linesSink)}, err
}
