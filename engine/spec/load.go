package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/cron"
	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/expression"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Registry resolves component type names ("csv.read", "filter"). The
// plugin host implements it.
type Registry interface {
	// Lookup returns the component for a type name as written in YAML and
	// the name of its plugin ("" for core transforms).
	Lookup(typ string) (c sdk.Component, plugin string, ok bool)
	// Names returns all known type names (for did-you-mean hints).
	Names() []string
}

// LoadOptions configures Load. The zero value uses the process
// environment, the real file system and the wall clock.
type LoadOptions struct {
	// Env looks up ${env:NAME} references. Default: os.LookupEnv.
	Env func(name string) (string, bool)
	// ReadFile reads ${file:PATH} references (PATH relative to the
	// pipeline's directory). Default: os.ReadFile.
	ReadFile func(path string) ([]byte, error)
	// Now is the clock behind now() and today() in expressions. The runner
	// passes a function returning the run start. Default: time.Now.
	Now func() time.Time
	// Expr are extra expression options (e.g. functions for tests).
	Expr []expression.Option
	// Strict turns warnings (deprecated keys) into errors (`kontor lint --strict`).
	Strict bool
}

// Current is the only pipeline format version this loader knows.
const Current = 1

// DefaultBatchSize is the batch size when `batch_size:` is absent.
const DefaultBatchSize = 1000

// topKeys are the known top-level keys.
var topKeys = []string{"version", "name", "description", "batch_size", "source", "transforms", "sinks", "rejects", "on_error", "state", "schedule", "notify", "plugins"}

// LoadFile reads and loads the pipeline at path.
func LoadFile(path string, reg Registry, opts LoadOptions) (*Pipeline, diag.List) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, diag.List{diag.Errorf(diag.Pos{File: path}, "io", "reading pipeline: %v", err)}
	}
	return Load(path, src, reg, opts)
}

type loader struct {
	file    string
	src     []byte
	lines   []string
	reg     Registry
	opts    LoadOptions
	p       *Pipeline
	diags   diag.List
	pending []pendingExpr
	// expanded counts values built by plain (alias bomb guard).
	expanded int
}

// exprRef is an expression field found while checking a step's config.
type exprRef struct {
	path string
	node *yaml.Node
	mode sdk.ExprMode
}

// Load parses and validates the pipeline file (src is its content; file
// names it in diagnostics and is the base for relative paths). It returns
// every problem found, sorted by position. The Pipeline is nil only when
// the YAML itself cannot be parsed; otherwise it is filled as far as
// possible, and must not be run when the list has errors.
func Load(file string, src []byte, reg Registry, opts LoadOptions) (*Pipeline, diag.List) {
	if opts.Env == nil {
		opts.Env = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sum := sha256.Sum256(src)
	base := filepath.Base(file)
	p := &Pipeline{
		File:      file,
		Dir:       filepath.Dir(file),
		SHA256:    hex.EncodeToString(sum[:]),
		Name:      strings.TrimSuffix(base, filepath.Ext(base)),
		BatchSize: DefaultBatchSize,
		OnError:   ErrorPolicy{Policy: "reject"},
	}
	l := &loader{file: file, src: src, lines: strings.Split(string(src), "\n"), reg: reg, opts: opts, p: p}
	root, ok := l.parse()
	if !ok {
		l.diags.Sort()
		return nil, l.diags
	}
	l.interpolate(root, false)
	l.pipeline(root)
	if opts.Strict {
		for i := range l.diags {
			l.diags[i].Severity = diag.Error
		}
	}
	l.diags.Sort()
	for i, d := range l.diags {
		l.diags[i].Snippet = diag.Snippet(src, d.Pos)
	}
	return p, l.diags
}

// parse parses src into the root mapping node.
func (l *loader) parse() (root *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil { // yaml.v3 may panic on hostile input
			l.diags.Errorf(diag.Pos{File: l.file, Line: 1, Col: 1}, "yaml", "invalid YAML: %v", r)
			root, ok = nil, false
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(l.src, &doc); err != nil {
		l.diags = append(l.diags, yamlSyntaxErrors(l.file, l.src, err)...)
		return nil, false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.diags.Errorf(diag.Pos{File: l.file, Line: 1, Col: 1}, "empty", "empty pipeline file")
		return nil, false
	}
	n := resolve(doc.Content[0])
	if n.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(n), "type", "a pipeline must be a mapping of keys (version, source, sinks, ...), got %s", kindName(n))
		return nil, false
	}
	return n, true
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kindName names what a node holds, for "expected X, got Y".
func kindName(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int":
			return "int"
		case "!!float":
			return "number"
		case "!!bool":
			return "bool"
		case "!!null":
			return "null"
		}
		return "string"
	}
	return "node"
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pair is one key/value of a mapping.
type pair struct {
	key, val *yaml.Node
}

