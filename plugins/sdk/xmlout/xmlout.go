// Package xmlout is the configurable XML layout writer shared by the XML
// sinks (fibu.xml for settlement bookings, xml.write for any records): one
// element per record inside a root element, element paths and attributes
// filled from record fields or constants, exact decimals with a configured
// separator and scale, dates in a configured pattern, an optional summary
// element (run date, count, control sums) before or after the records.
//
// The output is streamed (one record element at a time; with a summary at
// the start the records pass through the engine's temporary file), always
// well-formed and escaped. A value XML 1.0 or the chosen encoding cannot
// hold, or a missing required value, rejects the record naming the field.
//
// A component uses it as:
//
//	sdk.Component{Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile,
//		Spec: xmlout.Spec, NewEncoder: xmlout.NewEncoder}
package xmlout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding/charmap"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Config is the configuration of an XML sink (see Spec for every key's
// documentation and default).
type Config struct {
	Root           Root      `yaml:"root"`
	Record         string    `yaml:"record"`
	Mapping        []Mapping `yaml:"mapping"`
	Summary        *Summary  `yaml:"summary"`
	Decimal        string    `yaml:"decimal"`
	Scale          int       `yaml:"scale"`
	DateFormat     string    `yaml:"date_format"`
	DateTimeFormat string    `yaml:"datetime_format"`
	Encoding       string    `yaml:"encoding"`
	Indent         int       `yaml:"indent"`
	LineEnding     string    `yaml:"line_ending"`
}

// Root is the root element: its (optionally prefixed) name, fixed attributes and the
// namespace declarations (prefix → URI, "" for the default namespace).
type Root struct {
	Name       string            `yaml:"name"`
	Attributes map[string]string `yaml:"attributes"`
	Namespaces map[string]string `yaml:"namespaces"`
}

// Mapping fills one element or attribute of each record element. Path is relative to the
// record element: "Betrag", "Buchung/Konto", "@id" or "Betrag/@waehrung". Exactly one of Field
// and Const is set.
type Mapping struct {
	Path     string  `yaml:"path"`
	Field    string  `yaml:"field"`
	Const    *string `yaml:"const"`
	Type     string  `yaml:"type"`
	Required bool    `yaml:"required"`
	Empty    string  `yaml:"empty"`
	Scale    *int    `yaml:"scale"`
	Format   string  `yaml:"format"`
}

// Summary is the optional element with the run date, the record count and control sums.
type Summary struct {
	Element  string         `yaml:"element"`
	Position string         `yaml:"position"`
	Fields   []SummaryField `yaml:"fields"`
}

// SummaryField is one element or attribute of the summary element.
type SummaryField struct {
	Path   string  `yaml:"path"`
	Value  string  `yaml:"value"`
	Field  string  `yaml:"field"`
	Const  *string `yaml:"const"`
	Scale  *int    `yaml:"scale"`
	Format string  `yaml:"format"`
}

var mappingFields = []sdk.Field{
	{Name: "path", Type: sdk.TypeString, Required: true,
		Description: "Element path relative to the record element, segments separated by /, an attribute as the last segment with @ (Betrag, Buchung/Konto, @id, Betrag/@waehrung); elements appear in the order of their first mention.", Example: "Buchung/Betrag"},
	{Name: "field", Type: sdk.TypeString,
		Description: "Record field whose value is written; exactly one of field and const is required.", Example: "betrag"},
	{Name: "const", Type: sdk.TypeString,
		Description: "Fixed text written in every record instead of a field value.", Example: "EUR"},
	{Name: "type", Type: sdk.TypeEnum, Enum: []string{"auto", "string", "decimal", "int", "date"}, Default: "auto",
		Description: "How the value is formatted: auto by the value's kind, or converted to decimal, int or date first (a text that does not convert rejects the record).", Example: "decimal"},
	{Name: "required", Type: sdk.TypeBool, Default: false,
		Description: "Whether a null or empty value rejects the record naming the field; otherwise the element or attribute is left out (see empty).", Example: true},
	{Name: "empty", Type: sdk.TypeEnum, Enum: []string{"omit", "element"}, Default: "omit",
		Description: "What an optional null or empty value writes: omit leaves the element or attribute out, element writes an empty element or attribute.", Example: "omit"},
	{Name: "scale", Type: sdk.TypeInt, Min: sdk.Int64(-1), Max: sdk.Int64(19),
		Description: "Decimal places written for this decimal value (a value with more significant places rejects the record); unset uses the sink's scale, -1 keeps the value's own places.", Example: 2},
	{Name: "format", Type: sdk.TypeString,
		Description: "Date pattern for this date value (YYYY, MM, DD); unset uses the sink's date_format.", Example: "DD.MM.YYYY"},
}

