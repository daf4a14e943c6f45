package duckstate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

// ledgerFlush is how many LedgerAdd entries are buffered in memory before
// they are appended to pending_ledger.
const ledgerFlush = 50000

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func (s *store) Begin(ctx context.Context, info state.RunInfo) (state.Run, error) {
	s.mu.Lock()
	locked, closed := s.lock != nil, s.closed
	s.mu.Unlock()
	if closed {
		return nil, errors.New("beginning run: store is closed")
	}
	if !locked {
		if _, err := s.Lock(ctx, 0); err != nil {
			return nil, fmt.Errorf("beginning run: %w", err)
		}
	}
	start := info.Start
	if start.IsZero() {
		start = time.Now()
	}
	r := &run{s: s, start: micro(start), dry: info.DryRun}
	err := s.withDB(ctx, func(db *sql.DB) error {
		msgs, err := s.recover(ctx, db)
		if err != nil {
			return err
		}
		r.recovery = strings.Join(msgs, "; ")
		return inTx(ctx, db, func(conn *sql.Conn) error {
			var seq int64
			if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM runs`).Scan(&seq); err != nil {
				return err
			}
			r.id = strconv.FormatInt(seq, 10)
			_, err := conn.ExecContext(ctx, `INSERT INTO runs (seq, id, pipeline, sha256, status, start_at, dry_run) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				seq, r.id, info.Pipeline, info.SHA256, string(state.StatusRunning), r.start, info.DryRun)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("beginning run: %w", err)
	}
	return r, nil
}

// recover finishes runs left RUNNING or COMMITTING by a dead process.
func (s *store) recover(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+runCols(CurrentVersion)+`, coalesce(pending, '') FROM runs WHERE status IN ('RUNNING', 'COMMITTING') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("finding interrupted runs: %w", err)
	}
	type item struct {
		rec     state.RunRecord
		pending string
	}
	var items []item
	for rows.Next() {
		var it item
		var status, counts, outputs string
		var end sql.NullTime
		if err := rows.Scan(&it.rec.ID, &it.rec.Pipeline, &it.rec.SHA256, &status, &it.rec.Start, &end, &it.rec.DryRun, &it.rec.Error, &it.rec.Message, &counts, &outputs, &it.rec.Rejected, &it.pending); err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding interrupted runs: %w", err)
		}
		it.rec.Status = state.Status(status)
		if err := json.Unmarshal([]byte(outputs), &it.rec.Outputs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading outputs of run %s: %w", it.rec.ID, err)
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var msgs []string
	for _, it := range items {
		var c state.Changes
		if it.pending != "" {
			if err := json.Unmarshal([]byte(it.pending), &c); err != nil {
				return nil, fmt.Errorf("reading pending changes of run %s: %w", it.rec.ID, err)
			}
		}
		apply, status, errText, msg, err := state.Recover(it.rec, c.Final)
		if err != nil {
			return nil, err
		}
		err = inTx(ctx, db, func(conn *sql.Conn) error {
			if apply && !it.rec.DryRun {
				if err := applyChanges(ctx, conn, it.rec.ID, &c); err != nil {
					return err
				}
			}
			if _, err := conn.ExecContext(ctx, `DELETE FROM pending_ledger WHERE run_id = ?`, it.rec.ID); err != nil {
				return err
			}
			_, err := conn.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, end_at = coalesce(end_at, ?), pending = NULL WHERE id = ?`,
				string(status), errText, micro(time.Now()), it.rec.ID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("recovering run %s: %w", it.rec.ID, err)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// applyChanges writes a run's buffered changes; called inside a transaction.
func applyChanges(ctx context.Context, conn *sql.Conn, runID string, c *state.Changes) error {
	for _, k := range state.SortedKeys(c.Counters) {
		if _, err := conn.ExecContext(ctx, `INSERT INTO sequences VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = greatest(sequences.value, excluded.value)`, k, c.Counters[k]); err != nil {
			return fmt.Errorf("applying counter %s: %w", k, err)
		}
	}
	for _, k := range state.SortedKeys(c.Checkpoints) {
		if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO checkpoints VALUES (?, ?)`, k, c.Checkpoints[k]); err != nil {
			return fmt.Errorf("applying checkpoint %s: %w", k, err)
		}
	}
	return applyLedger(ctx, conn, runID)
}

// applyLedger moves a run's pending ledger rows into the ledger: the last
// entry per key wins. One join with the ledger finds the rowid of each
// key already there; those rows are updated in place (hash, run, time,
// by rowid) and the other keys appended. Compared with INSERT OR REPLACE
// (which deletes and re-inserts every row in the primary-key index) or an
// UPDATE join plus an anti-join INSERT (two scans of the ledger), this
// scans the ledger's keys once. The caller holds the run lock, so no
// other writer can add a key in between.
func applyLedger(ctx context.Context, conn *sql.Conn, runID string) error {
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM pending_ledger WHERE run_id = ?`, runID).Scan(&n); err != nil {
		return fmt.Errorf("applying ledger entries: %w", err)
	}
	if n == 0 {
		return nil
	}
	now := micro(time.Now())
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE apply_ledger AS
		SELECT a.scope, a.key, a.hash, l.rowid AS lrow FROM (
			SELECT scope, key, arg_max(hash, rowid) AS hash FROM pending_ledger WHERE run_id = ? GROUP BY scope, key
		) a LEFT JOIN ledger l ON l.scope = a.scope AND l.key = a.key`, runID); err != nil {
		return fmt.Errorf("applying ledger entries: %w", err)
	}
	var known int64
	if err := conn.QueryRowContext(ctx, `SELECT count(lrow) FROM apply_ledger`).Scan(&known); err != nil {
		return fmt.Errorf("applying ledger entries: %w", err)
	}
	if known > 0 {
		if _, err := conn.ExecContext(ctx, `UPDATE ledger SET hash = a.hash, run_id = ?, exported_at = ? FROM apply_ledger a
			WHERE a.lrow IS NOT NULL AND ledger.rowid = a.lrow`, runID, now); err != nil {
			return fmt.Errorf("applying ledger entries: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO ledger SELECT scope, key, hash, ?, ? FROM apply_ledger WHERE lrow IS NULL`, runID, now); err != nil {
		return fmt.Errorf("applying ledger entries: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE apply_ledger`); err != nil {
		return fmt.Errorf("applying ledger entries: %w", err)
	}
	return nil
}

type run struct {
	s        *store
	id       string
	start    time.Time
	dry      bool
	recovery string
	changes  state.Changes
	ledger   []pendingEntry
	prepared bool
	finished bool
}

type pendingEntry struct{ scope, key, hash string }

func (r *run) ID() string       { return r.id }
func (r *run) Recovery() string { return r.recovery }

func (r *run) check() error {
	if r.finished {
		return state.ErrFinished
	}
	return nil
}

func (r *run) Watermark(ctx context.Context) (time.Time, bool, error) {
	var t sql.NullTime
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT max(start_at) FROM runs WHERE status IN ('OK', 'WARNING') AND NOT dry_run AND id <> ?`, r.id).Scan(&t)
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading watermark: %w", err)
	}
	if !t.Valid {
		return time.Time{}, false, nil
	}
	return t.Time.UTC(), true, nil
}

func (r *run) Reserve(ctx context.Context, counter string, n int64) (int64, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	var committed int64
	if _, ok := r.changes.Counters[counter]; !ok {
		err := r.s.withDB(ctx, func(db *sql.DB) error {
			err := db.QueryRowContext(ctx, `SELECT value FROM sequences WHERE name = ?`, counter).Scan(&committed)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("reserving %s: %w", counter, err)
		}
	}
	return r.changes.Reserve(counter, committed, n)
}

func (r *run) Get(ctx context.Context, key string) (string, bool, error) {
	if v, ok := r.changes.Checkpoints[key]; ok {
		return v, true, nil
	}
	var v string
	found := false
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		err := db.QueryRowContext(ctx, `SELECT value FROM checkpoints WHERE key = ?`, key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("reading checkpoint %s: %w", key, err)
	}
	return v, found, nil
}

func (r *run) Put(ctx context.Context, key, value string) error {
	if err := r.check(); err != nil {
		return err
	}
	r.changes.Put(key, value)
	return nil
}

// LedgerLookup appends the keys to a temporary table (one column; the
// rowid is the index) and joins it with the ledger: one query per call,
// whatever the number of keys.
func (r *run) LedgerLookup(ctx context.Context, scope string, keys []string) ([]string, error) {
	out := make([]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE lookup_keys (key VARCHAR)`); err != nil {
			return err
		}
		row := make([]driver.Value, 1)
		if err := appendRows(conn, "lookup_keys", len(keys), func(i int) []driver.Value { row[0] = keys[i]; return row }); err != nil {
			return err
		}
		rows, err := conn.QueryContext(ctx, `SELECT k.rowid, l.hash FROM lookup_keys k JOIN ledger l ON l.key = k.key WHERE l.scope = ?`, scope)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i int64
			var h string
			if err := rows.Scan(&i, &h); err != nil {
				return err
			}
			if i < 0 || i >= int64(len(out)) {
				return fmt.Errorf("ledger lookup: row %d of %d", i, len(out))
			}
			out[i] = h
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = conn.ExecContext(ctx, `DROP TABLE lookup_keys`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("looking up ledger %s: %w", scope, err)
	}
	return out, nil
}

// LedgerScan implements state.LedgerScanner.
func (r *run) LedgerScan(ctx context.Context, scope string, fn func(key, hash string) error) error {
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT key, hash FROM ledger WHERE scope = ?`, scope)
		if err != nil {
			return err
		}
		defer rows.Close()
		var k, h sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&k, &h); err != nil {
				return err
			}
			if err := fn(string(k), string(h)); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("reading ledger %s: %w", scope, err)
	}
	return nil
}

// LedgerCount implements state.LedgerScanner.
func (r *run) LedgerCount(ctx context.Context, scope string) (int64, error) {
	var n int64
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*) FROM ledger WHERE scope = ?`, scope).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("counting ledger %s: %w", scope, err)
	}
	return n, nil
}

