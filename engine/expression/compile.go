package expression

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/expression/funcs"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Function is a function callable from expressions. It has the shape of
// the function library's entries (engine/expression/funcs): Fn gets the
// evaluated arguments; Types are signatures such as
// new(func(string) bool) that let the compiler check calls (empty: any
// arguments, result unknown).
type Function struct {
	Name    string
	Doc     string // one sentence for `kontor docs`
	Example string // e.g. `upper(name)`
	Fn      func(args ...any) (any, error)
	Types   []any
}

// Option configures Compile.
type Option func(*options)

type options struct {
	now   func() time.Time
	funcs []Function
	lib   bool
}

// WithNow sets the clock behind now() and today() (and every library
// function that needs the date). Default: time.Now. The runner passes the
// run start so that all records of a run see the same "today".
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithFunctions adds functions (overriding library and built-in functions
// of the same name).
func WithFunctions(fs ...Function) Option {
	return func(o *options) { o.funcs = append(o.funcs, fs...) }
}

// WithoutLibrary leaves out the domain function library
// (engine/expression/funcs); only expr's built-ins, now(), today() and
// WithFunctions remain.
func WithoutLibrary() Option { return func(o *options) { o.lib = false } }

// library converts the domain function library for the clock now.
func library(now func() time.Time) []Function {
	fs := funcs.Library(now)
	out := make([]Function, len(fs))
	for i, f := range fs {
		out[i] = Function{Name: f.Name, Doc: f.Doc, Example: f.Example, Fn: f.Fn, Types: f.Types}
	}
	return out
}

// Functions returns the functions available in expressions by default
// (now, today and the domain library; expr's built-ins such as upper,
// lower, trim, len are not listed), for `kontor docs`.
func Functions() []Function {
	o := options{now: time.Now, lib: true}
	return o.functions()
}

// coreFunctions are deterministic replacements of expr's clock built-ins.
func coreFunctions(now func() time.Time) []Function {
	return []Function{
		{Name: "now", Doc: "Returns the start time of the run.", Example: "now()",
			Fn: func(...any) (any, error) { return now(), nil }, Types: []any{new(func() time.Time)}},
		{Name: "today", Doc: "Returns the date the run started (in the run's local time zone).", Example: "due_date < today()",
			Fn: func(...any) (any, error) { return record.DateOf(now()), nil }, Types: []any{new(func() record.Date)}},
	}
}

func (o *options) functions() []Function {
	fs := coreFunctions(o.now)
	if o.lib {
		fs = append(fs, library(o.now)...)
	}
	return append(fs, o.funcs...)
}

// CompileError is a problem in an expression. Line and Col are 1-based and
// relative to the expression text (Col counts runes).
type CompileError struct {
	Line, Col int
	Msg       string
	Hint      string // e.g. `did you mean "name"?`
}

func (e *CompileError) Error() string {
	s := fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// EvalError is a run-time error of an expression (overflow, division by
// zero, null operand, a function's error). It unwraps to the cause.
type EvalError struct {
	Expr string // the expression text
	Msg  string
	Err  error
}

func (e *EvalError) Error() string { return e.Msg }

// Unwrap returns the cause (e.g. record.ErrDecimalOverflow).
func (e *EvalError) Unwrap() error { return e.Err }

// Program is a compiled expression. It implements sdk.Evaluator. It is
// not safe for concurrent use (see the package doc).
type Program struct {
	src    string
	mode   sdk.ExprMode
	opts   options
	schema *record.Schema // schema compiled against; nil: unknown at compile time
	kind   record.Kind
	fields []string

	last  *record.Schema
	lastB *binding
	cache map[*record.Schema]*binding
	vm    vm.VM
	// noFast disables the direct evaluation (tests compare both paths).
	noFast bool
	pure   map[string]func(...any) (any, error) // see pureFunctions
}

var _ sdk.Evaluator = (*Program)(nil)

type binding struct {
	prog  *vm.Program
	names []string
	idx   []int
	kinds []record.Kind
	env   map[string]any
	kind  record.Kind
	err   error
	// prev holds the values last converted into env (valid[i] once set).
	prev  []record.Value
	valid []bool
	// tree is the checked, optimised expression; fast evaluates it
	// directly on the record's values (nil: the VM only; see fast.go).
	tree ast.Node
	fast fastFn
}

// bindFast builds b.fast for b.tree and b's field positions; fns are
// the functions the fast path may call.
func (b *binding) bindFast(fns map[string]func(...any) (any, error)) {
	if b.tree == nil {
		return
	}
	b.fast = buildFast(b.tree, func(name string) (int, bool) {
		for i, n := range b.names {
			if n == name {
				return b.idx[i], true
			}
		}
		return 0, false
	}, func(name string) record.Kind {
		for i, n := range b.names {
			if n == name {
				return b.kinds[i]
			}
		}
		return record.KindNull
	}, fns)
}

// pureFunctions returns the functions the fast path may call directly:
// now, today and the domain library, which are free of side effects (so
// evaluating them again on the VM after the fast path gave up is
// harmless). Functions from WithFunctions are left to the VM, as are
// library functions they replace.
func (p *Program) pureFunctions() map[string]func(...any) (any, error) {
	if p.pure != nil {
		return p.pure
	}
	fs := coreFunctions(p.opts.now)
	if p.opts.lib {
		fs = append(fs, library(p.opts.now)...)
	}
	p.pure = make(map[string]func(...any) (any, error), len(fs))
	for _, f := range fs {
		p.pure[f.Name] = f.Fn
	}
	for _, f := range p.opts.funcs {
		delete(p.pure, f.Name)
	}
	return p.pure
}

// Compile compiles src against schema (nil: unknown, see the package doc).
// mode ExprBool requires a bool result. The error is a *CompileError.
func Compile(src string, schema *record.Schema, mode sdk.ExprMode, opts ...Option) (*Program, error) {
	o := options{now: time.Now, lib: true}
	for _, opt := range opts {
		opt(&o)
	}
	p := &Program{src: src, mode: mode, opts: o, schema: schema}
	b, err := p.compile(schema)
	if err != nil {
		return nil, err
	}
	p.kind = b.kind
	p.fields = append([]string(nil), b.names...)
	sort.Strings(p.fields)
	if schema != nil {
		p.last, p.lastB = schema, b
	}
	return p, nil
}

// MustCompile is Compile that panics; for tests and constant expressions.
func MustCompile(src string, schema *record.Schema, mode sdk.ExprMode, opts ...Option) *Program {
	p, err := Compile(src, schema, mode, opts...)
	if err != nil {
		panic(err)
	}
	return p
}

// Source returns the expression text.
func (p *Program) Source() string { return p.src }

// Mode returns the mode the program was compiled with.
func (p *Program) Mode() sdk.ExprMode { return p.mode }

// Kind returns the static result kind, KindNull when unknown (e.g. the
// schema was unknown at compile time).
func (p *Program) Kind() record.Kind { return p.kind }

// Fields returns the referenced field names, sorted.
func (p *Program) Fields() []string { return append([]string(nil), p.fields...) }

// Clone returns a program sharing the compiled code but with its own VM and
// variables, for use from another goroutine.
func (p *Program) Clone() *Program {
	q := &Program{src: p.src, mode: p.mode, opts: p.opts, schema: p.schema, kind: p.kind, fields: p.fields}
	if p.schema != nil {
		b, _ := q.compile(p.schema)
		q.last, q.lastB = p.schema, b
	}
	return q
}

// Bind prepares evaluation for records of schema s (compiling against it
// when needed) and returns the compile error, if any. Eval binds on its own;
// Bind lets the runner report a problem before the first record.
func (p *Program) Bind(s *record.Schema) error {
	return p.bind(s).err
}

func (p *Program) bind(s *record.Schema) *binding {
	if s == p.last && p.lastB != nil {
		return p.lastB
	}
	if b, ok := p.cache[s]; ok {
		p.last, p.lastB = s, b
		return b
	}
	var b *binding
	if p.schema != nil && p.lastB != nil && compatible(p.lastB, s) {
		// Same field kinds: reuse the code, only the indexes change.
		b = &binding{prog: p.lastB.prog, names: p.lastB.names, kinds: p.lastB.kinds, kind: p.lastB.kind,
			env: make(map[string]any, len(p.lastB.names)), tree: p.lastB.tree}
		b.idx = make([]int, len(b.names))
		for i, n := range b.names {
			b.idx[i] = s.Index(n)
		}
		b.bindFast(p.pureFunctions())
	} else {
		var err error
		b, err = p.compile(s)
		if err != nil {
			b = &binding{err: &EvalError{Expr: p.src, Msg: "expression " + p.src + ": " + err.Error(), Err: err}}
		}
	}
	if p.cache == nil {
		p.cache = make(map[*record.Schema]*binding)
	}
	if p.lastB != nil {
		p.cache[p.last] = p.lastB
	}
	p.cache[s] = b
	p.last, p.lastB = s, b
	return b
}

func compatible(b *binding, s *record.Schema) bool {
	for i, n := range b.names {
		j := s.Index(n)
		if j < 0 || s.Field(j).Kind != b.kinds[i] {
			return false
		}
	}
	return true
}

// sample returns a value of the Go type an expression sees for kind k.
func sample(k record.Kind) any {
	switch k {
	case record.KindString:
		return ""
	case record.KindInt:
		return 0
	case record.KindDecimal:
		return record.Decimal{}
	case record.KindBool:
		return false
	case record.KindDate:
		return record.Date(0)
	case record.KindDateTime:
		return time.Time{}
	case record.KindList:
		return []any{}
	case record.KindMap:
		return map[string]any{}
	}
	return nil
}

// kindOf maps a static Go result type to a record kind.
func kindOf(t reflect.Type) record.Kind {
	if t == nil {
		return record.KindNull
	}
	switch {
	case t == decType:
		return record.KindDecimal
	case t == dateType:
		return record.KindDate
	case t == timeType:
		return record.KindDateTime
	}
	switch t.Kind() {
	case reflect.String:
		return record.KindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return record.KindInt
	case reflect.Float32, reflect.Float64:
		return record.KindDecimal
	case reflect.Bool:
		return record.KindBool
	case reflect.Slice, reflect.Array:
		return record.KindList
	case reflect.Map:
		return record.KindMap
	}
	return record.KindNull
}

// config builds the expr configuration for schema s.
func (p *Program) config(s *record.Schema, env map[string]any) *conf.Config {
	cfg := conf.CreateNew()
	expr.Env(env)(cfg)
	if s == nil {
		cfg.Strict = false
	}
	for _, o := range operatorOptions() {
		o(cfg)
	}
	for _, f := range p.opts.functions() {
		expr.Function(f.Name, f.Fn, f.Types...)(cfg)
	}
	if p.mode == sdk.ExprBool {
		cfg.Expect = reflect.Bool
	}
	return cfg
}

func (p *Program) compile(s *record.Schema) (b *binding, err error) {
	defer func() {
		// expr panics on malformed configurations; never let user input
		// crash the host.
		if r := recover(); r != nil {
			b, err = nil, &CompileError{Line: 1, Col: 1, Msg: fmt.Sprint(r)}
		}
	}()
	if strings.TrimSpace(p.src) == "" {
		return nil, &CompileError{Line: 1, Col: 1, Msg: "empty expression"}
	}
	env := make(map[string]any, s.Len())
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		env[f.Name] = sample(f.Kind)
	}
	cfg := p.config(s, env)
	source := file.NewSource(p.src)

	tree, err := parser.ParseWithConfig(p.src, cfg)
	if err != nil {
		return nil, p.convert(err, source)
	}
	names, cerr := p.checkNames(tree, cfg, s, env)
	if cerr != nil {
		return nil, cerr
	}
	rw := &rewriter{}
	cfg.Visitors = append(append([]ast.Visitor{rw}, cfg.Visitors...), typeReset{rw})
	_, err = new(checker.Checker).PatchAndCheck(tree, cfg)
	if rw.err != nil {
		return nil, p.convert(rw.err, source)
	}
	if err != nil {
		return nil, p.convert(err, source)
	}
	if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
		return nil, p.convert(err, source)
	}
	prog, err := compiler.Compile(tree, cfg)
	if err != nil {
		return nil, p.convert(err, source)
	}
	b = &binding{prog: prog, env: make(map[string]any, len(names)), kind: kindOf(tree.Node.Type())}
	if b.kind == record.KindNull && tree.Node.Type() != nil && tree.Node.Type().Kind() == reflect.Interface {
		b.kind = record.KindNull
	}
	for _, n := range names {
		b.names = append(b.names, n)
		j := s.Index(n)
		b.idx = append(b.idx, j)
		k := record.KindNull
		if j >= 0 {
			k = s.Field(j).Kind
		}
		b.kinds = append(b.kinds, k)
	}
	b.tree = tree.Node
	b.bindFast(p.pureFunctions())
	return b, nil
}

