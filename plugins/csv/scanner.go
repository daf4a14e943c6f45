package csv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/encoding/charmap"
)

// MaxRecordBytes is the largest record the reader accepts: 16 MiB
// (16,777,216 bytes) of the file's own bytes, counting quotes, delimiters
// and quoted line breaks but not the LF or CRLF that ends the record. A
// record (or a skipped line) one byte longer is a file error naming its
// first line; it almost always means a quote that is never closed, and the
// limit keeps memory bounded (the read buffer never grows past 32 MiB).
const MaxRecordBytes = 16 << 20

const readChunk = 64 << 10

// field is where one field of the current record lies.
type field struct {
	start, end int32 // byte offsets of the (unquoted, decoded) text in scanner.rec
	line       int32 // line offset from the record's first line (quoted line breaks)
	col        int32 // 1-based column in characters; 0: compute from rec (fast path)
}

// scanError is a file-level syntax error at a position.
type scanError struct {
	line, col int
	msg       string
}

func (e *scanError) Error() string { return fmt.Sprintf("%d:%d: %s", e.line, e.col, e.msg) }

// scanner splits raw bytes into records. It works on the bytes of the
// file's own encoding: every supported encoding keeps ASCII (and so the
// delimiter, quote, CR and LF) as single bytes, so only fields with
// non-ASCII bytes are decoded, and columns count characters of the file.
//
// A record without quote characters is split with bytes.IndexByte (the
// fast path) and becomes one string; its fields are substrings of it. A
// record with quotes goes through a byte-level state machine that
// unescapes into a scratch buffer (the slow path). Either way rec is a
// view of the bytes (no copy); only the values of string columns are
// copied (str).
type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int // unread bytes are buf[pos:end]
	eof      bool
	rerr     error
	line     int // line number of buf[pos]

	delim, quote byte
	hasQuote     bool
	comment      byte
	hasComment   bool
	cm           *charmap.Charmap // nil: UTF-8
	encName      string           // for messages
	decode       *[128]string     // UTF-8 text of the bytes 0x80..0xFF (single-byte charsets)

	// The current record. rec is a view of the scanner's buffers, valid
	// only until the next call of next: keep copies (str, strings.Clone).
	rec     string
	fields  []field
	recLine int
	// bad is a syntax problem of this record that makes it a reject
	// (e.g. text after a closing quote); badField is the field's index.
	bad      string
	badField int

	scratch   []byte
	tbuf      []byte
	arena     []byte // see str
	arenaSize int
}

// newScanner returns a scanner of r; size is the input size if known
// (else -1), so small inputs get small buffers.
func newScanner(r io.Reader, size int64, delim, quote byte, hasQuote bool, comment byte, hasComment bool, cm *charmap.Charmap) *scanner {
	bufSize := readChunk
	if size >= 0 && size < readChunk {
		bufSize = max(int(size)+1, 512)
	}
	s := &scanner{r: r, buf: make([]byte, bufSize), arenaSize: max(bufSize, 4096), line: 1,
		delim: delim, quote: quote, hasQuote: hasQuote, comment: comment, hasComment: hasComment, cm: cm}
	if cm != nil {
		var t [128]string
		for i := range t {
			if r := cm.DecodeByte(byte(0x80 + i)); r != utf8.RuneError {
				t[i] = string(r)
			} // else "": a byte the charset does not define (see appendDecoded)
		}
		s.decode = &t
	}
	return s
}

// fill reads more bytes, compacting and growing the buffer as needed. It
// returns false when nothing more can be read (EOF or error).
func (s *scanner) fill() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= MaxRecordBytes+readChunk {
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	// Fill the free space completely (like io.ReadFull), so a record that
	// spans the buffer is re-parsed only O(log size) times however small
	// the chunks of the underlying reader are.
	start := s.end
	for empty := 0; s.end < len(s.buf); {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			break
		}
		if n == 0 {
			if empty++; empty >= 100 {
				s.eof, s.rerr = true, io.ErrNoProgress
				break
			}
		}
	}
	return s.end > start
}

// skipBOM drops a UTF-8 byte order mark at the start and reports whether there was one.
func (s *scanner) skipBOM() bool {
	for s.end-s.pos < 3 && s.fill() {
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], []byte{0xEF, 0xBB, 0xBF}) {
		s.pos += 3
		return true
	}
	return false
}

