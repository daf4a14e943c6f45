// Package record holds Kontor's data model: typed values with an exact
// Decimal for money, calendar dates, records with a shared Schema and an
// Origin (file:line:col or XML path) that follows each record to any later
// error, and batches of records.
//
// It is a leaf package (standard library plus the decimal arithmetic) that
// the engine, the plugin SDK and every format plugin share.
package record

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"
)

// Kind is the type of a Value.
type Kind uint8

// The kinds of values. KindNull is the zero Kind.
const (
	KindNull Kind = iota
	KindString
	KindInt
	KindDecimal
	KindBool
	KindDate
	KindDateTime
	KindList
	KindMap
)

var kindNames = [...]string{"null", "string", "int", "decimal", "bool", "date", "datetime", "list", "map"}

// String returns the lower-case name used in YAML ("decimal", "date", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind parses a kind name as written in pipeline YAML. "money" and
// "amount" are accepted as decimal, "integer" as int, "text" as string,
// "timestamp" as datetime, "boolean" as bool.
func ParseKind(s string) (Kind, bool) {
	switch strings.ToLower(s) {
	case "null":
		return KindNull, true
	case "string", "text":
		return KindString, true
	case "int", "integer":
		return KindInt, true
	case "decimal", "money", "amount":
		return KindDecimal, true
	case "bool", "boolean":
		return KindBool, true
	case "date":
		return KindDate, true
	case "datetime", "timestamp":
		return KindDateTime, true
	case "list":
		return KindList, true
	case "map":
		return KindMap, true
	}
	return 0, false
}

// KindNames lists the names ParseKind accepts canonically.
func KindNames() []string { return append([]string(nil), kindNames[:]...) }

// Value is one typed value. The zero Value is null. Values are immutable
// and cheap to copy (no heap allocation for scalars).
type Value struct {
	k   Kind
	neg bool   // decimal sign
	sc  int8   // decimal scale
	n   uint64 // int (as two's complement), bool, date, datetime unix nanos, decimal coefficient
	s   string // string
	x   any    // list ([]Value), map (map[string]Value), datetime *time.Location
}

// Null is the null value.
var Null = Value{}

// String returns a string value.
func String(s string) Value { return Value{k: KindString, s: s} }

// Int returns an int value.
func Int(i int64) Value { return Value{k: KindInt, n: uint64(i)} }

// Dec returns a decimal value.
func Dec(d Decimal) Value {
	return Value{k: KindDecimal, neg: d.d.IsNeg(), sc: int8(d.d.Scale()), n: d.d.Coef()}
}

// Bool returns a bool value.
func Bool(b bool) Value {
	v := Value{k: KindBool}
	if b {
		v.n = 1
	}
	return v
}

// DateValue returns a date value.
func DateValue(d Date) Value { return Value{k: KindDate, n: uint64(int64(d))} }

// DateTime returns a zone-aware datetime value (nanosecond precision).
func DateTime(t time.Time) Value {
	return Value{k: KindDateTime, n: uint64(t.UnixNano()), x: t.Location()}
}

// List returns a list value (the slice is not copied).
func List(vs []Value) Value { return Value{k: KindList, x: vs} }

// Map returns a map value (the map is not copied).
func Map(m map[string]Value) Value { return Value{k: KindMap, x: m} }

// Kind returns the value's kind.
func (v Value) Kind() Kind { return v.k }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.k == KindNull }

// Str returns the string of a string value, "" otherwise.
func (v Value) Str() string { return v.s }

// Int returns the int of an int value, 0 otherwise.
func (v Value) Int() int64 {
	if v.k == KindInt {
		return int64(v.n)
	}
	return 0
}

// Decimal returns the decimal of a decimal or int value, 0 otherwise.
func (v Value) Decimal() Decimal {
	switch v.k {
	case KindDecimal:
		var d decimal.Decimal
		if v.n <= math.MaxInt64 {
			d, _ = decimal.New(int64(v.n), int(v.sc))
		} else { // 19-digit coefficients above int64: rare, go through text
			s := strconv.FormatUint(v.n, 10)
			if sc := int(v.sc); sc > 0 {
				for len(s) <= sc {
					s = "0" + s
				}
				s = s[:len(s)-sc] + "." + s[len(s)-sc:]
			}
			d, _ = decimal.Parse(s)
		}
		if v.neg {
			d = d.Neg()
		}
		return Decimal{d}
	case KindInt:
		return DecimalFromInt(int64(v.n))
	}
	return Decimal{}
}

// Bool returns the bool of a bool value, false otherwise.
func (v Value) Bool() bool { return v.k == KindBool && v.n == 1 }

// Date returns the date of a date value (or the date part of a datetime in its zone).
func (v Value) Date() Date {
	switch v.k {
	case KindDate:
		return Date(int64(v.n))
	case KindDateTime:
		return DateOf(v.Time())
	}
	return 0
}

// Time returns the time of a datetime value, or midnight UTC of a date.
func (v Value) Time() time.Time {
	switch v.k {
	case KindDateTime:
		t := time.Unix(0, int64(v.n))
		if loc, ok := v.x.(*time.Location); ok && loc != nil {
			return t.In(loc)
		}
		return t.UTC()
	case KindDate:
		return Date(int64(v.n)).Time()
	}
	return time.Time{}
}

