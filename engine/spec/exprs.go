package spec

import (
	"errors"
	"fmt"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/expression"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// pendingExpr is an expression field waiting for its step's input schema.
type pendingExpr struct {
	step *Step
	ref  exprRef
}

// compile propagates schemas from the source through the transforms and
// compiles every expression against the schema entering its step.
func (l *loader) compile() {
	byStep := map[*Step][]exprRef{}
	for _, pe := range l.pending {
		byStep[pe.step] = append(byStep[pe.step], pe.ref)
	}
	var in *record.Schema
	if s := l.p.Source; s != nil && s.Component.Name != "" {
		l.compileStep(s, nil, byStep[s])
		if s.Component.Schema != nil {
			// Invalid values are absent from the config (defaults apply), so
			// the schema is still worth computing; its errors are only
			// reported when the config had none (else they are likely
			// follow-up errors).
			sch, err := safeSchema(func() (*record.Schema, error) { return s.Component.Schema(s.Config) })
			if err != nil && !l.stepHasErrors(s) {
				l.diags.Append(s.MapFieldErrors(err))
			}
			in = sch
		}
		s.OutSchema = in
	} else {
		in = nil
	}
	for _, s := range l.p.Transforms {
		if s == nil {
			continue
		}
		s.InSchema = in
		if s.Component.Name == "" {
			in = nil // unknown component: schema unknown from here on
			continue
		}
		l.compileStep(s, in, byStep[s])
		out := in
		if s.Component.OutputSchema != nil {
			kind := func(path string) record.Kind {
				if e, ok := s.Exprs[path]; ok {
					if p, ok := e.Program.(*expression.Program); ok {
						return p.Kind()
					}
				}
				return record.KindNull
			}
			sch, err := safeSchema(func() (*record.Schema, error) { return s.Component.OutputSchema(s.Config, in, kind) })
			if err != nil && !l.stepHasErrors(s) {
				l.diags.Append(s.MapFieldErrors(err))
			}
			out = sch
		}
		s.OutSchema = out
		in = out
	}
	for _, s := range l.p.Sinks {
		if s == nil {
			continue
		}
		s.InSchema, s.OutSchema = in, in
		if s.Component.Name == "" && len(byStep[s]) == 0 {
			continue
		}
		l.compileStep(s, in, byStep[s])
	}
}

func safeSchema(f func() (*record.Schema, error)) (s *record.Schema, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("computing the schema failed: %v", r)
		}
	}()
	return f()
}

// stepHasErrors reports whether errors were found within the step's mapping
// so far (its schema function then gets no half-valid config).
func (l *loader) stepHasErrors(s *Step) bool {
	return s.hasErrors
}

func (l *loader) compileStep(s *Step, in *record.Schema, refs []exprRef) {
	opts := append([]expression.Option{expression.WithNow(l.opts.Now)}, l.opts.Expr...)
	for _, r := range refs {
		e := &Expr{Source: r.node.Value, Pos: l.textPos(r.node), Mode: r.mode}
		prog, err := expression.Compile(r.node.Value, in, r.mode, opts...)
		if err != nil {
			var ce *expression.CompileError
			if errors.As(err, &ce) {
				d := diag.Errorf(l.exprPos(r.node, ce.Line, ce.Col), "expr", "%s", ce.Msg)
				d.Hint = ce.Hint
				d.Path = s.ID + "." + r.path
				l.diags.Add(d)
			} else {
				l.diags.Errorf(e.Pos, "expr", "%v", err)
			}
			continue
		}
		e.Program = prog
		if r.path == "#when" {
			s.When = e
			continue
		}
		if s.Exprs == nil {
			s.Exprs = map[string]*Expr{}
		}
		s.Exprs[r.path] = e
	}
}

// MapFieldErrors converts an error from the step's constructor or schema
// function into positioned diagnostics: each sdk.FieldError is reported at
// the YAML position of its path (falling back to the nearest parent); any
// other error at the step.
func (s *Step) MapFieldErrors(err error) diag.List {
	if err == nil {
		return nil
	}
	name := s.Type
	if name == "" {
		name = s.ID
	}
	fes, ok := sdk.AsFieldErrors(err)
	if !ok {
		return diag.List{diag.Errorf(s.Pos, "config", "%s: %v", name, err)}
	}
	var out diag.List
	for _, fe := range fes {
		d := diag.Errorf(s.PosOf(fe.Path), "config", "%s: %s", name, fe.Error())
		d.Path = fe.Path
		out.Add(d)
	}
	return out
}