// lineEnd returns the index (relative to pos) of the next LF, or -1 with
// eof true when the data ends without one. It reads as needed.
func (s *scanner) lineEnd() (int, error) {
	from := 0
	tooLong := func() error {
		return &scanError{line: s.line, col: 1, msg: fmt.Sprintf("line longer than %d bytes", MaxRecordBytes)}
	}
	for {
		if i := bytes.IndexByte(s.buf[s.pos+from:s.end], '\n'); i >= 0 {
			if contentLen(s.buf[s.pos:s.pos+from+i+1]) > MaxRecordBytes {
				return 0, tooLong()
			}
			return from + i, nil
		}
		from = s.end - s.pos
		// MaxRecordBytes+1 bytes without LF may still end in the CR of a
		// CRLF; one more is too long whatever follows.
		if from > MaxRecordBytes+1 {
			return 0, tooLong()
		}
		if !s.fill() {
			if s.rerr != nil {
				return 0, s.rerr
			}
			if !s.eof {
				return 0, tooLong()
			}
			if contentLen(s.buf[s.pos:s.end]) > MaxRecordBytes {
				return 0, tooLong()
			}
			return -1, nil
		}
	}
}

// contentLen returns the length of a record's or line's bytes b without
// the line ending that ends it (LF, CRLF, or a CR at the end of the file).
func contentLen(b []byte) int {
	n := len(b)
	if n > 0 && b[n-1] == '\n' {
		n--
	}
	if n > 0 && b[n-1] == '\r' {
		n--
	}
	return n
}

// skipLine skips one physical line (skip_rows, comments). It returns false at EOF.
func (s *scanner) skipLine() (bool, error) {
	if s.pos >= s.end && !s.fill() {
		return false, s.rerr
	}
	i, err := s.lineEnd()
	if err != nil {
		return false, err
	}
	if i < 0 {
		s.pos = s.end
		return true, nil
	}
	s.pos += i + 1
	s.line++
	return true, nil
}

// next reads the next record into rec/fields. It returns false at the end
// of the input. Empty lines are skipped, as are comment lines.
func (s *scanner) next() (bool, error) {
	for {
		if s.pos >= s.end && !s.fill() {
			return false, s.rerr
		}
		b := s.buf[s.pos]
		if s.hasComment && b == s.comment {
			if _, err := s.skipLine(); err != nil {
				return false, err
			}
			continue
		}
		i, err := s.lineEnd()
		if err != nil {
			return false, err
		}
		n := i
		if i < 0 {
			n = s.end - s.pos
		}
		line := s.buf[s.pos : s.pos+n]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 { // empty line
			s.pos += n
			if i >= 0 {
				s.pos++
				s.line++
			}
			continue
		}
		if s.hasQuote && bytes.IndexByte(line, s.quote) >= 0 {
			return true, s.quoted()
		}
		s.fast(line)
		s.recLine = s.line
		s.pos += n
		if i >= 0 {
			s.pos++
			s.line++
		}
		return true, nil
	}
}

// fast splits a line without quotes.
func (s *scanner) fast(line []byte) {
	s.bad = ""
	s.fields = s.fields[:0]
	start := 0
	for {
		j := bytes.IndexByte(line[start:], s.delim)
		if j < 0 {
			s.fields = append(s.fields, field{start: int32(start), end: int32(len(line))})
			break
		}
		s.fields = append(s.fields, field{start: int32(start), end: int32(start + j)})
		start += j + 1
	}
	if bom := s.cm == nil && bytes.HasPrefix(line, utf8BOM); bom || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		s.checkBytes(line, true, bom)
	}
	if s.cm == nil {
		s.rec = view(line)
		return
	}
	for i := range s.fields {
		s.fields[i].col = s.fields[i].start + 1
	}
	s.setRecord(line)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// checkBytes looks in raw (the record's bytes before decoding, fields
// indexing into it) for bytes that mean the file is not what the reader
// was told and flags the first as the record's problem (bad): a NUL byte
// (UTF-16 text or binary data), a UTF-8 byte order mark that starts a
// line inside the file (lineBOM: files concatenated with cat; U+FEFF
// within or quoted at the start of a value is text, and csv.write quotes
// a value that starts with it), and, when cr is true (raw holds no
// quoted text), a bare CR (CR-only line ends of classic Mac OS exports,
// or CRLF converted twice to CR CR LF). Without this a CR-only file reads
// as one long header line and yields no records at all.
func (s *scanner) checkBytes(raw []byte, cr, lineBOM bool) {
	at, msg := -1, ""
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		at, msg = i, "NUL byte (0x00) in the data (a UTF-16 file or binary data?)"
	}
	if lineBOM { // the record's line starts with a BOM: cat a.csv b.csv
		at, msg = 0, "byte order mark (U+FEFF) at the start of a line inside the file (files concatenated?)"
	}
	if cr {
		if i := bytes.IndexByte(raw, '\r'); i >= 0 && (at < 0 || i < at) {
			at, msg = i, "carriage return (CR) without line feed outside quotes: CR-only line ends are not supported (convert the file to CRLF or LF)"
		}
	}
	if at < 0 || s.bad != "" {
		return
	}
	for i, f := range s.fields {
		if at < int(f.end) || i == len(s.fields)-1 {
			s.bad, s.badField = msg, i
			return
		}
	}
}

