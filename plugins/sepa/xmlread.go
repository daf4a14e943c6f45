package sepa

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// xnode is a small element tree for one bounded part of a camt document
// (a statement header, an entry without its transactions, one TxDtls).
// Names are local names; namespaces are ignored on purpose (files in the
// wild have wrong or missing namespaces).
type xnode struct {
	name string
	text string
	ccy  string // the Ccy attribute of amount elements
	kids []*xnode
}

// child returns the first descendant along the path of local names, or nil.
func (n *xnode) child(path ...string) *xnode {
	for _, p := range path {
		if n == nil {
			return nil
		}
		var next *xnode
		for _, k := range n.kids {
			if k.name == p {
				next = k
				break
			}
		}
		n = next
	}
	return n
}

// str returns the trimmed text at path, "" if absent.
func (n *xnode) str(path ...string) string {
	c := n.child(path...)
	if c == nil {
		return ""
	}
	return c.text
}

// all returns all children named name of the node at path.
func (n *xnode) all(name string, path ...string) []*xnode {
	p := n.child(path...)
	if p == nil {
		return nil
	}
	var out []*xnode
	for _, k := range p.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// first returns the text of the first non-empty path among alternatives
// (each alternative is a slash-separated path), which is how the .02 and .08
// structures are read with one code path.
func (n *xnode) first(alts ...string) string {
	for _, a := range alts {
		if s := n.str(strings.Split(a, "/")...); s != "" {
			return s
		}
	}
	return ""
}

// xmlReader wraps the token stream with positions and capture helpers.
type xmlReader struct {
	d    *xml.Decoder
	name string // file name for messages
	// raw switches to RawToken after the root element: names keep their
	// prefix untranslated (only local names are used) and the namespace
	// bookkeeping, a quarter of the decoding time, is skipped.
	raw bool
}

// pos returns the current position (the end of the last token, i.e. the
// start of the next one).
func (x *xmlReader) pos() (int, int) { return x.d.InputPos() }

// errAt formats an error with the current position.
func (x *xmlReader) errAt(format string, args ...any) error {
	l, c := x.pos()
	return fmt.Errorf("%s:%d:%d: %s", x.name, l, c, fmt.Sprintf(format, args...))
}

// token returns the next token; io.EOF inside an element is a syntax error.
func (x *xmlReader) token() (xml.Token, error) {
	l, c := x.pos()
	var t xml.Token
	var err error
	if x.raw {
		t, err = x.d.RawToken()
	} else {
		t, err = x.d.Token()
	}
	if err != nil {
		if err == io.EOF {
			return nil, err
		}
		if se, ok := err.(*xml.SyntaxError); ok {
			l2, c2 := x.pos()
			if l2 >= l {
				l, c = l2, c2
			}
			return nil, fmt.Errorf("%s:%d:%d: malformed XML: %s", x.name, l, c, se.Msg)
		}
		return nil, fmt.Errorf("%s:%d:%d: %w", x.name, l, c, err)
	}
	return t, nil
}

// maxCaptureNodes bounds the elements of one captured part (a balance, an
// entry's child, one TxDtls); real ones have a few dozen.
const maxCaptureNodes = 10000

// capture reads the element that start opened up to its end into a tree.
// Depth and size are limited so hostile input cannot exhaust the stack or
// the memory.
func (x *xmlReader) capture(start xml.StartElement) (*xnode, error) {
	root := &xnode{name: start.Name.Local, ccy: attr(start, "Ccy")}
	stack := []*xnode{root}
	var text []byte
	nodes := 0
	for {
		t, err := x.token()
		if err != nil {
			if err == io.EOF {
				return nil, x.errAt("unexpected end of file inside <%s>", root.name)
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if len(stack) > 64 {
				return nil, x.errAt("elements nested too deeply inside <%s>", root.name)
			}
			if nodes++; nodes > maxCaptureNodes {
				return nil, x.errAt("more than %d elements inside one <%s>", maxCaptureNodes, root.name)
			}
			top := stack[len(stack)-1]
			if len(top.kids) == 0 {
				text = text[:0]
			}
			n := &xnode{name: t.Name.Local, ccy: attr(t, "Ccy")}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
			text = text[:0]
		case xml.CharData:
			text = append(text, t...)
		case xml.EndElement:
			top := stack[len(stack)-1]
			if len(top.kids) == 0 {
				top.text = string(bytes.TrimSpace(text))
			}
			text = text[:0]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		}
	}
}

func attr(s xml.StartElement, local string) string {
	for _, a := range s.Attr {
		if a.Name.Local == local {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

var xmlDeclEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

// newXMLDecoder returns a decoder for r that copes with what banks deliver:
// a UTF-8 byte order mark, a declared single-byte encoding (ISO-8859-1/15,
// Windows-1252), and Latin-1 bytes without any declaration (FinTS camt.052):
// bytes that are not valid UTF-8 are read as Windows-1252.
func newXMLDecoder(r io.Reader) (*xml.Decoder, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	head, _ := br.Peek(512)
	if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
		head = head[3:]
	}
	var src io.Reader = &latin1Fallback{r: br}
	if m := xmlDeclEncoding.FindSubmatch(head); m != nil {
		switch strings.ToLower(string(m[1])) {
		case "utf-8", "utf8", "us-ascii", "ascii":
		case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "iso_8859-1":
			src = charmap.ISO8859_1.NewDecoder().Reader(br)
		case "iso-8859-15", "latin9", "iso8859-15":
			src = charmap.ISO8859_15.NewDecoder().Reader(br)
		case "windows-1252", "cp1252":
			src = charmap.Windows1252.NewDecoder().Reader(br)
		default:
			return nil, fmt.Errorf("unsupported XML encoding %q", m[1])
		}
	}
	d := xml.NewDecoder(&markupGuard{r: src})
	// Not strict: a raw '&' in a name (seen in bank files) is kept as text.
	// Missing end tags still fail at the end of the file.
	d.Strict = false
	// The bytes are UTF-8 by now, whatever the declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return d, nil
}

// latin1Fallback passes valid UTF-8 through and turns each byte that is not
// part of a valid UTF-8 sequence into the Windows-1252 character it encodes.
type latin1Fallback struct {
	r   io.Reader
	in  []byte // raw bytes not yet converted
	out []byte // converted bytes not yet returned
	eof bool
	buf [32 * 1024]byte
}

func (l *latin1Fallback) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.eof && len(l.in) == 0 {
			return 0, io.EOF
		}
		if !l.eof {
			n, err := l.r.Read(l.buf[:])
			l.in = append(l.in, l.buf[:n]...)
			if err == io.EOF {
				l.eof = true
			} else if err != nil {
				return 0, err
			}
		}
		l.convert()
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}

func (l *latin1Fallback) convert() {
	in := l.in
	i := 0
	out := l.out[:0]
	for i < len(in) {
		c := in[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		if !utf8.FullRune(in[i:]) && !l.eof {
			break // wait for the rest of the sequence
		}
		r, size := utf8.DecodeRune(in[i:])
		if r == utf8.RuneError && size <= 1 {
			out = utf8.AppendRune(out, charmap.Windows1252.DecodeByte(c))
			i++
			continue
		}
		out = append(out, in[i:i+size]...)
		i += size
	}
	l.out = out
	l.in = append(l.in[:0], in[i:]...)
}

// maxTextRun is the most bytes a camt document may have between two '<':
// the longest text elements are a few hundred characters, so a longer run
// is not a camt file (or a hostile one), and encoding/xml would hold all
// of it in memory as one token.
const maxTextRun = 1 << 20

// markupGuard fails the read when more than maxTextRun bytes pass without
// a '<', which bounds the size of any single token.
type markupGuard struct {
	r   io.Reader
	run int // bytes since the last '<'
}

func (g *markupGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for b := p[:n]; ; {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			g.run += len(b)
			break
		}
		if g.run+i > maxTextRun {
			g.run += i
			break
		}
		g.run = 0
		b = b[i+1:]
	}
	if g.run > maxTextRun {
		return 0, fmt.Errorf("more than %d bytes of text without markup: not a camt file", maxTextRun)
	}
	return n, err
}
