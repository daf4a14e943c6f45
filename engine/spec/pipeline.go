package spec

import (
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Pipeline is a loaded, validated pipeline file. Every element keeps the
// position it came from so later errors can point at the YAML.
type Pipeline struct {
	File        string // path as given to Load
	Dir         string // directory of File; base for relative paths
	SHA256      string // hex sha256 of the file bytes (recorded in run history)
	Version     int    // `version:` (currently 1)
	Name        string // `name:`, default: file name without extension
	Description string

	Source     *Step
	Transforms []*Step
	Sinks      []*Step

	OnError   ErrorPolicy
	Rejects   RejectSink
	State     StateOptions
	Schedule  string  // `schedule:` cron expression for `kontor schedule`, "" if none
	Notify    *Notify // `notify:` (nil: no notifications); see notify.go
	BatchSize int     // `batch_size:`, default 1000

	// Secrets are the resolved values of ${env:...}/${file:...}
	// references; logs and reports redact them (see Redact).
	Secrets []string
}

// Step is one source, transform or sink.
type Step struct {
	Section   string // "source", "transforms" or "sinks"
	Index     int    // position within its section (0 for the source)
	ID        string // `name:` of the step, default "<section>[i]"; unique
	Type      string // component name as written: "csv.read", "filter"
	Pos       diag.Pos
	Component sdk.Component
	Plugin    string // plugin name ("" for the engine's core transforms)

	// Config holds the component's own keys, validated against its Spec,
	// defaults applied, secrets resolved. Engine keys (type, name, when,
	// path) are not in it.
	Config sdk.Config
	// Path is the `path:` of a file component (IO == sdk.IOFile): a glob
	// for sources, a file-name template for sinks; relative to Dir.
	Path string
	// When is the routing condition of a sink (nil: every record).
	When *Expr
	// Encrypt is the `encrypt:` of a file sink (nil: plain output); see encrypt.go.
	Encrypt *Encryption
	// Exchange is the `exchange:` of a file source or sink (nil: plain
	// files); see exchange.go.
	Exchange *Exchange
	// Exprs holds the compiled expression fields of the config, keyed by
	// config path ("condition", "set.name", "key[0]").
	Exprs map[string]*Expr

	// InSchema is the schema of records entering the step when known at
	// load time (nil: known only at run time); OutSchema what leaves it.
	InSchema, OutSchema *record.Schema

	// positions maps config paths to YAML positions for FieldErrors.
	positions map[string]diag.Pos
	// hasErrors is set by the loader when the step's config has errors.
	hasErrors bool
}

// PosOf returns the YAML position of a config path of this step ("" is the
// step itself), falling back to the nearest known parent.
func (s *Step) PosOf(path string) diag.Pos {
	for {
		if p, ok := s.positions[path]; ok {
			return p
		}
		if path == "" {
			return s.Pos
		}
		path = parentPath(path)
	}
}

// SetPositions replaces the path→position index (used by the loader and tests).
func (s *Step) SetPositions(m map[string]diag.Pos) { s.positions = m }

func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case '.':
			return p[:i]
		case '[':
			return p[:i]
		}
	}
	return ""
}

// Expr is an expression from the YAML with its position. Program is
// compiled at load time when the input schema is known; otherwise the
// runner compiles it once when the schema is known (first batch).
type Expr struct {
	Source string
	Pos    diag.Pos // position of the first character of the expression text
	Mode   sdk.ExprMode
	// Program is set by the loader (any is *expression.Program; kept
	// untyped here so the data model does not depend on the compiler).
	Program any
}

// ErrorPolicy is `on_error:`.
type ErrorPolicy struct {
	// Policy is "fail" (abort at the first reject; nothing committed) or
	// "reject" (default: continue, write rejects, end WARNING).
	Policy string
	// MaxRejects aborts the run (ERROR) when more records are rejected; 0 = no limit.
	MaxRejects int
	Pos        diag.Pos
}

// RejectSink is `rejects:`: where rejected records go. The default is
// "<first file sink path>.rejects.csv" with origin, step, field, reason and
// the record's fields (see DefaultRejectsPath for encrypted sinks).
type RejectSink struct {
	Path string // "" means the default
	Pos  diag.Pos
	// Encrypt is the `encrypt:` of the rejects file (same block and rules
	// as a file sink's; nil: plaintext). Without an own block, a rejects
	// file on the default path inherits the encryption of the file sink the
	// path derives from (EncryptFrom names that sink).
	Encrypt *Encryption
	// EncryptFrom is the step id of the sink whose encryption Encrypt is
	// ("" when Encrypt is the rejects' own block or nil).
	EncryptFrom string
}

// StateOptions is `state:`: incremental runs.
type StateOptions struct {
	// Incremental enables watermarks: Env.Since is the start of the last
	// run that ended OK or WARNING, minus Overlap.
	Incremental bool
	Overlap     time.Duration
}