func (r *run) LedgerAdd(ctx context.Context, scope string, entries []state.LedgerEntry) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.prepared {
		return fmt.Errorf("adding ledger entries: run %s is already prepared", r.id)
	}
	if scope == "" {
		return errors.New("adding ledger entries: scope is empty")
	}
	if r.dry {
		return nil // dry runs never advance state
	}
	for _, e := range entries {
		r.ledger = append(r.ledger, pendingEntry{scope, e.Key, e.Hash})
	}
	if len(r.ledger) >= ledgerFlush {
		return r.flushLedger(ctx)
	}
	return nil
}

// flushLedger appends the buffered entries to pending_ledger with the
// Appender (run id and scope as plain column values), one transaction per
// flush. The rows are inert until Commit (a crash drops them in the next
// Begin). Appending straight into pending_ledger costs about half of what
// the earlier temporary table plus INSERT … SELECT per scope did (504,500
// entries: 0.5 s instead of 0.9 s), which wrote every entry twice.
func (r *run) flushLedger(ctx context.Context) error {
	if len(r.ledger) == 0 {
		return nil
	}
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		row := make([]driver.Value, 4)
		row[0] = r.id
		return appendRows(conn, "pending_ledger", len(r.ledger), func(i int) []driver.Value {
			e := &r.ledger[i]
			row[1], row[2], row[3] = e.scope, e.key, e.hash
			return row
		})
	})
	if err != nil {
		return fmt.Errorf("buffering ledger entries: %w", err)
	}
	clear(r.ledger)
	r.ledger = r.ledger[:0]
	return nil
}

