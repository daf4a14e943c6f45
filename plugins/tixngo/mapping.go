package tixngo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// mapping turns records into the JSON items of a batch call: a tree of
// JSON paths whose leaves name a record field (and optionally a constant
// used when the field is null or missing). It is compiled once per config
// and resolved once per record schema.
type mapping struct {
	root      *node
	leaves    []*node
	rules     map[string]tixngoapi.FieldRule
	required  []string // objects that must not be empty
	idPath    string
	resolved  *record.Schema
	leafIndex []int
	affix     map[string][2]string // JSON path -> prefix, suffix of its text (barcode_prefix/suffix)
}

type node struct {
	key      string
	path     string
	children []*node
	leaf     int // index into mapping.leaves, -1 for objects
	field    string
	constant []byte // raw JSON used when the record value is null
	kind     string // rule kind: string, datetime, bool, number
}

// newMapping builds the tree from defaults overridden by fields (JSON
// path → record field name; "" removes a default) and constants (JSON path
// → raw JSON used when the field is null).
func newMapping(defaults [][2]string, fields map[string]string, constants map[string][]byte, rules []tixngoapi.FieldRule, required []string, idPath string) (*mapping, error) {
	m := &mapping{root: &node{leaf: -1}, rules: map[string]tixngoapi.FieldRule{}, required: required, idPath: idPath}
	for _, r := range rules {
		m.rules[r.Path] = r
	}
	order := []string{}
	set := map[string]string{}
	for _, d := range defaults {
		order = append(order, d[0])
		set[d[0]] = d[1]
	}
	extra := make([]string, 0, len(fields))
	for p := range fields {
		if _, ok := set[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(extra)
	order = append(order, extra...)
	for p, f := range fields {
		set[p] = f
	}
	for p := range constants {
		if _, ok := set[p]; !ok {
			order = append(order, p)
			set[p] = ""
		}
	}
	var es sdk.FieldErrors
	for _, p := range order {
		f := set[p]
		if f == "" && constants[p] == nil {
			continue
		}
		if !validPath(p) {
			es.Add("fields."+p, "invalid JSON path %q (use dotted names such as event.address.city)", p)
			continue
		}
		if err := m.add(p, f, constants[p]); err != nil {
			es.Add("fields."+p, "%v", err)
		}
	}
	for _, r := range rules {
		if r.Required && !m.mapped(r.Path) {
			es.Add("fields."+r.Path, "%s is required by TIXnGO: map it to a record field", r.Path)
		}
	}
	if _, ok := set[idPath]; !ok || set[idPath] == "" {
		es.Add("fields."+idPath, "the id %s must be mapped to a record field", idPath)
	}
	return m, es.Err()
}

func validPath(p string) bool {
	if p == "" {
		return false
	}
	for _, part := range strings.Split(p, ".") {
		if part == "" {
			return false
		}
	}
	return true
}

func (m *mapping) add(path, field string, constant []byte) error {
	cur := m.root
	parts := strings.Split(path, ".")
	for i, part := range parts {
		var next *node
		for _, c := range cur.children {
			if c.key == part {
				next = c
			}
		}
		last := i == len(parts)-1
		if next == nil {
			next = &node{key: part, path: strings.Join(parts[:i+1], "."), leaf: -1}
			cur.children = append(cur.children, next)
			if last {
				next.leaf = len(m.leaves)
				next.field, next.constant = field, constant
				next.kind = m.rules[path].Kind
				m.leaves = append(m.leaves, next)
				return nil
			}
		} else if last || next.leaf >= 0 {
			return fmt.Errorf("%s is both a value and an object", next.path)
		}
		cur = next
	}
	return nil
}

// resolve maps leaves to field indexes of schema s (cached for the last schema).
func (m *mapping) resolve(s *record.Schema) {
	if m.resolved == s {
		return
	}
	m.resolved = s
	m.leafIndex = m.leafIndex[:0]
	for _, l := range m.leaves {
		idx := -1
		if l.field != "" {
			idx = s.Index(l.field)
		}
		m.leafIndex = append(m.leafIndex, idx)
	}
}

// itemError is a reason to refuse a record before sending.
type itemError struct{ field, reason string }

// encState is the state of one encode call.
type encState struct {
	r    record.Record
	id   string
	ierr *itemError
}

func (st *encState) fail(l *node, msg string) {
	if st.ierr == nil {
		f := l.field
		if f == "" {
			f = l.path
		}
		st.ierr = &itemError{field: f, reason: l.path + " " + msg}
	}
}

// walk writes object n; false means it had nothing to write.
func (m *mapping) walk(buf *bytes.Buffer, n *node, st *encState) bool {
	wrote := false
	mark := buf.Len()
	buf.WriteByte('{')
	for _, c := range n.children {
		cstart := buf.Len()
		if wrote {
			buf.WriteByte(',')
		}
		writeString(buf, c.key)
		buf.WriteByte(':')
		var ok bool
		if c.leaf >= 0 {
			ok = m.writeLeaf(buf, c, st)
		} else {
			ok = m.walk(buf, c, st)
		}
		if ok {
			wrote = true
		} else {
			buf.Truncate(cstart)
		}
	}
	buf.WriteByte('}')
	if !wrote && n != m.root {
		buf.Truncate(mark)
		return false
	}
	return true
}

// encode appends the JSON item of r to buf and returns the item id. Over-
// long or invalid values are refused with the record field that holds them.
func (m *mapping) encode(buf *bytes.Buffer, r record.Record) (string, *itemError) {
	m.resolve(r.Schema)
	start := buf.Len()
	st := encState{r: r}
	m.walk(buf, m.root, &st)
	id := st.id
	if st.ierr != nil {
		buf.Truncate(start)
		return id, st.ierr
	}
	// Required leaves and objects.
	for _, l := range m.leaves {
		rule, ok := m.rules[l.path]
		if ok && rule.Required && !m.present(r, l) {
			buf.Truncate(start)
			f := l.field
			if f == "" {
				f = l.path
			}
			return id, &itemError{field: f, reason: l.path + " is required"}
		}
	}
	for _, o := range m.required {
		if !m.objectPresent(r, o) {
			buf.Truncate(start)
			return id, &itemError{field: "", reason: o + " is required: map at least one of its fields"}
		}
	}
	return id, nil
}

func (m *mapping) mapped(path string) bool {
	for _, l := range m.leaves {
		if l.path == path {
			return true
		}
	}
	return false
}

func (m *mapping) present(r record.Record, l *node) bool {
	if i := m.leafIndex[l.leaf]; i >= 0 && i < len(r.Values) {
		v := r.Values[i]
		if !v.IsNull() && !(v.Kind() == record.KindString && strings.TrimSpace(v.Str()) == "") {
			return true
		}
	}
	return l.constant != nil
}

func (m *mapping) objectPresent(r record.Record, prefix string) bool {
	for _, l := range m.leaves {
		if strings.HasPrefix(l.path, prefix+".") && m.present(r, l) {
			return true
		}
	}
	return false
}

// writeLeaf writes the value of leaf l; false means "omit".
func (m *mapping) writeLeaf(buf *bytes.Buffer, l *node, st *encState) bool {
	r, fail := st.r, st.fail
	v := record.Null
	if i := m.leafIndex[l.leaf]; i >= 0 && i < len(r.Values) {
		v = r.Values[i]
	}
	if v.IsNull() || (v.Kind() == record.KindString && v.Str() == "") {
		if l.constant != nil {
			buf.Write(l.constant)
			return true
		}
		return false
	}
	rule, hasRule := m.rules[l.path]
	switch l.kind {
	case "bool":
		b, ok := toBool(v)
		if !ok {
			fail(l, fmt.Sprintf("must be true or false, got %q", v.String()))
			return false
		}
		buf.WriteString(strconv.FormatBool(b))
		return true
	case "number":
		d, ok := toDecimal(v)
		if !ok {
			fail(l, fmt.Sprintf("must be a number, got %q", v.String()))
			return false
		}
		buf.WriteString(d.String()) // exact decimal text, never through float
		return true
	case "datetime":
		var s string
		switch v.Kind() {
		case record.KindDateTime:
			// A typed datetime is valid RFC 3339 by construction: append
			// it without a string allocation.
			var scratch [64]byte
			buf.WriteByte('"')
			buf.Write(v.Time().AppendFormat(scratch[:0], time.RFC3339))
			buf.WriteByte('"')
			return true
		case record.KindDate:
			s = v.Date().Time().Format(time.RFC3339)
		default:
			s = v.String()
		}
		if msg := rule.CheckString(s); msg != "" {
			fail(l, msg)
			return false
		}
		writeString(buf, s)
		return true
	}
	switch v.Kind() {
	case record.KindList, record.KindMap:
		b, err := json.Marshal(v.Any())
		if err != nil {
			fail(l, err.Error())
			return false
		}
		buf.Write(b)
		return true
	case record.KindInt, record.KindDecimal, record.KindBool:
		if !hasRule {
			buf.WriteString(v.String())
			return true
		}
	}
	s := v.String()
	if a, ok := m.affix[l.path]; ok {
		s = a[0] + s + a[1]
	}
	if hasRule {
		if msg := rule.CheckString(s); msg != "" {
			fail(l, msg)
			return false
		}
	}
	if l.path == m.idPath {
		st.id = s
	}
	writeString(buf, s)
	return true
}

func toBool(v record.Value) (bool, bool) {
	if v.Kind() == record.KindBool {
		return v.Bool(), true
	}
	switch strings.ToLower(strings.TrimSpace(v.String())) {
	case "true", "1", "y", "yes", "j", "ja":
		return true, true
	case "false", "0", "n", "no", "nein":
		return false, true
	}
	return false, false
}

func toDecimal(v record.Value) (record.Decimal, bool) {
	switch v.Kind() {
	case record.KindDecimal:
		return v.Decimal(), true
	case record.KindInt:
		return record.DecimalFromInt(v.Int()), true
	case record.KindString:
		d, err := record.ParseDecimal(strings.TrimSpace(v.Str()), '.')
		return d, err == nil
	}
	return record.Decimal{}, false
}

// writeString writes s as a JSON string.
func writeString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case '\n':
				buf.WriteString(`\n`)
			case '\r':
				buf.WriteString(`\r`)
			case '\t':
				buf.WriteString(`\t`)
			default:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString(s[start:i])
			buf.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf.WriteString(s[start:i])
			buf.WriteString(`\u202`)
			buf.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}
