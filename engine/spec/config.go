package spec

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// engineKeys are the step keys the engine owns (never passed to components).
var engineKeys = []string{"type", "name", "path", "when", "encrypt", "exchange"}

// step checks one step mapping.
func (l *loader) step(n *yaml.Node, section string, index int) *Step {
	s := &Step{Section: section, Index: index, Pos: l.posOf(n), positions: map[string]diag.Pos{}}
	if section == "source" {
		s.ID = "source"
	} else {
		s.ID = fmt.Sprintf("%s[%d]", section, index)
	}
	ps := l.pairs(n)
	var typeNode *yaml.Node
	var checkedAs string // the component type the step's config is checked as
	for _, kv := range ps {
		if kv.key.Value == "type" {
			typeNode = kv.val
		}
	}
	if typeNode == nil {
		l.diags.Errorf(s.Pos, "missing-key", "missing required key \"type\" in %s", s.ID)
	} else if t, ok := l.stringValue(typeNode, "type"); ok {
		s.Type, checkedAs = t, t
		s.positions["#type"] = l.posOf(typeNode)
		c, plugin, found := l.reg.Lookup(t)
		want := map[string]sdk.Kind{"source": sdk.KindSource, "transforms": sdk.KindTransform, "sinks": sdk.KindSink}[section]
		if !found {
			d := diag.Errorf(l.posOf(typeNode), "unknown-type", "unknown component type %q", t)
			if sug := suggest(t, l.reg.Names()); sug != "" {
				d.Hint = fmt.Sprintf("did you mean %q?", sug)
				// Recover like a compiler: check the rest of the step and
				// everything downstream as if the suggestion had been
				// written, so one typo in a type does not hide the errors
				// behind it (a misspelled source would otherwise leave
				// every later expression unchecked). The pipeline stays
				// invalid: the error above is already recorded.
				if sc, sp, ok := l.reg.Lookup(sug); ok && sc.Kind == want {
					s.Component, s.Plugin, checkedAs = sc, sp, sug
				}
			}
			l.diags.Add(d)
		} else {
			if c.Kind != want {
				l.diags.Errorf(l.posOf(typeNode), "wrong-section", "%s is a %s, not a %s: it belongs under %s", t, c.Kind, want, sectionOf(c.Kind))
			} else {
				s.Component, s.Plugin = c, plugin
			}
		}
	}
	known := s.Component.Name != ""
	spec := s.Component.Spec
	_, specHasPath := spec.Lookup("path")
	fileIO := s.Component.IO == sdk.IOFile
	var cfgPairs []pair
	var pathSeen bool
	var exchangeNode *yaml.Node
	for _, kv := range ps {
		k, v := kv.key, kv.val
		switch {
		case k.Value == "type":
		case k.Value == "name":
			if id, ok := l.stringValue(v, "name"); ok {
				if !stepNameRE.MatchString(id) {
					l.diags.Errorf(l.posOf(v), "value", "step name %q: use letters, digits, '-', '_' and '.' only", id)
				} else {
					s.ID = id
				}
				s.positions["#name"] = l.posOf(v)
			}
		case k.Value == "path" && (fileIO || !known || !specHasPath):
			pathSeen = true
			if known && !fileIO {
				l.diags.Errorf(l.posOf(k), "unknown-key", "key \"path\" is not allowed: %s does not read or write files", checkedAs)
				continue
			}
			if p, ok := l.stringValue(v, "path"); ok {
				if strings.TrimSpace(p) == "" {
					l.diags.Errorf(l.posOf(v), "value", "path must not be empty")
				}
				s.Path = p
				s.positions["#path"] = l.posOf(v)
			}
		case k.Value == "when":
			if section != "sinks" {
				l.diags.Errorf(l.posOf(k), "unknown-key", "key \"when\" is only allowed on sinks (use a filter transform)")
				continue
			}
			if v.Kind != yaml.ScalarNode || isNull(v) {
				l.diags.Errorf(l.posOf(v), "type", "when: expected an expression, got %s", kindName(v))
				continue
			}
			s.positions["#when"] = l.textPos(v)
			l.pending = append(l.pending, pendingExpr{step: s, ref: exprRef{path: "#when", node: v, mode: sdk.ExprBool}})
		case k.Value == "encrypt" && section == "sinks" && (fileIO || !known):
			if known {
				l.encrypt(s, v)
			}
		case k.Value == "exchange" && (fileIO || !known):
			if known {
				exchangeNode = v
			}
		default:
			cfgPairs = append(cfgPairs, kv)
		}
	}
	if !known {
		return s
	}
	if exchangeNode != nil {
		l.exchange(s, exchangeNode, section) // after path: it checks the inbox part
	}
	if fileIO && !pathSeen {
		what := "a glob of the input files"
		if section == "sinks" {
			what = "the output file name"
		}
		l.diags.Errorf(s.Pos, "missing-key", "missing required key \"path\" in %s (%s)", s.ID, what)
	}
	extra := []string{"type", "name", "when"}
	if fileIO {
		extra = append(extra, "path", "exchange")
		if section == "sinks" {
			extra = append(extra, "encrypt")
		}
	}
	before := len(l.diags.Errors())
	cfg := l.object(s, spec.Fields, cfgPairs, "", s.Pos, fmt.Sprintf("for %s", checkedAs), extra)
	s.Config = sdk.ApplyDefaults(spec, sdk.Config(cfg))
	s.hasErrors = len(l.diags.Errors()) > before
	return s
}

var stepNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

func sectionOf(k sdk.Kind) string {
	switch k {
	case sdk.KindSource:
		return "source"
	case sdk.KindTransform:
		return "transforms"
	}
	return "sinks"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object checks the pairs of a mapping against fields and returns the
// plain data. parent is the mapping's position (for missing keys).
func (l *loader) object(s *Step, fields []sdk.Field, ps []pair, path string, parent diag.Pos, where string, extraKnown []string) map[string]any {
	out := make(map[string]any, len(ps))
	byName := make(map[string]sdk.Field, len(fields))
	names := append([]string(nil), extraKnown...)
	for _, f := range fields {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	present := map[string]bool{}
	for _, kv := range ps {
		k, v := kv.key, kv.val
		f, ok := byName[k.Value]
		if !ok {
			l.unknownKey(k, where, names)
			continue
		}
		present[k.Value] = true
		p := join(path, k.Value)
		if f.Deprecated != "" {
			l.diags.Warnf(l.posOf(k), "deprecated", "key %q is deprecated: %s", k.Value, f.Deprecated)
		}
		if v.Kind == yaml.ScalarNode {
			s.positions[p] = l.posOf(v)
		} else {
			s.positions[p] = l.posOf(k)
		}
		if isNull(v) {
			if f.Required {
				l.diags.Errorf(l.posOf(k), "missing-value", "key %q requires a value", k.Value)
			}
			continue // absent: the default applies
		}
		if val, ok := l.value(s, f, v, p); ok {
			out[k.Value] = val
		}
	}
	for _, f := range fields {
		if f.Required && !present[f.Name] {
			l.diags.Errorf(parent, "missing-key", "missing required key %q %s", f.Name, where)
		}
	}
	return out
}

func (l *loader) typeErr(v *yaml.Node, path, want string) {
	l.diags.Errorf(l.posOf(v), "type", "%s: expected %s, got %s", path, want, kindName(v))
}

// value checks one value against its field and returns it as plain data.
func (l *loader) value(s *Step, f sdk.Field, v *yaml.Node, path string) (any, bool) {
	if f.Expr != sdk.ExprNone && f.Type != sdk.TypeMap && f.Type != sdk.TypeList {
		if v.Kind != yaml.ScalarNode {
			l.typeErr(v, path, "an expression")
			return nil, false
		}
		s.positions[path] = l.textPos(v)
		l.pending = append(l.pending, pendingExpr{step: s, ref: exprRef{path: path, node: v, mode: f.Expr}})
		return v.Value, true
	}
	if f.Secret && v.Kind == yaml.ScalarNode {
		l.secret(v.Value)
	}
	switch f.Type {
	case sdk.TypeString:
		if v.Kind != yaml.ScalarNode {
			l.typeErr(v, path, "string")
			return nil, false
		}
		return v.Value, l.pattern(f, v, path)
	case sdk.TypeInt:
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
			l.typeErr(v, path, "int")
			return nil, false
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
		if err != nil || n > math.MaxInt || n < math.MinInt {
			l.diags.Errorf(l.posOf(v), "range", "%s: integer %s out of range", path, v.Value)
			return nil, false
		}
		if f.Min != nil && n < *f.Min {
			l.diags.Errorf(l.posOf(v), "range", "%s: must be at least %d, got %d", path, *f.Min, n)
			return nil, false
		}
		if f.Max != nil && n > *f.Max {
			l.diags.Errorf(l.posOf(v), "range", "%s: must be at most %d, got %d", path, *f.Max, n)
			return nil, false
		}
		return int(n), true
	case sdk.TypeBool:
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
			l.typeErr(v, path, "bool (true or false)")
			return nil, false
		}
		return v.Value == "true", true
	case sdk.TypeDecimal:
		tag := v.ShortTag()
		if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float" && tag != "!!str") {
			l.typeErr(v, path, "decimal")
			return nil, false
		}
		d, err := record.ParseDecimal(v.Value, '.')
		if err != nil {
			l.diags.Errorf(l.posOf(v), "type", "%s: expected decimal (e.g. 12.50), got %q", path, v.Value)
			return nil, false
		}
		return d.String(), true
	case sdk.TypeDuration:
		if v.Kind != yaml.ScalarNode {
			l.typeErr(v, path, "duration")
			return nil, false
		}
		if _, err := time.ParseDuration(v.Value); err != nil {
			l.diags.Errorf(l.posOf(v), "type", "%s: expected duration (e.g. 30s, 5m, 1h30m), got %q", path, v.Value)
			return nil, false
		}
		return v.Value, true
	case sdk.TypeEnum:
		if v.Kind != yaml.ScalarNode {
			l.typeErr(v, path, "one of "+strings.Join(f.Enum, ", "))
			return nil, false
		}
		for _, e := range f.Enum {
			if v.Value == e {
				return v.Value, true
			}
		}
		d := diag.Errorf(l.posOf(v), "enum", "%s: invalid value %q: expected one of %s", path, v.Value, enumList(f.Enum))
		if sug := suggest(v.Value, f.Enum); sug != "" {
			d.Hint = fmt.Sprintf("did you mean %q?", sug)
		}
		l.diags.Add(d)
		return nil, false
	case sdk.TypeObject:
		if v.Kind != yaml.MappingNode {
			l.typeErr(v, path, "mapping")
			return nil, false
		}
		return l.object(s, f.Children, l.pairs(v), path, l.posOf(v), "in "+path, nil), true
	case sdk.TypeList:
		if v.Kind != yaml.SequenceNode {
			l.typeErr(v, path, "list")
			return nil, false
		}
		n := int64(len(v.Content))
		if f.Min != nil && n < *f.Min {
			l.diags.Errorf(l.posOf(v), "range", "%s: needs at least %d %s, got %d", path, *f.Min, entries(*f.Min), n)
		}
		if f.Max != nil && n > *f.Max {
			l.diags.Errorf(l.posOf(v), "range", "%s: allows at most %d %s, got %d", path, *f.Max, entries(*f.Max), n)
		}
		out := make([]any, 0, len(v.Content))
		ok := true
		for i, e := range v.Content {
			e = resolve(e)
			p := fmt.Sprintf("%s[%d]", path, i)
			s.positions[p] = l.posOf(e)
			var ev any
			var eok bool
			if len(f.Children) > 0 {
				if e.Kind != yaml.MappingNode {
					l.typeErr(e, p, "mapping")
					ok = false
					continue
				}
				ev, eok = l.object(s, f.Children, l.pairs(e), p, l.posOf(e), "in "+p, nil), true
			} else {
				ev, eok = l.elem(s, f, e, p)
			}
			if eok {
				out = append(out, ev)
			} else {
				ok = false
			}
		}
		return out, ok
	case sdk.TypeMap:
		if v.Kind != yaml.MappingNode {
			l.typeErr(v, path, "mapping")
			return nil, false
		}
		out := map[string]any{}
		ok := true
		for _, kv := range l.pairs(v) {
			p := join(path, kv.key.Value)
			if kv.val.Kind == yaml.ScalarNode {
				s.positions[p] = l.posOf(kv.val)
			} else {
				s.positions[p] = l.posOf(kv.key)
			}
			if isNull(kv.val) && f.Expr == sdk.ExprNone {
				out[kv.key.Value] = nil
				continue
			}
			ev, eok := l.elem(s, f, kv.val, p)
			if eok {
				out[kv.key.Value] = ev
			} else {
				ok = false
			}
		}
		return out, ok
	case sdk.TypeAny, "":
		return l.plain(v), true
	}
	l.diags.Errorf(l.posOf(v), "spec", "%s: field has unsupported type %q in the component's spec", path, f.Type)
	return nil, false
}

