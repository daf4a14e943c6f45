package funcs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/expression"
	"github.com/kontor-etl/kontor/engine/expression/funcs"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var clock = func() time.Time {
	return time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("CET", 3600))
}

// functions adapts the library to engine/expression as the integrator does.
func functions() []expression.Function {
	var out []expression.Function
	for _, f := range funcs.Library(clock) {
		out = append(out, expression.Function{Name: f.Name, Doc: f.Doc, Example: f.Example, Fn: f.Fn, Types: f.Types})
	}
	return out
}

var schema = record.MustSchema(
	record.Field{Name: "name", Kind: record.KindString},
	record.Field{Name: "iban", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "qty", Kind: record.KindInt},
	record.Field{Name: "due", Kind: record.KindDate},
	record.Field{Name: "kz", Kind: record.KindString},
)

func compile(t *testing.T, src string, mode sdk.ExprMode) (*expression.Program, error) {
	t.Helper()
	return expression.Compile(src, schema, mode, expression.WithoutLibrary(), expression.WithNow(clock),
		expression.WithFunctions(functions()...))
}

func testRecord(t *testing.T) record.Record {
	t.Helper()
	r := record.New(schema, record.Origin{})
	set := func(name string, v record.Value) {
		if !r.Set(name, v) {
			t.Fatalf("cannot set %s", name)
		}
	}
	set("name", record.String("Jürgen Müller & Co."))
	set("iban", record.String("DE89 3704 0044 0532 0130 00"))
	set("amount", record.Dec(record.MustDecimal("1234.505")))
	set("qty", record.Int(3))
	set("due", record.DateValue(record.NewDate(2026, time.April, 3)))
	set("kz", record.String("0701172-9"))
	return r
}

// TestExamples evaluates every documented example through the expression
// engine; each must compile with the typed signatures and yield true.
func TestExamples(t *testing.T) {
	r := testRecord(t)
	for _, f := range funcs.Library(clock) {
		p, err := compile(t, f.Example, sdk.ExprBool)
		if err != nil {
			t.Errorf("%s: example %q does not compile: %v", f.Name, f.Example, err)
			continue
		}
		ok, err := p.EvalBool(r)
		if err != nil || !ok {
			t.Errorf("%s: example %q = %v, %v; want true", f.Name, f.Example, ok, err)
		}
	}
}

// TestPipelineExpressions runs realistic expressions over a record, one
// per group, through the engine.
func TestPipelineExpressions(t *testing.T) {
	r := testRecord(t)
	for _, tc := range []struct{ src, want string }{
		{`left(sepa_text(name), 70)`, "Juergen Mueller + Co."},
		{`iban_valid(iban) && is_sepa_country(left(iban_normalize(iban), 2))`, "true"},
		{`format_amount(amount, ",", 2, ".")`, "1.234,51"},
		{`round(amount * qty, 2)`, "3703.52"},
		{`string(add_business_days(due, 1))`, "2026-04-08"}, // due is Good Friday: rolls to 04-07, then +1
		{`format_date(add_months(due, 1), "DD.MM.YYYY")`, "03.05.2026"},
		{`pad_left(qty, 5, "0") + "|" + pad_right(upper(left(name, 6)), 8, "_")`, "00003|JÜRGEN__"},
		{`kassenzeichen_valid(kz, "luhn") ? "ok" : "bad"`, "ok"},
		{`coalesce(nil, name)`, "Jürgen Müller & Co."},
		{`days_between(due, today())`, "234"},
		{`min(amount, 1000, 2000.5)`, "1000"},
	} {
		p, err := compile(t, tc.src, sdk.ExprValue)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		v, err := p.Eval(r)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.src, got, tc.want)
		}
	}
}

// TestCompileTimeTypeErrors checks that the typed signatures catch misuse
// at load time.
func TestCompileTimeTypeErrors(t *testing.T) {
	for _, src := range []string{
		`pad_left(name, "8")`,
		`iban_valid(amount)`,
		`add_business_days(name, 1)`,
		`round(amount, "2")`,
		`format_amount(name, ",", 2)`,
		`substr(name, 1)`,
	} {
		if _, err := compile(t, src, sdk.ExprValue); err == nil {
			t.Errorf("%q compiled, want a type error", src)
		}
	}
}

// TestRuntimeErrorNamesFunction checks a function error reaches the caller.
func TestRuntimeErrorNamesFunction(t *testing.T) {
	p, err := compile(t, `date(name, "DD.MM.YYYY")`, sdk.ExprValue)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(testRecord(t))
	if err == nil || !strings.Contains(err.Error(), "date: invalid date") {
		t.Fatalf("err = %v", err)
	}
}

func Example() {
	show := func(src string) {
		p, err := expression.Compile(src, nil, sdk.ExprValue, expression.WithoutLibrary(), expression.WithNow(clock),
			expression.WithFunctions(functions()...))
		if err != nil {
			panic(err)
		}
		v, err := p.Eval(record.New(record.MustSchema(), record.Origin{}))
		if err != nil {
			panic(err)
		}
		fmt.Println(v.String())
	}
	show(`sepa_text("Müller & Söhne")`)
	show(`format_amount(round(1234.505, 2), ",", 2, ".")`)
	show(`string(add_business_days(date("02.04.2026", "DD.MM.YYYY"), 1))`)
	show(`pad_left(42, 6, "0")`)
	// Output:
	// Mueller + Soehne
	// 1.234,51
	// 2026-04-07
	// 000042
}
