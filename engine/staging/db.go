package staging

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// DB is a temporary DuckDB database for one step of one run: an
// in-memory database whose temp_directory is a fresh directory under the
// system temp directory, so beyond MemoryLimit DuckDB spills table blocks
// and intermediates there instead of failing (an on-disk database file
// would write every staged table to disk even when it fits in memory,
// which doubled the time of a reconcile). Close removes the directory.
type DB struct {
	dir  string
	db   *sql.DB
	conn *sql.Conn // pinned: temp tables and appenders live on it
}

// MemoryLimit is DuckDB's memory_limit for staging databases.
const MemoryLimit = "1GB"

// Open creates a staging database.
func Open(ctx context.Context) (*DB, error) {
	dir, err := os.MkdirTemp("", "kontor-staging-")
	if err != nil {
		return nil, fmt.Errorf("creating staging database: %w", err)
	}
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating staging database: %w", err)
	}
	db := sql.OpenDB(c)
	conn, err := db.Conn(ctx)
	if err == nil {
		_, err = conn.ExecContext(ctx, `SET memory_limit = '`+MemoryLimit+`'; SET preserve_insertion_order = true; SET temp_directory = '`+strings.ReplaceAll(filepath.Join(dir, "tmp"), "'", "''")+`'`)
	}
	if err == nil {
		_, err = conn.ExecContext(ctx, `CREATE MACRO normalize(t) AS upper(regexp_replace(coalesce(t, ''), '[^A-Za-z0-9ÄÖÜäöüß]', '', 'g'))`)
	}
	if err != nil {
		db.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("creating staging database: %w", err)
	}
	return &DB{dir: dir, db: db, conn: conn}, nil
}

// Conn returns the pinned connection.
func (d *DB) Conn() *sql.Conn { return d.conn }

// Close closes and removes the database.
func (d *DB) Close() error {
	if d == nil || d.db == nil {
		return nil
	}
	d.conn.Close()
	err := d.db.Close()
	d.db = nil
	if rerr := os.RemoveAll(d.dir); err == nil {
		err = rerr
	}
	return err
}

// Quote quotes an SQL identifier.
func Quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Table loads record batches into a DuckDB table with the Appender. The
// columns follow the first batch's schema (kinds from the schema, or from
// the first non-null value for undeclared fields); a hidden column _row
// numbers the records from 1 in arrival order.
type Table struct {
	db     *DB
	name   string
	schema *record.Schema
	kinds  []record.Kind
	scales []int
	app    *duckdb.Appender
	rows   int64
	row    []driver.Value
}

// NewTable returns an empty loader for table name (created at the first Append).
func (d *DB) NewTable(name string) *Table { return &Table{db: d, name: name} }

// Schema returns the schema of the loaded records (nil before the first batch).
func (t *Table) Schema() *record.Schema { return t.schema }

// Rows returns the number of appended records.
func (t *Table) Rows() int64 { return t.rows }

func (t *Table) create(ctx context.Context, recs []record.Record) error {
	t.schema = recs[0].Schema
	n := t.schema.Len()
	t.kinds = make([]record.Kind, n)
	t.scales = make([]int, n)
	cols := []string{"_row BIGINT"}
	for i := 0; i < n; i++ {
		k := t.schema.Field(i).Kind
		for _, r := range recs {
			if k != record.KindNull || i >= len(r.Values) {
				break
			}
			if v := r.Values[i]; !v.IsNull() {
				k = v.Kind()
			}
		}
		if k == record.KindDecimal {
			for _, r := range recs {
				if i < len(r.Values) && r.Values[i].Kind() == record.KindDecimal {
					t.scales[i] = max(t.scales[i], r.Values[i].Decimal().Scale())
				}
			}
		}
		t.kinds[i] = k
		cols = append(cols, Quote(t.schema.Field(i).Name)+" "+columnType(k, t.scales[i]))
	}
	if _, err := t.db.conn.ExecContext(ctx, `CREATE TABLE `+Quote(t.name)+` (`+strings.Join(cols, ", ")+`)`); err != nil {
		return fmt.Errorf("creating staging table %s: %w", t.name, err)
	}
	t.row = make([]driver.Value, n+1)
	return t.openAppender()
}

func (t *Table) openAppender() error {
	return t.db.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", t.name)
		if err != nil {
			return fmt.Errorf("staging %s: %w", t.name, err)
		}
		t.app = a
		return nil
	})
}

