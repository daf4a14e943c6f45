package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

// Options control one run. The zero value runs for real with an in-memory
// state store, the system clock and no logging.
type Options struct {
	// DryRun runs everything but commits nothing: no output is renamed
	// into place and state is not advanced (the run is recorded as a dry run).
	DryRun bool
	// ReportPath, when set, is where the JSON run report is written
	// (atomically), whatever the outcome.
	ReportPath string
	// Store is the pipeline's state store; nil means a fresh in-memory
	// store (no history across processes).
	Store state.Store
	// Wait is how long to wait for the pipeline's run lock (0: fail at once
	// with exit code 4 when it is held).
	Wait time.Duration
	// Since overrides the incremental window start (zero: use the
	// watermark when the pipeline is incremental, else a full run).
	Since time.Time
	// Now is the clock (nil: time.Now), read at the start and the end.
	Now func() time.Time
	// Start is the run start when non-zero (else Now() at the start): it
	// fixes "today" for all components and the path templates. The CLI sets
	// it to the instant it also gave the loader for today()/now().
	Start time.Time
	// Logger receives progress and problems; secrets are redacted. nil: discard.
	Logger *slog.Logger
	// Stdout receives the dry-run preview; nil: io.Discard.
	Stdout io.Writer
	// Progress, when set, is called from the source's goroutine after
	// every batch it reads and once more at its end (Done). It must be
	// fast and must not block (the CLI's progress bar redraws at most a
	// few times a second). nil: no progress tracking.
	Progress func(Progress)
}

// Status values of a Report beyond the state.Status ones.
const (
	StatusInvalid = "INVALID" // exit 2: configuration problem, nothing ran
	StatusLocked  = "LOCKED"  // exit 4: the pipeline is already running
)

// Exit codes (DESIGN.md).
const (
	ExitOK      = 0
	ExitError   = 1
	ExitInvalid = 2
	ExitWarning = 3
	ExitLocked  = 4
)

// MaxReportRejects caps the rejects listed in the report (RejectsTotal has
// the full count; the reject file has all of them).
const MaxReportRejects = 1000

// MaxStateRejects caps the rejects handed to the state store per run.
const MaxStateRejects = 10000

// Report is the JSON run report (--report). Times are RFC 3339.
type Report struct {
	RunID      string    `json:"run_id"`
	Pipeline   string    `json:"pipeline"`
	File       string    `json:"file"`
	SHA256     string    `json:"pipeline_sha256,omitempty"`
	Status     string    `json:"status"`
	ExitCode   int       `json:"exit_code"`
	DryRun     bool      `json:"dry_run"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMS int64     `json:"duration_ms"`
	// Since is the incremental window start, when there is one.
	Since    *time.Time `json:"since,omitempty"`
	Recovery string     `json:"recovery,omitempty"`
	Error    string     `json:"error,omitempty"`
	// Message says why a committed run did no work: "inbox <dir>: no files
	// matching <pattern>" for a drop-folder inbox without a complete file
	// (exchange.on_empty ok or warning).
	Message string `json:"message,omitempty"`
	// Diagnostics are positioned configuration problems (status INVALID).
	Diagnostics []string `json:"diagnostics,omitempty"`

	Steps    []StepReport `json:"steps"`
	Unrouted int64        `json:"unrouted"`
	// RejectsTotal is the number of rejects; Rejects lists the first
	// MaxReportRejects of them.
	RejectsTotal int64          `json:"rejects_total"`
	Rejects      []RejectReport `json:"rejects"`
	RejectsFile  string         `json:"rejects_file,omitempty"`
	Outputs      []OutputReport `json:"outputs"`
}

// StepReport counts what one step did. For the source In is what it read
// (Out + Rejected); for a transform Filtered = In - Out - Rejected (records
// a filter dropped on purpose; 0 for transforms that add records); for a
// sink In is what was routed to it and Out what it wrote.
type StepReport struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Section    string `json:"section"`
	In         int64  `json:"in"`
	Out        int64  `json:"out"`
	Rejected   int64  `json:"rejected"`
	Filtered   int64  `json:"filtered"`
	DurationMS int64  `json:"duration_ms"`
}

// RejectReport is one reject in the report.
type RejectReport struct {
	Origin string `json:"origin"`
	Step   string `json:"step"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// OutputReport is one file the run wrote (or would write, in a dry run).
type OutputReport struct {
	Step    string `json:"step"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Bytes   int64  `json:"bytes"`
	Records int64  `json:"records"`
}

// WriteFile writes the report as indented JSON to path atomically (temp
// file in the same directory, fsync, rename).
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding report: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes data to path via a temporary file in the same
// directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	ok = true
	return syncDir(dir)
}
