package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/spec"
)

// TestRunEncryptedOutput: a file sink with encrypt: writes an age file
// that decrypts with the matching identity (to exactly the plain output)
// and not with another; the report's sha256 and size are the encrypted
// file's, and no plaintext temporary file is left.
func TestRunEncryptedOutput(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"in/a.txt": "Müller;DE02120300000000202051\nSchmidt;DE44500105175407324931\n"})
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	second, _ := age.GenerateX25519Identity()
	p := linesPipeline(dir)
	p.Sinks[0].Path = "out/result_{date}.txt.age"
	p.Sinks[0].Encrypt = &spec.Encryption{Recipients: []age.Recipient{id.Recipient(), second.Recipient()}}
	rep, err := Run(context.Background(), p, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "out/result_20261123.txt.age")
	enc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("Müller")) || !bytes.HasPrefix(enc, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("output is not an age file:\n%q", enc[:min(len(enc), 80)])
	}
	sum := sha256.Sum256(enc)
	if o := rep.Outputs[0]; o.SHA256 != hex.EncodeToString(sum[:]) || o.Bytes != int64(len(enc)) || o.Records != 2 {
		t.Errorf("report output %+v, want sha256 %x of %d encrypted bytes", o, sum, len(enc))
	}
	for _, who := range []*age.X25519Identity{id, second} {
		r, err := age.Decrypt(bytes.NewReader(enc), who)
		if err != nil {
			t.Fatalf("decrypt: %v", err)
		}
		plain, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := "# header\nMüller;DE02120300000000202051\nSchmidt;DE44500105175407324931\n# 2 records\n"; string(plain) != want {
			t.Errorf("plaintext %q, want %q", plain, want)
		}
	}
	var noMatch *age.NoIdentityMatchError
	if _, err := age.Decrypt(bytes.NewReader(enc), other); !errors.As(err, &noMatch) {
		t.Errorf("decrypt with another identity: %v, want NoIdentityMatchError", err)
	}
	if files := listFiles(t, dir); strings.Join(files, ",") != "in/a.txt,out/result_20261123.txt.age" {
		t.Errorf("files: %v", files)
	}
}

// TestRunProgress: the callback sees growing record and byte counts, the
// total input size, and a final Done call with everything read.
func TestRunProgress(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := 0; i < 2500; i++ {
		in.WriteString("line\n")
	}
	writeFiles(t, dir, map[string]string{"in/a.txt": in.String(), "in/b.txt": "x\ny\n"})
	p := linesPipeline(dir)
	p.BatchSize = 1000
	var mu sync.Mutex
	var got []Progress
	_, err := Run(context.Background(), p, Options{Now: clock, Progress: func(pr Progress) {
		mu.Lock()
		got = append(got, pr)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	size := int64(in.Len() + 4)
	if len(got) < 3 {
		t.Fatalf("%d progress calls: %+v", len(got), got)
	}
	last := got[len(got)-1]
	if !last.Done || last.Records != 2502 || last.Bytes != size || last.Size != size || last.File != "in/b.txt" {
		t.Errorf("last progress %+v, want done, 2502 records, %d bytes", last, size)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Records < got[i-1].Records || got[i].Bytes < got[i-1].Bytes || got[i].Size != size {
			t.Errorf("progress %d not monotonic: %+v after %+v", i, got[i], got[i-1])
		}
	}
}