// Spec is the configuration spec of an XML sink (root, record, mapping,
// summary, decimal, scale, date_format, datetime_format, encoding, indent,
// line_ending); every field documents its default. Components share it
// read-only.
var Spec = sdk.Spec{Fields: []sdk.Field{
	{Name: "root", Type: sdk.TypeObject, Required: true,
		Description: "The root element that encloses all records.", Example: map[string]any{"name": "Abrechnung", "namespaces": map[string]any{"": "urn:kontor:abrechnung:1"}},
		Children: []sdk.Field{
			{Name: "name", Type: sdk.TypeString, Required: true,
				Description: "Name of the root element, optionally with a namespace prefix declared in namespaces.", Example: "Abrechnung"},
			{Name: "attributes", Type: sdk.TypeMap, Elem: sdk.TypeString,
				Description: "Fixed attributes of the root element, written in key order.", Example: map[string]any{"version": "1.0"}},
			{Name: "namespaces", Type: sdk.TypeMap, Elem: sdk.TypeString,
				Description: "Namespace declarations on the root element, prefix to URI; the empty prefix declares the default namespace.", Example: map[string]any{"": "urn:kontor:abrechnung:1", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}},
		}},
	{Name: "record", Type: sdk.TypeString, Required: true,
		Description: "Name of the element written for each record, directly inside the root element.", Example: "Buchung"},
	{Name: "mapping", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1),
		Description: "The elements and attributes of each record element, in document order.", Children: mappingFields,
		Example: []any{map[string]any{"path": "@id", "field": "buchungs_id", "required": true}, map[string]any{"path": "Betrag", "field": "betrag", "type": "decimal", "required": true}}},
	{Name: "summary", Type: sdk.TypeObject,
		Description: "Optional summary element with run date, record count and control sums of the records written.",
		Example:     map[string]any{"element": "Kopf", "position": "start", "fields": []any{map[string]any{"path": "Anzahl", "value": "count"}, map[string]any{"path": "Summe", "value": "sum", "field": "betrag"}}},
		Children: []sdk.Field{
			{Name: "element", Type: sdk.TypeString, Required: true,
				Description: "Name of the summary element, a child of the root element.", Example: "Kopf"},
			{Name: "position", Type: sdk.TypeEnum, Enum: []string{"start", "end"}, Default: "end",
				Description: "Where the summary goes: end writes it after the last record (streaming), start before the first one (records go through a temporary file first).", Example: "start"},
			{Name: "fields", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1),
				Description: "The elements and attributes of the summary element, in document order.",
				Example:     []any{map[string]any{"path": "Erstellt", "value": "run_date"}, map[string]any{"path": "Anzahl", "value": "count"}},
				Children: []sdk.Field{
					{Name: "path", Type: sdk.TypeString, Required: true,
						Description: "Element path relative to the summary element, an attribute as the last segment with @.", Example: "Anzahl"},
					{Name: "value", Type: sdk.TypeEnum, Enum: []string{"count", "sum", "run_date", "run_datetime", "file_name", "const"}, Default: "const",
						Description: "What is written: count of records, sum of a decimal field, run_date, run_datetime, the output's file_name, or const.", Example: "sum"},
					{Name: "field", Type: sdk.TypeString,
						Description: "Record field summed by value sum; a record whose field is not a number is rejected.", Example: "betrag"},
					{Name: "const", Type: sdk.TypeString,
						Description: "Text written by value const.", Example: "55003"},
					{Name: "scale", Type: sdk.TypeInt, Min: sdk.Int64(-1), Max: sdk.Int64(19),
						Description: "Decimal places of a sum; unset uses the sink's scale.", Example: 2},
					{Name: "format", Type: sdk.TypeString,
						Description: "Date pattern of run_date; unset uses the sink's date_format.", Example: "YYYY-MM-DD"},
				}},
		}},
	{Name: "decimal", Type: sdk.TypeEnum, Enum: []string{".", ","}, Default: ".",
		Description: "Decimal separator of decimal values; XML Schema's xs:decimal needs a point.", Example: "."},
	{Name: "scale", Type: sdk.TypeInt, Default: 2, Min: sdk.Int64(-1), Max: sdk.Int64(19),
		Description: "Decimal places written for decimal values and sums (padded with zeros; a value with more significant places rejects the record instead of being rounded); -1 keeps each value's own places.", Example: 2},
	{Name: "date_format", Type: sdk.TypeString, Default: "YYYY-MM-DD",
		Description: "Date pattern of date values (YYYY, MM, DD, also TT/JJJJ); the default is xs:date.", Example: "YYYY-MM-DD"},
	{Name: "datetime_format", Type: sdk.TypeString, Default: "2006-01-02T15:04:05Z07:00",
		Description: "Go time layout of datetime values and run_datetime; the default is xs:dateTime with zone offset.", Example: "2006-01-02T15:04:05Z07:00"},
	{Name: "encoding", Type: sdk.TypeEnum, Enum: []string{"utf-8", "windows-1252", "iso-8859-1", "iso-8859-15"}, Default: "utf-8",
		Description: "Character encoding, also named in the XML declaration; a value the encoding cannot hold rejects the record.", Example: "utf-8"},
	{Name: "indent", Type: sdk.TypeInt, Default: 2, Min: sdk.Int64(0), Max: sdk.Int64(8),
		Description: "Spaces per nesting level; 0 writes the whole document without line breaks between elements.", Example: 2},
	{Name: "line_ending", Type: sdk.TypeEnum, Enum: []string{"lf", "crlf"}, Default: "lf",
		Description: "Line ending between elements; a line break inside a value is kept (XML readers normalise both).", Example: "lf"},
}}

