package state

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/kontor-etl/kontor/engine/record"
)

// ErrFinished is returned by the methods of a Run after Commit or Abort.
var ErrFinished = errors.New("run is already finished")

// ErrCommitPending is returned (wrapped) by Abort when the run was already
// prepared: its outputs may be partly published, so it is not rolled back
// but left COMMITTING for the next Begin to finish (see the package doc).
// The runner must keep the temporary outputs of a prepared run.
var ErrCommitPending = errors.New("run stays COMMITTING; the next run of the pipeline finishes it")

// CommitHook is implemented by transforms that write state only for the
// records the sinks really accepted (dedup's ledger entries). The runner
// calls BeforePrepare on every transform implementing it after all sinks
// were closed successfully and before Run.Prepare. rejectedAfter reports
// whether a record (identified by its Origin File and Index) was rejected
// by a later step or a sink, so its ledger entry must not be written.
type CommitHook interface {
	BeforePrepare(ctx context.Context, run Run, rejectedAfter func(record.Origin) bool) error
}

// LedgerScanner is an optional interface of a Run: it streams all
// committed entries of a ledger scope, so a transform can load the scope
// once per run into a hash set instead of looking up every batch.
// fn's strings are only valid during the call.
type LedgerScanner interface {
	LedgerScan(ctx context.Context, scope string, fn func(key, hash string) error) error
	// LedgerCount returns the number of committed entries of the scope.
	LedgerCount(ctx context.Context, scope string) (int64, error)
}

// Changes are the state changes a run buffers until Commit. Store
// implementations share it; it is serialised as JSON into the run's
// pending column at Prepare so a crashed COMMITTING run can be rolled
// forward. Applying Changes twice has the same effect as once.
type Changes struct {
	// Final is the status the run ends with once committed (OK or WARNING).
	Final Status `json:"final,omitempty"`
	// Counters maps a sequence counter to its new last value (absolute,
	// so re-applying is idempotent).
	Counters map[string]int64 `json:"counters,omitempty"`
	// Checkpoints are the values written with Put.
	Checkpoints map[string]string `json:"checkpoints,omitempty"`
	// Ledger maps scope -> key -> hash. Stores that keep pending ledger
	// entries elsewhere (duckstate: a table) leave it empty.
	Ledger map[string]map[string]string `json:"ledger,omitempty"`
}

// Reserve computes the reservation of n numbers of counter given the last
// committed value, records it in c and returns the first number. Numbers
// start at 1. n must be >= 0; 0 returns the next number without reserving.
func (c *Changes) Reserve(counter string, committed int64, n int64) (int64, error) {
	if n < 0 {
		return 0, fmt.Errorf("reserving %d numbers of %q: n must not be negative", n, counter)
	}
	if counter == "" {
		return 0, errors.New("reserving numbers: counter name is empty")
	}
	last, ok := c.Counters[counter]
	if !ok {
		last = committed
	}
	if c.Counters == nil {
		c.Counters = map[string]int64{}
	}
	c.Counters[counter] = last + n
	return last + 1, nil
}

// Put buffers a checkpoint value.
func (c *Changes) Put(key, value string) {
	if c.Checkpoints == nil {
		c.Checkpoints = map[string]string{}
	}
	c.Checkpoints[key] = value
}

// AddLedger buffers ledger entries (the last hash of a key wins).
func (c *Changes) AddLedger(scope string, entries []LedgerEntry) {
	if c.Ledger == nil {
		c.Ledger = map[string]map[string]string{}
	}
	m := c.Ledger[scope]
	if m == nil {
		m = make(map[string]string, len(entries))
		c.Ledger[scope] = m
	}
	for _, e := range entries {
		m[e.Key] = e.Hash
	}
}

// SortedKeys returns the keys of m in order (for deterministic writes).
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// RejectRecords converts a run's rejects into stored form: the record's
// values as canonical text, the origin rendered with file:line:col.
func RejectRecords(runID string, rejects []record.Reject) []RejectRecord {
	out := make([]RejectRecord, len(rejects))
	for i, r := range rejects {
		rec := map[string]string{}
		if r.Record.Schema != nil {
			for j, v := range r.Record.Values {
				if j < r.Record.Schema.Len() {
					rec[r.Record.Schema.Field(j).Name] = v.String()
				}
			}
		}
		out[i] = RejectRecord{RunID: runID, Origin: r.Record.Origin.String(), Step: r.Step, Field: r.Field, Reason: r.Reason, Record: rec}
	}
	return out
}

// FinalStatus returns the status a successful run ends with: res.Status
// if it is OK or WARNING, otherwise WARNING when there are rejects and OK
// when there are none.
func FinalStatus(res Result) (Status, error) {
	switch res.Status {
	case StatusOK, StatusWarning:
		return res.Status, nil
	case "":
		if len(res.Rejects) > 0 {
			return StatusWarning, nil
		}
		for _, c := range res.Counts {
			if c.Rejected > 0 {
				return StatusWarning, nil
			}
		}
		return StatusOK, nil
	}
	return "", fmt.Errorf("commit with status %s: a committed run is OK or WARNING", res.Status)
}

// RejectedCount is the number of rejects of a result: the stored rejects
// or, when the runner capped them, the sum of the per-step counts.
func RejectedCount(res Result) int64 {
	n := int64(len(res.Rejects))
	var sum int64
	for _, c := range res.Counts {
		sum += c.Rejected
	}
	return max(n, sum)
}
