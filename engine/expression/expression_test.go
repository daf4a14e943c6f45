package expression

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var testSchema = record.MustSchema(
	record.Field{Name: "name", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "qty", Kind: record.KindInt},
	record.Field{Name: "status", Kind: record.KindString},
	record.Field{Name: "due", Kind: record.KindDate},
	record.Field{Name: "active", Kind: record.KindBool},
	record.Field{Name: "note", Kind: record.KindNull},
)

var fixedNow = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)

func testRecord() record.Record {
	return record.Record{Schema: testSchema, Values: []record.Value{
		record.String("Anna"),
		record.Dec(record.MustDecimal("12.50")),
		record.Int(3),
		record.String("active"),
		record.DateValue(record.NewDate(2026, 3, 1)),
		record.Bool(true),
		record.Dec(record.MustDecimal("0.1")),
	}}
}

func TestEval(t *testing.T) {
	tests := []struct {
		src  string
		want string
		kind record.Kind
	}{
		{`amount > 10`, "true", record.KindBool},
		{`amount > 12.5`, "false", record.KindBool},
		{`amount == 12.5`, "true", record.KindBool},
		{`amount != 12.50`, "false", record.KindBool},
		{`amount * 2`, "25.00", record.KindDecimal},
		{`amount + 0.1 + 0.2`, "12.80", record.KindDecimal},
		{`0.1 + 0.2 == 0.3`, "true", record.KindBool},
		{`amount / 3`, "4.166666666666666667", record.KindDecimal},
		{`7 / 2`, "3.5", record.KindDecimal},
		{`-amount`, "-12.50", record.KindDecimal},
		{`-1.5 * amount`, "-18.750", record.KindDecimal},
		{`qty * amount`, "37.50", record.KindDecimal},
		{`qty + 1`, "4", record.KindInt},
		{`upper(name)`, "ANNA", record.KindString},
		{`name + "!"`, "Anna!", record.KindString},
		{`status == "active" && amount > 10`, "true", record.KindBool},
		{`due < today()`, "true", record.KindBool},
		{`today() - due`, "14", record.KindInt},
		{`due + 30`, "2026-03-31", record.KindDate},
		{`note + 1`, "1.1", record.KindNull},
		{`note > 0`, "true", record.KindBool},
		{`note == nil`, "false", record.KindBool},
		{`amount == nil`, "false", record.KindBool},
		{`let x = amount * 2; x + 1`, "26.00", record.KindNull},
		{`active ? "y" : "n"`, "y", record.KindString},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			p, err := Compile(tc.src, testSchema, sdk.ExprValue, WithNow(func() time.Time { return fixedNow }))
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind() != tc.kind {
				t.Errorf("Kind() = %v, want %v", p.Kind(), tc.kind)
			}
			v, err := p.Eval(testRecord())
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != tc.want {
				t.Errorf("got %s (%v), want %s", v.String(), v.Kind(), tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src       string
		mode      sdk.ExprMode
		line, col int
		msg, hint string
	}{
		{`nmae == "x"`, sdk.ExprBool, 1, 1, `undefined field "nmae"`, `did you mean "name"?`},
		{`status == "a" && amuont > 1`, sdk.ExprBool, 1, 18, `undefined field "amuont"`, `did you mean "amount"?`},
		{"status == \"a\"\n  && amuont > 1", sdk.ExprBool, 2, 6, `undefined field "amuont"`, `did you mean "amount"?`},
		{`name > 10`, sdk.ExprBool, 1, 6, "invalid operation: > (mismatched types string and int)", ""},
		{`amount + "x"`, sdk.ExprValue, 1, 8, "invalid operation: + (mismatched types decimal and string)", ""},
		{`amount > 0 && amount * "2" > 1`, sdk.ExprBool, 1, 22, "invalid operation: * (mismatched types decimal and string)", ""},
		{`due < 3`, sdk.ExprBool, 1, 5, "invalid operation: < (mismatched types date and int)", ""},
		{`uper(name)`, sdk.ExprValue, 1, 1, `unknown function "uper"`, `did you mean "upper"?`},
		{`upper(name, 1)`, sdk.ExprValue, 1, 1, "too many arguments to call upper", ""},
		{`amount >`, sdk.ExprBool, 1, 8, "unexpected token EOF", ""},
		{`amount * 2`, sdk.ExprBool, 1, 1, "condition must be bool, but is decimal", ""},
		{``, sdk.ExprBool, 1, 1, "empty expression", ""},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Compile(tc.src, testSchema, tc.mode)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want CompileError", err)
			}
			if ce.Line != tc.line || ce.Col != tc.col || !strings.HasPrefix(ce.Msg, tc.msg) || ce.Hint != tc.hint {
				t.Errorf("got %d:%d %q hint %q, want %d:%d %q hint %q", ce.Line, ce.Col, ce.Msg, ce.Hint, tc.line, tc.col, tc.msg, tc.hint)
			}
		})
	}
}