var xmlName = regexp.MustCompile(`^(?:[\p{L}_][\p{L}\p{N}_.\-]*:)?[\p{L}_][\p{L}\p{N}_.\-]*$`)

// xslot is one computed value of a record (or summary) element or attribute.
type xslot struct {
	path     string
	field    string  // record field ("" for constants)
	constant *string // fixed text
	typ      string
	required bool
	keep     bool // empty: element
	scale    int
	layout   string // Go date layout
	// summary only
	value string
}

// xnode is one element of the template tree. Its etree element is reused for every record:
// per record the attributes and children are rebuilt from the slots that have a value.
type xnode struct {
	el       *etree.Element
	name     string
	depth    int
	text     int // slot of the element's text, -1 none
	textTok  *etree.CharData
	attrs    []xattr
	children []*xnode
}

type xattr struct {
	space, key string
	slot       int
}

type xmlEncoder struct {
	cfg      Config
	env      sdk.Env
	slots    []xslot
	tree     *xnode
	doc      *etree.Document
	sumSlots []xslot
	sumTree  *xnode
	sumStart bool
	open     string // declaration + root start tag
	close    string
	nl       string
	cm       *charmap.Charmap
	ws       []*etree.CharData // whitespace before a child at depth d
	datetime string
}

// NewEncoder builds the encoder of an XML sink from c (decoded into Config,
// defaults applied by the engine). Layout problems (bad names, undeclared
// prefixes, a path mapped twice, a constant XML cannot hold) are
// sdk.FieldErrors naming the config path.
func NewEncoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	var cfg Config
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	return build(cfg, env)
}