// elem checks an element of a scalar list or a map value against f.Elem
// (and f.Expr: each element is then an expression).
func (l *loader) elem(s *Step, f sdk.Field, e *yaml.Node, path string) (any, bool) {
	ef := sdk.Field{Name: f.Name, Type: f.Elem, Expr: f.Expr, Pattern: f.Pattern, Enum: f.Enum, Secret: f.Secret}
	if ef.Type == "" || ef.Type == sdk.TypeList || ef.Type == sdk.TypeMap || ef.Type == sdk.TypeObject {
		if f.Expr == sdk.ExprNone {
			ef.Type = sdk.TypeAny
		} else {
			ef.Type = sdk.TypeString
		}
	}
	if ef.Type == sdk.TypeEnum && len(ef.Enum) == 0 {
		ef.Type = sdk.TypeString
	}
	return l.value(s, ef, e, path)
}

// maxExpanded bounds the values built from free-form (any) fields.
const maxExpanded = 100000

// patternCache holds compiled Field.Pattern regexps (Load may run concurrently).
var patternCache sync.Map // string -> *regexp.Regexp

func (l *loader) pattern(f sdk.Field, v *yaml.Node, path string) bool {
	if f.Pattern == "" {
		return true
	}
	var re *regexp.Regexp
	if c, ok := patternCache.Load(f.Pattern); ok {
		re = c.(*regexp.Regexp)
	} else {
		var err error
		re, err = regexp.Compile(`^(?:` + f.Pattern + `)$`)
		if err != nil {
			l.diags.Errorf(l.posOf(v), "spec", "%s: the component's pattern %q is invalid: %v", path, f.Pattern, err)
			return false
		}
		patternCache.Store(f.Pattern, re)
	}
	if !re.MatchString(v.Value) {
		l.diags.Errorf(l.posOf(v), "pattern", "%s: value %q does not match the pattern %s", path, v.Value, f.Pattern)
		return false
	}
	return true
}

