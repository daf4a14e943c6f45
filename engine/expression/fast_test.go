package expression

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

var fastSchema = record.MustSchema(
	record.Field{Name: "name", Kind: record.KindString},
	record.Field{Name: "amount", Kind: record.KindDecimal},
	record.Field{Name: "qty", Kind: record.KindInt},
	record.Field{Name: "due", Kind: record.KindDate},
	record.Field{Name: "active", Kind: record.KindBool},
	record.Field{Name: "x", Kind: record.KindNull}, // any kind at run time
	record.Field{Name: "y", Kind: record.KindNull},
	record.Field{Name: "tag", Kind: record.KindString},
)

// fastExprs are evaluated directly (no VM) when the operands fit.
var fastExprs = []string{
	`amount > 10`, `amount >= 10.5`, `amount < -3`, `amount <= qty`, `amount == 12.50`, `amount != 12.5`,
	`10 < amount`, `qty > 3`, `qty == 3`, `qty != 3`, `qty <= 2 || qty >= 5`, `name == "Anna"`, `name != tag`,
	`name < tag`, `name >= "M"`, `active`, `!active`, `not active && qty > 1`, `active and amount > 0 or qty < 0`,
	`upper(name)`, `lower(name)`, `trim(name)`, `upper(name) + "!"`, `name + tag`,
	`amount * 2`, `amount + 0.1 + 0.2`, `amount - qty`, `qty * amount`, `amount / 3`, `amount / qty`, `7 / qty`,
	`-amount`, `-qty`, `qty + 1`, `qty - 7`, `qty * qty`, `-1.5 * amount`,
	`due < due + 3`, `due - 30`, `due + qty`, `due - due`, `due == due`,
	`x > 1`, `x + y`, `x - 1.5`, `x * y`, `x / y`, `x == y`, `x != 2`, `x < y`, `x >= 0.5`, `-x`, `x / 2`,
	`active ? amount : qty`, `qty > 2 ? "big" : "small"`, `x == nil`, `name == nil`, `amount == nil`,
	`9223372036854775807 + qty`, `amount * 99999999999999999`,
	// Library functions (called directly; errors and panics go to the VM).
	`abs(amount)`, `round(amount, 1)`, `round(amount)`, `left(name, 2)`, `left(name, qty)`, `right(tag, 1)`,
	`upper(left(name, 3)) + "-" + string(qty)`, `format_date(due, "YYYYMM")`,
	`add_months(due, qty)`, `year(due) * 100 + month(due)`, `coalesce(x, y, 0)`, `if_null(x, "n/a")`,
	`iban_valid(name)`, `sepa_text(name)`, `digits(tag)`, `is_blank(name)`, `max(amount, qty)`, `min(x, y)`,
	`days_between(due, today())`, `due < today()`, `today() - due`, `pad_left(string(qty), 5, "0")`,
	`substr(name, 1, 2)`, `decimal(tag)`, `int(tag) + 1`, `string(amount)`, `cents(amount)`,
	`end_of_month(due)`, `weekday(due)`, `is_business_day(due)`, `add_business_days(due, 3)`,
	// Sets and string operators.
	`len(name)`, `len(tag) <= 8 && digits(tag) == tag`, `name contains "n"`, `name startsWith "A"`, `tag endsWith "0"`,
	`tag in ["x", "12", "M", ""]`, `name not in ["Anna", "Zoë"]`, `qty in [1, 2, 3]`,
	`x in ["Anna", "M"]`,
}

// slowExprs contain nodes the fast path does not handle; they must still
// give the same results (through the VM).
var slowExprs = []string{
	`qty % 2 == 0`, `let z = qty; z + 1`, `[qty, 2][0]`, `amount in [1.5, 2]`, `name matches "^A"`, `y in [0, 5]`,
}

// bailExprs have a fast path that always hands over to the VM (datetime
// results are left to it).
var bailExprs = []string{`now()`, `datetime(tag)`, `format_date(now(), "YYYY")`}

func randValue(rng *rand.Rand, kind record.Kind) record.Value {
	if rng.IntN(8) == 0 {
		return record.Null
	}
	if kind == record.KindNull {
		kind = []record.Kind{record.KindString, record.KindInt, record.KindDecimal, record.KindBool, record.KindDate}[rng.IntN(5)]
	}
	switch kind {
	case record.KindString:
		return record.String([]string{"", "Anna", "anna", "Zoë", " Müller ", "M", "ß", "x", "12", "007", "1.50", "DE89370400440532013000"}[rng.IntN(12)])
	case record.KindInt:
		return record.Int([]int64{0, 1, 2, 3, 5, -7, 1 << 40, 9223372036854775807, -9223372036854775808}[rng.IntN(9)])
	case record.KindDecimal:
		d, _ := record.NewDecimal(rng.Int64N(4000)-2000, rng.IntN(4))
		if rng.IntN(10) == 0 {
			d = record.MustDecimal("9999999999999999999")
		}
		if rng.IntN(10) == 0 {
			d = record.MustDecimal("0.00")
		}
		return record.Dec(d)
	case record.KindBool:
		return record.Bool(rng.IntN(2) == 0)
	case record.KindDate:
		return record.DateValue(record.NewDate(2026, 1, 1).AddDays(rng.IntN(800) - 400))
	}
	return record.Null
}

