package expression

import (
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// arenaChunk is the size of the blocks that strings made by the fast path
// (upper, lower, concatenation) are carved from.
const arenaChunk = 16 << 10

// strArena hands out immutable strings carved from shared blocks instead
// of one allocation each: the bytes of a block are written once, before
// the string that points at them exists, and never again. A block stays
// alive while any of its strings is referenced. Not safe for concurrent
// use (like the Program that owns it).
type strArena struct {
	block   []byte
	scratch []byte
}

// str returns a copy of b.
func (a *strArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaChunk/8 {
		return string(b)
	}
	if len(b) > cap(a.block)-len(a.block) {
		a.block = make([]byte, 0, arenaChunk)
	}
	off := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[off], len(b))
}

// concat returns x + y.
func (a *strArena) concat(x, y string) string {
	if x == "" {
		return y
	}
	if y == "" {
		return x
	}
	if len(x)+len(y) > arenaChunk/8 {
		return x + y
	}
	a.scratch = append(append(a.scratch[:0], x...), y...)
	return a.str(a.scratch)
}

// upper is strings.ToUpper: the same text, allocated in the arena.
func (a *strArena) upper(s string) string { return a.mapCase(s, true) }

// lower is strings.ToLower: the same text, allocated in the arena.
func (a *strArena) lower(s string) string { return a.mapCase(s, false) }

// mapCase maps every character with unicode.ToUpper or ToLower. This is
// what strings.ToUpper/ToLower do (ASCII directly, anything else through
// strings.Map, which writes U+FFFD for a byte that is not UTF-8 — as
// utf8.AppendRune of the decoded utf8.RuneError does); unchanged text is
// returned as is. TestArenaCase compares with the strings package.
func (a *strArena) mapCase(s string, upper bool) string {
	lo, hi := byte('a'), byte('z') // ASCII letters that change
	if !upper {
		lo, hi = 'A', 'Z'
	}
	first := -1 // first byte that changes or is not ASCII
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || lo <= c && c <= hi {
			first = i
			break
		}
	}
	if first < 0 {
		return s
	}
	if len(s) > arenaChunk/8 {
		if upper {
			return strings.ToUpper(s)
		}
		return strings.ToLower(s)
	}
	b := append(a.scratch[:0], s[:first]...)
	changed := false
	for i := first; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if lo <= c && c <= hi {
				c ^= 0x20 // 'a'-'A'
				changed = true
			}
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		m := unicode.ToLower(r)
		if upper {
			m = unicode.ToUpper(r)
		}
		if m != r || r == utf8.RuneError && n == 1 {
			changed = true
		}
		b = utf8.AppendRune(b, m)
		i += n
	}
	a.scratch = b
	if !changed {
		return s
	}
	return a.str(b)
}
