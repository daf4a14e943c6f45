package pluginv1

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

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
// Result batches (version 2, ProcessStream answers only) refer to the
// request's records, which the host still holds, instead of repeating
// what a transform passed through: every record starts with source, 0 or
// the 1-based index of the request record it came from (same origin);
// with a source the origin is not repeated, and a value may be tag 10
// ("same"): the source record's value at the same field index.
//
//	record2 = source [file origin-line origin-col path index if source == 0] schema+1 nvalues {value}
//
// Decoding checks everything (counts against the remaining bytes, schema
// indexes, value counts against the schema, kinds, nesting depth) and
// returns ErrMalformed for anything else, so a plugin that returns garbage
// ends the run with a clear error instead of corrupting records.
const (
	batchVersion  = 1
	resultVersion = 2
)

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
	tagSame // result batches: the source record's value at this index
)

// maxDepth bounds list/map nesting on decode.
const maxDepth = 32

// ErrMalformed is returned (wrapped) for a batch that does not decode.
var ErrMalformed = errors.New("malformed batch")

// Encoder encodes batches. It reuses its buffers: the slice returned by
// Encode is valid until the next call. The zero value is ready to use.
type Encoder struct {
	buf        []byte
	schemas    map[*record.Schema]uint64
	schemaList []*record.Schema
	files      map[string]uint64
	fileList   []string
	// per-batch caches of the last schema and file seen (records of a batch
	// mostly share both: no map lookup per record)
	lastSchema *record.Schema
	lastSI     uint64
	lastFile   string
	lastFI     uint64
	haveFile   bool
	// result encoding: the request's records and the next candidate
	src    []record.Record
	srcPos int
}

func (e *Encoder) reset() {
	e.buf = e.buf[:0]
	if e.schemas == nil {
		e.schemas = map[*record.Schema]uint64{}
		e.files = map[string]uint64{}
	}
	clear(e.schemas)
	clear(e.files)
	e.schemaList = e.schemaList[:0]
	e.fileList = e.fileList[:0]
	e.lastSchema, e.lastSI, e.lastFile, e.lastFI, e.haveFile = nil, 0, "", 0, false
}

// schemaIndex returns the 1-based index of s in the batch's schema table
// (0: no schema), adding it when new.
func (e *Encoder) schemaIndex(s *record.Schema) uint64 {
	if s == nil {
		return 0
	}
	if s == e.lastSchema {
		return e.lastSI
	}
	idx, ok := e.schemas[s]
	if !ok {
		idx = uint64(len(e.schemaList))
		e.schemas[s] = idx
		e.schemaList = append(e.schemaList, s)
	}
	e.lastSchema, e.lastSI = s, idx+1
	return idx + 1
}

// fileIndex returns the index of f in the batch's file table, adding it
// when new.
func (e *Encoder) fileIndex(f string) uint64 {
	if e.haveFile && f == e.lastFile {
		return e.lastFI
	}
	idx, ok := e.files[f]
	if !ok {
		idx = uint64(len(e.fileList))
		e.files[f] = idx
		e.fileList = append(e.fileList, f)
	}
	e.lastFile, e.lastFI, e.haveFile = f, idx, true
	return idx
}

// Encode encodes b (records and rejects). A record whose value count does
// not match its schema is an error.
func (e *Encoder) Encode(b *record.Batch) ([]byte, error) {
	e.src = nil
	return e.encode(b, batchVersion)
}

// EncodeResult encodes b, the result of a transform on req, as a result
// batch: records that keep the origin of a record of req refer to it, and
// values equal to that record's value at the same index are not repeated.
// The host decodes it with DecodeResult and the same req.
func (e *Encoder) EncodeResult(b, req *record.Batch) ([]byte, error) {
	e.src = nil
	if req != nil {
		e.src = req.Records
	}
	data, err := e.encode(b, resultVersion)
	e.src = nil
	return data, err
}

func (e *Encoder) encode(b *record.Batch, version byte) ([]byte, error) {
	e.reset()
	var recs []record.Record
	var rejs []record.Reject
	if b != nil {
		recs, rejs = b.Records, b.Rejects
	}
	// First pass: the schema and file tables, which come first.
	for i := range recs {
		e.schemaIndex(recs[i].Schema)
		e.fileIndex(recs[i].Origin.File)
	}
	for i := range rejs {
		e.schemaIndex(rejs[i].Record.Schema)
		e.fileIndex(rejs[i].Record.Origin.File)
	}
	e.buf = append(e.buf, version)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(e.schemaList)))
	for _, s := range e.schemaList {
		e.buf = binary.AppendUvarint(e.buf, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			f := s.Field(i)
			e.buf = appendString(e.buf, f.Name)
			e.buf = append(e.buf, byte(f.Kind))
		}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(e.fileList)))
	for _, f := range e.fileList {
		e.buf = appendString(e.buf, f)
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(recs)))
	e.srcPos = 0
	for i := range recs {
		if err := e.record(&recs[i], version); err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
	}
	e.buf = binary.AppendUvarint(e.buf, uint64(len(rejs)))
	e.srcPos = 0
	for i := range rejs {
		rj := &rejs[i]
		if err := e.record(&rj.Record, version); err != nil {
			return nil, fmt.Errorf("reject %d: %w", i+1, err)
		}
		e.buf = appendString(e.buf, rj.Step)
		e.buf = appendString(e.buf, rj.Field)
		e.buf = appendString(e.buf, rj.Reason)
	}
	return e.buf, nil
}

