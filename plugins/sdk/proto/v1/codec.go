package pluginv1

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
)

// The batch format. Every Next, Process, Flush and Write message carries one
// batch as bytes in this format rather than as nested protobuf messages:
// protobuf would allocate a message per value, which costs more than most
// transforms do per record. The format is little more than varints:
//
//	batch   = version(1) nschemas {schema} nfiles {string} nrecords {record} nrejects {reject}
//	schema  = nfields {string kind(byte)}
//	record  = schema+1 (0: no schema) file origin-line origin-col path index nvalues {value}
//	reject  = record step field reason
//	value   = tag(byte) payload
//	string  = uvarint length, bytes
//
// Value tags and payloads: 0 null; 1 string; 2 int (zig-zag varint); 3
// decimal: sign byte (0/1), scale byte, uvarint coefficient (exact, never a
// float); 4 false; 5 true; 6 date: zig-zag varint days since 1970-01-01; 7
// datetime: zig-zag varint unix nanoseconds, zone name string, zig-zag
// offset seconds; 8 list: n {value}; 9 map: n {string value}.
//
// Decoding checks everything (counts against the remaining bytes, schema
// indexes, value counts against the schema, kinds, nesting depth) and
// returns ErrMalformed for anything else, so a plugin that returns garbage
// ends the run with a clear error instead of corrupting records.
const batchVersion = 1

const (
	tagNull byte = iota
	tagString
	tagInt
	tagDecimal
	tagFalse
	tagTrue
	tagDate
	tagDateTime
	tagList
	tagMap
)

// maxDepth bounds list/map nesting on decode.
const maxDepth = 32

// ErrMalformed is returned (wrapped) for a batch that does not decode.
var ErrMalformed = errors.New("malformed batch")

// Encoder encodes batches. It reuses its buffers: the slice returned by
// Encode is valid until the next call. The zero value is ready to use.
type Encoder struct {
	head, body []byte
	schemas    map[*record.Schema]uint64
	schemaList []*record.Schema
	files      map[string]uint64
	fileList   []string
}

func (e *Encoder) reset() {
	e.head = e.head[:0]
	e.body = e.body[:0]
	if e.schemas == nil {
		e.schemas = map[*record.Schema]uint64{}
		e.files = map[string]uint64{}
	}
	clear(e.schemas)
	clear(e.files)
	e.schemaList = e.schemaList[:0]
	e.fileList = e.fileList[:0]
}

// Encode encodes b (records and rejects). A record whose value count does
// not match its schema is an error.
func (e *Encoder) Encode(b *record.Batch) ([]byte, error) {
	e.reset()
	var recs []record.Record
	var rejs []record.Reject
	if b != nil {
		recs, rejs = b.Records, b.Rejects
	}
	e.body = binary.AppendUvarint(e.body, uint64(len(recs)))
	for i := range recs {
		if err := e.record(&recs[i]); err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(len(rejs)))
	for i := range rejs {
		rj := &rejs[i]
		if err := e.record(&rj.Record); err != nil {
			return nil, fmt.Errorf("reject %d: %w", i+1, err)
		}
		e.body = appendString(e.body, rj.Step)
		e.body = appendString(e.body, rj.Field)
		e.body = appendString(e.body, rj.Reason)
	}
	e.head = append(e.head, batchVersion)
	e.head = binary.AppendUvarint(e.head, uint64(len(e.schemaList)))
	for _, s := range e.schemaList {
		e.head = binary.AppendUvarint(e.head, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			f := s.Field(i)
			e.head = appendString(e.head, f.Name)
			e.head = append(e.head, byte(f.Kind))
		}
	}
	e.head = binary.AppendUvarint(e.head, uint64(len(e.fileList)))
	for _, f := range e.fileList {
		e.head = appendString(e.head, f)
	}
	e.head = append(e.head, e.body...)
	return e.head, nil
}

