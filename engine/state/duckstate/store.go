// Package duckstate is the embedded default state.Store: one DuckDB file
// per pipeline, <dir>/<pipeline>.duckdb, so different pipelines run at the
// same time while one pipeline is guarded by a lock.
//
// # Locking and concurrent readers
//
// DuckDB lets one process open a database file for writing. The run lock
// is therefore an OS lock on a separate file, <dir>/<pipeline>.lock
// (flock(2)), taken BEFORE the database is opened for writing. The kernel
// drops it when the holder dies (also by SIGKILL), so a crashed run's lock
// is taken over by the next run; the file names the holder (pid, host,
// start) for the ErrLocked message.
//
// The lock holder opens the database read-write only while it uses it and
// closes it after a short idle time (Options.Idle), so read-only commands
// (History, GetRun, Rejects from `kontor history`) of another process can
// open the file read-only between the writer's accesses. Both sides retry
// DuckDB's "could not set lock" for a while (Options.ReadWait) instead of
// failing at once.
//
// # Commit protocol
//
// See engine/state. Here: Begin inserts the run as RUNNING; LedgerAdd
// appends entries with the DuckDB Appender to pending_ledger (tagged with
// the run id; never one INSERT per record); Prepare stores status
// COMMITTING, counts, outputs, rejects, the run's message and the buffered
// counters and checkpoints (runs.pending) in one transaction; Commit applies pending
// ledger rows (UPDATE of known keys, anti-join INSERT of new ones), counters, checkpoints and the
// final status in one transaction. Begin recovers unfinished runs first:
// RUNNING → ERROR "interrupted" (its pending ledger rows are dropped),
// COMMITTING → outputs rolled forward (state.RollForward) and changes
// applied, reported by Run.Recovery.
package duckstate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kontor-etl/kontor/engine/state"
)

// DefaultDir is the state directory used when Open gets "".
const DefaultDir = ".kontor"

// Options tune a Store; the zero value gives the defaults.
type Options struct {
	// ReadWait is how long an open of the database retries while another
	// process holds DuckDB's file lock (default 30s).
	ReadWait time.Duration
	// Idle is how long the lock holder keeps the database open without
	// use before closing it for readers (default 250ms).
	Idle time.Duration
}

// Open returns the store of pipeline under dir (default ".kontor",
// created if missing). It opens nothing yet: the database is opened
// read-write after Lock (or by Begin, which takes the lock with wait 0 if
// it is not held) and read-only for History, GetRun and Rejects when this
// process does not hold the lock. The pipeline name must be a plain file
// name (no path separators).
func Open(dir, pipeline string) (state.Store, error) {
	return OpenWith(dir, pipeline, Options{})
}