func TestUnknownSchema(t *testing.T) {
	p, err := Compile(`amount > 10 && upper(name) == "ANNA"`, nil, sdk.ExprBool)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Fields(), ","); got != "amount,name" {
		t.Errorf("Fields = %s", got)
	}
	ok, err := p.EvalBool(testRecord())
	if err != nil || !ok {
		t.Fatalf("EvalBool = %v, %v", ok, err)
	}
	// A second schema (different pointer, amount as int) binds again.
	s2 := record.MustSchema(record.Field{Name: "name", Kind: record.KindString}, record.Field{Name: "amount", Kind: record.KindInt})
	ok, err = p.EvalBool(record.Record{Schema: s2, Values: []record.Value{record.String("anna"), record.Int(5)}})
	if err != nil || ok {
		t.Fatalf("EvalBool = %v, %v", ok, err)
	}
	// A schema without the field fails at bind time.
	s3 := record.MustSchema(record.Field{Name: "name", Kind: record.KindString})
	if err := p.Bind(s3); err == nil || !strings.Contains(err.Error(), `undefined field "amount"`) {
		t.Fatalf("Bind = %v", err)
	}
	// Syntax and function names are still checked without a schema.
	if _, err := Compile(`foo(x)`, nil, sdk.ExprValue); err == nil || !strings.Contains(err.Error(), `unknown function "foo"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Compile(`a +* b`, nil, sdk.ExprValue); err == nil {
		t.Fatal("want syntax error")
	}
}

func TestRuntimeErrors(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "a", Kind: record.KindDecimal}, record.Field{Name: "b", Kind: record.KindDecimal})
	rec := func(a, b record.Value) record.Record { return record.Record{Schema: s, Values: []record.Value{a, b}} }
	big := record.Dec(record.MustDecimal("9999999999999999999"))
	tests := []struct {
		src  string
		r    record.Record
		want string
		is   error
	}{
		{`a * b`, rec(big, big), "decimal overflow", record.ErrDecimalOverflow},
		{`a / b`, rec(big, record.Dec(record.MustDecimal("0"))), "division by zero", nil},
		{`a + b`, rec(big, record.Null), "null", errNull},
		{`a > b`, rec(record.Null, big), "null", errNull},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			p := MustCompile(tc.src, s, sdk.ExprValue)
			_, err := p.Eval(tc.r)
			var ee *EvalError
			if !errors.As(err, &ee) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
		})
	}
	// Compiled against one schema, a record of another schema with the
	// same kinds reuses the program.
	p := MustCompile(`a + b`, s, sdk.ExprValue)
	s2 := record.MustSchema(record.Field{Name: "b", Kind: record.KindDecimal}, record.Field{Name: "a", Kind: record.KindDecimal})
	v, err := p.Eval(record.Record{Schema: s2, Values: []record.Value{record.Dec(record.MustDecimal("1")), record.Dec(record.MustDecimal("2.5"))}})
	if err != nil || v.String() != "3.5" {
		t.Fatalf("got %v, %v", v, err)
	}
}

func TestWithFunctions(t *testing.T) {
	f := Function{Name: "double", Fn: func(a ...any) (any, error) { return a[0].(int) * 2, nil }, Types: []any{new(func(int) int)}}
	p := MustCompile(`double(qty)`, testSchema, sdk.ExprValue, WithFunctions(f))
	v, err := p.Eval(testRecord())
	if err != nil || v.Int() != 6 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := Compile(`double(name)`, testSchema, sdk.ExprValue, WithFunctions(f)); err == nil {
		t.Fatal("want type error for double(name)")
	}
}

func BenchmarkFilterAndMap(b *testing.B) {
	cond := MustCompile(`amount > 10`, testSchema, sdk.ExprBool)
	val := MustCompile(`upper(name)`, testSchema, sdk.ExprValue)
	r := testRecord()
	b.ReportAllocs()
	for b.Loop() {
		ok, err := cond.EvalBool(r)
		if err != nil || !ok {
			b.Fatal(err)
		}
		if _, err := val.Eval(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecimalArithmetic(b *testing.B) {
	p := MustCompile(`amount * 2 + qty`, testSchema, sdk.ExprValue)
	r := testRecord()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(r); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCompile checks that no expression text panics the compiler or the
// evaluation, and that compile errors are positioned inside the text.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`amount > 10`, `upper(name) + "x"`, `-amount * 1.5 / qty`, `due + 3 < today()`,
		`note == nil ? 1 : note + 0.5`, `let x = 1; x / 0`, `amount / 0`, `[1, 2][qty]`, `name[1:]`, `{"a": amount}.a`} {
		f.Add(s)
	}
	rec := testRecord()
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, testSchema, sdk.ExprValue)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Line < 1 || ce.Col < 1 {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		_, _ = p.Eval(rec)
	})
}

// TestReusedValues checks that skipping unchanged values between records
// never leaks a previous record's value (1.0 and 1.00 are different
// representations; null after a value; a field changing kind in a field of
// unknown kind).
func TestReusedValues(t *testing.T) {
	s := record.MustSchema(record.Field{Name: "a", Kind: record.KindDecimal}, record.Field{Name: "b", Kind: record.KindNull})
	p := MustCompile(`a * 1`, s, sdk.ExprValue)
	q := MustCompile(`b == nil ? "null" : b`, s, sdk.ExprValue)
	vals := []record.Value{record.Dec(record.MustDecimal("1.0")), record.Dec(record.MustDecimal("1.00")), record.Dec(record.MustDecimal("1.00")), record.Null}
	bs := []record.Value{record.String("x"), record.String("x"), record.Int(1), record.Null}
	want := []string{"1.0", "1.00", "1.00", ""}
	wantB := []string{"x", "x", "1", "null"}
	for i := range vals {
		r := record.Record{Schema: s, Values: []record.Value{vals[i], bs[i]}}
		v, err := p.Eval(r)
		if i == 3 {
			if err == nil {
				t.Errorf("record %d: want null error", i)
			}
		} else if err != nil || v.String() != want[i] {
			t.Errorf("record %d: got %v, %v want %s", i, v, err, want[i])
		}
		w, err := q.Eval(r)
		if err != nil || w.String() != wantB[i] {
			t.Errorf("record %d: b got %v, %v want %s", i, w, err, wantB[i])
		}
	}
}