// pairs returns the entries of mapping m, reporting duplicate keys and
// merging "<<" merge keys is not supported (reported as unknown key).
func (l *loader) pairs(m *yaml.Node) []pair {
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			l.diags.Errorf(l.posOf(k), "key", "keys must be plain strings")
			continue
		}
		if seen[k.Value] {
			l.diags.Errorf(l.posOf(k), "duplicate-key", "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	return out
}

func (l *loader) unknownKey(k *yaml.Node, where string, known []string) {
	d := diag.Errorf(l.posOf(k), "unknown-key", "unknown key %q %s", k.Value, where)
	if s := suggest(k.Value, known); s != "" {
		d.Hint = fmt.Sprintf("did you mean %q?", s)
	}
	l.diags.Add(d)
}

// pipeline checks the top level.
func (l *loader) pipeline(root *yaml.Node) {
	p := l.p
	var source, transforms, sinks *yaml.Node
	var versionSeen bool
	for _, kv := range l.pairs(root) {
		k, v := kv.key, kv.val
		switch k.Value {
		case "version":
			versionSeen = true
			if n, ok := l.intValue(v, "version"); ok {
				if n != Current {
					l.diags.Errorf(l.posOf(v), "version", "unsupported pipeline version %d (this kontor knows version %d)", n, Current)
				}
				p.Version = int(n)
			}
		case "name":
			if s, ok := l.stringValue(v, "name"); ok {
				if s == "" {
					l.diags.Errorf(l.posOf(v), "value", "name must not be empty")
				} else {
					p.Name = s
				}
			}
		case "description":
			if s, ok := l.stringValue(v, "description"); ok {
				p.Description = s
			}
		case "batch_size":
			if n, ok := l.intValue(v, "batch_size"); ok {
				if n < 1 {
					l.diags.Errorf(l.posOf(v), "range", "batch_size must be at least 1, got %d", n)
				} else {
					p.BatchSize = int(n)
				}
			}
		case "schedule":
			if s, ok := l.stringValue(v, "schedule"); ok {
				if _, err := cron.Parse(s); err != nil {
					l.diags.Errorf(l.posOf(v), "schedule", "invalid schedule %q: %v", s, err)
				}
				p.Schedule = s
			}
		case "source":
			source = v
		case "transforms":
			transforms = v
		case "sinks":
			sinks = v
		case "rejects":
			l.rejects(v)
		case "on_error":
			l.onError(v)
		case "state":
			l.state(v)
		case "notify":
			l.notify(v)
		case "plugins":
			// External plugins the pipeline needs; read and checked by
			// engine/pluginhost.PipelinePlugins before the registry is
			// built (the loader needs their components already).
		default:
			l.unknownKey(k, "in pipeline", topKeys)
		}
	}
	rootPos := l.posOf(root)
	if !versionSeen {
		l.diags.Errorf(rootPos, "missing-key", "missing required key \"version\" (use version: %d)", Current)
	}
	if source == nil {
		l.diags.Errorf(rootPos, "missing-key", "missing required key \"source\"")
	} else if source.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(source), "type", "source must be a mapping with a type, got %s", kindName(source))
	} else {
		p.Source = l.step(source, "source", 0)
	}
	if transforms != nil && !isNull(transforms) {
		if transforms.Kind != yaml.SequenceNode {
			l.diags.Errorf(l.posOf(transforms), "type", "transforms must be a list of steps, got %s", kindName(transforms))
		} else {
			for i, n := range transforms.Content {
				n = resolve(n)
				if n.Kind != yaml.MappingNode {
					l.diags.Errorf(l.posOf(n), "type", "transforms[%d] must be a mapping with a type, got %s", i, kindName(n))
					continue
				}
				p.Transforms = append(p.Transforms, l.step(n, "transforms", i))
			}
		}
	}
	switch {
	case sinks == nil:
		l.diags.Errorf(rootPos, "missing-key", "missing required key \"sinks\"")
	case sinks.Kind != yaml.SequenceNode:
		l.diags.Errorf(l.posOf(sinks), "type", "sinks must be a list of steps, got %s", kindName(sinks))
	case len(sinks.Content) == 0:
		l.diags.Errorf(l.posOf(sinks), "value", "sinks must list at least one sink")
	default:
		for i, n := range sinks.Content {
			n = resolve(n)
			if n.Kind != yaml.MappingNode {
				l.diags.Errorf(l.posOf(n), "type", "sinks[%d] must be a mapping with a type, got %s", i, kindName(n))
				continue
			}
			p.Sinks = append(p.Sinks, l.step(n, "sinks", i))
		}
	}
	l.uniqueIDs()
	l.defaultRejects()
	l.compile()
}