// source returns the index in e.src of the request record r came from
// (same origin), searching a few records ahead of the last match, or -1.
func (e *Encoder) source(r *record.Record) int {
	for t := e.srcPos; t < len(e.src) && t < e.srcPos+16; t++ {
		if e.src[t].Origin == r.Origin {
			e.srcPos = t + 1
			return t
		}
	}
	return -1
}

// same reports whether v and w are the same value (lists and maps never
// count: they are not comparable).
func same(v, w record.Value) bool {
	k := v.Kind()
	return k == w.Kind() && k != record.KindList && k != record.KindMap && v == w
}

func (e *Encoder) record(r *record.Record, version byte) error {
	if n := r.Schema.Len(); len(r.Values) != n {
		return fmt.Errorf("%d values for %d schema fields", len(r.Values), n)
	}
	b := e.buf
	var src []record.Value
	hasSrc := false
	if version == resultVersion {
		si := e.source(r)
		b = binary.AppendUvarint(b, uint64(si+1))
		if si >= 0 {
			src, hasSrc = e.src[si].Values, true
		}
	}
	b = binary.AppendUvarint(b, e.schemaIndex(r.Schema))
	if !hasSrc {
		b = binary.AppendUvarint(b, e.fileIndex(r.Origin.File))
		b = binary.AppendUvarint(b, uint64(max(r.Origin.Line, 0)))
		b = binary.AppendUvarint(b, uint64(max(r.Origin.Col, 0)))
		b = appendString(b, r.Origin.Path)
		b = binary.AppendVarint(b, r.Origin.Index)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Values)))
	for i, v := range r.Values {
		if i < len(src) && same(v, src[i]) {
			b = append(b, tagSame)
			continue
		}
		switch v.Kind() { // the common kinds inline
		case record.KindNull:
			b = append(b, tagNull)
		case record.KindString:
			b = appendString(append(b, tagString), v.Str())
		case record.KindInt:
			b = binary.AppendVarint(append(b, tagInt), v.Int())
		default:
			var err error
			if b, err = appendValue(b, v, 0); err != nil {
				e.buf = b
				return err
			}
		}
	}
	e.buf = b
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
	// DecodeReuse: the offered values block, then the block used
	reuse bool
	block []record.Value
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
// hold part of the batch; callers discard it. data is copied once (every
// string value is a substring of the copy: no allocation per value).
func (d *Decoder) Decode(data []byte, into *record.Batch) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	return d.decode(string(data), nil, into)
}

// DecodeOwned is Decode without the copy: the string values of the records
// point into data, which the caller hands over and must never modify or
// reuse (e.g. a freshly unmarshalled protobuf bytes field).
func (d *Decoder) DecodeOwned(data []byte, into *record.Batch) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	return d.decode(unsafe.String(unsafe.SliceData(data), len(data)), nil, into)
}

// DecodeReuse is DecodeOwned that takes the values of the records from
// block when it is large enough (else from a new block) and returns the
// block it used, for a later DecodeReuse once nothing refers to the
// records of this batch any more.
func (d *Decoder) DecodeReuse(data []byte, into *record.Batch, block []record.Value) ([]record.Value, error) {
	d.reuse, d.block = true, block
	err := d.DecodeOwned(data, into)
	used := d.block
	d.reuse, d.block = false, nil
	return used, err
}

// DecodeResult decodes a result batch (EncodeResult) of a transform on req
// into into, owning data like DecodeOwned. Records that refer to a record
// of req get its origin, and its values where the result says "same".
func (d *Decoder) DecodeResult(data []byte, req, into *record.Batch) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty", ErrMalformed)
	}
	if req == nil {
		req = &record.Batch{}
	}
	return d.decode(unsafe.String(unsafe.SliceData(data), len(data)), req, into)
}

