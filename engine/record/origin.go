package record

import (
	"strconv"
	"strings"
)

// Origin says where a record came from, so any later error can point at
// it: "in/abos.csv:1234:17" for text files, "stmt.xml:88:5 (Document/BkToCstmrStmt/Stmt[1]/Ntry[3])"
// for XML, or a free-form source such as "GET /tickets page 3 #17".
// Line and Col are 1-based; 0 means unknown. The zero Origin is "unknown".
type Origin struct {
	File  string // input name as given to the source (path or URL)
	Line  int    // 1-based line of the record's first byte, 0 if unknown
	Col   int    // 1-based column, 0 if unknown
	Path  string // structural path inside the input (XML element path, JSON pointer)
	Index int64  // 1-based ordinal of the record within its input, 0 if unknown
}

// String renders file:line:col, then the path in parentheses, or
// "record N" when there are no positions.
func (o Origin) String() string {
	var b strings.Builder
	b.WriteString(o.File)
	if o.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(o.Line))
		if o.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(o.Col))
		}
	}
	if o.Path != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('(')
		b.WriteString(o.Path)
		b.WriteByte(')')
	}
	if b.Len() == 0 || (o.Line == 0 && o.Path == "" && o.Index > 0) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("record ")
		b.WriteString(strconv.FormatInt(o.Index, 10))
	}
	return b.String()
}

// WithCol returns a copy of o pointing at column col (e.g. a CSV field).
func (o Origin) WithCol(col int) Origin { o.Col = col; return o }
