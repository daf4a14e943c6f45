// Package state keeps each pipeline's persistent run state: run history
// with rejects, the run lock, watermarks for incremental runs, the export
// ledger (what was exported, by business key and content hash), sequence
// counters and per-step checkpoints.
//
// The runner talks only to the Store and Run interfaces below, so a shared
// PostgreSQL backend can be added beside the embedded DuckDB default
// without touching the runner.
//
// Commit protocol (sinks first, then state; see Run):
//
//  1. During the run, sinks write to temporary files; everything a run
//     changes in state (ledger entries, counters, checkpoints) is buffered
//     in the Run, not visible to others.
//  2. Prepare records the run as COMMITTING together with the list of
//     outputs (temporary path -> final path, sha256) and the buffered state
//     changes, in one transaction.
//  3. The runner renames the outputs into place (fsync file and directory).
//  4. Commit applies the buffered state changes and marks the run OK or
//     WARNING, in one transaction.
//
// A crash before 2 leaves the old state and no visible output (temporary
// files are removed by the next run). A crash between 2 and 4 is found by
// the next Begin: the unfinished run is rolled forward (remaining renames
// done, state applied) because its outputs are complete. So a re-run never
// exports twice and never loses a record.
//
// Details shared by all backends (see Changes, Publish, RollForward, Recover):
//   - Before Prepare the runner calls BeforePrepare of every transform that
//     implements CommitHook (dedup adds its ledger entries there, only for
//     records no later step or sink rejected).
//   - Publish does step 3; RollForward repeats it after a crash: a
//     temporary file that still exists is renamed (after a sha256 check),
//     one that is gone with the final file present counts as done. If an
//     output is lost (neither file exists) the state is NOT applied and the
//     run ends ERROR with a message naming the outputs.
//   - Abort after a successful Prepare does not roll back (outputs may be
//     partly published): the run stays COMMITTING, Abort returns
//     ErrCommitPending, and the next Begin finishes it. The runner must not
//     delete the temporary outputs of a prepared run.
//   - A RUNNING run found by Begin (its process died) becomes ERROR
//     "interrupted"; its buffered changes are dropped, so reserved sequence
//     numbers are not consumed (counters are gap-free).
//   - Dry runs are recorded (status, counts, rejects) but never apply
//     ledger, counters or checkpoints and never move the watermark.
//   - LedgerLookup sees committed entries only, not those buffered by
//     LedgerAdd in the same run.
package state

import (
	"context"
	"errors"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// ErrLocked is returned by Lock when another live process runs the pipeline.
var ErrLocked = errors.New("pipeline is already running")

// Status of a run.
type Status string

// Run statuses.
const (
	StatusRunning    Status = "RUNNING"
	StatusCommitting Status = "COMMITTING"
	StatusOK         Status = "OK"
	StatusWarning    Status = "WARNING"
	StatusError      Status = "ERROR"
)

// Store is the state of one pipeline (the embedded default: one DuckDB
// file per pipeline under --state-dir).
type Store interface {
	// Lock takes the pipeline's run lock, waiting up to wait (0: fail at
	// once with ErrLocked). A lock left by a dead process is taken over.
	Lock(ctx context.Context, wait time.Duration) (unlock func() error, err error)
	// Begin starts a run. It first finishes an interrupted run (see the
	// package doc) and returns what it did in Recovery.
	Begin(ctx context.Context, info RunInfo) (Run, error)
	// History lists runs, newest first (limit <= 0: all).
	History(ctx context.Context, limit int) ([]RunRecord, error)
	// GetRun returns one run by id.
	GetRun(ctx context.Context, id string) (RunRecord, error)
	// Rejects lists the rejects of a run.
	Rejects(ctx context.Context, runID string) ([]RejectRecord, error)
	Close() error
}

// RunInfo describes a run being started.
type RunInfo struct {
	Pipeline string
	SHA256   string // of the pipeline file
	Start    time.Time
	DryRun   bool // dry runs are recorded but never advance state
}

// Run is one run in progress. Methods are safe for use from one goroutine.
type Run interface {
	ID() string
	// Recovery says what Begin did about an interrupted earlier run ("" if nothing).
	Recovery() string
	// Watermark returns the start time (UTC) of the last run that ended OK
	// or WARNING; ok is false if there is none.
	Watermark(ctx context.Context) (t time.Time, ok bool, err error)

	// Reserve reserves n numbers of a sequence counter (committed with the run).
	Reserve(ctx context.Context, counter string, n int64) (int64, error)
	// Get and Put read and buffer checkpoint values (key is scoped by the caller, e.g. "step/key").
	Get(ctx context.Context, key string) (string, bool, error)
	Put(ctx context.Context, key, value string) error

	// LedgerLookup returns the content hash stored for each key of the
	// ledger scope ("" when never exported), in the order of keys.
	LedgerLookup(ctx context.Context, scope string, keys []string) ([]string, error)
	// LedgerAdd buffers entries to be written with the commit.
	LedgerAdd(ctx context.Context, scope string, entries []LedgerEntry) error

	// Prepare, Commit, Abort: see the package doc. Result carries counts,
	// rejects and outputs. After Commit or Abort the Run is finished.
	Prepare(ctx context.Context, res Result) error
	Commit(ctx context.Context, res Result) error
	Abort(ctx context.Context, res Result) error
}

// LedgerEntry is one exported business key.
type LedgerEntry struct {
	Key  string
	Hash string // content hash of the exported record
}

// Output is a file a run writes.
type Output struct {
	Step   string `json:"step"`
	Path   string `json:"path"`           // final path
	Temp   string `json:"temp,omitempty"` // temporary path until renamed
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
	Rows   int64  `json:"records"`
}

// StepCount is the per-step record count of a run.
type StepCount struct {
	Step     string `json:"step"`
	In       int64  `json:"in"`
	Out      int64  `json:"out"`
	Rejected int64  `json:"rejected"`
}

// Result is what a run produced.
type Result struct {
	Status Status
	End    time.Time
	Error  string // for ERROR runs; secrets redacted
	// Message is a note for people on a committed run, "" for none: why
	// it did no work, e.g. "inbox in: no files matching *.txt" for a
	// drop-folder inbox with exchange.on_empty ok or warning. Stored by
	// Prepare (so a run rolled forward after a crash keeps it), Commit
	// (when not empty) and Abort; secrets redacted.
	Message string
	Counts  []StepCount
	Outputs []Output
	Rejects []record.Reject
}

// RunRecord is a stored run.
type RunRecord struct {
	ID       string      `json:"id"`
	Pipeline string      `json:"pipeline"`
	SHA256   string      `json:"pipeline_sha256"`
	Status   Status      `json:"status"`
	Start    time.Time   `json:"start"`
	End      time.Time   `json:"end"`
	DryRun   bool        `json:"dry_run,omitempty"`
	Error    string      `json:"error,omitempty"`
	Message  string      `json:"message,omitempty"` // Result.Message ("" for none)
	Counts   []StepCount `json:"counts"`
	Outputs  []Output    `json:"outputs"`
	Rejected int64       `json:"rejected"`
}

// RejectRecord is a stored reject.
type RejectRecord struct {
	RunID  string            `json:"run_id"`
	Origin string            `json:"origin"`
	Step   string            `json:"step"`
	Field  string            `json:"field,omitempty"`
	Reason string            `json:"reason"`
	Record map[string]string `json:"record"`
}
