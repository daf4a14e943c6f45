package runner

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// PathVars are the values of the placeholders of an output path template.
type PathVars struct {
	Now      time.Time // {date} = YYYYMMDD, {time} = HHMMSS (in Now's location)
	Run      string    // {run}
	Pipeline string    // {name}
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// CheckPathTemplate reports an unknown placeholder in an output path
// template; the known ones are {date}, {time}, {run} and {name}.
func CheckPathTemplate(tmpl string) error {
	for _, m := range placeholderRE.FindAllString(tmpl, -1) {
		switch m {
		case "{date}", "{time}", "{run}", "{name}":
		default:
			return fmt.Errorf("unknown placeholder %s in path %q (known: {date}, {time}, {run}, {name})", m, tmpl)
		}
	}
	return nil
}

// ExpandPath replaces the placeholders of an output path template.
// Unknown placeholders are left as they are (see CheckPathTemplate).
func ExpandPath(tmpl string, v PathVars) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	return strings.NewReplacer(
		"{date}", v.Now.Format("20060102"),
		"{time}", v.Now.Format("150405"),
		"{run}", v.Run,
		"{name}", v.Pipeline,
	).Replace(tmpl)
}

// tempName is the temporary file of final path for run.
func tempName(final, run string) string {
	return filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+"."+run+".tmp")
}

// staleTempRE matches the temporary files (and scratch files) of any run
// for the output path template tmpl (placeholders match anything).
func staleTempRE(tmpl string) *regexp.Regexp {
	base := filepath.Base(tmpl)
	var b strings.Builder
	b.WriteString(`^\.`)
	last := 0
	for _, loc := range placeholderRE.FindAllStringIndex(base, -1) {
		b.WriteString(regexp.QuoteMeta(base[last:loc[0]]))
		b.WriteString(`.*`)
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(base[last:]))
	b.WriteString(`\..+\.tmp$`)
	return regexp.MustCompile(b.String())
}

// removeStaleTemps removes temporary files left by earlier (killed) runs
// for the output template tmpl in dir. It returns the removed paths.
func removeStaleTemps(dir, tmpl string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cleaning temporary files in %s: %w", dir, err)
	}
	re := staleTempRE(tmpl)
	var removed []string
	for _, e := range ents {
		if e.IsDir() || !re.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("removing stale temporary file: %w", err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// outFile is one output being written to its temporary file.
type outFile struct {
	step    string
	final   string
	temp    string
	f       *os.File
	bw      *bufio.Writer
	h       hash.Hash
	n       int64
	records int64
	scratch []*os.File
	enc     io.WriteCloser // age encryption between bw and the file (nil: plain)
	done    bool           // finished: flushed, synced, closed
	sum     string
}

// createOutput creates the directory and the temporary file of final.
func createOutput(step, final, run string) (*outFile, error) {
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	tmp := tempName(final, run)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("creating output: %w", err)
	}
	o := &outFile{step: step, final: final, temp: tmp, f: f, h: sha256.New()}
	o.bw = bufio.NewWriterSize((*outWriter)(o), 64<<10)
	return o, nil
}

type outWriter outFile

func (w *outWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// sdkOutput is the sdk.Output handed to an encoder.
func (o *outFile) sdkOutput() sdk.Output {
	return sdk.Output{Name: o.final, W: o.bw, Temp: o.newScratch}
}

func (o *outFile) newScratch() (sdk.TempFile, error) {
	f, err := os.CreateTemp(filepath.Dir(o.temp), filepath.Base(o.temp)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating scratch file: %w", err)
	}
	o.scratch = append(o.scratch, f)
	if o.enc != nil {
		// An encrypting output: the scratch file must not hold plaintext.
		return newSealedScratch(f)
	}
	return f, nil
}

func (o *outFile) removeScratch() {
	for _, f := range o.scratch {
		f.Close()
		os.Remove(f.Name())
	}
	o.scratch = nil
}

// finish flushes, fsyncs and closes the temporary file.
func (o *outFile) finish() error {
	if o.done {
		return nil
	}
	o.done = true
	defer o.removeScratch()
	if err := o.bw.Flush(); err != nil {
		o.f.Close()
		return fmt.Errorf("writing %s: %w", o.final, err)
	}
	if o.enc != nil {
		if err := o.enc.Close(); err != nil {
			o.f.Close()
			return fmt.Errorf("writing %s: encrypting: %w", o.final, err)
		}
	}
	if err := o.f.Sync(); err != nil {
		o.f.Close()
		return fmt.Errorf("writing %s: fsync: %w", o.final, err)
	}
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", o.final, err)
	}
	o.sum = hex.EncodeToString(o.h.Sum(nil))
	return nil
}

// discard removes the temporary file (and scratch files).
func (o *outFile) discard() {
	if !o.done {
		o.done = true
		o.f.Close()
	}
	o.removeScratch()
	os.Remove(o.temp)
}

func (o *outFile) stateOutput() state.Output {
	return state.Output{Step: o.step, Path: o.final, Temp: o.temp, SHA256: o.sum, Bytes: o.n, Rows: o.records}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

var _ io.Writer = (*outWriter)(nil)
