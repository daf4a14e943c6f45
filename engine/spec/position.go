package spec

import (
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
)

// posOf returns the position of a node.
func (l *loader) posOf(n *yaml.Node) diag.Pos {
	if n == nil {
		return diag.Pos{File: l.file}
	}
	return diag.Pos{File: l.file, Line: n.Line, Col: n.Column}
}

// textPos returns the position of the first character of a scalar's text
// (after the quote; for block scalars the first content line).
func (l *loader) textPos(n *yaml.Node) diag.Pos {
	return l.valuePos(n, 0)
}

// exprPos maps a 1-based line:col inside the value of scalar n to a file
// position.
func (l *loader) exprPos(n *yaml.Node, line, col int) diag.Pos {
	// Convert line:col to a rune offset in the value.
	off := 0
	v := n.Value
	for ln := 1; ln < line; ln++ {
		i := strings.IndexByte(v, '\n')
		if i < 0 {
			break
		}
		off += utf8.RuneCountInString(v[:i+1])
		v = v[i+1:]
	}
	return l.valuePos(n, off+max(col, 1)-1)
}

// valuePos maps a rune offset within the value of scalar n to a file
// position, taking the scalar style into account:
//   - plain: node position + offset;
//   - single/double quoted: node position + 1 + raw offset (escapes and
//     doubled quotes are decoded while counting);
//   - literal (|) and folded (>): node line + content line, column from the
//     block's indentation.
func (l *loader) valuePos(n *yaml.Node, off int) diag.Pos {
	p := l.posOf(n)
	lines := l.lines
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return l.blockPos(n, off)
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if n.Line-1 >= len(lines) {
			return p
		}
		raw := []rune(lines[n.Line-1])
		i := n.Column // rune index after the opening quote (Column is 1-based)
		line := n.Line
		for k := 0; k < off && i < len(raw); k++ {
			if n.Style&yaml.DoubleQuotedStyle != 0 && raw[i] == '\\' && i+1 < len(raw) {
				switch raw[i+1] {
				case 'x':
					i += 4
				case 'u':
					i += 6
				case 'U':
					i += 10
				default:
					i += 2
				}
				continue
			}
			if n.Style&yaml.SingleQuotedStyle != 0 && raw[i] == '\'' && i+1 < len(raw) && raw[i+1] == '\'' {
				i += 2
				continue
			}
			i++
		}
		return diag.Pos{File: l.file, Line: line, Col: i + 1}
	}
	// Plain scalar (multi-line plain scalars fold; approximate by offset).
	p.Col += off
	return p
}

// blockPos maps an offset inside a literal or folded block scalar.
func (l *loader) blockPos(n *yaml.Node, off int) diag.Pos {
	lines := l.lines
	first := n.Line // 0-based index of the line after the indicator
	indent := -1
	for i := first; i < len(lines); i++ {
		t := strings.TrimRight(lines[i], "\r")
		if strings.TrimSpace(t) == "" {
			continue
		}
		indent = len(t) - len(strings.TrimLeft(t, " "))
		break
	}
	if indent < 0 {
		return l.posOf(n)
	}
	rest := off
	for i := first; i < len(lines); i++ {
		t := strings.TrimRight(lines[i], "\r")
		var content []rune
		if len(t) >= indent {
			content = []rune(t[indent:])
		} else if strings.TrimSpace(t) != "" {
			break // dedented: end of block
		}
		if rest <= len(content) {
			return diag.Pos{File: l.file, Line: i + 1, Col: indent + rest + 1}
		}
		rest -= len(content) + 1 // the line break (or the folding space)
	}
	return l.posOf(n)
}