// List returns the elements of a list value, nil otherwise.
func (v Value) List() []Value { l, _ := v.x.([]Value); return l }

// Map returns the entries of a map value, nil otherwise.
func (v Value) Map() map[string]Value { m, _ := v.x.(map[string]Value); return m }

// String renders the value as canonical text: decimals with '.', dates
// ISO 8601, datetimes RFC 3339, null as "". It is what a CSV writer without
// formatting options writes.
func (v Value) String() string {
	switch v.k {
	case KindNull:
		return ""
	case KindString:
		return v.s
	case KindInt:
		return strconv.FormatInt(int64(v.n), 10)
	case KindDecimal:
		return v.Decimal().String()
	case KindBool:
		return strconv.FormatBool(v.n == 1)
	case KindDate:
		return v.Date().String()
	case KindDateTime:
		return v.Time().Format(time.RFC3339Nano)
	case KindList:
		l := v.List()
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case KindMap:
		m := v.Map()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + m[k].String()
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprintf("<%v>", v.k)
}

// GoString is used by %#v and test failure messages.
func (v Value) GoString() string { return v.k.String() + "(" + strconv.Quote(v.String()) + ")" }

// Equal reports whether v and w have the same kind and value (decimals
// compare numerically, datetimes by instant).
func (v Value) Equal(w Value) bool {
	if v.k != w.k {
		return false
	}
	switch v.k {
	case KindNull:
		return true
	case KindString:
		return v.s == w.s
	case KindDecimal:
		return v.Decimal().Equal(w.Decimal())
	case KindList:
		a, b := v.List(), w.List()
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !a[i].Equal(b[i]) {
				return false
			}
		}
		return true
	case KindMap:
		a, b := v.Map(), w.Map()
		if len(a) != len(b) {
			return false
		}
		for k, x := range a {
			if y, ok := b[k]; !ok || !x.Equal(y) {
				return false
			}
		}
		return true
	}
	return v.n == w.n
}

// Any converts to a plain Go value: nil, string, int64, Decimal, bool,
// Date, time.Time, []any, map[string]any. Used by the expression engine and
// JSON encoding.
func (v Value) Any() any {
	switch v.k {
	case KindString:
		return v.s
	case KindInt:
		return int64(v.n)
	case KindDecimal:
		return v.Decimal()
	case KindBool:
		return v.n == 1
	case KindDate:
		return v.Date()
	case KindDateTime:
		return v.Time()
	case KindList:
		l := v.List()
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e.Any()
		}
		return out
	case KindMap:
		m := v.Map()
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = e.Any()
		}
		return out
	}
	return nil
}

// FromAny converts a Go value back into a Value. Supported: nil, string,
// all int types, Decimal, bool, Date, time.Time, Value, []any, []Value,
// []string, map[string]any, map[string]Value. float64 is converted through
// its shortest decimal text (so 10.5 becomes exactly 10.5); other types are
// an error.
func FromAny(a any) (Value, error) {
	switch x := a.(type) {
	case nil:
		return Null, nil
	case Value:
		return x, nil
	case string:
		return String(x), nil
	case int:
		return Int(int64(x)), nil
	case int64:
		return Int(x), nil
	case int32:
		return Int(int64(x)), nil
	case int16:
		return Int(int64(x)), nil
	case int8:
		return Int(int64(x)), nil
	case uint:
		return Int(int64(x)), nil
	case uint32:
		return Int(int64(x)), nil
	case uint16:
		return Int(int64(x)), nil
	case uint8:
		return Int(int64(x)), nil
	case uint64:
		if x > 1<<63-1 {
			return Null, fmt.Errorf("integer %d out of range", x)
		}
		return Int(int64(x)), nil
	case Decimal:
		return Dec(x), nil
	case float64:
		d, err := ParseDecimal(strconv.FormatFloat(x, 'f', -1, 64), '.')
		if err != nil {
			return Null, fmt.Errorf("number %v is not a finite decimal", x)
		}
		return Dec(d), nil
	case float32:
		return FromAny(float64(x))
	case bool:
		return Bool(x), nil
	case Date:
		return DateValue(x), nil
	case time.Time:
		return DateTime(x), nil
	case []Value:
		return List(x), nil
	case []string:
		l := make([]Value, len(x))
		for i, s := range x {
			l[i] = String(s)
		}
		return List(l), nil
	case []any:
		l := make([]Value, len(x))
		for i, e := range x {
			v, err := FromAny(e)
			if err != nil {
				return Null, err
			}
			l[i] = v
		}
		return List(l), nil
	case map[string]Value:
		return Map(x), nil
	case map[string]any:
		m := make(map[string]Value, len(x))
		for k, e := range x {
			v, err := FromAny(e)
			if err != nil {
				return Null, err
			}
			m[k] = v
		}
		return Map(m), nil
	}
	return Null, fmt.Errorf("unsupported value type %T", a)
}
