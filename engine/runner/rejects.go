package runner

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/record"
)

// rejectFile writes rejects as CSV to a temporary output, created on the
// first reject; encrypted with age to recipients when there are any
// (rejects.encrypt, or inherited from the first file sink).
type rejectFile struct {
	final      string
	run        string
	red        redactor
	encrypted  bool
	recipients []age.Recipient
	out        *outFile
	w          *csv.Writer
	buf        bytes.Buffer
}

var rejectHeader = []string{"origin", "step", "field", "reason", "record"}

func (f *rejectFile) write(r record.Reject) error {
	if f.out == nil {
		o, err := createOutput("rejects", f.final, f.run)
		if err != nil {
			return fmt.Errorf("reject file: %w", err)
		}
		f.out = o
		if f.encrypted {
			if err := o.encryptTo(f.recipients); err != nil {
				return fmt.Errorf("reject file: %w", err)
			}
		}
		f.w = csv.NewWriter(o.bw)
		if err := f.w.Write(rejectHeader); err != nil {
			return fmt.Errorf("reject file: %w", err)
		}
	}
	rec := [5]string{
		f.red.S(r.Record.Origin.String()),
		r.Step,
		r.Field,
		f.red.S(r.Reason),
		f.red.S(recordJSON(&f.buf, r.Record)),
	}
	if err := f.w.Write(rec[:]); err != nil {
		return fmt.Errorf("reject file: %w", err)
	}
	f.out.records++
	return nil
}

// finish flushes the CSV writer and the file; no-op without rejects.
func (f *rejectFile) finish() error {
	if f.out == nil {
		return nil
	}
	f.w.Flush()
	if err := f.w.Error(); err != nil {
		return fmt.Errorf("reject file: %w", err)
	}
	return f.out.finish()
}

// recordJSON renders the record's fields as a JSON object in schema order,
// values as canonical text (record.Value.String), null as null.
func recordJSON(buf *bytes.Buffer, r record.Record) string {
	buf.Reset()
	if r.Schema == nil {
		return "{}"
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, v := range r.Values {
		if i >= r.Schema.Len() {
			break
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		enc.Encode(r.Schema.Field(i).Name)
		trimNL(buf)
		buf.WriteByte(':')
		if v.IsNull() {
			buf.WriteString("null")
			continue
		}
		enc.Encode(v.String())
		trimNL(buf)
	}
	buf.WriteByte('}')
	return buf.String()
}

func trimNL(b *bytes.Buffer) {
	if n := b.Len(); n > 0 && b.Bytes()[n-1] == '\n' {
		b.Truncate(n - 1)
	}
}
