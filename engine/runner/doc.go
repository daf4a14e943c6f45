// Package runner executes a loaded pipeline: it builds the components,
// streams record batches from the source through the transforms to the
// sinks, applies the error policy, writes outputs atomically and commits
// them together with the run state, and produces the run report.
//
// # Data path
//
// Stages that only use the CPU — a file source, the core transforms
// (filter, map, validate) and file sinks — run in one goroutine: a batch
// passes through all of them before the next one is read, and the core
// transforms compact it in place. When nothing can hold on to a batch any
// more (only core transforms, sinks that declare sdk.RecordRetainer false)
// it goes back to the source (sdk.BatchRecycler) and map reuses its output
// values, so a long run allocates little and the garbage collector rarely
// runs. A stage that may wait on a peer (a non-file source or sink, any
// other transform) gets goroutines before and after it, connected by
// channels of capacity 1, so waiting overlaps with the other work. Either
// way at most a few batches are in flight, so memory stays bounded however
// large the input is. Rejects travel forward with their batch and are
// handled by the last stage, so the reject file and the report see them in
// input order; the rejects the run keeps for the report and the state are
// copies.
//
// Sources with IO file: the `path` glob is matched relative to the pipeline
// directory; matches are read in name order; no match is an error ("no
// input matches <glob>"). A source with `exchange:` reads a drop-folder
// inbox instead (exchange.go); an inbox without a complete file ends the
// run as exchange.on_empty says: ok (default) or warning commit a run that
// built no component and wrote nothing, with Report.Message "inbox <dir>:
// no files matching <pattern>" and the watermark held; error fails it. Record origins name the file as matched by the
// glob, relative to the pipeline file (so reports do not depend on the
// current directory).
//
// Sinks: a sink with `when:` receives only records for which the condition
// is true; a sink without receives every record. A record that no sink
// takes is counted as unrouted in the report (it is not a reject). An error
// evaluating `when` rejects the record (field "when").
//
// # Outputs
//
// A file sink's `path` is a template relative to the pipeline directory:
// {date} (run date, YYYYMMDD), {time} (run time, HHMMSS), {run} (run id)
// and {name} (pipeline name) are replaced; any other {…} is an error. The
// runner creates the directory, writes to ".<file>.<run>.tmp" in the same
// directory, and when the run succeeds flushes, fsyncs and renames it into
// place (fsync of the directory) after state.Run.Prepare, then commits the
// state. On failure or cancellation the temporary files are removed and no
// output is touched. Temporary files left by a killed run are removed by the
// next run of the same pipeline (after its recovery, under the lock).
//
// A file sink that received no records still writes its file (e.g. a CSV
// with only the header): an empty export is a result a scheduler can see,
// and a missing file is indistinguishable from a run that did not happen.
//
// # Rejects
//
// Every reject (from the source, a transform, a sink or `when`) is written
// to the reject file: CSV (UTF-8, LF) with the columns origin, step, field,
// reason, record (the record's fields as a JSON object in schema order,
// values as canonical text). Its path is `rejects.path` or, by default, the
// first file sink's final path (without a trailing ".age") plus
// ".rejects.csv" (or "<pipeline>.rejects.csv" next to the pipeline file
// when there is no file sink). It is encrypted with age like a sink's
// output when `rejects.encrypt` is set or, on the default path, when that
// first file sink encrypts (then its name ends in ".age";
// spec.DefaultRejectsPath). It is written atomically like the other
// outputs and only when there are rejects. The step column is the step's name (`name:` or
// "<section>[i]"), whatever the component put into Reject.Step.
//
// on_error.policy "fail" aborts the run at the first reject (ERROR, nothing
// committed); max_rejects > 0 aborts when more records than that are
// rejected. Otherwise a run with rejects ends WARNING.
//
// # Statuses and exit codes
//
// OK 0, ERROR 1 (nothing committed, state unchanged), INVALID 2 (a config
// problem found when building the components; nothing ran), WARNING 3
// (committed with rejects), LOCKED 4 (the pipeline is already running).
//
// # Dry runs
//
// With Options.DryRun everything runs, outputs are written to their
// temporary files (so counts, sizes and checksums are real) and then
// removed; the run is recorded as a dry run and never advances state. A
// preview per sink (final path, record count, first 5 records) goes to
// Options.Stdout.
//
// # State
//
// Each component's sdk.State is the run's state.Run scoped to the step:
// Get/Put keys are prefixed with the step id, Reserve counters are global
// to the pipeline. Engine components can reach the state.Run itself through
// the optional method StateRun() on Env.State. Transforms implementing
// state.CommitHook (dedup with the ledger) are called after all sinks
// closed and before Prepare; rejectedAfter is true for records rejected by
// a later step or a sink, for records no sink took (unrouted) and for
// records a later transform filtered out, so the ledger only ever holds
// keys whose records reached a sink. A later Flusher may emit a record in
// a later call (a pipelined plugin transform, sort): its drops are the
// origins that went in and never came out by the end of its Flush. A later
// Flusher that emits records it never got (sql builds new rows) breaks the
// link by origin; then the run fails before anything is committed (guessing
// would lose a record or export it twice): put ledger dedup after such steps.
//
// Secrets (Pipeline.Secrets) are replaced by "***" in logs, error messages,
// the report, the reject file and the preview.
package runner