// plain converts a node to plain data (map[string]any, []any, string,
// int, bool, nil); floats stay text so no decimal passes through float64.
func (l *loader) plain(v *yaml.Node) any {
	v = resolve(v)
	if v == nil {
		return nil
	}
	// Aliases can make a small document expand exponentially.
	l.expanded++
	if l.expanded > maxExpanded {
		if l.expanded == maxExpanded+1 {
			l.diags.Errorf(l.posOf(v), "too-large", "document too large: more than %d values after expanding aliases", maxExpanded)
		}
		return nil
	}
	switch v.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			m[v.Content[i].Value] = l.plain(v.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, len(v.Content))
		for i, e := range v.Content {
			out[i] = l.plain(e)
		}
		return out
	case yaml.ScalarNode:
		switch v.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			return v.Value == "true"
		case "!!int":
			if n, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64); err == nil {
				return int(n)
			}
		}
		return v.Value
	}
	return nil
}

func entries(n int64) string {
	if n == 1 {
		return "entry"
	}
	return "entries"
}

// enumList renders allowed values for a message: plain words as they are
// ("utf-8, windows-1252"), anything else quoted so that separators such as
// "", "." and " " stay readable.
func enumList(vals []string) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		plain := v != ""
		for _, r := range v {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				plain = false
				break
			}
		}
		if plain {
			parts[i] = v
		} else {
			parts[i] = strconv.Quote(v)
		}
	}
	return strings.Join(parts, ", ")
}