func (r *run) storeRejects(conn *sql.Conn, res state.Result) error {
	recs := state.RejectRecords(r.id, res.Rejects)
	if len(recs) == 0 {
		return nil
	}
	return appendRows(conn, "rejects", len(recs), func(i int) []driver.Value {
		b, _ := json.Marshal(recs[i].Record)
		return []driver.Value{r.id, int64(i + 1), recs[i].Origin, recs[i].Step, recs[i].Field, recs[i].Reason, string(b)}
	})
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return "[]"
	}
	return string(b)
}

func (r *run) Prepare(ctx context.Context, res state.Result) error {
	if err := r.check(); err != nil {
		return err
	}
	if r.prepared {
		return fmt.Errorf("preparing run %s: already prepared", r.id)
	}
	final, err := state.FinalStatus(res)
	if err != nil {
		return fmt.Errorf("preparing run %s: %w", r.id, err)
	}
	if err := r.flushLedger(ctx); err != nil {
		return fmt.Errorf("preparing run %s: %w", r.id, err)
	}
	r.changes.Final = final
	pending := r.changes
	if r.dry {
		pending = state.Changes{Final: final}
	}
	err = r.s.withDB(ctx, func(db *sql.DB) error {
		return inTx(ctx, db, func(conn *sql.Conn) error {
			if _, err := conn.ExecContext(ctx, `UPDATE runs SET status = 'COMMITTING', counts = ?, outputs = ?, rejected = ?, message = ?, pending = ? WHERE id = ?`,
				jsonText(res.Counts), jsonText(res.Outputs), state.RejectedCount(res), res.Message, jsonText(pending), r.id); err != nil {
				return err
			}
			return r.storeRejects(conn, res)
		})
	})
	if err != nil {
		return fmt.Errorf("preparing run %s: %w", r.id, err)
	}
	r.prepared = true
	return nil
}