func build(cfg Config, env sdk.Env) (*xmlEncoder, error) {
	var es sdk.FieldErrors
	e := &xmlEncoder{cfg: cfg, env: env, nl: "\n", datetime: cfg.DateTimeFormat}
	if cfg.LineEnding == "crlf" {
		e.nl = "\r\n"
	}
	if e.datetime == "" {
		e.datetime = time.RFC3339
	}
	if cfg.DateFormat == "" {
		e.cfg.DateFormat = "YYYY-MM-DD"
	}
	if cfg.Decimal == "" {
		e.cfg.Decimal = "."
	}
	if cfg.Decimal != "." && cfg.Decimal != "," {
		es.Add("decimal", `must be "." or ",", got %q`, cfg.Decimal)
	}
	if cfg.Indent < 0 || cfg.Indent > 8 {
		es.Add("indent", "must be 0 to 8, got %d", cfg.Indent)
	}
	encName := "UTF-8"
	switch strings.ToLower(cfg.Encoding) {
	case "", "utf-8", "utf8":
	case "windows-1252", "cp1252":
		e.cm, encName = charmap.Windows1252, "windows-1252"
	case "iso-8859-1", "latin1":
		e.cm, encName = charmap.ISO8859_1, "ISO-8859-1"
	case "iso-8859-15", "latin9":
		e.cm, encName = charmap.ISO8859_15, "ISO-8859-15"
	default:
		es.Add("encoding", "unknown encoding %q (want utf-8, windows-1252, iso-8859-1 or iso-8859-15)", cfg.Encoding)
	}
	// Namespaces: prefixes used by element names must be declared.
	prefixes := map[string]bool{"xml": true}
	for p, uri := range cfg.Root.Namespaces {
		if p != "" && !xmlName.MatchString(p) || strings.Contains(p, ":") {
			es.Add("root.namespaces."+p, "%q is not a valid namespace prefix", p)
		}
		if uri == "" && p != "" {
			es.Add("root.namespaces."+p, "the namespace URI of a prefix must not be empty")
		}
		prefixes[p] = true
	}
	nameErr := func(name string) string {
		if !xmlName.MatchString(name) {
			return fmt.Sprintf("%q is not a valid XML name", name)
		}
		if p, _, ok := strings.Cut(name, ":"); ok && !prefixes[p] {
			return fmt.Sprintf("namespace prefix %q is not declared in root.namespaces", p)
		}
		return ""
	}
	checkName := func(path, name string) {
		if msg := nameErr(name); msg != "" {
			es.Add(path, "%s", msg)
		}
	}
	if cfg.Root.Name == "" {
		es.Add("root.name", "required")
	} else {
		checkName("root.name", cfg.Root.Name)
	}
	if cfg.Record == "" {
		es.Add("record", "required")
	} else {
		checkName("record", cfg.Record)
	}
	var open strings.Builder
	fmt.Fprintf(&open, `<?xml version="1.0" encoding="%s"?>`+"\n<%s", encName, cfg.Root.Name)
	for _, p := range sortedKeys(cfg.Root.Namespaces) {
		if p == "" {
			fmt.Fprintf(&open, ` xmlns="%s"`, escapeAttr(cfg.Root.Namespaces[p]))
		} else {
			fmt.Fprintf(&open, ` xmlns:%s="%s"`, p, escapeAttr(cfg.Root.Namespaces[p]))
		}
	}
	for _, k := range sortedKeys(cfg.Root.Attributes) {
		checkName("root.attributes."+k, k)
		fmt.Fprintf(&open, ` %s="%s"`, k, escapeAttr(cfg.Root.Attributes[k]))
	}
	open.WriteString(">")
	e.open = open.String()
	e.close = "</" + cfg.Root.Name + ">\n"
	for _, v := range cfg.Root.Attributes {
		if r := e.checkText(v); r != "" {
			es.Add("root.attributes", "%s", r)
		}
	}

	if len(cfg.Mapping) == 0 {
		es.Add("mapping", "at least one element or attribute is required")
	}
	for i, m := range cfg.Mapping {
		p := fmt.Sprintf("mapping[%d]", i)
		s := xslot{path: m.Path, field: m.Field, constant: m.Const, typ: m.Type, required: m.Required, keep: m.Empty == "element", scale: e.cfg.Scale}
		if s.typ == "" {
			s.typ = "auto"
		}
		switch s.typ {
		case "auto", "string", "decimal", "int", "date":
		default:
			es.Add(p+".type", "unknown type %q (want auto, string, decimal, int or date)", m.Type)
		}
		if m.Empty != "" && m.Empty != "omit" && m.Empty != "element" {
			es.Add(p+".empty", "unknown value %q (want omit or element)", m.Empty)
		}
		if (m.Field == "") == (m.Const == nil) {
			es.Add(p, "exactly one of field and const is required")
		}
		if m.Const != nil {
			if r := e.checkText(*m.Const); r != "" {
				es.Add(p+".const", "%s", r)
			}
		}
		if m.Scale != nil {
			s.scale = *m.Scale
		}
		s.layout = record.GoLayout(e.cfg.DateFormat)
		if m.Format != "" {
			s.layout = record.GoLayout(m.Format)
		}
		e.slots = append(e.slots, s)
	}
	e.tree = &xnode{name: cfg.Record, depth: 1, text: -1}
	for i, s := range e.slots {
		if err := e.tree.add(s.path, i, nameErr); err != "" {
			es.Add(fmt.Sprintf("mapping[%d].path", i), "%s", err)
		}
	}
	if sm := cfg.Summary; sm != nil {
		switch sm.Position {
		case "", "end":
		case "start":
			e.sumStart = true
		default:
			es.Add("summary.position", "unknown position %q (want start or end)", sm.Position)
		}
		if sm.Element == "" {
			es.Add("summary.element", "required")
		} else {
			checkName("summary.element", sm.Element)
		}
		if len(sm.Fields) == 0 {
			es.Add("summary.fields", "at least one element or attribute is required")
		}
		e.sumTree = &xnode{name: sm.Element, depth: 1, text: -1}
		for i, f := range sm.Fields {
			p := fmt.Sprintf("summary.fields[%d]", i)
			s := xslot{path: f.Path, field: f.Field, constant: f.Const, value: f.Value, scale: e.cfg.Scale, layout: record.GoLayout(e.cfg.DateFormat), keep: true}
			if s.value == "" {
				s.value = "const"
			}
			if f.Scale != nil {
				s.scale = *f.Scale
			}
			if f.Format != "" {
				s.layout = record.GoLayout(f.Format)
			}
			switch s.value {
			case "sum":
				if f.Field == "" {
					es.Add(p+".field", "required for value sum")
				}
			case "const":
				if f.Const == nil {
					es.Add(p+".const", "required for value const")
				} else if r := e.checkText(*f.Const); r != "" {
					es.Add(p+".const", "%s", r)
				}
			case "count", "run_date", "run_datetime", "file_name":
			default:
				es.Add(p+".value", "unknown value %q (want count, sum, run_date, run_datetime, file_name or const)", f.Value)
			}
			e.sumSlots = append(e.sumSlots, s)
			if err := e.sumTree.add(f.Path, i, nameErr); err != "" {
				es.Add(p+".path", "%s", err)
			}
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	// Whitespace tokens: before a child at depth d, "\n" + d*indent spaces.
	if cfg.Indent > 0 {
		for d := 0; d < 16; d++ {
			e.ws = append(e.ws, etree.NewText("\n"+strings.Repeat(" ", d*cfg.Indent)))
		}
	}
	e.doc = etree.NewDocumentWithRoot(e.tree.el)
	// Canonical escaping: &, < and > in text, &, < and " in attributes, and \r, \t, \n in
	// attributes as character references, so every value survives an XML reader unchanged.
	e.doc.WriteSettings = etree.WriteSettings{CanonicalText: true, CanonicalAttrVal: true}
	return e, nil
}

// add inserts the element or attribute at path (relative to n) bound to slot. It returns a
// problem or "".
func (n *xnode) add(path string, slot int, nameErr func(string) string) string {
	if n.el == nil {
		n.el = etree.NewElement(n.name)
	}
	if path == "" {
		return "empty path"
	}
	segs := strings.Split(path, "/")
	cur := n
	for i, seg := range segs {
		last := i == len(segs)-1
		if strings.HasPrefix(seg, "@") {
			if !last {
				return fmt.Sprintf("attribute %s must be the last segment", seg)
			}
			name := seg[1:]
			if msg := nameErr(name); msg != "" {
				return "attribute " + msg
			}
			space, key, ok := strings.Cut(name, ":")
			if !ok {
				space, key = "", name
			}
			for _, a := range cur.attrs {
				if a.space == space && a.key == key {
					return fmt.Sprintf("attribute %s is mapped twice", seg)
				}
			}
			cur.attrs = append(cur.attrs, xattr{space: space, key: key, slot: slot})
			return ""
		}
		if msg := nameErr(seg); msg != "" {
			return "element " + msg
		}
		var next *xnode
		for _, c := range cur.children {
			if c.name == seg {
				next = c
			}
		}
		if next == nil {
			if cur.text >= 0 {
				return fmt.Sprintf("element %s already has a text value and cannot have child elements", strings.Join(segs[:i], "/"))
			}
			next = &xnode{name: seg, depth: cur.depth + 1, text: -1, el: etree.NewElement(seg)}
			cur.children = append(cur.children, next)
		}
		cur = next
		if last {
			if cur.text >= 0 {
				return fmt.Sprintf("element %s is mapped twice", path)
			}
			if len(cur.children) > 0 {
				return fmt.Sprintf("element %s has child elements and cannot have a text value", path)
			}
			cur.text = slot
			cur.textTok = etree.NewText("")
		}
	}
	return ""
}

// build rebuilds the attributes and children of n from the slot values (vals, have) and
// reports whether n has any content (otherwise its parent leaves it out). The record element
// itself is always written.
func (n *xnode) build(vals []string, have []bool, ws []*etree.CharData) bool {
	el := n.el
	el.Attr = el.Attr[:0]
	for _, a := range n.attrs {
		if have[a.slot] {
			el.Attr = append(el.Attr, etree.Attr{Space: a.space, Key: a.key, Value: vals[a.slot]})
		}
	}
	el.Child = el.Child[:0]
	if n.text >= 0 {
		if !have[n.text] {
			return len(el.Attr) > 0
		}
		if vals[n.text] != "" {
			n.textTok.Data = vals[n.text]
			el.Child = append(el.Child, n.textTok)
		}
		return true
	}
	kids := 0
	for _, c := range n.children {
		if c.build(vals, have, ws) {
			if ws != nil {
				el.Child = append(el.Child, ws[min(c.depth, len(ws)-1)])
			}
			el.Child = append(el.Child, c.el)
			kids++
		}
	}
	if kids > 0 && ws != nil {
		el.Child = append(el.Child, ws[min(n.depth, len(ws)-1)])
	}
	return kids > 0 || len(el.Attr) > 0
}

// checkText returns why s cannot be written (a character XML 1.0 or the encoding cannot
// hold), or "".
func (e *xmlEncoder) checkText(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return fmt.Sprintf("invalid UTF-8 at byte %d", i+1)
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			return fmt.Sprintf("character %q at position %d is not allowed in XML", r, utf8.RuneCountInString(s[:i])+1)
		case e.cm != nil && r >= utf8.RuneSelf:
			if _, ok := e.cm.EncodeRune(r); !ok {
				return fmt.Sprintf("character %q at position %d is not representable in %s", r, utf8.RuneCountInString(s[:i])+1, e.cfg.Encoding)
			}
		}
	}
	return ""
}

