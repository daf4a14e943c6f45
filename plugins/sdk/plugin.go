// Package sdk is what plugin authors import to add a source, transform or
// sink to Kontor. The built-in formats (csv, sepa, fibu, kassenzeichen,
// tixngo) implement exactly these interfaces, so any of them could run out
// of process.
//
// A Plugin is a named set of Components. Each Component declares its kind,
// its configuration Spec as data (which the host validates, documents and
// turns into JSON Schema) and a constructor. YAML names a component as
// "<plugin>.<component>", e.g. "csv.read".
//
// Contracts shared by all components:
//   - Constructors get a validated, defaulted Config and an Env; they must
//     not do I/O beyond what the Env hands them. A constructor error that is a
//     FieldError (or FieldErrors) is reported at the YAML position of that path.
//   - Components are used from one goroutine at a time; they need no locking.
//   - Records carry their Origin; a component that refuses a record appends a
//     record.Reject (with field and reason) instead of dropping it.
//   - Close is called exactly once, also after errors and cancellation.
//
// Formats are codecs; transport belongs to the engine. A component with
// IO == IOFile never touches the filesystem: the engine matches the `path`
// glob, opens each input and hands the decoder an io.Reader; for sinks it
// creates a temporary file, hands the encoder an io.Writer, and renames the
// file into place (fsync + rename) only when the whole run succeeds.
package sdk

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// ProtocolVersion is the version of the component contract and of the
// out-of-process protocol. The host refuses plugins built for another version.
const ProtocolVersion = 1

// Plugin is a named set of components. The same value can be linked into
// the kontor binary (plugins/all) or served out of process with Serve.
type Plugin struct {
	Name        string // lower-case, ^[a-z][a-z0-9_]*$, e.g. "sepa"
	Version     string // semantic version of the plugin, e.g. "1.2.0"
	Description string // one sentence
	Components  []Component
}