func (r *run) Commit(ctx context.Context, res state.Result) error {
	if err := r.check(); err != nil {
		return err
	}
	if !r.prepared {
		if err := r.Prepare(ctx, res); err != nil {
			return err
		}
	}
	end := res.End
	if end.IsZero() {
		end = time.Now()
	}
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		return inTx(ctx, db, func(conn *sql.Conn) error {
			if !r.dry {
				if err := applyChanges(ctx, conn, r.id, &r.changes); err != nil {
					return err
				}
			}
			if _, err := conn.ExecContext(ctx, `DELETE FROM pending_ledger WHERE run_id = ?`, r.id); err != nil {
				return err
			}
			q := `UPDATE runs SET status = ?, end_at = ?, pending = NULL`
			args := []any{string(r.changes.Final), micro(end)}
			if len(res.Counts) > 0 {
				q += `, counts = ?`
				args = append(args, jsonText(res.Counts))
			}
			if res.Message != "" {
				q += `, message = ?`
				args = append(args, res.Message)
			}
			_, err := conn.ExecContext(ctx, q+` WHERE id = ?`, append(args, r.id)...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("committing run %s: %w", r.id, err)
	}
	r.finished = true
	return nil
}

func (r *run) Abort(ctx context.Context, res state.Result) error {
	if err := r.check(); err != nil {
		return err
	}
	r.finished = true
	r.ledger = nil
	msg := res.Error
	if msg == "" {
		msg = "aborted"
	}
	if r.prepared {
		err := r.s.withDB(ctx, func(db *sql.DB) error {
			_, err := db.ExecContext(ctx, `UPDATE runs SET error = ? WHERE id = ?`, msg, r.id)
			return err
		})
		if err != nil {
			return fmt.Errorf("aborting run %s: %w", r.id, err)
		}
		return fmt.Errorf("aborting run %s: %w", r.id, state.ErrCommitPending)
	}
	end := res.End
	if end.IsZero() {
		end = time.Now()
	}
	err := r.s.withDB(ctx, func(db *sql.DB) error {
		return inTx(ctx, db, func(conn *sql.Conn) error {
			if _, err := conn.ExecContext(ctx, `DELETE FROM pending_ledger WHERE run_id = ?`, r.id); err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, `UPDATE runs SET status = 'ERROR', error = ?, message = ?, end_at = ?, counts = ?, outputs = ?, rejected = ? WHERE id = ?`,
				msg, res.Message, micro(end), jsonText(res.Counts), jsonText(res.Outputs), state.RejectedCount(res), r.id); err != nil {
				return err
			}
			return r.storeRejects(conn, res)
		})
	})
	if err != nil {
		return fmt.Errorf("aborting run %s: %w", r.id, err)
	}
	return nil
}
