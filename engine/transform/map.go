package transform

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// MapConfig is the config of the map transform. The steps apply in this
// order: set (every expression sees the input record), rename, drop.
type MapConfig struct {
	// Set maps a field name to a value expression; an existing field is
	// overwritten in place, a new field is appended (new fields in
	// alphabetical order of their names).
	Set map[string]string `yaml:"set"`
	// Rename maps an existing field name to its new name (position kept).
	Rename map[string]string `yaml:"rename"`
	// Drop lists fields to remove.
	Drop []string `yaml:"drop"`
}

var mapSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "set", Type: sdk.TypeMap, Elem: sdk.TypeString, Expr: sdk.ExprValue,
		Description: "Fields to compute: each key is a field name, each value an expression over the input record; existing fields are overwritten in place, new fields are appended in alphabetical order.",
		Example:     map[string]any{"name": "upper(name)", "total": "amount * 2"}},
	{Name: "rename", Type: sdk.TypeMap, Elem: sdk.TypeString,
		Description: "Fields to rename, from the old name to the new name; the position of the field is kept.",
		Example:     map[string]any{"old_field": "new_field"}},
	{Name: "drop", Type: sdk.TypeList, Elem: sdk.TypeString,
		Description: "Fields to remove from the record (after set and rename).",
		Example:     []any{"internal_note"}},
}}

// Map returns the map component.
func Map() sdk.Component {
	return sdk.Component{
		Name:    "map",
		Kind:    sdk.KindTransform,
		Summary: "Computes, renames and drops fields.",
		Description: "Applies `set` (expressions evaluated against the incoming record), then `rename`, then `drop`. " +
			"A record whose expression fails (null operand, overflow) is rejected with the config path (e.g. set.total) " +
			"and the reason. The output schema is computed once per input schema.",
		Spec:         mapSpec,
		Examples:     []string{"type: map\nset:\n  name: upper(name)\n  total: amount * 2\nrename: {old_field: new_field}\ndrop: [internal_note]\n"},
		NewTransform: newMap,
		OutputSchema: mapOutputSchema,
	}
}

// mapPlan is the per-input-schema layout of the output.
type mapPlan struct {
	out *record.Schema
	// src[i] >= 0: copy input field src[i]; src[i] < 0: set expression -src[i]-1.
	src []int
}

type mapT struct {
	step    string
	cfg     MapConfig
	setKeys []string // sorted
	evals   []sdk.Evaluator
	kinds   []record.Kind

	last     *record.Schema
	lastPlan *mapPlan
	plans    map[*record.Schema]*mapPlan

	vals []record.Value // results of the set expressions of one record
	// whole is the values array the records of the last Process call were
	// carved from (nil: more than one); consumed says the runner has
	// finished with them (OutputsConsumed), so the next call reuses it.
	whole    []record.Value
	consumed bool
}

func decodeMap(cfg sdk.Config) (MapConfig, []string, error) {
	var c MapConfig
	if err := cfg.Decode(&c); err != nil {
		return c, nil, err
	}
	keys := make([]string, 0, len(c.Set))
	for k := range c.Set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return c, keys, nil
}

