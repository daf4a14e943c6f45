package sdk

import (
	"bytes"
	"errors"
	"testing"
)

func TestTextWriterSingleByte(t *testing.T) {
	var out bytes.Buffer
	w, err := NewTextWriter(&out, "windows-1252")
	if err != nil {
		t.Fatal(err)
	}
	in := []byte("Grüße € „x“\r\n")
	// Write byte by byte: runes split across writes are completed.
	for i := range in {
		if _, err := w.Write(in[i : i+1]); err != nil {
			t.Fatalf("byte %d: %v", i, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "Gr\xfc\xdfe \x80 \x84x\x93\r\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	if n, err := w.Write([]byte("ok Ł")); !errors.Is(err, ErrUnencodable) || n != 0 || out.Len() != 0 {
		t.Fatalf("unencodable: n=%d err=%v out=%q", n, err, out.String())
	}
	if _, err := w.Write([]byte("a\xffb")); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if _, err := w.Write([]byte("\xc3")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); !errors.Is(err, ErrUnencodable) {
		t.Fatalf("incomplete rune at close: %v", err)
	}
}

func TestTextWriterUTF8BOM(t *testing.T) {
	var out bytes.Buffer
	w, err := NewTextWriter(&out, "utf-8-bom")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("ä"))
	w.Close()
	if out.String() != "\ufeffä" {
		t.Fatalf("%q", out.String())
	}
}
