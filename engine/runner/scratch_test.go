package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// scratchEncoder spools every record into an Output.Temp scratch file and
// copies it to the output at Close (like sepa and layout with sums in a
// header). It records the scratch file names and calls written once the
// first batch is in the scratch file.
type scratchEncoder struct {
	mu      *sync.Mutex
	names   *[]string
	written func()
}

type scratchSink struct {
	enc scratchEncoder
	out sdk.Output
	tmp sdk.TempFile
	w   *bufio.Writer
}

func (e scratchEncoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	tf, err := out.Temp()
	if err != nil {
		return nil, err
	}
	if n, ok := tf.(interface{ Name() string }); ok {
		e.mu.Lock()
		*e.names = append(*e.names, n.Name())
		e.mu.Unlock()
	}
	return &scratchSink{enc: e, out: out, tmp: tf, w: bufio.NewWriter(tf)}, nil
}

func (s *scratchSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	for _, r := range b.Records {
		s.w.WriteString(r.Value("name").String() + "\n")
	}
	if err := s.w.Flush(); err != nil {
		return nil, err
	}
	if s.enc.written != nil {
		s.enc.written()
	}
	return nil, nil
}

func (s *scratchSink) Close(ctx context.Context) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if _, err := s.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(s.out.W, s.tmp)
	return err
}

// TestScratchFilesRemoved: scratch files (Output.Temp) of an encrypting
// file sink never hold plaintext (sealedScratch), the encoder reads back
// what it spooled, and they are removed when the run succeeds, fails, or is
// cancelled (SIGTERM cancels the run's context): only the encrypted output
// stays.
func TestScratchFilesRemoved(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	for _, tc := range []struct {
		name   string
		cfg    sdk.Config
		cancel bool
		ok     bool
	}{
		{"success", sdk.Config{"n": 3000}, false, true},
		{"failure", sdk.Config{"n": 5000, "fail_at": 2000}, false, false},
		{"cancel", sdk.Config{"n": 5000, "block_at": 2000}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var names []string
			var once sync.Once
			var sawPlain bool
			enc := scratchEncoder{mu: &mu, names: &names, written: func() {
				once.Do(func() {
					mu.Lock()
					b, _ := os.ReadFile(names[0])
					mu.Unlock()
					sawPlain = strings.Contains(string(b), "name1\n")
					if tc.cancel {
						time.AfterFunc(20*time.Millisecond, cancel)
					}
				})
			}}
			src := step("source", 0, "t.gen", genComp(), tc.cfg)
			sink := step("sinks", 0, "t.scratch", sdk.Component{Name: "scratch", Kind: sdk.KindSink, IO: sdk.IOFile,
				NewEncoder: func(context.Context, sdk.Config, sdk.Env) (sdk.Encoder, error) { return enc, nil }}, nil)
			sink.Path = "out/x.csv.age"
			sink.Encrypt = &spec.Encryption{Recipients: []age.Recipient{id.Recipient()}}
			p := &spec.Pipeline{Name: "scratch", Dir: dir, Source: src, Sinks: []*spec.Step{sink}}
			rep, err := Run(ctx, p, Options{Now: clock})
			if (err == nil) != tc.ok {
				t.Fatalf("err %v status %s", err, rep.Status)
			}
			if len(names) != 1 || sawPlain {
				t.Fatalf("scratch files %v, plaintext seen %v", names, sawPlain)
			}
			want := ""
			if tc.ok {
				want = "out/x.csv.age"
			}
			if files := strings.Join(listFiles(t, dir), ","); files != want {
				t.Errorf("files left: %q, want %q", files, want)
			}
			if tc.ok {
				enc, _ := os.ReadFile(filepath.Join(dir, want))
				plain, err := decrypt(t, enc, id)
				var b strings.Builder
				for i := 1; i <= 3000; i++ {
					fmt.Fprintf(&b, "name%d\n", i)
				}
				if err != nil || plain != b.String() {
					t.Errorf("output does not round-trip through the scratch file (%v): %d bytes, want %d", err, len(plain), b.Len())
				}
			}
		})
	}
}

// TestSealedScratch: random writes, seeks and reads give back what was
// written; the file holds none of it in the clear.
func TestSealedScratch(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "s")
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealedScratch(f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	model := make([]byte, 0, 1<<16)
	for i := 0; i < 300; i++ {
		off := r.IntN(len(model) + 1)
		chunk := bytes.Repeat([]byte("Müller DE44500105175407324931;"), 20)[:1+r.IntN(500)]
		if _, err := s.Seek(int64(off), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Write(chunk); err != nil || n != len(chunk) {
			t.Fatal(n, err)
		}
		if end := off + len(chunk); end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], chunk)
		from := r.IntN(len(model))
		to := from + r.IntN(len(model)-from+1)
		if _, err := s.Seek(int64(from), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, to-from)
		if _, err := io.ReadFull(s, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, model[from:to]) {
			t.Fatalf("step %d: read [%d,%d) differs", i, from, to)
		}
	}
	raw, _ := os.ReadFile(f.Name())
	if len(raw) != len(model) || bytes.Contains(raw, []byte("Müller")) {
		t.Fatalf("file has %d bytes (want %d) or plaintext", len(raw), len(model))
	}
}