// Component looks up a component by its short name ("read").
func (p Plugin) Component(name string) (Component, bool) {
	for _, c := range p.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// Kind is the role of a component in a pipeline.
type Kind string

// Component kinds.
const (
	KindSource    Kind = "source"
	KindTransform Kind = "transform"
	KindSink      Kind = "sink"
)

// IOMode says who provides the bytes a component reads or writes.
type IOMode string

const (
	// IONone: the component talks to its peer itself (HTTP APIs, generators).
	IONone IOMode = ""
	// IOFile: the engine adds a `path` option (a glob for sources, a file name
	// template for sinks), opens the files and hands over readers/writers.
	IOFile IOMode = "file"
)

// Component is one source, transform or sink. Exactly the constructor that
// matches Kind (and IO) is set.
type Component struct {
	Name        string // ^[a-z][a-z0-9_]*$, unique within the plugin
	Kind        Kind
	IO          IOMode
	Summary     string // one sentence for `kontor plugins list`
	Description string // longer text for `kontor plugins describe` (markdown)
	Spec        Spec
	// Examples are YAML snippets of the step, shown by `describe`.
	Examples []string

	// NewSource builds a source (Kind == KindSource, IO == IONone).
	NewSource func(ctx context.Context, cfg Config, env Env) (Source, error)
	// NewDecoder builds a file source (Kind == KindSource, IO == IOFile).
	NewDecoder func(ctx context.Context, cfg Config, env Env) (Decoder, error)
	// NewTransform builds a transform.
	NewTransform func(ctx context.Context, cfg Config, env Env) (Transform, error)
	// NewSink builds a sink (Kind == KindSink, IO == IONone).
	NewSink func(ctx context.Context, cfg Config, env Env) (Sink, error)
	// NewEncoder builds a file sink (Kind == KindSink, IO == IOFile).
	NewEncoder func(ctx context.Context, cfg Config, env Env) (Encoder, error)

	// Schema returns the schema a source produces, when its config alone
	// tells (declared columns), so expressions downstream are checked at
	// lint time. nil func or nil result: known only at run time.
	Schema func(cfg Config) (*record.Schema, error)
	// OutputSchema returns the schema a transform produces for input
	// schema in (nil: unknown). exprKind gives the static result kind of
	// an expression field by config path (record.KindNull if unknown). A nil
	// func means the transform passes the fields through unchanged.
	OutputSchema func(cfg Config, in *record.Schema, exprKind func(path string) record.Kind) (*record.Schema, error)
}

// Source yields record batches.
type Source interface {
	// Next returns the next non-empty batch, or io.EOF after the last one.
	// The batch belongs to the caller. Rejects found while reading (e.g. a
	// ragged CSV row) travel in Batch.Rejects; a batch may hold only rejects.
	// Any other error ends the run.
	Next(ctx context.Context) (*record.Batch, error)
	// Close releases resources. Called once, also after errors.
	Close() error
}

// Decoder is a file source: it turns one input stream into batches.
// The engine calls Open for each matched file in name order.
type Decoder interface {
	Open(ctx context.Context, in Input) (Source, error)
}

// Input is one opened input file.
type Input struct {
	Name string    // the path as matched, used as record.Origin.File
	R    io.Reader // the raw bytes; the decoder applies the encoding
	Size int64     // size in bytes, -1 if unknown (for progress)
}

// Transform changes, filters, enriches or rejects records.
type Transform interface {
	// Process handles one batch: records to pass on are appended to
	// out.Records, refused ones to out.Rejects (never dropped silently;
	// filtering out by a condition is not a reject). in is not reused by
	// the caller after the call, so records may be passed through unchanged.
	Process(ctx context.Context, in *record.Batch, out *record.Batch) error
	// Close releases resources.
	Close() error
}

// Flusher is implemented by transforms that hold records back (sql,
// reconcile, sort). Flush is called once after the last batch and emits
// the held records in batches.
type Flusher interface {
	Flush(ctx context.Context, emit func(*record.Batch) error) error
}

// Sink writes records to a peer.
type Sink interface {
	// Write consumes one batch and returns the records it refused (with
	// field and reason); all others count as written. An error aborts the run.
	Write(ctx context.Context, b *record.Batch) ([]record.Reject, error)
	// Close finishes the output (trailers, control sums, final flush). Its
	// error aborts the run before anything is committed.
	Close(ctx context.Context) error
}

// Encoder is a file sink: the engine hands it the output to write to.
type Encoder interface {
	Create(ctx context.Context, out Output) (Sink, error)
}

// Output is a file being written. The engine commits it atomically when the
// run succeeds and removes it otherwise.
type Output struct {
	Name string    // final path (for messages and file-name fields in the data)
	W    io.Writer // buffered; the engine flushes and fsyncs it
	// Temp returns a scratch file, deleted after the run, for encoders that
	// need a second pass (e.g. control sums in a header). Never nil.
	Temp func() (TempFile, error)
}

// TempFile is a scratch file from Output.Temp.
type TempFile interface {
	io.Reader
	io.Writer
	io.Seeker
	io.Closer
}

// Env is what the engine gives a component besides its config.
type Env struct {
	Step      string       // the step's display name, e.g. "sinks[0] sepa.pain008"
	Pipeline  string       // pipeline name
	Dir       string       // directory of the pipeline file, base of relative paths in config
	Logger    *slog.Logger // never nil; secrets are redacted by the host
	DryRun    bool         // --dry-run or simulation: no side effects at peers
	BatchSize int          // records per batch the source should aim for (default 1000)
	Now       time.Time    // run start, so all components agree on "today"
	State     State        // never nil; a no-op store during lint
	// Expressions returns the compiled expression for the config path of a
	// field whose spec sets Expr (e.g. "key" or "segments[2].expr"), or nil.
	Expressions func(path string) Evaluator
	// Since is the incremental window start (the watermark minus overlap, or
	// --since); zero for a full run.
	Since time.Time
}

// Evaluator runs a compiled expression against one record.
type Evaluator interface {
	Eval(r record.Record) (record.Value, error)
	Source() string // the expression text, for messages
}

// State is the per-pipeline persistent state visible to components.
// Everything written through it is committed with the run and discarded
// when the run fails, so a retried run sees the same values again.
type State interface {
	// Reserve reserves n consecutive numbers from the named counter and
	// returns the first. Counters start at 1 unless configured otherwise and
	// are gap-free across committed runs.
	Reserve(ctx context.Context, counter string, n int64) (int64, error)
	// Get returns a checkpoint value of this step (e.g. a pagination key).
	Get(ctx context.Context, key string) (string, bool, error)
	// Put sets a checkpoint value, visible to later runs after commit.
	Put(ctx context.Context, key, value string) error
}
