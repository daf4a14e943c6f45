package spec

import (
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// interpolate resolves ${env:NAME} and ${file:PATH} in every string
// scalar below n (values, not keys). "$${" is a literal "${". The result is
// a string; it is not parsed as YAML again.
func (l *loader) interpolate(n *yaml.Node, isKey bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			l.interpolate(c, false)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.interpolate(n.Content[i+1], false)
		}
	case yaml.ScalarNode:
		if isKey || !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = l.expand(n, n.Value)
		n.Tag = "!!str"
	}
}

func (l *loader) expand(n *yaml.Node, s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && s[i-1] == '$' { // "$${" escapes
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		off := utf8.RuneCountInString(n.Value) - utf8.RuneCountInString(s) + utf8.RuneCountInString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			l.diags.Errorf(l.valuePos(n, off), "interpolation", "unterminated ${ reference")
			b.WriteString(s)
			return b.String()
		}
		ref := s[i+2 : i+j]
		b.WriteString(s[:i])
		s = s[i+j+1:]
		kind, arg, _ := strings.Cut(ref, ":")
		switch kind {
		case "env":
			v, ok := l.opts.Env(arg)
			if arg == "" || !ok {
				l.diags.Errorf(l.valuePos(n, off), "interpolation", "environment variable %q is not set", arg)
				continue
			}
			l.secret(v)
			b.WriteString(v)
		case "file":
			p := arg
			if !filepath.IsAbs(p) {
				p = filepath.Join(l.p.Dir, p)
			}
			data, err := l.opts.ReadFile(p)
			if arg == "" || err != nil {
				l.diags.Errorf(l.valuePos(n, off), "interpolation", "cannot read secret file %q", arg)
				continue
			}
			v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
			l.secret(v)
			b.WriteString(v)
		default:
			l.diags.Errorf(l.valuePos(n, off), "interpolation", "unknown reference ${%s}: use ${env:NAME} or ${file:PATH}", ref)
		}
	}
}

func (l *loader) secret(v string) {
	if v == "" {
		return
	}
	for _, s := range l.p.Secrets {
		if s == v {
			return
		}
	}
	l.p.Secrets = append(l.p.Secrets, v)
}

// Redact replaces every secret value (from ${env:...}, ${file:...} and
// config fields marked Secret) in s with "***". Longer secrets are replaced
// first so a secret containing another is hidden completely.
func (p *Pipeline) Redact(s string) string {
	if p == nil || len(p.Secrets) == 0 {
		return s
	}
	secrets := append([]string(nil), p.Secrets...)
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}
