package funcs

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// Markdown renders the reference of fs (grouped in Groups order, as
// Library sorts them) as the Markdown of docs/functions.md.
func Markdown(fs []Func) []byte {
	var b bytes.Buffer
	b.WriteString("# Expression functions\n\n")
	b.WriteString("<!-- Generated from engine/expression/funcs by `go generate ./engine/expression/funcs`; DO NOT EDIT. -->\n\n")
	b.WriteString("Functions available in every Kontor expression (filter conditions, map values, validate checks), in\n")
	b.WriteString("addition to expr's built-ins. Types: `string`, `int`, `decimal` (exact, for money), `bool`, `date`,\n")
	b.WriteString("`datetime`, `list`, `map`, `any`. A null first argument gives null for functions that transform a\n")
	b.WriteString("value and false for predicates; a wrong argument type is reported at load time where the field types\n")
	b.WriteString("are known, otherwise as a run-time error naming the function and argument (the record is rejected).\n\n")
	b.WriteString("Also available from expr itself: `upper`, `lower`, `trim`, `trimPrefix`, `trimSuffix`, `split`,\n")
	b.WriteString("`splitAfter`, `replace`, `repeat`, `join`, `indexOf`, `lastIndexOf`, `hasPrefix`, `hasSuffix`, `len`,\n")
	b.WriteString("the list functions (`all`, `any`, `none`, `one`, `filter`, `map`, `count`, `sum`, `first`, `last`,\n")
	b.WriteString("`sort`, `sortBy`, `groupBy`, `reduce`, `uniq`, `concat`, `flatten`, `reverse`, `keys`, `values`),\n")
	b.WriteString("`toJSON`, `fromJSON`, `toBase64`, `fromBase64`, `duration`, and the operators `contains`,\n")
	b.WriteString("`startsWith`, `endsWith`, `matches` and `in`. `now()` and `today()` return the run's start time and\n")
	b.WriteString("date. This library replaces expr's `abs`, `ceil`, `floor`, `round`, `min`, `max`, `int`, `string` and\n")
	b.WriteString("`date` with versions for exact decimals and calendar dates.\n")
	group := ""
	for _, f := range fs {
		if f.Group != group {
			group = f.Group
			fmt.Fprintf(&b, "\n## %s\n", group)
		}
		fmt.Fprintf(&b, "\n### `%s`\n\n", f.Name)
		for _, t := range f.Types {
			fmt.Fprintf(&b, "- `%s`\n", signature(f.Name, t))
		}
		if len(f.Types) > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s\n\nExample: `%s`\n", f.Doc, f.Example)
	}
	return b.Bytes()
}

var (
	decimalType  = reflect.TypeOf(record.Decimal{})
	dateType     = reflect.TypeOf(record.Date(0))
	datetimeType = reflect.TypeOf(time.Time{})
)

// signature renders a Types entry such as new(func(string, int) string)
// as "name(string, int) string".
func signature(name string, typ any) string {
	t := reflect.TypeOf(typ)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Func {
		return name + "(...)"
	}
	params := make([]string, t.NumIn())
	for i := range params {
		p := t.In(i)
		if t.IsVariadic() && i == t.NumIn()-1 {
			params[i] = "..." + typeLabel(p.Elem())
		} else {
			params[i] = typeLabel(p)
		}
	}
	out := ""
	if t.NumOut() > 0 {
		out = " " + typeLabel(t.Out(0))
	}
	return name + "(" + strings.Join(params, ", ") + ")" + out
}

func typeLabel(t reflect.Type) string {
	switch {
	case t == decimalType:
		return "decimal"
	case t == dateType:
		return "date"
	case t == datetimeType:
		return "datetime"
	}
	switch t.Kind() {
	case reflect.Interface:
		return "any"
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "map"
	case reflect.Int, reflect.Int64:
		return "int"
	}
	return t.String()
}