func newMap(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	c, keys, err := decodeMap(cfg)
	if err != nil {
		return nil, err
	}
	m := &mapT{step: env.Step, cfg: c, setKeys: keys, plans: map[*record.Schema]*mapPlan{}}
	var es sdk.FieldErrors
	for _, k := range keys {
		ev, err := compiled(env, "set."+k)
		if err != nil {
			es = append(es, err.(sdk.FieldError))
			continue
		}
		m.evals = append(m.evals, ev)
		kind := record.KindNull
		if p, ok := ev.(interface{ Kind() record.Kind }); ok {
			kind = p.Kind()
		}
		m.kinds = append(m.kinds, kind)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// plan builds the output layout for input schema in; kinds gives the
// static kind of each set expression.
func plan(c MapConfig, keys []string, kinds func(i int) record.Kind, in *record.Schema) (*mapPlan, error) {
	var es sdk.FieldErrors
	names := in.Names()
	type col struct {
		f   record.Field
		src int
	}
	cols := make([]col, 0, in.Len()+len(keys))
	for i := 0; i < in.Len(); i++ {
		cols = append(cols, col{in.Field(i), i})
	}
	index := func(name string) int {
		for i, c := range cols {
			if c.f.Name == name {
				return i
			}
		}
		return -1
	}
	for i, k := range keys {
		f := record.Field{Name: k, Kind: kinds(i)}
		if j := index(k); j >= 0 {
			cols[j] = col{f, -i - 1}
		} else {
			cols = append(cols, col{f, -i - 1})
		}
	}
	olds := make([]string, 0, len(c.Rename))
	for o := range c.Rename {
		olds = append(olds, o)
	}
	sort.Strings(olds)
	for _, o := range olds {
		j := index(o)
		if j < 0 {
			es.Add("rename."+o, "field %q is not in the input%s", o, hint(o, names))
			continue
		}
		cols[j].f.Name = c.Rename[o]
	}
	for i, d := range c.Drop {
		j := index(d)
		if j < 0 {
			es.Add(fmt.Sprintf("drop[%d]", i), "field %q is not in the input%s", d, hint(d, names))
			continue
		}
		cols = append(cols[:j], cols[j+1:]...)
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	fs := make([]record.Field, len(cols))
	p := &mapPlan{src: make([]int, len(cols))}
	for i, c := range cols {
		fs[i] = c.f
		p.src[i] = c.src
	}
	out, err := record.NewSchema(fs...)
	if err != nil {
		return nil, sdk.FieldError{Path: "rename", Message: strings.TrimPrefix(err.Error(), "record: ")}
	}
	p.out = out
	return p, nil
}

func hint(s string, names []string) string {
	if sug := diag.Suggest(s, names); sug != "" {
		return fmt.Sprintf(" (did you mean %q?)", sug)
	}
	return ""
}

// mapOutputSchema is the lint-time OutputSchema.
func mapOutputSchema(cfg sdk.Config, in *record.Schema, exprKind func(string) record.Kind) (*record.Schema, error) {
	if in == nil {
		return nil, nil
	}
	c, keys, err := decodeMap(cfg)
	if err != nil {
		return nil, err
	}
	p, err := plan(c, keys, func(i int) record.Kind { return exprKind("set." + keys[i]) }, in)
	if err != nil {
		return nil, err
	}
	return p.out, nil
}

func (m *mapT) planFor(s *record.Schema) (*mapPlan, error) {
	if s == m.last && m.lastPlan != nil {
		return m.lastPlan, nil
	}
	p, ok := m.plans[s]
	if !ok {
		var err error
		p, err = plan(m.cfg, m.setKeys, func(i int) record.Kind { return m.kinds[i] }, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.step, err)
		}
		m.plans[s] = p
	}
	m.last, m.lastPlan = s, p
	return p, nil
}

// Process implements sdk.Transform.
func (m *mapT) Process(_ context.Context, in, out *record.Batch) error {
	if len(in.Records) == 0 {
		return nil
	}
	if len(m.vals) != len(m.evals) {
		m.vals = make([]record.Value, len(m.evals))
	}
	var (
		p     *mapPlan
		slab  []record.Value
		vals  = m.vals
		fresh = 0 // arrays allocated in this call
	)
	if m.consumed && m.whole != nil {
		slab = m.whole
	} else {
		m.whole = nil
	}
	m.consumed = false
	for _, r := range in.Records {
		if p == nil || r.Schema != m.last {
			var err error
			if p, err = m.planFor(r.Schema); err != nil {
				return err
			}
		}
		failed := false
		for i, ev := range m.evals {
			v, err := ev.Eval(r)
			if err != nil {
				out.Reject(r, m.step, "set."+m.setKeys[i], err.Error())
				failed = true
				break
			}
			vals[i] = v
		}
		if failed {
			continue
		}
		n := len(p.src)
		if len(slab) < n {
			slab = make([]record.Value, n*max(len(in.Records), 1))
			if fresh++; fresh == 1 && m.whole == nil {
				m.whole = slab
			} else {
				m.whole = nil // records from two arrays: do not reuse
			}
		}
		nv := slab[:n:n]
		slab = slab[n:]
		for i, s := range p.src {
			switch {
			case s < 0:
				nv[i] = vals[-s-1]
			case s < len(r.Values):
				nv[i] = r.Values[s]
			default:
				nv[i] = record.Null
			}
		}
		out.Records = append(out.Records, record.Record{Schema: p.out, Values: nv, Origin: r.Origin})
	}
	return nil
}

// OutputsConsumed tells the map that nothing references the records of
// its earlier outputs any more (the runner calls it when a batch has gone
// through every step and no step keeps records), so the next Process
// reuses their values array instead of allocating one.
func (m *mapT) OutputsConsumed() { m.consumed = true }

// Close implements sdk.Transform.
func (m *mapT) Close() error { return nil }

// InPlace reports true: Process only uses the CPU, appends at most one
// record per input record after reading it and keeps no reference to in,
// so the runner may let out.Records share in.Records' array and run the
// transform in the goroutine of its neighbours.
func (m *mapT) InPlace() bool { return true }
