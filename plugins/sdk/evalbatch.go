package sdk

import (
	"fmt"

	"github.com/kontor-etl/kontor/engine/record"
)

// BatchEvaluator is an Evaluator that can also evaluate its expression over
// many records in one call. The evaluators an external plugin gets from
// Env.Expressions implement it with one round trip to the host per call
// (instead of one per record); use it through EvalBatch.
type BatchEvaluator interface {
	Evaluator
	// EvalBatch evaluates the expression for every record of rs: vals[i]
	// receives the value for rs[i] and errs[i] its error (nil when the
	// evaluation succeeded; vals[i] is then null). vals and errs must have
	// len(rs) elements. The returned error is a failure of the whole call
	// (e.g. the connection to the host), not of a record.
	EvalBatch(rs []record.Record, vals []record.Value, errs []error) error
}

// EvalBatch evaluates ev over rs into vals and errs (both len(rs) long; see
// BatchEvaluator): in one call when ev is a BatchEvaluator, else record by
// record. Components that evaluate an expression for every record of a
// batch should call it once per batch rather than ev.Eval per record: out
// of process this is one round trip to the host per batch.
func EvalBatch(ev Evaluator, rs []record.Record, vals []record.Value, errs []error) error {
	if len(vals) != len(rs) || len(errs) != len(rs) {
		return fmt.Errorf("EvalBatch: %d records but %d values and %d errors", len(rs), len(vals), len(errs))
	}
	if b, ok := ev.(BatchEvaluator); ok {
		return b.EvalBatch(rs, vals, errs)
	}
	for i, r := range rs {
		vals[i], errs[i] = ev.Eval(r)
		if errs[i] != nil {
			vals[i] = record.Null
		}
	}
	return nil
}