func sameResult(v1, v2 record.Value, e1, e2 error) bool {
	if (e1 == nil) != (e2 == nil) {
		return false
	}
	if e1 != nil {
		return e1.Error() == e2.Error()
	}
	return v1.Kind() == v2.Kind() && v1.String() == v2.String() && v1.Equal(v2)
}

func clock() time.Time { return fixedNow }

// TestFastPathEquivalence compares direct evaluation with the VM on random
// records: same value (kind and representation, e.g. the decimal scale)
// and same error text, for Eval and EvalBool.
func TestFastPathEquivalence(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]record.Record, 3000)
	for i := range recs {
		vals := make([]record.Value, fastSchema.Len())
		for j := range vals {
			vals[j] = randValue(rng, fastSchema.Field(j).Kind)
		}
		recs[i] = record.Record{Schema: fastSchema, Values: vals}
	}
	all := append(append(append([]string(nil), fastExprs...), slowExprs...), bailExprs...)
	for _, src := range all {
		for _, mode := range []sdk.ExprMode{sdk.ExprValue, sdk.ExprBool} {
			fast, err := Compile(src, fastSchema, mode, WithNow(clock))
			if err != nil {
				if mode == sdk.ExprBool {
					continue // not a condition
				}
				t.Fatalf("%s: %v", src, err)
			}
			slow := MustCompile(src, fastSchema, mode, WithNow(clock))
			slow.noFast = true
			isFast := fast.bind(fastSchema).fast != nil
			wantFast := true
			for _, s := range slowExprs {
				if s == src {
					wantFast = false
				}
			}
			if isFast != wantFast {
				t.Errorf("%s: fast path %v, want %v", src, isFast, wantFast)
			}
			hits := 0
			for _, r := range recs {
				if mode == sdk.ExprBool {
					b1, e1 := fast.EvalBool(r)
					b2, e2 := slow.EvalBool(r)
					if !sameResult(record.Bool(b1), record.Bool(b2), e1, e2) {
						t.Fatalf("EvalBool(%s) on %v: fast %v, %v; vm %v, %v", src, r, b1, e1, b2, e2)
					}
					continue
				}
				v1, e1 := fast.Eval(r)
				v2, e2 := slow.Eval(r)
				if !sameResult(v1, v2, e1, e2) {
					t.Fatalf("Eval(%s) on %v: fast %#v, %v; vm %#v, %v", src, r, v1, e1, v2, e2)
				}
				if b := fast.bind(fastSchema); b.fast != nil {
					if _, ok := b.fast(r.Values); ok {
						hits++
					}
				}
			}
			bails := false
			for _, s := range bailExprs {
				bails = bails || s == src
			}
			if mode == sdk.ExprValue && wantFast && !bails && hits == 0 {
				t.Errorf("%s: the fast path never applied", src)
			}
		}
	}
}

// TestFastPathRebind checks that a program bound to a second schema with
// the same kinds but other positions reads the right fields.
func TestFastPathRebind(t *testing.T) {
	p := MustCompile(`amount > 10 && name == "a"`, fastSchema, sdk.ExprBool)
	s2 := record.MustSchema(record.Field{Name: "name", Kind: record.KindString}, record.Field{Name: "pad"},
		record.Field{Name: "amount", Kind: record.KindDecimal})
	for i, tc := range []struct {
		r    record.Record
		want bool
	}{
		{record.Record{Schema: s2, Values: []record.Value{record.String("a"), record.Int(1), record.Dec(record.MustDecimal("11"))}}, true},
		{record.Record{Schema: s2, Values: []record.Value{record.String("a"), record.Int(100), record.Dec(record.MustDecimal("9"))}}, false},
	} {
		got, err := p.EvalBool(tc.r)
		if err != nil || got != tc.want {
			t.Errorf("%d: got %v, %v", i, got, err)
		}
		if p.bind(s2).fast == nil {
			t.Errorf("%d: no fast path after rebinding", i)
		}
	}
}