// setRecord turns raw field bytes into rec, decoding single-byte charsets
// and remapping the field offsets.
func (s *scanner) setRecord(raw []byte) {
	if s.cm == nil || !hasHigh(raw) {
		s.rec = view(raw)
		return
	}
	s.tbuf = s.decodeFields(raw)
	s.rec = view(s.tbuf)
}

// view returns b as a string without copying; b must not change while
// the string is in use (see scanner.rec).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// arenaChunk is the size of the blocks record strings are carved from.
const arenaChunk = 64 << 10

// str returns an immutable copy of b (a part of rec) for a string value.
// Value strings are carved from shared 64 KiB blocks instead of one
// allocation each: bytes of a block are written once, before the string
// pointing at them exists, and never again, so the strings are as
// immutable as any Go string. A block stays alive while any string in it
// is referenced (about one batch of records). Only string columns are
// copied; typed columns are parsed from rec directly.
func (s *scanner) str(b string) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(s.arena)-len(s.arena) {
		if len(b) > s.arenaSize/4 {
			return strings.Clone(b) // large values get their own allocation
		}
		s.arena = make([]byte, 0, s.arenaSize)
	}
	off := len(s.arena)
	s.arena = append(s.arena, b...)
	return unsafe.String(&s.arena[off], len(b))
}

// decodeFields decodes raw into UTF-8 and rewrites the field offsets.
func (s *scanner) decodeFields(raw []byte) []byte {
	out := s.tbuf[:0]
	prev := 0
	for i := range s.fields {
		f := &s.fields[i]
		st, en := int(f.start), int(f.end)
		out = s.appendDecoded(out, raw[prev:st], -1)
		f.start = int32(len(out))
		out = s.appendDecoded(out, raw[st:en], i)
		f.end = int32(len(out))
		prev = en
	}
	return s.appendDecoded(out, raw[prev:], -1)
}

// appendDecoded appends b decoded from the single-byte charset. A byte the
// charset does not define (e.g. 0x81 in windows-1252) is kept as U+FFFD
// and makes the record a reject (field fi), never a silent replacement.
func (s *scanner) appendDecoded(out, b []byte, fi int) []byte {
	for _, c := range b {
		if c < 0x80 {
			out = append(out, c)
			continue
		}
		d := s.decode[c-0x80]
		if d == "" {
			if s.bad == "" && fi >= 0 {
				s.bad = fmt.Sprintf("byte 0x%02X is not a character in %s (wrong encoding?)", c, s.encName)
				s.badField = fi
			}
			d = string(utf8.RuneError)
		}
		out = append(out, d...)
	}
	return out
}