func escapeAttr(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Create implements sdk.Encoder.
func (e *xmlEncoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	s := &xmlSink{enc: e, out: out, vals: make([]string, len(e.slots)), have: make([]bool, len(e.slots)),
		ix: map[*record.Schema][]int{}}
	s.sums = make([]record.Decimal, len(e.sumSlots))
	s.next = make([]record.Decimal, len(e.sumSlots))
	s.final = bufio.NewWriterSize(out.W, 64*1024)
	s.w = s.final
	if e.sumStart {
		if out.Temp == nil {
			return nil, fmt.Errorf("%s: summary position start needs a temporary file, but the engine provides none", out.Name)
		}
		tf, err := out.Temp()
		if err != nil {
			return nil, fmt.Errorf("%s: creating the temporary file: %w", out.Name, err)
		}
		s.temp = tf
		s.w = bufio.NewWriterSize(tf, 64*1024)
	} else if err := s.emitTo(s.final, []byte(e.open)); err != nil {
		return nil, err
	}
	return s, nil
}

type xmlSink struct {
	enc   *xmlEncoder
	out   sdk.Output
	final *bufio.Writer
	w     *bufio.Writer // final, or the temp file's writer (UTF-8, encoded on copy)
	temp  sdk.TempFile
	vals  []string
	have  []bool
	ix    map[*record.Schema][]int
	buf   bytes.Buffer
	conv  []byte
	count int64
	sums  []record.Decimal // control sums of the records written
	next  []record.Decimal // sums including the current record, kept if it is written
}

// emitTo writes UTF-8 text p to w in the target encoding and line ending.
func (s *xmlSink) emitTo(w io.Writer, p []byte) error {
	e := s.enc
	if e.cm == nil && e.nl == "\n" {
		_, err := w.Write(p)
		return err
	}
	b := s.conv[:0]
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\n' && e.nl == "\r\n" {
			b = append(b, '\r', '\n')
			i++
			continue
		}
		if c < utf8.RuneSelf || e.cm == nil {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		x, ok := e.cm.EncodeRune(r)
		if !ok {
			return fmt.Errorf("%s: %w: %q", s.out.Name, sdk.ErrUnencodable, r)
		}
		b = append(b, x)
		i += n
	}
	s.conv = b
	_, err := w.Write(b)
	return err
}