// decode decodes a batch; req is the request of a result batch (nil: a
// plain batch is expected).
func (d *Decoder) decode(data string, req *record.Batch, into *record.Batch) error {
	r := &reader{s: data}
	v, _ := r.byte()
	want := byte(batchVersion)
	if req != nil {
		want = resultVersion
	}
	if v != want {
		return r.fail("unknown batch format version %d (want %d)", v, want)
	}
	var src []record.Record
	if req != nil {
		src = req.Records
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
	minRec := 7 // bytes of the smallest record: schema, origin, no values
	if req != nil {
		minRec = 3 // source, schema, no values
	}
	nrec, err := r.count(minRec)
	if err != nil {
		return err
	}
	width := 0
	if len(d.sl) > 0 {
		width = d.sl[0].Len()
	}
	// Every value takes at least one byte: never preallocate more values
	// than bytes remain (a hostile count must not allocate gigabytes).
	var vals []record.Value
	if need := min(nrec*width, len(r.s)-r.pos); d.reuse && cap(d.block) >= need {
		vals = d.block[:0]
	} else {
		vals = make([]record.Value, 0, need)
	}
	if d.reuse {
		defer func() { d.block = vals }()
	}
	if cap(into.Records)-len(into.Records) < nrec {
		into.Records = append(make([]record.Record, 0, len(into.Records)+nrec), into.Records...)
	}
	for i := 0; i < nrec; i++ {
		var rec record.Record
		if vals, err = d.record(r, src, &rec, vals); err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
		into.Records = append(into.Records, rec)
	}
	nrej, err := r.count(minRec + 3)
	if err != nil {
		return err
	}
	for i := 0; i < nrej; i++ {
		var rj record.Reject
		if vals, err = d.record(r, src, &rj.Record, vals); err != nil {
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

// record decodes one record; src is the request's records of a result
// batch (nil otherwise).
func (d *Decoder) record(r *reader, src []record.Record, rec *record.Record, vals []record.Value) ([]record.Value, error) {
	var from []record.Value // the source record's values
	hasSrc := false
	if src != nil {
		k, err := r.uvarint()
		if err != nil {
			return vals, err
		}
		if k > uint64(len(src)) {
			return vals, r.fail("source record %d out of range (%d records)", k, len(src))
		}
		if k > 0 {
			rec.Origin = src[k-1].Origin
			from, hasSrc = src[k-1].Values, true
		}
	}
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
	if !hasSrc {
		if err := d.origin(r, rec); err != nil {
			return vals, err
		}
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
		// the common kinds inline
		if r.pos+1 < len(r.s) {
			switch r.s[r.pos] {
			case tagSame:
				if i >= len(from) {
					return vals, r.fail("value %d: no source value", i+1)
				}
				r.pos++
				vals = append(vals, from[i])
				continue
			case tagNull:
				r.pos++
				vals = append(vals, record.Null)
				continue
			case tagString:
				if c := r.s[r.pos+1]; c < 0x80 && r.pos+2+int(c) <= len(r.s) {
					vals = append(vals, record.String(r.s[r.pos+2:r.pos+2+int(c)]))
					r.pos += 2 + int(c)
					continue
				}
			case tagInt:
				if c := r.s[r.pos+1]; c < 0x80 {
					vals = append(vals, record.Int(int64(c>>1)^-int64(c&1)))
					r.pos += 2
					continue
				}
				r.pos++
				x, err := r.varint()
				if err != nil {
					return vals, err
				}
				vals = append(vals, record.Int(x))
				continue
			case tagDecimal:
				// sign, scale, coefficient: the common case (no more than
				// 63 bits) without the general path
				if r.pos+3 < len(r.s) {
					neg, scale := r.s[r.pos+1], r.s[r.pos+2]
					if neg <= 1 && scale <= 19 {
						start := r.pos
						r.pos += 3
						coef, err := r.uvarint()
						if err != nil {
							return vals, err
						}
						if coef <= math.MaxInt64 {
							dec, err := record.NewDecimal(int64(coef), int(scale))
							if err != nil {
								return vals, r.fail("%v", err)
							}
							if neg == 1 {
								dec = dec.Neg()
							}
							vals = append(vals, record.Dec(dec))
							continue
						}
						r.pos = start // the general path
					}
				}
			}
		}
		v, err := d.value(r, 0)
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
	rec.Values = vals[start:len(vals):len(vals)]
	return vals, nil
}

// origin decodes the origin of a record.
func (d *Decoder) origin(r *reader, rec *record.Record) error {
	fi, err := r.uvarint()
	if err != nil {
		return err
	}
	if fi >= uint64(len(d.files)) {
		return r.fail("file %d out of range (%d files)", fi, len(d.files))
	}
	rec.Origin.File = d.files[fi]
	if rec.Origin.Line, err = r.smallInt(); err != nil {
		return err
	}
	if rec.Origin.Col, err = r.smallInt(); err != nil {
		return err
	}
	if rec.Origin.Path, err = r.str(); err != nil {
		return err
	}
	rec.Origin.Index, err = r.varint()
	return err
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