func hasHigh(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// quoted parses a record that contains quote characters, reading more
// input when the record continues past the buffer.
func (s *scanner) quoted() error {
	for {
		n, lines, more, err := s.parseQuoted()
		if err != nil {
			return err
		}
		if !more && contentLen(s.buf[s.pos:s.pos+n]) > MaxRecordBytes {
			return &scanError{line: s.line, col: 1, msg: fmt.Sprintf("record longer than %d bytes", MaxRecordBytes)}
		}
		if !more {
			bom := s.cm == nil && bytes.HasPrefix(s.buf[s.pos:s.pos+n], utf8BOM) // the line itself, before unquoting
			s.recLine = s.line
			s.pos += n
			s.line += lines
			if bom || bytes.IndexByte(s.scratch, 0) >= 0 {
				s.checkBytes(s.scratch, false, bom)
			}
			s.setRecord(s.scratch)
			return nil
		}
		// The data so far belongs to the record, perhaps but for the CR
		// of its CRLF.
		if s.end-s.pos > MaxRecordBytes+1 {
			return &scanError{line: s.line, col: 1, msg: fmt.Sprintf("record longer than %d bytes (a quote that is never closed?)", MaxRecordBytes)}
		}
		if !s.fill() {
			if s.rerr != nil {
				return s.rerr
			}
			if !s.eof {
				return &scanError{line: s.line, col: 1, msg: fmt.Sprintf("record longer than %d bytes (a quote that is never closed?)", MaxRecordBytes)}
			}
		}
	}
}

// parseQuoted parses one record from buf[pos:end] with the state machine.
// more is true when the data ends inside the record and more input may
// follow; the caller reads and calls again (parsing restarts at the
// record's start, which is cheap as it happens only at buffer boundaries).
func (s *scanner) parseQuoted() (n, lines int, more bool, err error) {
	data := s.buf[s.pos:s.end]
	s.scratch = s.scratch[:0]
	s.fields = s.fields[:0]
	s.bad = ""
	eof := s.eof
	i := 0
	line := 0
	// Column bookkeeping: colPos/colNum are a known (index, column) pair on
	// the current line, advanced incrementally so long lines stay linear.
	colPos, colNum := 0, 1
	colAt := func(k int) int {
		if s.cm != nil {
			colNum += k - colPos
		} else {
			colNum += utf8.RuneCount(data[colPos:k])
		}
		colPos = k
		return colNum
	}
	newline := func(k int) { // data[k] is the LF
		line++
		colPos, colNum = k+1, 1
	}
	for {
		fstart := len(s.scratch)
		fline := line
		fcol := colAt(i)
		if i < len(data) && data[i] == s.quote {
			qline, qcol := line, fcol
			i++
			for {
				j := bytes.IndexByte(data[i:], s.quote)
				if j < 0 {
					if !eof {
						return 0, 0, true, nil
					}
					return 0, 0, false, &scanError{line: s.line + qline, col: qcol, msg: "quoted field not closed before the end of the file (the quote opens here)"}
				}
				seg := data[i : i+j]
				s.scratch = append(s.scratch, seg...)
				for k := bytes.IndexByte(seg, '\n'); k >= 0; {
					newline(i + k)
					nk := bytes.IndexByte(seg[k+1:], '\n')
					if nk < 0 {
						break
					}
					k += nk + 1
				}
				i += j + 1
				if i >= len(data) {
					if !eof {
						return 0, 0, true, nil
					}
					break
				}
				if data[i] == s.quote { // doubled quote
					s.scratch = append(s.scratch, s.quote)
					i++
					continue
				}
				break
			}
			// After the closing quote: delimiter, line end or end of data.
			ok := true
			if i < len(data) {
				switch c := data[i]; {
				case c == s.delim || c == '\n':
				case c == '\r' && i+1 < len(data):
					ok = data[i+1] == '\n'
				case c == '\r' && !eof:
					return 0, 0, true, nil
				case c == '\r':
				default:
					ok = false
				}
			}
			if !ok {
				if s.bad == "" {
					r, _ := utf8.DecodeRune(data[i:])
					if s.cm != nil {
						r = s.cm.DecodeByte(data[i])
					}
					s.bad = fmt.Sprintf("unexpected %q after the closing quote at column %d", r, colAt(i))
					s.badField = len(s.fields)
				}
				// Continue leniently as unquoted text up to the delimiter.
				k, more := s.unquoted(data, i, eof)
				if more {
					return 0, 0, true, nil
				}
				i = k
			}
		} else {
			k, more := s.unquoted(data, i, eof)
			if more {
				return 0, 0, true, nil
			}
			i = k
		}
		s.fields = append(s.fields, field{start: int32(fstart), end: int32(len(s.scratch)), line: int32(fline), col: int32(fcol)})
		if i >= len(data) { // end of input
			return i, line, false, nil
		}
		switch data[i] {
		case s.delim:
			i++
		case '\r': // CRLF or CR at EOF
			i++
			if i < len(data) && data[i] == '\n' {
				newline(i)
				i++
			}
			return i, line, false, nil
		case '\n':
			newline(i)
			i++
			return i, line, false, nil
		}
	}
}

// unquoted appends an unquoted field (quotes inside are literal) starting
// at data[i] and returns the index of its terminator (delimiter, LF, the
// CR of a CRLF, or len(data) at EOF). more reports that the data ended
// before a terminator while more input may follow.
func (s *scanner) unquoted(data []byte, i int, eof bool) (int, bool) {
	k := i
	for k < len(data) {
		c := data[k]
		if c == s.delim || c == '\n' {
			break
		}
		if c == '\r' {
			if k+1 < len(data) && data[k+1] == '\n' {
				break
			}
			if k+1 == len(data) {
				if !eof {
					return 0, true
				}
				break
			}
			if s.bad == "" {
				s.bad, s.badField = "carriage return (CR) without line feed outside quotes: CR-only line ends are not supported (convert the file to CRLF or LF)", len(s.fields)
			}
		}
		k++
	}
	if k == len(data) && !eof {
		return 0, true
	}
	s.scratch = append(s.scratch, data[i:k]...)
	return k, false
}

// fieldCol returns the 1-based character column of field i.
func (s *scanner) fieldCol(i int) int {
	f := s.fields[i]
	if f.col > 0 {
		return int(f.col)
	}
	return utf8.RuneCountInString(s.rec[:f.start]) + 1
}