func ExampleProgram_Eval_fastPath() {
	p := MustCompile(`upper(name)`, fastSchema, sdk.ExprValue)
	v, _ := p.Eval(record.Record{Schema: fastSchema, Values: []record.Value{record.String("Zoë")}})
	fmt.Println(v)
	// Output: ZOË
}

// FuzzFastPath compiles any expression text and checks that direct
// evaluation and the VM agree on a set of random records.
func FuzzFastPath(f *testing.F) {
	for _, s := range fastExprs {
		f.Add(s)
	}
	for _, s := range bailExprs {
		f.Add(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	recs := make([]record.Record, 64)
	for i := range recs {
		vals := make([]record.Value, fastSchema.Len())
		for j := range vals {
			vals[j] = randValue(rng, fastSchema.Field(j).Kind)
		}
		recs[i] = record.Record{Schema: fastSchema, Values: vals}
	}
	f.Fuzz(func(t *testing.T, src string) {
		fast, err := Compile(src, fastSchema, sdk.ExprValue, WithNow(clock))
		if err != nil {
			return
		}
		slow := MustCompile(src, fastSchema, sdk.ExprValue, WithNow(clock))
		slow.noFast = true
		for _, r := range recs {
			v1, e1 := fast.Eval(r)
			v2, e2 := slow.Eval(r)
			if !sameResult(v1, v2, e1, e2) {
				t.Fatalf("Eval(%s) on %v: fast %#v, %v; vm %#v, %v", src, r, v1, e1, v2, e2)
			}
		}
	})
}

// TestArenaCase compares the arena's upper, lower and concatenation with
// the strings package, including invalid UTF-8 and characters whose case
// mapping changes the length.
func TestArenaCase(t *testing.T) {
	a := &strArena{}
	inputs := []string{"", "abc", "ABC", "Zoë Müller", "straße", "ǅ ǆ Ǆ", "ı İ ſ K", "a\xffb", "\xc3", "\xef\xbf\xbd",
		"ÀÉÎõü", "日本語 abc", "ⓐⓑ", strings.Repeat("xY", 2000), "mixed ASCII then é"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				b[i] = "aZé\xc3\xa9ß"[rng.IntN(7)]
			}
		}
		inputs = append(inputs, string(b))
	}
	var kept []string
	for _, s := range inputs {
		if got, want := a.upper(s), strings.ToUpper(s); got != want {
			t.Fatalf("upper(%q) = %q, want %q", s, got, want)
		}
		if got, want := a.lower(s), strings.ToLower(s); got != want {
			t.Fatalf("lower(%q) = %q, want %q", s, got, want)
		}
		if got, want := a.concat(s, "|"+s), s+"|"+s; got != want {
			t.Fatalf("concat(%q) = %q", s, got)
		}
		kept = append(kept, a.upper(s))
	}
	for i, s := range inputs { // strings stay intact while the arena goes on
		if kept[i] != strings.ToUpper(s) {
			t.Fatalf("kept upper(%q) changed to %q", s, kept[i])
		}
	}
}

// FuzzArenaCase compares the arena's upper and lower with the strings
// package on any text.
func FuzzArenaCase(f *testing.F) {
	for _, s := range []string{"abc", "Zoë", "straße", "a\xffb", "ǅ", "ı İ ſ K"} {
		f.Add(s)
	}
	a := &strArena{}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := a.upper(s), strings.ToUpper(s); got != want {
			t.Fatalf("upper(%q) = %q, want %q", s, got, want)
		}
		if got, want := a.lower(s), strings.ToLower(s); got != want {
			t.Fatalf("lower(%q) = %q, want %q", s, got, want)
		}
	})
}

// BenchmarkFastPath compares direct evaluation with the VM for typical
// pipeline expressions.
func BenchmarkFastPath(b *testing.B) {
	r := record.Record{Schema: fastSchema, Values: []record.Value{record.String("Zoë Müller"), record.Dec(record.MustDecimal("12.50")),
		record.Int(3), record.DateValue(record.NewDate(2026, 3, 1)), record.Bool(true), record.Null, record.Null,
		record.String("DE89370400440532013000")}}
	for _, src := range []string{`amount > 10`, `upper(name)`, `iban_valid(tag)`, `left(sepa_text(name), 70)`,
		`"ABO-" + string(qty) + "-" + format_date(add_months(due, 1), "YYYYMM")`} {
		for _, vm := range []bool{false, true} {
			name := src + "/fast"
			if vm {
				name = src + "/vm"
			}
			b.Run(name, func(b *testing.B) {
				p := MustCompile(src, fastSchema, sdk.ExprValue, WithNow(clock))
				p.noFast = vm
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.Eval(r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