func (l *loader) rejects(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "rejects must be a mapping (path, encrypt), got %s", kindName(v))
		return
	}
	l.p.Rejects.Pos = l.posOf(v)
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "path":
			if s, ok := l.stringValue(kv.val, "path"); ok {
				l.p.Rejects.Path = s
				l.p.Rejects.Pos = l.posOf(kv.val)
			}
		case "encrypt":
			// The same block as a file sink's, with the same checks and
			// positions (encrypt.go).
			var tmp Step
			l.encrypt(&tmp, kv.val)
			l.p.Rejects.Encrypt = tmp.Encrypt
		default:
			l.unknownKey(kv.key, "in rejects", []string{"path", "encrypt"})
		}
	}
}

func (l *loader) onError(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "on_error must be a mapping (policy: reject, max_rejects: 100), got %s", kindName(v))
		return
	}
	l.p.OnError.Pos = l.posOf(v)
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "policy":
			if s, ok := l.stringValue(kv.val, "policy"); ok {
				if s != "fail" && s != "reject" {
					d := diag.Errorf(l.posOf(kv.val), "enum", "invalid on_error policy %q: expected one of fail, reject", s)
					if sug := suggest(s, []string{"fail", "reject"}); sug != "" {
						d.Hint = fmt.Sprintf("did you mean %q?", sug)
					}
					l.diags.Add(d)
				} else {
					l.p.OnError.Policy = s
				}
			}
		case "max_rejects":
			if n, ok := l.intValue(kv.val, "max_rejects"); ok {
				if n < 0 {
					l.diags.Errorf(l.posOf(kv.val), "range", "max_rejects must be 0 (no limit) or more, got %d", n)
				} else {
					l.p.OnError.MaxRejects = int(n)
				}
			}
		default:
			l.unknownKey(kv.key, "in on_error", []string{"policy", "max_rejects"})
		}
	}
}

func (l *loader) state(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "state must be a mapping (incremental: true, overlap: 10m), got %s", kindName(v))
		return
	}
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "incremental":
			if kv.val.Kind == yaml.ScalarNode && kv.val.ShortTag() == "!!bool" {
				l.p.State.Incremental = kv.val.Value == "true"
			} else {
				l.diags.Errorf(l.posOf(kv.val), "type", "incremental: expected bool, got %s", kindName(kv.val))
			}
		case "overlap":
			if s, ok := l.stringValue(kv.val, "overlap"); ok {
				d, err := time.ParseDuration(s)
				if err != nil || d < 0 {
					l.diags.Errorf(l.posOf(kv.val), "type", "overlap: invalid duration %q (e.g. 10m, 1h30m)", s)
				} else {
					l.p.State.Overlap = d
				}
			}
		default:
			l.unknownKey(kv.key, "in state", []string{"incremental", "overlap"})
		}
	}
}

// stringValue returns a scalar's text; mappings and lists are an error.
func (l *loader) stringValue(v *yaml.Node, key string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		l.diags.Errorf(l.posOf(v), "type", "%s: expected string, got %s", key, kindName(v))
		return "", false
	}
	return v.Value, true
}

