package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/state"
)

func decrypt(t *testing.T, enc []byte, id age.Identity) (string, error) {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(enc), id)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// TestRunEncryptedRejects: the rejects file of a pipeline whose file sink
// encrypts inherits the encryption (default path <sink without .age>
// .rejects.csv.age) or uses rejects.encrypt; it decrypts with the matching
// identity only, never holds plaintext on disk, and the report and the
// (local) state still record the rejects.
func TestRunEncryptedRejects(t *testing.T) {
	sinkID, _ := age.GenerateX25519Identity()
	opsID, _ := age.GenerateX25519Identity()
	for _, tc := range []struct {
		name      string
		rejects   spec.RejectSink
		file      string
		id, other *age.X25519Identity
	}{
		{"inherited", spec.RejectSink{}, "out/result_20261123.txt.rejects.csv.age", sinkID, opsID},
		{"own", spec.RejectSink{Path: "ops/rejects-{date}.csv.age", Encrypt: &spec.Encryption{Recipients: []age.Recipient{opsID.Recipient()}}},
			"ops/rejects-20261123.csv.age", opsID, sinkID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"in/a.txt": "Müller\n!Schmidt DE44500105175407324931\nMeier\n"})
			p := linesPipeline(dir)
			p.Sinks[0].Path = "out/result_{date}.txt.age"
			p.Sinks[0].Encrypt = &spec.Encryption{Recipients: []age.Recipient{sinkID.Recipient()}}
			p.Rejects = tc.rejects
			store := state.NewMemory()
			rep, err := Run(context.Background(), p, Options{Now: clock, Store: store})
			if err != nil || rep.Status != "WARNING" {
				t.Fatalf("%v %s", err, rep.Status)
			}
			path := filepath.Join(dir, tc.file)
			if rep.RejectsFile != path {
				t.Errorf("report rejects_file %q, want %q", rep.RejectsFile, path)
			}
			if len(rep.Outputs) != 2 || rep.Outputs[1].Path != path || rep.Outputs[1].Records != 1 {
				t.Errorf("report outputs %+v", rep.Outputs)
			}
			enc, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v; files %v", err, listFiles(t, dir))
			}
			if bytes.Contains(enc, []byte("Schmidt")) || !bytes.HasPrefix(enc, []byte("age-encryption.org/v1\n")) {
				t.Fatalf("rejects file is not an age file: %q", enc[:min(len(enc), 60)])
			}
			plain, err := decrypt(t, enc, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if want := "origin,step,field,reason,record\nin/a.txt:2:1,source,line,line starts with !,\"{\"\"line\"\":\"\"!Schmidt DE44500105175407324931\"\"}\"\n"; plain != want {
				t.Errorf("rejects\n%q\nwant\n%q", plain, want)
			}
			var noMatch *age.NoIdentityMatchError
			if _, err := decrypt(t, enc, tc.other); !errors.As(err, &noMatch) {
				t.Errorf("decrypt with another identity: %v", err)
			}
			// State is local and keeps the rejects readable (kontor rejects).
			rs, err := store.Rejects(context.Background(), rep.RunID)
			if err != nil || len(rs) != 1 || rs[0].Record["line"] != "!Schmidt DE44500105175407324931" {
				t.Errorf("state rejects %+v %v", rs, err)
			}
			for _, f := range listFiles(t, dir) {
				if strings.Contains(f, ".tmp") {
					t.Errorf("temporary file left: %s", f)
				}
			}
		})
	}
}

// TestRunPlaintextRejectsPath: an explicit rejects.path without encrypt
// stays plaintext (the loader warns about it).
func TestRunPlaintextRejectsPath(t *testing.T) {
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	writeFiles(t, dir, map[string]string{"in/a.txt": "a\n!b\n"})
	p := linesPipeline(dir)
	p.Sinks[0].Path = "out/result.txt.age"
	p.Sinks[0].Encrypt = &spec.Encryption{Recipients: []age.Recipient{id.Recipient()}}
	p.Rejects = spec.RejectSink{Path: "ops/rejects.csv"}
	if _, err := Run(context.Background(), p, Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "ops/rejects.csv")); !strings.HasPrefix(got, "origin,step") {
		t.Errorf("rejects %q", got)
	}
}