// OpenWith is Open with options.
func OpenWith(dir, pipeline string, opt Options) (state.Store, error) {
	if dir == "" {
		dir = DefaultDir
	}
	if pipeline == "" || strings.ContainsAny(pipeline, `/\`) || pipeline == "." || pipeline == ".." {
		return nil, fmt.Errorf("opening state: invalid pipeline name %q", pipeline)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening state: %w", err)
	}
	if opt.ReadWait <= 0 {
		opt.ReadWait = 30 * time.Second
	}
	if opt.Idle <= 0 {
		opt.Idle = 250 * time.Millisecond
	}
	return &store{
		opt:      opt,
		pipeline: pipeline,
		dbPath:   filepath.Join(dir, pipeline+".duckdb"),
		lockPath: filepath.Join(dir, pipeline+".lock"),
	}, nil
}

type store struct {
	opt      Options
	pipeline string
	dbPath   string
	lockPath string

	mu     sync.Mutex
	lock   *fileLock
	db     *sql.DB // read-write; only while lock != nil
	users  int
	idle   *time.Timer
	closed bool
}

// isLockConflict reports DuckDB's error for a file opened by another process.
func isLockConflict(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Could not set lock") || strings.Contains(s, "Conflicting lock")
}

func (s *store) openDB(ctx context.Context, readOnly bool) (*sql.DB, error) {
	dsn := s.dbPath
	if readOnly {
		dsn += "?access_mode=read_only"
	}
	deadline := time.Now().Add(s.opt.ReadWait)
	for {
		c, err := duckdb.NewConnector(dsn, nil)
		if err == nil {
			return sql.OpenDB(c), nil
		}
		if !isLockConflict(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("opening %s: %w", s.dbPath, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *store) Lock(ctx context.Context, wait time.Duration) (func() error, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errors.New("locking state: store is closed")
	}
	l, err := acquire(ctx, s.lockPath, wait)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.lock != nil { // this Store already holds it (flock is per open file)
		s.mu.Unlock()
		l.unlock()
		return nil, state.ErrLocked
	}
	s.lock = l
	s.mu.Unlock()
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() { uerr = s.release() })
		return uerr
	}, nil
}

// release closes the database, then drops the OS lock.
func (s *store) release() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.closeDBLocked()
	if s.lock != nil {
		if uerr := s.lock.unlock(); err == nil {
			err = uerr
		}
		s.lock = nil
	}
	return err
}

func (s *store) closeDBLocked() error {
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// withDB runs fn with the read-write database, opening (and migrating) it
// if needed; the lock must be held.
func (s *store) withDB(ctx context.Context, fn func(db *sql.DB) error) error {
	s.mu.Lock()
	if s.lock == nil {
		s.mu.Unlock()
		return errors.New("state is not locked: call Lock before writing")
	}
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	if s.db == nil {
		db, err := s.openDB(ctx, false)
		if err == nil {
			db.SetMaxIdleConns(4)
			_, err = migrate(ctx, db, CurrentVersion)
			if err != nil {
				db.Close()
			}
		}
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.db = db
	}
	db := s.db
	s.users++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.users--
		if s.users == 0 && s.db == db {
			s.idle = time.AfterFunc(s.opt.Idle, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.users == 0 && s.db == db {
					s.closeDBLocked()
				}
			})
		}
		s.mu.Unlock()
	}()
	return fn(db)
}

// withReadDB runs fn with a database to read from and its schema
// version: the read-write one (migrated to CurrentVersion) when this
// process holds the lock, otherwise a read-only open, not migrated (nil
// db when no state file exists yet).
func (s *store) withReadDB(ctx context.Context, fn func(db *sql.DB, v int) error) error {
	s.mu.Lock()
	locked := s.lock != nil
	s.mu.Unlock()
	if locked {
		return s.withDB(ctx, func(db *sql.DB) error { return fn(db, CurrentVersion) })
	}
	if _, err := os.Stat(s.dbPath); errors.Is(err, os.ErrNotExist) {
		return fn(nil, 0)
	}
	db, err := s.openDB(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := version(ctx, db)
	if err != nil {
		return err
	}
	if v == 0 {
		return fn(nil, 0)
	}
	if v > CurrentVersion {
		return fmt.Errorf("state schema version %d is newer than this kontor supports (%d)", v, CurrentVersion)
	}
	// rejects is the same in all versions so far; runs gained message in
	// v3 (see runCols).
	return fn(db, v)
}

func (s *store) Close() error {
	err := s.release()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return err
}

// runCols lists the columns of runs that scanRun reads, for a database
// at schema version v: before v3 runs has no message column, read as the empty string.
func runCols(v int) string {
	msg := "message"
	if v < 3 {
		msg = "'' AS message"
	}
	return `id, pipeline, sha256, status, start_at, end_at, dry_run, error, ` + msg + `, counts, outputs, rejected`
}

func scanRun(sc interface{ Scan(...any) error }) (state.RunRecord, error) {
	var r state.RunRecord
	var status, counts, outputs string
	var end sql.NullTime
	if err := sc.Scan(&r.ID, &r.Pipeline, &r.SHA256, &status, &r.Start, &end, &r.DryRun, &r.Error, &r.Message, &counts, &outputs, &r.Rejected); err != nil {
		return r, fmt.Errorf("reading run: %w", err)
	}
	r.Status = state.Status(status)
	r.Start = r.Start.UTC()
	if end.Valid {
		r.End = end.Time.UTC()
	}
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return r, fmt.Errorf("reading counts of run %s: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(outputs), &r.Outputs); err != nil {
		return r, fmt.Errorf("reading outputs of run %s: %w", r.ID, err)
	}
	return r, nil
}

func (s *store) History(ctx context.Context, limit int) ([]state.RunRecord, error) {
	var out []state.RunRecord
	err := s.withReadDB(ctx, func(db *sql.DB, v int) error {
		if db == nil {
			return nil
		}
		q := `SELECT ` + runCols(v) + ` FROM runs ORDER BY seq DESC`
		if limit > 0 {
			q += ` LIMIT ` + strconv.Itoa(limit)
		}
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("reading history: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

func (s *store) GetRun(ctx context.Context, id string) (state.RunRecord, error) {
	var r state.RunRecord
	err := s.withReadDB(ctx, func(db *sql.DB, v int) error {
		if db == nil {
			return fmt.Errorf("run %q not found", id)
		}
		var err error
		r, err = scanRun(db.QueryRowContext(ctx, `SELECT `+runCols(v)+` FROM runs WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("run %q not found", id)
		}
		return err
	})
	return r, err
}

func (s *store) Rejects(ctx context.Context, runID string) ([]state.RejectRecord, error) {
	var out []state.RejectRecord
	err := s.withReadDB(ctx, func(db *sql.DB, _ int) error {
		if db == nil {
			return fmt.Errorf("run %q not found", runID)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, runID).Scan(&n); err != nil {
			return fmt.Errorf("reading rejects: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("run %q not found", runID)
		}
		rows, err := db.QueryContext(ctx, `SELECT origin, step, field, reason, record FROM rejects WHERE run_id = ? ORDER BY n`, runID)
		if err != nil {
			return fmt.Errorf("reading rejects: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r := state.RejectRecord{RunID: runID}
			var rec string
			if err := rows.Scan(&r.Origin, &r.Step, &r.Field, &r.Reason, &rec); err != nil {
				return fmt.Errorf("reading rejects: %w", err)
			}
			if err := json.Unmarshal([]byte(rec), &r.Record); err != nil {
				return fmt.Errorf("reading reject record: %w", err)
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// inTx runs fn on one pinned connection inside a transaction. The
// connection is pinned (not database/sql's Tx) so the Appender can write
// within the same transaction.
func inTx(ctx context.Context, db *sql.DB, fn func(conn *sql.Conn) error) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	if err := fn(conn); err != nil {
		_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
		return err
	}
	return nil
}

// appendRows appends rows to table with the DuckDB Appender on conn.
func appendRows(conn *sql.Conn, table string, n int, row func(i int) []driver.Value) error {
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		for i := 0; i < n; i++ {
			if err := a.AppendRow(row(i)...); err != nil {
				a.Close()
				return fmt.Errorf("appending to %s: %w", table, err)
			}
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		return nil
	})
}