func (l *loader) intValue(v *yaml.Node, key string) (int64, bool) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		l.diags.Errorf(l.posOf(v), "type", "%s: expected int, got %s", key, kindName(v))
		return 0, false
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
	if err != nil {
		l.diags.Errorf(l.posOf(v), "type", "%s: integer %s out of range", key, v.Value)
		return 0, false
	}
	return n, true
}

// uniqueIDs reports duplicate step names.
func (l *loader) uniqueIDs() {
	seen := map[string]*Step{}
	for _, s := range l.p.Steps() {
		if s == nil {
			continue
		}
		if prev, dup := seen[s.ID]; dup {
			l.diags.Errorf(s.PosOf("#name"), "duplicate-name", "duplicate step name %q (also used at line %d)", s.ID, prev.Pos.Line)
			continue
		}
		seen[s.ID] = s
	}
}

// defaultRejects fills Rejects.Path from the first file sink, lets the
// rejects inherit that sink's encryption when they have none of their own,
// and warns when a sink encrypts but the rejects file would be plaintext.
func (l *loader) defaultRejects() {
	r := &l.p.Rejects
	explicit := r.Path != ""
	if !explicit {
		for _, s := range l.p.Sinks {
			if s != nil && s.Path != "" {
				if r.Encrypt == nil && s.Encrypt != nil {
					r.Encrypt, r.EncryptFrom = s.Encrypt, s.ID
				}
				r.Path = DefaultRejectsPath(s.Path, r.Encrypt != nil)
				break
			}
		}
	}
	if r.Encrypt != nil {
		return
	}
	for _, s := range l.p.Sinks {
		if s == nil || s.Encrypt == nil {
			continue
		}
		if explicit {
			d := diag.Warnf(r.Pos, "plaintext-rejects", "the rejects file %s is written in plaintext, but %s encrypts its output; the rejects hold the rejected records themselves", r.Path, s.ID)
			d.Hint = "add encrypt: to rejects, with the sink's recipients or the operators' own"
			l.diags.Add(d)
		} else {
			d := diag.Warnf(s.Encrypt.Pos, "plaintext-rejects", "%s encrypts its output, but the rejects file %s (derived from the first file sink, which does not encrypt) is written in plaintext", s.ID, r.Path)
			d.Hint = "set rejects: {path: ..., encrypt: ...}"
			l.diags.Add(d)
		}
		return
	}
}

// DefaultRejectsPath is the rejects file of a pipeline without
// `rejects.path`, derived from the first file sink's path template: the
// path without a trailing ".age", then ".rejects.csv", then ".age" again
// when the rejects are encrypted (out/x.csv.age -> out/x.csv.rejects.csv.age;
// out/x.csv -> out/x.csv.rejects.csv).
func DefaultRejectsPath(sinkPath string, encrypted bool) string {
	p := strings.TrimSuffix(sinkPath, ".age") + ".rejects.csv"
	if encrypted {
		p += ".age"
	}
	return p
}

// Steps returns the source, the transforms and the sinks in pipeline order
// (nil entries are skipped).
func (p *Pipeline) Steps() []*Step {
	var out []*Step
	if p.Source != nil {
		out = append(out, p.Source)
	}
	for _, s := range p.Transforms {
		if s != nil {
			out = append(out, s)
		}
	}
	for _, s := range p.Sinks {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// suggest is diag.Suggest that also catches one swapped pair of adjacent
// letters ("delimeter" style typos are covered by Suggest, "nmae" by this).
func suggest(s string, candidates []string) string {
	if sug := diag.Suggest(s, candidates); sug != "" {
		return sug
	}
	for _, c := range candidates {
		if len(c) != len(s) || len(s) < 2 {
			continue
		}
		var diff []int
		for i := 0; i < len(s) && len(diff) <= 2; i++ {
			if s[i] != c[i] {
				diff = append(diff, i)
			}
		}
		if len(diff) == 2 && diff[1] == diff[0]+1 && s[diff[0]] == c[diff[1]] && s[diff[1]] == c[diff[0]] {
			return c
		}
	}
	return ""
}
