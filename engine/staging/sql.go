package staging

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// SQLConfig configures the sql transform.
type SQLConfig struct {
	// Query is a DuckDB SELECT over the staged stream, table `input`.
	Query string `yaml:"query"`
	// Tables maps extra table names to CSV files (relative to the pipeline).
	Tables map[string]string `yaml:"tables"`
	// CSV options of the extra tables.
	RefCSV `yaml:",inline"`
}

// RefCSV are the options of reference CSV files (lookup, reconcile, sql tables).
type RefCSV struct {
	Delimiter string `yaml:"delimiter"` // default ","
	Encoding  string `yaml:"encoding"`  // default utf-8
	Header    bool   `yaml:"header"`    // default true
}

func refCSVFields() []sdk.Field {
	return []sdk.Field{
		{Name: "delimiter", Type: sdk.TypeString, Default: ",", Example: ";", Description: "Field separator of the reference CSV files, one character."},
		{Name: "encoding", Type: sdk.TypeEnum, Default: "utf-8", Enum: []string{"utf-8", "utf-8-bom", "windows-1252", "iso-8859-1", "iso-8859-15"}, Description: "Character encoding of the reference CSV files."},
		{Name: "header", Type: sdk.TypeBool, Default: true, Description: "Whether the first line of each reference CSV file names the columns."},
	}
}

func (c RefCSV) text() sdk.TextFormat {
	return sdk.TextFormat{Delimiter: c.Delimiter, Encoding: c.Encoding, Quote: `"`}
}

func sqlComponent() sdk.Component {
	return sdk.Component{
		Name:    "sql",
		Kind:    sdk.KindTransform,
		Summary: "Runs a DuckDB SQL query over the whole stream and continues with its result.",
		Description: "Stages every record into the table `input` of a temporary DuckDB database, then runs `query` " +
			"and streams its rows on in batches. Decimals stay exact (DECIMAL, never float); DATE becomes date, " +
			"TIMESTAMP datetime. The origin of a result row is `sql:<step> (row N)`. If no record arrives the query is not run.",
		Spec: sdk.Spec{Fields: append([]sdk.Field{
			{Name: "query", Type: sdk.TypeString, Required: true, Example: "SELECT abo_nr, sum(amount) AS total FROM input GROUP BY abo_nr",
				Description: "DuckDB SQL query over the table input (and the extra tables)."},
			{Name: "tables", Type: sdk.TypeMap, Elem: sdk.TypeString, Example: map[string]any{"prices": "ref/prices.csv"},
				Description: "Extra tables for the query, by name, loaded from CSV files relative to the pipeline file (all columns text)."},
		}, refCSVFields()...)},
		Examples:     []string{"type: sql\nquery: SELECT abo_nr, sum(amount) AS total FROM input GROUP BY abo_nr ORDER BY abo_nr\n"},
		NewTransform: newSQL,
		// The result's columns are known only when the query runs.
		OutputSchema: func(sdk.Config, *record.Schema, func(string) record.Kind) (*record.Schema, error) { return nil, nil },
	}
}

type sqlStep struct {
	cfg   SQLConfig
	env   sdk.Env
	db    *DB
	input *Table
}

func newSQL(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var c SQLConfig
	c.Header = true
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	if c.Query == "" {
		return nil, sdk.FieldError{Path: "query", Message: "query is empty"}
	}
	for name := range c.Tables {
		if name == "input" {
			return nil, sdk.FieldError{Path: "tables.input", Message: "the name input is taken by the stream"}
		}
	}
	return &sqlStep{cfg: c, env: env}, nil
}

func (s *sqlStep) Process(ctx context.Context, in, out *record.Batch) error {
	out.Rejects = append(out.Rejects, in.Rejects...)
	if len(in.Records) == 0 {
		return nil
	}
	if s.db == nil {
		db, err := Open(ctx)
		if err != nil {
			return err
		}
		s.db = db
		s.input = db.NewTable("_input")
	}
	rej, err := s.input.Append(ctx, in.Records, s.env.Step)
	out.Rejects = append(out.Rejects, rej...)
	return err
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

func (s *sqlStep) Flush(ctx context.Context, emit func(*record.Batch) error) error {
	if s.db == nil {
		return nil
	}
	if err := s.input.Finish(ctx); err != nil {
		return err
	}
	conn := s.db.Conn()
	if _, err := conn.ExecContext(ctx, `CREATE VIEW input AS SELECT * EXCLUDE (_row) FROM _input`); err != nil {
		return fmt.Errorf("staging input: %w", err)
	}
	for _, name := range sortedKeys(s.cfg.Tables) {
		if err := s.db.LoadCSV(ctx, name, resolve(s.env.Dir, s.cfg.Tables[name]), s.cfg.text(), s.cfg.Header); err != nil {
			return fmt.Errorf("tables.%s: %w", name, err)
		}
	}
	rows, err := conn.QueryContext(ctx, s.cfg.Query)
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	file := "sql:" + s.env.Step
	return scanRecords(rows, s.env.BatchSize, func(n int64) record.Origin {
		return record.Origin{File: file, Path: "row " + strconv.FormatInt(n, 10), Index: n}
	}, emit)
}

func (s *sqlStep) Close() error { return s.db.Close() }