// widen raises the scale of decimal column i (closing the appender first).
func (t *Table) widen(ctx context.Context, i, scale int) error {
	if err := t.app.Close(); err != nil {
		return fmt.Errorf("staging %s: %w", t.name, err)
	}
	t.app = nil
	col := Quote(t.schema.Field(i).Name)
	if _, err := t.db.conn.ExecContext(ctx, `ALTER TABLE `+Quote(t.name)+` ALTER COLUMN `+col+` TYPE `+columnType(record.KindDecimal, scale)); err != nil {
		return fmt.Errorf("widening staged column %s: %w", t.schema.Field(i).Name, err)
	}
	t.scales[i] = scale
	return t.openAppender()
}

// Append stages the records. A record whose schema differs from the
// first batch's, or whose value does not fit its column, is returned as
// a reject (reason says why); the others are appended.
func (t *Table) Append(ctx context.Context, recs []record.Record, step string) ([]record.Reject, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if t.schema == nil {
		if err := t.create(ctx, recs); err != nil {
			return nil, err
		}
	}
	var rejects []record.Reject
	for _, r := range recs {
		if r.Schema != t.schema && !sameNames(r.Schema, t.schema) {
			rejects = append(rejects, record.Reject{Record: r, Step: step, Reason: "record fields differ from the first record's (" + r.Schema.String() + " vs " + t.schema.String() + ")"})
			continue
		}
		t.row[0] = t.rows + 1
		var bad error
		badField := ""
		for i, k := range t.kinds {
			v := record.Null
			if i < len(r.Values) {
				v = r.Values[i]
			}
			if k == record.KindDecimal && v.Kind() == record.KindDecimal {
				if sc := v.Decimal().Scale(); sc > t.scales[i] {
					if err := t.widen(ctx, i, sc); err != nil {
						return rejects, err
					}
				}
			}
			dv, err := toDuck(v, k, t.scales[i])
			if err != nil {
				bad, badField = err, t.schema.Field(i).Name
				break
			}
			t.row[i+1] = dv
		}
		if bad != nil {
			rejects = append(rejects, record.Reject{Record: r, Step: step, Field: badField, Reason: bad.Error()})
			continue
		}
		if err := t.app.AppendRow(t.row...); err != nil {
			return rejects, fmt.Errorf("staging %s: %w", t.name, err)
		}
		t.rows++
	}
	return rejects, nil
}

func sameNames(a, b *record.Schema) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := 0; i < a.Len(); i++ {
		if a.Field(i).Name != b.Field(i).Name {
			return false
		}
	}
	return true
}

// Finish flushes the appender; the table is then ready for queries.
// A table that got no records is created with no columns but _row.
func (t *Table) Finish(ctx context.Context) error {
	if t.app == nil {
		if t.schema == nil {
			_, err := t.db.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+Quote(t.name)+` (_row BIGINT)`)
			return err
		}
		return nil
	}
	err := t.app.Close()
	t.app = nil
	if err != nil {
		return fmt.Errorf("staging %s: %w", t.name, err)
	}
	return nil
}

// LoadCSV loads a reference CSV file (all columns VARCHAR) into table
// name with DuckDB's built-in read_csv. Non-UTF-8 files are transcoded in
// Go first (sdk encodings: windows-1252, iso-8859-1, iso-8859-15, utf-8).
func (d *DB) LoadCSV(ctx context.Context, name, path string, tf sdk.TextFormat, header bool) error {
	return d.LoadCSVWith(ctx, name, path, tf, header, "")
}

// LoadCSVWith is LoadCSV with extra select-list items computed while
// loading (", expr AS col, ..."; the file's row is r).
func (d *DB) LoadCSVWith(ctx context.Context, name, path string, tf sdk.TextFormat, header bool, extra string) error {
	src := path
	enc := strings.ToLower(tf.Encoding)
	if enc != "" && enc != "utf-8" && enc != "utf8" && enc != "utf-8-bom" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		defer f.Close()
		r, err := sdk.NewTextReader(f, tf.Encoding)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		src = filepath.Join(d.dir, name+".csv")
		out, err := os.Create(src)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		_, err = io.Copy(out, r)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	delim := tf.Delimiter
	if delim == "" {
		delim = ","
	}
	quote := tf.Quote
	q := fmt.Sprintf(`CREATE TABLE %s AS SELECT r.*%s FROM read_csv(%s, delim = %s, header = %t, all_varchar = true, quote = %s, escape = %s, auto_detect = true) r`,
		Quote(name), extra, sqlString(src), sqlString(delim), header, sqlString(quote), sqlString(quote))
	if _, err := d.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("loading %s: %w", path, err)
	}
	return nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// appendRows appends n rows to table with the DuckDB Appender on conn.
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