// nameCollector finds identifiers that are not functions or let variables.
type nameCollector struct {
	cfg    *conf.Config
	lets   map[string]bool
	idents []*ast.IdentifierNode
	calls  []*ast.IdentifierNode
}

func (c *nameCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		c.lets[n.Name] = true
	case *ast.CallNode:
		if id, ok := n.Callee.(*ast.IdentifierNode); ok {
			c.calls = append(c.calls, id)
		}
	case *ast.IdentifierNode:
		c.idents = append(c.idents, n)
	}
}

// checkNames reports unknown functions and (with a schema) undefined
// fields with did-you-mean hints, and returns the referenced fields.
func (p *Program) checkNames(tree *parser.Tree, cfg *conf.Config, s *record.Schema, env map[string]any) ([]string, error) {
	c := &nameCollector{cfg: cfg, lets: map[string]bool{}}
	ast.Walk(&tree.Node, c)
	isCallee := map[*ast.IdentifierNode]bool{}
	source := file.NewSource(p.src)
	for _, id := range c.calls {
		isCallee[id] = true
		if _, ok := cfg.Functions[id.Value]; ok {
			continue
		}
		if _, ok := cfg.Builtins[id.Value]; ok {
			continue
		}
		if _, ok := env[id.Value]; ok || c.lets[id.Value] {
			continue
		}
		ce := p.convert(&file.Error{Location: id.Location(), Message: fmt.Sprintf("unknown function %q", id.Value)}, source).(*CompileError)
		if sug := suggest(id.Value, functionNames(cfg)); sug != "" {
			ce.Hint = fmt.Sprintf("did you mean %q?", sug)
		}
		return nil, ce
	}
	seen := map[string]bool{}
	var names []string
	for _, id := range c.idents {
		if isCallee[id] || c.lets[id.Value] || id.Value == "$env" || seen[id.Value] {
			continue
		}
		if _, ok := env[id.Value]; !ok {
			if _, ok := cfg.Functions[id.Value]; ok {
				continue
			}
			if _, ok := cfg.Builtins[id.Value]; ok {
				continue
			}
			if s != nil {
				ce := p.convert(&file.Error{Location: id.Location(), Message: fmt.Sprintf("undefined field %q", id.Value)}, source).(*CompileError)
				if sug := suggest(id.Value, s.Names()); sug != "" {
					ce.Hint = fmt.Sprintf("did you mean %q?", sug)
				}
				return nil, ce
			}
		}
		seen[id.Value] = true
		names = append(names, id.Value)
	}
	return names, nil
}

