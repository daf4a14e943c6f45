package transform

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/engine/record"
)

// TestMapReusesConsumedValues checks the values reuse of map: after
// OutputsConsumed the next batch overwrites every value of the reused
// array (poisoned here), and without it earlier outputs stay intact.
func TestMapReusesConsumedValues(t *testing.T) {
	m := build(t, Map(), "set: {name: upper(name), total: amount * 2}\ndrop: [note]\n", inSchema)
	render := func(b *record.Batch) string {
		var s strings.Builder
		for _, r := range b.Records {
			s.WriteString(r.String() + "\n")
		}
		for _, r := range b.Rejects {
			s.WriteString(r.Error() + "\n")
		}
		return s.String()
	}
	sizes := []int{8, 20, 20, 5, 17, 30}
	inputs := make([]*record.Batch, len(sizes))
	for k := range inputs {
		b := &record.Batch{}
		for i := 0; i < sizes[k]; i++ {
			amount := fmt.Sprintf("%d.5", i+k)
			if i == 5+k {
				amount = "" // null: rejected
			}
			b.Records = append(b.Records, rec(i+2, fmt.Sprintf("n%d-%d", k, i), amount, "x"))
		}
		inputs[k] = b
	}
	// Reference: a fresh map per batch.
	var want []string
	for _, in := range inputs {
		out := &record.Batch{}
		fresh := build(t, Map(), "set: {name: upper(name), total: amount * 2}\ndrop: [note]\n", inSchema)
		if err := fresh.Process(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		want = append(want, render(out))
	}
	var kept []*record.Batch
	for k, in := range inputs {
		out := &record.Batch{}
		if err := m.Process(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		if got := render(out); got != want[k] {
			t.Errorf("batch %d:\n%s\nwant:\n%s", k, got, want[k])
		}
		if k != 2 && k != 4 { // consumed: poison, the next batch reuses the array
			for _, r := range out.Records {
				for i := range r.Values {
					r.Values[i] = record.String("POISON")
				}
			}
			m.(*mapT).OutputsConsumed()
		} else {
			kept = append(kept, out)
		}
	}
	for i, b := range kept {
		if got := render(b); got != want[2+2*i] {
			t.Errorf("kept batch %d changed:\n%s", 2+2*i, got)
		}
	}
}
