package spec

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	goccy "github.com/goccy/go-yaml"
	goccyparser "github.com/goccy/go-yaml/parser"

	"github.com/kontor-etl/kontor/engine/diag"
)

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// yamlSyntaxErrors turns a yaml.v3 syntax error into positioned
// diagnostics. yaml.v3 gives a line but no column, and for parser errors
// ("did not find expected key", "... ',' or ']'") the line is that of the
// enclosing context, often above the real problem. So:
//   - scanner errors keep yaml.v3's line and message; the column is
//     estimated from the line's text (yamlErrorCol);
//   - parser errors are located by a second parser, github.com/goccy/go-yaml,
//     which reports line and column of the offending token; its message is
//     added to yaml.v3's. When it finds nothing, yaml.v3's line stays.
func yamlSyntaxErrors(file string, src []byte, err error) diag.List {
	var out diag.List
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	for _, part := range strings.Split(msg, "\n") {
		part = strings.TrimSpace(part)
		if part == "" || part == "unmarshal errors:" {
			continue
		}
		pos := diag.Pos{File: file, Line: 1}
		if m := yamlLineRE.FindStringSubmatch(part); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			part = m[2]
		}
		if strings.HasPrefix(part, "did not find expected") {
			if line, col, gm, ok := goccyPosition(src); ok {
				pos.Line, pos.Col = line, col
				if gm != "" && gm != part {
					part += " (" + gm + ")"
				}
				out.Add(diag.Errorf(pos, "yaml", "invalid YAML: %s", part))
				continue
			}
		}
		pos.Col = yamlErrorCol(src, pos.Line, part)
		out.Add(diag.Errorf(pos, "yaml", "invalid YAML: %s", part))
	}
	return out
}

// goccyPosition parses src with goccy/go-yaml and returns the position and
// message of its syntax error, if it reports one.
func goccyPosition(src []byte) (line, col int, msg string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_, err := goccyparser.ParseBytes(src, 0)
	var se *goccy.SyntaxError
	if err == nil || !errors.As(err, &se) || se.Token == nil || se.Token.Position == nil {
		return 0, 0, "", false
	}
	p := se.Token.Position
	if p.Line < 1 || p.Column < 1 {
		return 0, 0, "", false
	}
	return p.Line, p.Column, se.Message, true
}

// yamlErrorCol estimates the column of a YAML syntax error. yaml.v3 reports
// only the line ("yaml: line 4: mapping values are not allowed in this
// context"), so the column is recovered from that line's text by what the
// message names: the offending tab, the ':' of a nested mapping value, the
// '-' of a misplaced sequence entry, the character that cannot start a
// token. Anything else points at the first non-blank character of the line
// (for parser errors yaml.v3 names the line where the enclosing mapping or
// scalar starts, so that is where the caret belongs). The result is 1-based
// and counts runes like diag.Pos; 1 for a line that does not exist.
func yamlErrorCol(src []byte, line int, msg string) int {
	text, ok := lineText(src, line)
	if !ok {
		return 1
	}
	first := strings.IndexFunc(text, func(r rune) bool { return r != ' ' && r != '\t' })
	if first < 0 {
		return 1
	}
	at := -1
	switch {
	case strings.Contains(msg, "tab"):
		at = strings.IndexByte(text, '\t')
	case strings.Contains(msg, "mapping values are not allowed"):
		at = mappingColon(text, first)
	case strings.Contains(msg, "block sequence entries are not allowed"):
		at = strings.Index(text[first:], "- ")
		if at >= 0 {
			at += first
		} else if strings.HasSuffix(text, "-") {
			at = len(text) - 1
		}
	case strings.Contains(msg, "cannot start any token"):
		if at = strings.IndexByte(text[:first], '\t'); at < 0 { // tab indentation
			if at = strings.IndexAny(text[first:], "@`\t"); at >= 0 {
				at += first
			}
		}
	}
	if at < 0 {
		at = first
	}
	return utf8.RuneCountInString(text[:at]) + 1
}

// lineText returns line n (1-based) of src without its line ending.
func lineText(src []byte, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	s := string(src)
	for i := 1; i < n; i++ {
		j := strings.IndexByte(s, '\n')
		if j < 0 {
			return "", false
		}
		s = s[j+1:]
	}
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	return strings.TrimSuffix(s, "\r"), true
}

// mappingColon finds the ':' that makes a second mapping value on the line:
// the first ": " (or a trailing ':') after the first one outside quotes,
// else the first one. -1 when there is none.
func mappingColon(text string, from int) int {
	var colons []int
	var quote byte
	for i := from; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '#' && i > 0 && (text[i-1] == ' ' || text[i-1] == '\t'):
			i = len(text) // comment
		case c == ':' && (i+1 == len(text) || text[i+1] == ' ' || text[i+1] == '\t'):
			colons = append(colons, i)
		}
	}
	switch len(colons) {
	case 0:
		return -1
	case 1:
		return colons[0]
	default:
		return colons[1]
	}
}