func functionNames(cfg *conf.Config) []string {
	var out []string
	for n := range cfg.Functions {
		if !strings.HasPrefix(n, "$") {
			out = append(out, n)
		}
	}
	for n := range cfg.Builtins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var typeNames = strings.NewReplacer(
	"record.Decimal", "decimal", "record.Date", "date", "time.Time", "datetime",
	"interface {}", "any", "map[string]interface {}", "map", "[]interface {}", "list")

// convert turns an expr error into a *CompileError.
func (p *Program) convert(err error, source file.Source) error {
	var ce *CompileError
	if errors.As(err, &ce) {
		return ce
	}
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &CompileError{Line: 1, Col: 1, Msg: humanize(err.Error())}
	}
	if fe.Line == 0 {
		fe = fe.Bind(source)
	}
	return &CompileError{Line: max(fe.Line, 1), Col: fe.Column + 1, Msg: humanize(fe.Message)}
}

func humanize(msg string) string {
	msg = strings.TrimSpace(typeNames.Replace(msg))
	if strings.HasPrefix(msg, "expected bool, but got ") {
		msg = "condition must be bool, but is " + strings.TrimPrefix(msg, "expected bool, but got ")
	}
	return msg
}

// suggest is diag.Suggest that also catches one swapped pair of adjacent
// letters ("nmae" for "name"), the most common typo.
func suggest(s string, candidates []string) string {
	if sug := diag.Suggest(s, candidates); sug != "" {
		return sug
	}
	for _, c := range candidates {
		if len(c) == len(s) && len(s) >= 2 {
			diff := []int{}
			for i := 0; i < len(s) && len(diff) <= 2; i++ {
				if s[i] != c[i] {
					diff = append(diff, i)
				}
			}
			if len(diff) == 2 && diff[1] == diff[0]+1 && s[diff[0]] == c[diff[1]] && s[diff[1]] == c[diff[0]] {
				return c
			}
		}
	}
	return ""
}
