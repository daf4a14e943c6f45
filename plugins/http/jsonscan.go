package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxRejectJSONBytes is how much of a rejected item's JSON text its reject
// keeps in the field _json (4 KiB); a longer item is cut at a character
// boundary and marked with the number of bytes left out.
const MaxRejectJSONBytes = 4 << 10

// dupKey is a key that occurs twice in one JSON object.
type dupKey struct {
	path      []string // the object's path from the document root
	key       string
	at, first int // byte offsets of the second and the first occurrence
}

// jsonScan walks a document that decodeJSON has accepted (valid UTF-8 and
// JSON, nesting bounded by encoding/json) for what encoding/json does not
// report: keys that occur twice in one object (Decode keeps the last value
// silently) and the byte span of each element of the list at items.
type jsonScan struct {
	b     []byte
	items []string // items_path split at dots; nil: the document itself
	spans [][2]int // per item: its bytes in b
	dups  []dupKey
	path  []string
}

// scanJSON returns the duplicate keys of body and the spans of the items
// at itemsPath (see jsonScan).
func scanJSON(body []byte, itemsPath string) ([][2]int, []dupKey) {
	s := &jsonScan{b: body}
	if itemsPath != "" {
		s.items = strings.Split(itemsPath, ".")
	}
	s.value(s.ws(0))
	return s.spans, s.dups
}

func (s *jsonScan) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *jsonScan) atItems() bool {
	if len(s.path) != len(s.items) {
		return false
	}
	for i, p := range s.path {
		if p != s.items[i] {
			return false
		}
	}
	return true
}

// value scans the value starting at b[i] and returns the offset after it.
func (s *jsonScan) value(i int) int {
	if i >= len(s.b) {
		return i
	}
	switch s.b[i] {
	case '{':
		return s.object(i)
	case '[':
		items := s.atItems()
		i = s.ws(i + 1)
		if i < len(s.b) && s.b[i] == ']' {
			return i + 1
		}
		for n := 0; i < len(s.b); n++ {
			s.path = append(s.path, strconv.Itoa(n))
			start := i
			i = s.value(i)
			s.path = s.path[:len(s.path)-1]
			if items {
				s.spans = append(s.spans, [2]int{start, i})
			}
			i = s.ws(i)
			if i >= len(s.b) || s.b[i] != ',' {
				return i + 1 // ']'
			}
			i = s.ws(i + 1)
		}
		return i
	case '"':
		_, end := s.str(i)
		return end
	}
	for i < len(s.b) { // number, true, false, null
		switch s.b[i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}

func (s *jsonScan) object(i int) int {
	var seen map[string]int // key -> offset; only built for objects with 9+ keys
	var small [8]struct {
		k  string
		at int
	}
	nk := 0
	i = s.ws(i + 1)
	if i < len(s.b) && s.b[i] == '}' {
		return i + 1
	}
	for i < len(s.b) {
		at := i
		key, end := s.str(i)
		first := -1
		if seen != nil {
			if f, ok := seen[key]; ok {
				first = f
			} else {
				seen[key] = at
			}
		} else {
			for _, e := range small[:nk] {
				if e.k == key {
					first = e.at
					break
				}
			}
			if first < 0 {
				if nk < len(small) {
					small[nk].k, small[nk].at = key, at
					nk++
				} else {
					seen = make(map[string]int, 2*len(small))
					for _, e := range small {
						seen[e.k] = e.at
					}
					seen[key] = at
				}
			}
		}
		if first >= 0 {
			s.dups = append(s.dups, dupKey{path: append([]string(nil), s.path...), key: key, at: at, first: first})
		}
		i = s.ws(end)
		i = s.ws(i + 1) // ':'
		s.path = append(s.path, key)
		i = s.value(i)
		s.path = s.path[:len(s.path)-1]
		i = s.ws(i)
		if i >= len(s.b) || s.b[i] != ',' {
			return i + 1 // '}'
		}
		i = s.ws(i + 1)
	}
	return i
}

// str returns the text of the string starting at b[i] (escapes resolved,
// as encoding/json compares keys) and the offset after it.
func (s *jsonScan) str(i int) (string, int) {
	esc := false
	for j := i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			raw := s.b[i : j+1]
			if !esc {
				return string(raw[1 : len(raw)-1]), j + 1
			}
			var t string
			_ = json.Unmarshal(raw, &t) // valid: decodeJSON accepted the document
			return t, j + 1
		}
	}
	return "", len(s.b)
}

// itemDup returns the first duplicate key inside item n, if any.
func itemDup(dups []dupKey, items []string, n int) (dupKey, bool) {
	idx := strconv.Itoa(n)
	for _, d := range dups {
		if len(d.path) > len(items) && d.path[len(items)] == idx && hasPrefix(d.path, items) {
			return d, true
		}
	}
	return dupKey{}, false
}

// outsideItems returns the first duplicate key that is not inside an item
// (the envelope: cursors, has_more, totals).
func outsideItems(dups []dupKey, items []string) (dupKey, bool) {
	for _, d := range dups {
		if len(d.path) <= len(items) || !hasPrefix(d.path, items) {
			return d, true
		}
	}
	return dupKey{}, false
}

func hasPrefix(p, prefix []string) bool {
	if len(p) < len(prefix) {
		return false
	}
	for i, e := range prefix {
		if p[i] != e {
			return false
		}
	}
	return true
}

// keyPath is the dotted path of d's key inside item: "customer.email".
func (d dupKey) keyPath(items []string) string {
	return strings.Join(append(append([]string(nil), d.path[len(items)+1:]...), d.key), ".")
}

// dupReason describes d with positions in body.
func dupReason(body []byte, d dupKey) string {
	return fmt.Sprintf("duplicate key %q at %s (first at %s); JSON readers differ on which value counts", d.key, jsonPos(body, d.at), jsonPos(body, d.first))
}

// jsonPos returns "line L, column C" of the byte offset off in body
// (columns count characters).
func jsonPos(body []byte, off int) string {
	off = min(max(off, 0), len(body))
	pre := body[:off]
	line := bytes.Count(pre, []byte{'\n'}) + 1
	col := utf8.RuneCount(pre[bytes.LastIndexByte(pre, '\n')+1:]) + 1
	return fmt.Sprintf("line %d, column %d", line, col)
}

// rawItem returns the JSON text of an item for its reject, at most
// MaxRejectJSONBytes long.
func rawItem(b []byte) string {
	if len(b) <= MaxRejectJSONBytes {
		return string(b)
	}
	cut := MaxRejectJSONBytes
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d more bytes)", b[:cut], len(b)-cut)
}
