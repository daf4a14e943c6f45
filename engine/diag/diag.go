// Package diag holds source positions and diagnostics. Every problem Kontor
// finds in a pipeline or its data is reported as
//
//	file:line:col: severity: message [code]
//
// (Go/gcc style, so editors can jump to it), or as JSON for schedulers.
// Lists are sorted by position and report every problem, not only the first.
package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Pos is a position in a file. Line and Col are 1-based; Col counts
// characters (runes), as YAML and editors do. The zero Pos is "unknown".
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// IsValid reports whether the position has at least a line.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String renders file:line:col (omitting unknown parts).
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Severity of a diagnostic.
type Severity int

// Severities, most severe first.
const (
	Error Severity = iota
	Warning
	Info
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "info"
}

// MarshalJSON encodes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Diagnostic is one problem at one position.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code,omitempty"`    // stable machine-readable id, e.g. "unknown-key"
	Message  string   `json:"message"`           // lower-case, no trailing period
	Hint     string   `json:"hint,omitempty"`    // e.g. "did you mean \"delimiter\"?"
	Path     string   `json:"path,omitempty"`    // config path, e.g. "sinks[0].columns[2].format"
	Snippet  string   `json:"snippet,omitempty"` // source line with a caret, when known
}

// String renders "file:line:col: severity: message (hint) [code]".
func (d Diagnostic) String() string {
	var b strings.Builder
	if p := d.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(d.Severity.String())
	b.WriteString(": ")
	b.WriteString(d.Message)
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	if d.Code != "" {
		b.WriteString(" [")
		b.WriteString(d.Code)
		b.WriteString("]")
	}
	return b.String()
}

// Error makes a Diagnostic usable as an error.
func (d Diagnostic) Error() string { return d.String() }

// Errorf builds an error diagnostic.
func Errorf(p Pos, code, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: p, Severity: Error, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Warnf builds a warning diagnostic.
func Warnf(p Pos, code, format string, args ...any) Diagnostic {
	return Diagnostic{Pos: p, Severity: Warning, Code: code, Message: fmt.Sprintf(format, args...)}
}

// List collects diagnostics.
type List []Diagnostic

// Add appends d.
func (l *List) Add(d Diagnostic) { *l = append(*l, d) }

// Errorf appends an error diagnostic.
func (l *List) Errorf(p Pos, code, format string, args ...any) {
	l.Add(Errorf(p, code, format, args...))
}

// Warnf appends a warning diagnostic.
func (l *List) Warnf(p Pos, code, format string, args ...any) {
	l.Add(Warnf(p, code, format, args...))
}

// Append appends all of m.
func (l *List) Append(m List) { *l = append(*l, m...) }

// HasErrors reports whether any diagnostic is an error.
func (l List) HasErrors() bool {
	for _, d := range l {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Errors returns only the error diagnostics.
func (l List) Errors() List {
	var out List
	for _, d := range l {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders by file, line, column, then severity; stable for equal positions.
func (l List) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return l[i].Severity < l[j].Severity
	})
}

// Err returns the list as an error if it has errors, else nil.
func (l List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return ListError(l)
}

// ListError is a List used as an error; Error() joins the lines.
type ListError List

func (e ListError) Error() string {
	parts := make([]string, len(e))
	for i, d := range e {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}

// WriteText writes one line per diagnostic, with its snippet if any.
func (l List) WriteText(w io.Writer) error {
	for _, d := range l {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return err
		}
		if d.Snippet != "" {
			if _, err := fmt.Fprintln(w, d.Snippet); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteJSON writes {"diagnostics":[...],"errors":N,"warnings":N}.
func (l List) WriteJSON(w io.Writer) error {
	var errs, warns int
	for _, d := range l {
		switch d.Severity {
		case Error:
			errs++
		case Warning:
			warns++
		}
	}
	ds := l
	if ds == nil {
		ds = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Diagnostics List `json:"diagnostics"`
		Errors      int  `json:"errors"`
		Warnings    int  `json:"warnings"`
	}{ds, errs, warns})
}

// Snippet returns the line of src at p with a caret under the column,
// or "" when the position is outside src.
func Snippet(src []byte, p Pos) string {
	if p.Line <= 0 {
		return ""
	}
	lines := strings.Split(string(src), "\n")
	if p.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(lines[p.Line-1], "\r")
	if p.Col <= 0 {
		return "\t" + line
	}
	var pad strings.Builder
	i := 0
	for _, r := range line {
		i++
		if i >= p.Col {
			break
		}
		if r == '\t' {
			pad.WriteByte('\t')
		} else {
			pad.WriteByte(' ')
		}
	}
	return "\t" + line + "\n\t" + pad.String() + "^"
}

// Suggest returns the candidate closest to s by edit distance when it is
// close enough to be a plausible typo (distance <= max(1, len(s)/3)), else "".
func Suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := Levenshtein(strings.ToLower(s), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(s) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	if bestD <= limit || (best != "" && (strings.HasPrefix(best, s) || strings.HasPrefix(s, best)) && len(s) >= 3) {
		return best
	}
	return ""
}

// Levenshtein returns the edit distance between a and b (runes).
func Levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
