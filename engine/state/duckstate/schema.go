package duckstate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/kontor-etl/kontor/engine/state"
)

// CurrentVersion is the state schema version this code writes.
const CurrentVersion = 3

// migrations[i] brings a database from version i to i+1. They are
// append-only: never change a released migration, add a new one.
//
// Notes on the schema:
//   - Times are TIMESTAMP in UTC (microsecond precision).
//   - JSON documents are stored as VARCHAR so no DuckDB extension is needed.
//   - runs.pending holds state.Changes (counters, checkpoints, final
//     status) while a run is COMMITTING; its ledger entries wait in
//     pending_ledger (v2), appended with the Appender during the run.
//   - runs.message (v3) is state.Result.Message (empty for none and for
//     runs recorded before v3).
var migrations = []string{
	// 0 -> 1
	`CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL);
CREATE TABLE runs (
	seq BIGINT PRIMARY KEY,
	id VARCHAR NOT NULL UNIQUE,
	pipeline VARCHAR NOT NULL,
	sha256 VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	start_at TIMESTAMP NOT NULL,
	end_at TIMESTAMP,
	dry_run BOOLEAN NOT NULL,
	error VARCHAR NOT NULL DEFAULT '',
	counts VARCHAR NOT NULL DEFAULT '[]',
	outputs VARCHAR NOT NULL DEFAULT '[]',
	rejected BIGINT NOT NULL DEFAULT 0,
	pending VARCHAR
);
CREATE TABLE rejects (run_id VARCHAR NOT NULL, n BIGINT NOT NULL, origin VARCHAR NOT NULL, step VARCHAR NOT NULL,
	field VARCHAR NOT NULL, reason VARCHAR NOT NULL, record VARCHAR NOT NULL);
CREATE TABLE ledger (scope VARCHAR NOT NULL, key VARCHAR NOT NULL, hash VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
	exported_at TIMESTAMP NOT NULL, PRIMARY KEY (scope, key));
CREATE TABLE sequences (name VARCHAR PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE checkpoints (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);`,
	// 1 -> 2: ledger entries of a run wait in pending_ledger until Commit
	// (v1 kept them in runs.pending); a view for watermarks.
	`CREATE TABLE pending_ledger (run_id VARCHAR NOT NULL, scope VARCHAR NOT NULL, key VARCHAR NOT NULL, hash VARCHAR NOT NULL);
CREATE VIEW watermarks AS
	SELECT pipeline, max(start_at) AS watermark FROM runs
	WHERE status IN ('OK', 'WARNING') AND NOT dry_run GROUP BY pipeline;`,
	// 2 -> 3: the message of a run (why a committed run did no work).
	`ALTER TABLE runs ADD COLUMN message VARCHAR DEFAULT '';
ALTER TABLE runs ALTER COLUMN message SET NOT NULL;`,
}

// version returns the schema version of db (0 for an empty database).
func version(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return int(v.Int64), nil
}

// migrate brings db to version target, each step in its own transaction.
func migrate(ctx context.Context, db *sql.DB, target int) (from int, err error) {
	from, err = version(ctx, db)
	if err != nil {
		return 0, err
	}
	if from > CurrentVersion {
		return from, fmt.Errorf("state schema version %d is newer than this kontor supports (%d); upgrade kontor", from, CurrentVersion)
	}
	for v := from; v < target; v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return from, fmt.Errorf("migrating state to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return from, fmt.Errorf("migrating state to version %d: %w", v+1, err)
		}
		if v == 1 {
			if err := migrateV1Pending(ctx, tx); err != nil {
				tx.Rollback()
				return from, err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (?, now()::TIMESTAMP)`, v+1); err != nil {
			tx.Rollback()
			return from, fmt.Errorf("migrating state to version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return from, fmt.Errorf("migrating state to version %d: %w", v+1, err)
		}
	}
	return from, nil
}

// migrateV1Pending moves the ledger entries that v1 kept inside
// runs.pending (of COMMITTING runs) into pending_ledger.
func migrateV1Pending(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, pending FROM runs WHERE pending IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("migrating pending changes: %w", err)
	}
	type item struct{ id, pending string }
	var items []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.pending); err != nil {
			rows.Close()
			return fmt.Errorf("migrating pending changes: %w", err)
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrating pending changes: %w", err)
	}
	for _, it := range items {
		var c state.Changes
		if err := json.Unmarshal([]byte(it.pending), &c); err != nil {
			return fmt.Errorf("migrating pending changes of run %s: %w", it.id, err)
		}
		for _, scope := range state.SortedKeys(c.Ledger) {
			for _, k := range state.SortedKeys(c.Ledger[scope]) {
				if _, err := tx.ExecContext(ctx, `INSERT INTO pending_ledger VALUES (?, ?, ?, ?)`, it.id, scope, k, c.Ledger[scope][k]); err != nil {
					return fmt.Errorf("migrating pending changes of run %s: %w", it.id, err)
				}
			}
		}
		c.Ledger = nil
		b, _ := json.Marshal(c)
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET pending = ? WHERE id = ?`, string(b), it.id); err != nil {
			return fmt.Errorf("migrating pending changes of run %s: %w", it.id, err)
		}
	}
	return nil
}