// indexes resolves the mapped fields of schema sc; a field the records do not have is an error.
func (s *xmlSink) indexes(sc *record.Schema) ([]int, error) {
	if ix, ok := s.ix[sc]; ok {
		return ix, nil
	}
	e := s.enc
	ix := make([]int, len(e.slots)+len(e.sumSlots))
	for i, sl := range e.slots {
		ix[i] = -1
		if sl.field != "" {
			if ix[i] = sc.Index(sl.field); ix[i] < 0 {
				return nil, fmt.Errorf("%s: mapping[%d] (%s): the records have no field %q%s", s.out.Name, i, sl.path, sl.field, hint(sl.field, sc.Names()))
			}
		}
	}
	for i, sl := range e.sumSlots {
		j := len(e.slots) + i
		ix[j] = -1
		if sl.value == "sum" {
			if ix[j] = sc.Index(sl.field); ix[j] < 0 {
				return nil, fmt.Errorf("%s: summary.fields[%d] (%s): the records have no field %q%s", s.out.Name, i, sl.path, sl.field, hint(sl.field, sc.Names()))
			}
		}
	}
	s.ix[sc] = ix
	return ix, nil
}

// Write implements sdk.Sink.
func (s *xmlSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	e := s.enc
	for _, r := range b.Records {
		ix, err := s.indexes(r.Schema)
		if err != nil {
			return rejects, err
		}
		field, reason := s.values(r, ix)
		if reason == "" {
			copy(s.next, s.sums)
			for i, sl := range e.sumSlots {
				if sl.value != "sum" {
					continue
				}
				v := r.Values[ix[len(e.slots)+i]]
				if v.IsNull() || v.Kind() == record.KindString && v.Str() == "" {
					continue
				}
				d, err := decimalOf(v)
				if err != nil {
					field, reason = sl.field, fmt.Sprintf("summed by summary %s, but %v", sl.path, err)
					break
				}
				if s.next[i], err = s.next[i].Add(d); err != nil {
					field, reason = sl.field, fmt.Sprintf("control sum %s: %v", sl.path, err)
					break
				}
			}
		}
		if reason != "" {
			rejects = append(rejects, record.Reject{Record: r, Step: e.env.Step, Field: field, Reason: reason})
			continue
		}
		copy(s.sums, s.next)
		if err := s.writeElement(e.tree); err != nil {
			return rejects, err
		}
		s.count++
	}
	return rejects, nil
}

