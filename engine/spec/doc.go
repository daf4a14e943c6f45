// Package spec loads pipeline YAML into a Pipeline. It parses into
// yaml.Node so every element keeps its file:line:col, resolves
// ${env:NAME} and ${file:PATH} references (secrets), looks each step's
// component up in the registry, checks its config against the component's
// Spec (unknown keys with did-you-mean, wrong types, enum values, missing
// required keys), applies defaults and compiles expression fields against
// the schema known at that point. All problems are returned at once as a
// diag.List, sorted by position.
//
// # The pipeline file (version 1)
//
//	version: 1                      # required; only 1 is known
//	name: abo-export                # default: file name without extension
//	description: Export active subscriptions.
//	batch_size: 1000                # records per batch, >= 1; default 1000
//	source:
//	  type: csv.read                # <plugin>.<component>; core transforms have no prefix
//	  path: testdata/abo/abos-*.csv # engine key, only for file components (sdk.IOFile):
//	                                # a glob for sources, a file template for sinks;
//	                                # required there, an error elsewhere
//	  encoding: windows-1252        # all other keys: the component's config, checked against its Spec
//	transforms:
//	  - type: filter
//	    name: active-only           # optional step id, unique; default "transforms[0]" ("source" for the source)
//	    condition: status == "active" && amount > 10
//	  - type: map
//	    set: {name: upper(name), total: amount * 2}
//	    rename: {old_field: new_field}
//	    drop: [internal_note]
//	  - type: validate
//	    rules:
//	      - field: iban
//	        check: iban_valid(iban)
//	        message: invalid IBAN
//	sinks:                          # required, at least one
//	  - type: csv.write
//	    name: clean
//	    path: out/abos-clean.csv
//	    when: amount > 0            # optional routing condition (bool expression), sinks only
//	rejects: {path: out/abos.rejects.csv}         # default "<first file sink path>.rejects.csv"; see below
//	on_error: {policy: reject, max_rejects: 100}  # policy fail|reject (default reject); max_rejects 0 = no limit
//	state: {incremental: true, overlap: 10m}      # optional
//	schedule: "*/5 * * * *"                       # optional: 5-field cron, @hourly, @daily, @every 10m, ...
//
// The engine keys of a step are type, name, path (file components only;
// a non-file component may declare its own `path` field), when (sinks
// only), encrypt (file sinks) and exchange (file components: drop-folder
// inbox with atomic claim, done/ and error/ with status markers, requeue
// of a failed run's files, before/after hooks; on sinks an outbox marker;
// see Exchange). Every other key belongs to the component.
//
// # Rejects
//
// `rejects:` takes path (a template like a sink's) and encrypt (the block
// of a file sink, see Encryption: same checks, same positions). The rejects
// file holds the rejected records themselves, so it follows the outputs'
// encryption: without rejects.path, the path derives from the first file
// sink (DefaultRejectsPath) and, without an encrypt block of its own, the
// rejects inherit that sink's encryption (RejectSink.EncryptFrom), e.g.
// out/x.csv.age gives the encrypted out/x.csv.rejects.csv.age. An explicit
// rejects.path without encrypt is written in plaintext; when any sink
// encrypts, the loader then warns ("plaintext-rejects"; an error with
// LoadOptions.Strict / kontor lint --strict). There is no way to silence
// the warning other than encrypting the rejects: encrypt is a mapping, and
// "encrypt: false" would make the key two types.
//
// # Values
//
// Config values become plain data in Step.Config: string, int, bool,
// map[string]any and []any; decimals and durations stay text (never
// float64). Defaults are applied as sdk.ApplyDefaults does. A key with an
// empty value (`key:`) counts as absent. Strings accept any scalar
// (`account: 1200` is the string "1200"); ints, bools, enums, durations
// and decimals are checked at the value's position. A Field with
// Deprecated set gives a warning (an error with LoadOptions.Strict).
//
// # Secrets
//
// ${env:NAME} and ${file:PATH} may appear inside any string value (not in
// keys); PATH is relative to the pipeline's directory and one trailing
// line break of the file is dropped. "$${" is a literal "${". The result
// is a string; it is not parsed as YAML again, so `batch_size: ${env:N}`
// is a type error. Resolved values, and the values of fields marked
// Secret, are recorded in Pipeline.Secrets; Pipeline.Redact hides them. A
// variable that is not set or a file that cannot be read is an error at
// the position of the reference.
//
// # Expressions
//
// Fields whose Spec sets Expr (also inside maps such as set.* and lists
// such as rules[i].check) and the `when:` of sinks are compiled with
// engine/expression against the schema entering the step: the source's
// Component.Schema(cfg), carried through each transform's OutputSchema
// (nil OutputSchema: fields pass through unchanged). An error inside an
// expression is reported at the YAML position of the offending character,
// for plain, quoted and block (| and >) scalars. When the schema is not
// known at load time, syntax and function names are still checked and the
// program binds to the real schema on the first record (see
// expression.Program.Bind). Step.Exprs holds the programs keyed by config
// path ("condition", "set.total", "rules[0].check"); the runner hands them
// to constructors through sdk.Env.Expressions.
//
// # Positions for later errors
//
// Step.PosOf maps a config path to the YAML position (the value for
// scalars, the key for mappings and lists), so FieldErrors returned by
// constructors become positioned diagnostics (Step.MapFieldErrors).
package spec
