package sepa

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func readCamt(t testing.TB, name string, r io.Reader, cfg sdk.Config) ([]record.Record, []record.Reject, error) {
	t.Helper()
	dec, err := CamtComponent().NewDecoder(context.Background(), sdk.ApplyDefaults(CamtSpec(), cfg), sdk.Env{Step: "sepa.camt", BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	src, err := dec.Open(context.Background(), sdk.Input{Name: name, R: r, Size: -1})
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	var recs []record.Record
	var rejs []record.Reject
	for {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return recs, rejs, nil
		}
		if err != nil {
			return recs, rejs, err
		}
		recs = append(recs, b.Records...)
		rejs = append(rejs, b.Rejects...)
	}
}

func readCamtFile(t testing.TB, path string, cfg sdk.Config) ([]record.Record, []record.Reject, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readCamt(t, path, f, cfg)
}