// writeElement serialises the template element n (after build) through etree.
func (s *xmlSink) writeElement(n *xnode) error {
	e := s.enc
	n.build(s.vals, s.have, e.ws)
	s.buf.Reset()
	if e.ws != nil {
		s.buf.WriteString(e.ws[1].Data)
	}
	n.el.WriteTo(&s.buf, &e.doc.WriteSettings)
	return s.emitTo(s.w, s.buf.Bytes())
}

// values formats the mapped values of r into s.vals/s.have. It returns the offending record
// field and a reason when r cannot be written.
func (s *xmlSink) values(r record.Record, ix []int) (string, string) {
	e := s.enc
	for i := range e.slots {
		sl := &e.slots[i]
		var v record.Value
		if sl.constant != nil {
			s.vals[i], s.have[i] = *sl.constant, true
			continue
		}
		if ix[i] < len(r.Values) {
			v = r.Values[ix[i]]
		}
		if v.IsNull() || v.Kind() == record.KindString && v.Str() == "" {
			if sl.required {
				return sl.field, fmt.Sprintf("required value for %s is missing", sl.path)
			}
			s.vals[i], s.have[i] = "", sl.keep
			continue
		}
		str, reason := s.format(sl, v)
		if reason == "" {
			reason = e.checkText(str)
		}
		if reason != "" {
			return sl.field, sl.path + ": " + reason
		}
		s.vals[i], s.have[i] = str, true
	}
	return "", ""
}

func (s *xmlSink) format(sl *xslot, v record.Value) (string, string) {
	e := s.enc
	sep := e.cfg.Decimal[0]
	switch sl.typ {
	case "string":
		return textValue(v, e), ""
	case "decimal":
		d, err := decimalOf(v)
		if err != nil {
			return "", fmt.Sprintf("not a decimal: %v", err)
		}
		return formatDecimal(d, sep, sl.scale)
	case "int":
		d, err := decimalOf(v)
		if err != nil || !d.IsInt() {
			return "", fmt.Sprintf("%s is not a whole number", v)
		}
		return d.Trunc(0).String(), ""
	case "date":
		switch v.Kind() {
		case record.KindDate, record.KindDateTime:
			return v.Date().Time().Format(sl.layout), ""
		case record.KindString:
			d, err := parseAnyDate(v.Str())
			if err != nil {
				return "", err.Error()
			}
			return d.Time().Format(sl.layout), ""
		}
		return "", fmt.Sprintf("a %s is not a date", v.Kind())
	}
	switch v.Kind() {
	case record.KindDecimal:
		return formatDecimal(v.Decimal(), sep, sl.scale)
	case record.KindDate:
		return v.Date().Time().Format(sl.layout), ""
	}
	return textValue(v, e), ""
}

