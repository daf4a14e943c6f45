package spec

import (
	"bufio"
	"bytes"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
)

// Encryption is the `encrypt:` engine key of a file sink: the runner
// encrypts the output to every recipient with age (filippo.io/age) while
// writing the temporary file, so the file never exists in the clear on
// disk; the sha256 in the run report and state is of the encrypted bytes.
//
//	sinks:
//	  - type: csv.write
//	    path: out/sollstellung-{date}.csv.age
//	    encrypt:
//	      recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
//	      recipients_file: keys/rechenzentrum.txt
//
// recipients lists age X25519 recipients (age1...); recipients_file names
// a file (relative to the pipeline file) with one recipient per line, `#`
// comments and blank lines ignored (the format of age -R). At least one
// recipient is required. Recipients are parsed at load time: a bad one is
// an error at its YAML position or file:line.
type Encryption struct {
	Recipients []age.Recipient
	// Keys are the recipients as written (public keys), in order.
	Keys []string
	Pos  diag.Pos
}

// encrypt checks a sink's `encrypt:` mapping.
func (l *loader) encrypt(s *Step, v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "encrypt must be a mapping (recipients, recipients_file), got %s", kindName(v))
		return
	}
	e := &Encryption{Pos: l.posOf(v)}
	bad := false
	add := func(text string, pos diag.Pos) {
		r, err := age.ParseX25519Recipient(text)
		if err != nil {
			msg := err.Error()
			if strings.HasPrefix(text, "AGE-SECRET-KEY-") {
				msg = "this is an identity (secret key), not a recipient: use the public key (age1...) printed by `kontor keygen`"
				text = "AGE-SECRET-KEY-…"
			}
			l.diags.Errorf(pos, "recipient", "encrypt: invalid age recipient %q: %s", text, msg)
			bad = true
			return
		}
		e.Recipients = append(e.Recipients, r)
		e.Keys = append(e.Keys, text)
	}
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "recipients":
			for _, n := range l.stringList(kv.val, "encrypt.recipients") {
				if t, ok := l.stringValue(n, "encrypt.recipients"); ok {
					add(strings.TrimSpace(t), l.posOf(n))
				}
			}
		case "recipients_file":
			name, ok := l.stringValue(kv.val, "encrypt.recipients_file")
			if !ok {
				continue
			}
			path := name
			if !filepath.IsAbs(path) {
				path = filepath.Join(l.p.Dir, path)
			}
			data, err := l.opts.ReadFile(path)
			if err != nil {
				l.diags.Errorf(l.posOf(kv.val), "io", "encrypt.recipients_file: %v", err)
				bad = true
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(data))
			for line := 1; sc.Scan(); line++ {
				t := strings.TrimSpace(sc.Text())
				if t == "" || strings.HasPrefix(t, "#") {
					continue
				}
				add(t, diag.Pos{File: path, Line: line, Col: 1 + strings.Index(sc.Text(), t)})
			}
		default:
			l.unknownKey(kv.key, "in encrypt", []string{"recipients", "recipients_file"})
		}
	}
	if len(e.Recipients) == 0 && !bad {
		l.diags.Errorf(e.Pos, "value", "encrypt needs at least one recipient (recipients or recipients_file)")
	}
	s.Encrypt = e
}

// encryptSchema is the JSON Schema of a file sink's `encrypt:`.
var encryptSchema = map[string]any{
	"type": "object", "additionalProperties": false,
	"description": "Encrypt the output with age to these recipients.",
	"properties": map[string]any{
		"recipients":      map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": "^age1[0-9a-z]+$"}, "description": "age X25519 recipients (age1...)."},
		"recipients_file": map[string]any{"type": "string", "description": "File with one recipient per line, relative to the pipeline file."},
	},
}