func (e *Encoder) record(r *record.Record) error {
	var si uint64
	if r.Schema != nil {
		idx, ok := e.schemas[r.Schema]
		if !ok {
			idx = uint64(len(e.schemaList))
			e.schemas[r.Schema] = idx
			e.schemaList = append(e.schemaList, r.Schema)
		}
		si = idx + 1
	}
	if n := r.Schema.Len(); len(r.Values) != n {
		return fmt.Errorf("%d values for %d schema fields", len(r.Values), n)
	}
	fi, ok := e.files[r.Origin.File]
	if !ok {
		fi = uint64(len(e.fileList))
		e.files[r.Origin.File] = fi
		e.fileList = append(e.fileList, r.Origin.File)
	}
	e.body = binary.AppendUvarint(e.body, si)
	e.body = binary.AppendUvarint(e.body, fi)
	e.body = binary.AppendUvarint(e.body, uint64(max(r.Origin.Line, 0)))
	e.body = binary.AppendUvarint(e.body, uint64(max(r.Origin.Col, 0)))
	e.body = appendString(e.body, r.Origin.Path)
	e.body = binary.AppendVarint(e.body, r.Origin.Index)
	e.body = binary.AppendUvarint(e.body, uint64(len(r.Values)))
	for _, v := range r.Values {
		var err error
		if e.body, err = appendValue(e.body, v, 0); err != nil {
			return err
		}
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendValue(b []byte, v record.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, fmt.Errorf("values nested deeper than %d levels", maxDepth)
	}
	switch v.Kind() {
	case record.KindNull:
		return append(b, tagNull), nil
	case record.KindString:
		return appendString(append(b, tagString), v.Str()), nil
	case record.KindInt:
		return binary.AppendVarint(append(b, tagInt), v.Int()), nil
	case record.KindDecimal:
		d := v.Decimal()
		coef, scale := d.Coef()
		var neg byte
		if d.Sign() < 0 {
			neg = 1
		}
		b = append(b, tagDecimal, neg, byte(scale))
		return binary.AppendUvarint(b, coef), nil
	case record.KindBool:
		if v.Bool() {
			return append(b, tagTrue), nil
		}
		return append(b, tagFalse), nil
	case record.KindDate:
		return binary.AppendVarint(append(b, tagDate), int64(v.Date())), nil
	case record.KindDateTime:
		t := v.Time()
		name, off := t.Zone()
		if loc := t.Location(); loc != time.Local && loc.String() != "" {
			name = loc.String() // IANA name when there is one
		}
		b = binary.AppendVarint(append(b, tagDateTime), t.UnixNano())
		b = appendString(b, name)
		return binary.AppendVarint(b, int64(off)), nil
	case record.KindList:
		l := v.List()
		b = binary.AppendUvarint(append(b, tagList), uint64(len(l)))
		var err error
		for _, e := range l {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case record.KindMap:
		m := v.Map()
		b = binary.AppendUvarint(append(b, tagMap), uint64(len(m)))
		var err error
		for k, e := range m {
			b = appendString(b, k)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	return b, fmt.Errorf("unknown value kind %v", v.Kind())
}

// Decoder decodes batches. It caches schemas (a stream of batches with one
// schema yields records sharing one *record.Schema) and time zones. The zero
// value is ready to use; a Decoder is not safe for concurrent use.
type Decoder struct {
	schemas map[string]*record.Schema
	zones   map[zoneKey]*time.Location
	// batch-local tables
	sl    []*record.Schema
	files []string
}

type zoneKey struct {
	name string
	off  int
}

type reader struct {
	s   string // the whole payload as one string: substrings share it
	pos int
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, r.pos, fmt.Sprintf(format, args...))
}

func (r *reader) uvarint() (uint64, error) {
	if r.pos < len(r.s) && r.s[r.pos] < 0x80 { // fast path: one byte
		c := r.s[r.pos]
		r.pos++
		return uint64(c), nil
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if r.pos >= len(r.s) {
			return 0, r.fail("truncated")
		}
		c := r.s[r.pos]
		r.pos++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, r.fail("varint overflows 64 bits")
			}
			return x | uint64(c)<<s, nil
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, r.fail("varint overflows 64 bits")
}

func (r *reader) varint() (int64, error) {
	ux, err := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, err
}

// count reads a count of items needing at least min bytes each.
func (r *reader) count(min int) (int, error) {
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	rem := uint64(len(r.s) - r.pos)
	if n > rem || n*uint64(min) > rem { // n <= rem keeps the product from overflowing
		return 0, r.fail("count %d exceeds the remaining %d bytes", n, len(r.s)-r.pos)
	}
	return int(n), nil
}

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.s) {
		return 0, r.fail("truncated")
	}
	c := r.s[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) str() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	s := r.s[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// smallInt reads a uvarint that must fit an int (line, column, index).
func (r *reader) smallInt() (int, error) {
	n, err := r.uvarint()
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 {
		return 0, r.fail("number %d out of range", n)
	}
	return int(n), nil
}

// Decode appends the records and rejects of data to into. On error into may
// hold part of the batch; callers discard it.
func (d *Decoder) Decode(data []byte, into *record.Batch) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	// One copy of the payload per batch; every string value is a substring
	// of it (no allocation per value).
	r := &reader{s: string(data)}
	v, _ := r.byte()
	if v != batchVersion {
		return r.fail("unknown batch format version %d (want %d)", v, batchVersion)
	}
	if d.schemas == nil {
		d.schemas = map[string]*record.Schema{}
		d.zones = map[zoneKey]*time.Location{}
	}
	ns, err := r.count(1)
	if err != nil {
		return err
	}
	d.sl = d.sl[:0]
	for i := 0; i < ns; i++ {
		start := r.pos
		nf, err := r.count(2)
		if err != nil {
			return err
		}
		for j := 0; j < nf; j++ {
			if _, err := r.str(); err != nil {
				return err
			}
			k, err := r.byte()
			if err != nil {
				return err
			}
			if k > byte(record.KindMap) {
				return r.fail("schema field %d: unknown kind %d", j+1, k)
			}
		}
		key := r.s[start:r.pos]
		s, ok := d.schemas[key]
		if !ok {
			s, err = parseSchema(key)
			if err != nil {
				return r.fail("schema %d: %v", i+1, err)
			}
			if len(d.schemas) > 1024 { // a plugin inventing schemas: don't grow forever
				clear(d.schemas)
			}
			d.schemas[key] = s
		}
		d.sl = append(d.sl, s)
	}
	nfiles, err := r.count(1)
	if err != nil {
		return err
	}
	d.files = d.files[:0]
	for i := 0; i < nfiles; i++ {
		f, err := r.str()
		if err != nil {
			return err
		}
		d.files = append(d.files, f)
	}
	nrec, err := r.count(7)
	if err != nil {
		return err
	}
	width := 0
	if len(d.sl) > 0 {
		width = d.sl[0].Len()
	}
	// Every value takes at least one byte: never preallocate more values
	// than bytes remain (a hostile count must not allocate gigabytes).
	vals := make([]record.Value, 0, min(nrec*width, len(r.s)-r.pos))
	if cap(into.Records)-len(into.Records) < nrec {
		into.Records = append(make([]record.Record, 0, len(into.Records)+nrec), into.Records...)
	}
	for i := 0; i < nrec; i++ {
		var rec record.Record
		if vals, err = d.record(r, &rec, vals); err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
		into.Records = append(into.Records, rec)
	}
	nrej, err := r.count(10)
	if err != nil {
		return err
	}
	for i := 0; i < nrej; i++ {
		var rj record.Reject
		if vals, err = d.record(r, &rj.Record, vals); err != nil {
			return fmt.Errorf("reject %d: %w", i+1, err)
		}
		if rj.Step, err = r.str(); err != nil {
			return err
		}
		if rj.Field, err = r.str(); err != nil {
			return err
		}
		if rj.Reason, err = r.str(); err != nil {
			return err
		}
		into.Rejects = append(into.Rejects, rj)
	}
	if r.pos != len(r.s) {
		return r.fail("%d trailing bytes", len(r.s)-r.pos)
	}
	return nil
}

func parseSchema(key string) (*record.Schema, error) {
	r := &reader{s: key}
	nf, _ := r.count(2)
	fs := make([]record.Field, nf)
	for j := range fs {
		fs[j].Name, _ = r.str()
		k, _ := r.byte()
		fs[j].Kind = record.Kind(k)
	}
	return record.NewSchema(fs...)
}

func (d *Decoder) record(r *reader, rec *record.Record, vals []record.Value) ([]record.Value, error) {
	si, err := r.uvarint()
	if err != nil {
		return vals, err
	}
	if si > uint64(len(d.sl)) {
		return vals, r.fail("schema %d out of range (%d schemas)", si, len(d.sl))
	}
	if si > 0 {
		rec.Schema = d.sl[si-1]
	}
	fi, err := r.uvarint()
	if err != nil {
		return vals, err
	}
	if fi >= uint64(len(d.files)) {
		return vals, r.fail("file %d out of range (%d files)", fi, len(d.files))
	}
	rec.Origin.File = d.files[fi]
	if rec.Origin.Line, err = r.smallInt(); err != nil {
		return vals, err
	}
	if rec.Origin.Col, err = r.smallInt(); err != nil {
		return vals, err
	}
	if rec.Origin.Path, err = r.str(); err != nil {
		return vals, err
	}
	if rec.Origin.Index, err = r.varint(); err != nil {
		return vals, err
	}
	n, err := r.count(1)
	if err != nil {
		return vals, err
	}
	if n != rec.Schema.Len() {
		return vals, r.fail("%d values for %d schema fields", n, rec.Schema.Len())
	}
	start := len(vals)
	for i := 0; i < n; i++ {
		v, err := d.value(r, 0)
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
	rec.Values = vals[start:len(vals):len(vals)]
	return vals, nil
}

func (d *Decoder) value(r *reader, depth int) (record.Value, error) {
	if depth > maxDepth {
		return record.Null, r.fail("values nested deeper than %d levels", maxDepth)
	}
	tag, err := r.byte()
	if err != nil {
		return record.Null, err
	}
	switch tag {
	case tagNull:
		return record.Null, nil
	case tagString:
		s, err := r.str()
		return record.String(s), err
	case tagInt:
		i, err := r.varint()
		return record.Int(i), err
	case tagDecimal:
		neg, err := r.byte()
		if err != nil {
			return record.Null, err
		}
		scale, err := r.byte()
		if err != nil {
			return record.Null, err
		}
		coef, err := r.uvarint()
		if err != nil {
			return record.Null, err
		}
		if neg > 1 || scale > 19 {
			return record.Null, r.fail("invalid decimal sign %d or scale %d", neg, scale)
		}
		dec, err := makeDecimal(neg == 1, int(scale), coef)
		if err != nil {
			return record.Null, r.fail("%v", err)
		}
		return record.Dec(dec), nil
	case tagFalse:
		return record.Bool(false), nil
	case tagTrue:
		return record.Bool(true), nil
	case tagDate:
		n, err := r.varint()
		if err != nil {
			return record.Null, err
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return record.Null, r.fail("date %d out of range", n)
		}
		return record.DateValue(record.Date(n)), nil
	case tagDateTime:
		ns, err := r.varint()
		if err != nil {
			return record.Null, err
		}
		name, err := r.str()
		if err != nil {
			return record.Null, err
		}
		off, err := r.varint()
		if err != nil {
			return record.Null, err
		}
		if off < -18*3600 || off > 18*3600 {
			return record.Null, r.fail("zone offset %d out of range", off)
		}
		return record.DateTime(time.Unix(0, ns).In(d.zone(name, int(off), ns))), nil
	case tagList:
		n, err := r.count(1)
		if err != nil {
			return record.Null, err
		}
		l := make([]record.Value, n)
		for i := range l {
			if l[i], err = d.value(r, depth+1); err != nil {
				return record.Null, err
			}
		}
		return record.List(l), nil
	case tagMap:
		n, err := r.count(2)
		if err != nil {
			return record.Null, err
		}
		m := make(map[string]record.Value, n)
		for i := 0; i < n; i++ {
			k, err := r.str()
			if err != nil {
				return record.Null, err
			}
			if m[k], err = d.value(r, depth+1); err != nil {
				return record.Null, err
			}
		}
		return record.Map(m), nil
	}
	return record.Null, r.fail("unknown value tag %d", tag)
}

// zone returns the location for a zone name and offset: the IANA zone when
// the name is one and agrees with the offset at that instant, else a fixed
// zone with that name and offset (so the wall clock is never wrong).
// Results are cached per (name, offset).
func (d *Decoder) zone(name string, off int, ns int64) *time.Location {
	if name == "UTC" && off == 0 {
		return time.UTC
	}
	k := zoneKey{name, off}
	if loc, ok := d.zones[k]; ok {
		return loc
	}
	var loc *time.Location
	if name != "" && name != "Local" {
		if l, err := time.LoadLocation(name); err == nil {
			if _, o := time.Unix(0, ns).In(l).Zone(); o == off {
				loc = l
			}
		}
	}
	if loc == nil {
		loc = time.FixedZone(name, off)
	}
	if len(d.zones) >= 256 {
		clear(d.zones)
	}
	d.zones[k] = loc
	return loc
}

func makeDecimal(neg bool, scale int, coef uint64) (record.Decimal, error) {
	var d record.Decimal
	var err error
	if coef <= math.MaxInt64 {
		d, err = record.NewDecimal(int64(coef), scale)
	} else {
		s := strconv.FormatUint(coef, 10)
		if scale > 0 {
			for len(s) <= scale {
				s = "0" + s
			}
			s = s[:len(s)-scale] + "." + s[len(s)-scale:]
		}
		d, err = record.ParseDecimal(s, '.')
	}
	if err != nil {
		return d, err
	}
	if neg {
		d = d.Neg()
	}
	return d, nil
}