// formatDecimal writes d with exactly scale places (scale -1: d's own). A value with more
// places is not rounded silently: money that does not fit rejects the record.
func formatDecimal(d record.Decimal, sep byte, scale int) (string, string) {
	if scale >= 0 && d.Scale() > scale && !d.Round(scale).Equal(d) {
		return "", fmt.Sprintf("%s has more than %d decimal places (round it in a map step first)", d, scale)
	}
	return d.Format(sep, scale), ""
}

// parseAnyDate accepts YYYY-MM-DD, DD.MM.YYYY and YYYYMMDD.
func parseAnyDate(s string) (record.Date, error) {
	for _, l := range []string{"YYYY-MM-DD", "DD.MM.YYYY", "YYYYMMDD"} {
		if len(s) == len(l) {
			if d, err := record.ParseDate(s, l); err == nil {
				return d, nil
			}
		}
	}
	return 0, fmt.Errorf("%q is not a date (YYYY-MM-DD, DD.MM.YYYY or YYYYMMDD)", s)
}

func textValue(v record.Value, e *xmlEncoder) string {
	switch v.Kind() {
	case record.KindString:
		return v.Str()
	case record.KindInt:
		return strconv.FormatInt(v.Int(), 10)
	case record.KindBool:
		return strconv.FormatBool(v.Bool())
	case record.KindDateTime:
		return v.Time().Format(e.datetime)
	case record.KindDate:
		return v.Date().String()
	case record.KindDecimal:
		return v.Decimal().String()
	}
	return v.String()
}

// summary writes the summary element (at depth 1) to s.buf.
func (s *xmlSink) summary() {
	e := s.enc
	vals := make([]string, len(e.sumSlots))
	have := make([]bool, len(e.sumSlots))
	now := e.env.Now
	if now.IsZero() {
		now = time.Now()
	}
	for i, sl := range e.sumSlots {
		have[i] = true
		switch sl.value {
		case "count":
			vals[i] = strconv.FormatInt(s.count, 10)
		case "sum":
			vals[i] = s.sums[i].Format(e.cfg.Decimal[0], sl.scale)
		case "run_date":
			vals[i] = record.DateOf(now).Time().Format(sl.layout)
		case "run_datetime":
			vals[i] = now.Format(e.datetime)
		case "file_name":
			vals[i] = filepath.Base(s.out.Name)
		default:
			vals[i] = *sl.constant
		}
	}
	e.sumTree.build(vals, have, e.ws)
	if e.ws != nil {
		s.buf.WriteString(e.ws[1].Data)
	}
	e.sumTree.el.WriteTo(&s.buf, &e.doc.WriteSettings)
}

// Close implements sdk.Sink: writes the summary and closes the root element.
func (s *xmlSink) Close(context.Context) error {
	e := s.enc
	s.buf.Reset()
	if e.sumTree != nil {
		s.summary()
	}
	if e.sumStart {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("%s: writing the temporary file: %w", s.out.Name, err)
		}
		head := append([]byte(e.open), s.buf.Bytes()...)
		if err := s.emitTo(s.final, head); err != nil {
			return err
		}
		if _, err := s.temp.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("%s: rewinding the temporary file: %w", s.out.Name, err)
		}
		// The records in the temporary file are already encoded.
		if _, err := io.Copy(s.final, s.temp); err != nil {
			return fmt.Errorf("%s: copying the temporary file: %w", s.out.Name, err)
		}
		s.buf.Reset()
	}
	if e.ws != nil {
		s.buf.WriteByte('\n')
	}
	s.buf.WriteString(e.close)
	if err := s.emitTo(s.final, s.buf.Bytes()); err != nil {
		return err
	}
	return s.final.Flush()
}

func hint(k string, names []string) string {
	if s := diag.Suggest(k, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// decimalOf converts a decimal, int or numeric text (point or comma) to a Decimal.
func decimalOf(v record.Value) (record.Decimal, error) {
	switch v.Kind() {
	case record.KindDecimal, record.KindInt:
		return v.Decimal(), nil
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		if strings.IndexByte(s, ',') >= 0 {
			return record.ParseDecimal(s, ',')
		}
		return record.ParseDecimal(s, '.')
	}
	return record.Decimal{}, fmt.Errorf("a %s is not a number", v.Kind())
}
