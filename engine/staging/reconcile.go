package staging

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// ReconcileConfig configures the reconcile transform.
type ReconcileConfig struct {
	Table  string            `yaml:"table"`
	Rules  []ReconcileRule   `yaml:"rules"`
	Select map[string]string `yaml:"select"`
	RefCSV `yaml:",inline"`
}

// ReconcileRule is one matching rule: all conditions must hold.
type ReconcileRule struct {
	Name       string   `yaml:"name"`
	Conditions []string `yaml:"conditions"`
}

func reconcileComponent() sdk.Component {
	return sdk.Component{
		Name:    "reconcile",
		Kind:    sdk.KindTransform,
		Summary: "Matches the stream (e.g. bank statement lines) against a reference table (e.g. open orders) by ordered rules.",
		Description: "Stages all records and the reference CSV in DuckDB and applies the rules in order. Each rule is a list " +
			"of DuckDB SQL conditions over `s` (the stream record) and `r` (the reference row, all columns text: cast, e.g. " +
			"`s.amount = r.amount::DECIMAL(18,2)`). The macro `normalize(text)` upper-cases and removes blanks and punctuation, " +
			"e.g. `contains(normalize(s.remittance), normalize(r.order_no))`; `normalize` of a plain column (`s.col`, `r.col`) " +
			"is computed once per row, not per candidate pair.\n\n" +
			"Per rule, a record with exactly one candidate row, which no other record of that rule also hits, is `matched` and " +
			"the row is consumed (a reference row never matches twice). A record with several candidates, or sharing its only " +
			"candidate with another record, is `ambiguous` (with that rule's name) and not tried by later rules. The rest stay " +
			"for the next rule; what is left is `unmatched`. Every record leaves with `match_status`, `match_rule` " +
			"(\"\" if unmatched) and the `select`ed reference columns (null unless matched), in input order.",
		Spec: sdk.Spec{Fields: append([]sdk.Field{
			{Name: "table", Type: sdk.TypeString, Required: true, Example: "ref/open_orders.csv", Description: "Path of the reference CSV file, relative to the pipeline file."},
			{Name: "rules", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1), Description: "Matching rules, tried in order.", Children: []sdk.Field{
				{Name: "name", Type: sdk.TypeString, Required: true, Example: "end_to_end_id", Description: "Name of the rule, written to match_rule."},
				{Name: "conditions", Type: sdk.TypeList, Elem: sdk.TypeString, Required: true, Min: sdk.Int64(1), Example: []any{"s.end_to_end_id = r.e2e"},
					Description: "SQL conditions over s and r that must all hold."},
			}},
			{Name: "select", Type: sdk.TypeMap, Elem: sdk.TypeString, Example: map[string]any{"order_no": "order_no"},
				Description: "Fields added from the matched reference row, each taken from a reference column."},
		}, refCSVFields()...)},
		Examples: []string{"type: reconcile\ntable: ref/open_orders.csv\nrules:\n  - name: e2e\n    conditions: [\"s.end_to_end_id = r.e2e\"]\n" +
			"  - name: amount_reference\n    conditions: [\"s.amount = r.amount::DECIMAL(18,2)\", \"contains(normalize(s.remittance), normalize(r.order_no))\"]\nselect: {order_no: order_no}\n"},
		NewTransform: newReconcile,
		OutputSchema: staticSchema(func(cfg sdk.Config) []string {
			return append([]string{"match_status", "match_rule"}, selectKeys(cfg)...)
		}),
	}
}

type reconcile struct {
	cfg     ReconcileConfig
	env     sdk.Env
	db      *DB
	stream  *Table
	recs    []record.Record // staged records by _row-1
	targets []string
	refID   string // column identifying a reference row (see match)
	schemas map[*record.Schema]*record.Schema
}

func newReconcile(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var c ReconcileConfig
	c.Header = true
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	var errs sdk.FieldErrors
	if c.Table == "" {
		errs.Add("table", "table is required")
	}
	if len(c.Rules) == 0 {
		errs.Add("rules", "at least one rule is required")
	}
	for i, r := range c.Rules {
		if r.Name == "" {
			errs.Add(fmt.Sprintf("rules[%d].name", i), "name is required")
		}
		if len(r.Conditions) == 0 {
			errs.Add(fmt.Sprintf("rules[%d].conditions", i), "at least one condition is required")
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return &reconcile{cfg: c, env: env, targets: sortedKeys(c.Select), schemas: map[*record.Schema]*record.Schema{}}, nil
}

func (r *reconcile) Process(ctx context.Context, in, out *record.Batch) error {
	out.Rejects = append(out.Rejects, in.Rejects...)
	if len(in.Records) == 0 {
		return nil
	}
	if r.db == nil {
		db, err := Open(ctx)
		if err != nil {
			return err
		}
		r.db = db
		r.stream = db.NewTable("stream")
	}
	before := r.stream.Rows()
	rej, err := r.stream.Append(ctx, in.Records, r.env.Step)
	if err != nil {
		return err
	}
	out.Rejects = append(out.Rejects, rej...)
	if len(rej) == 0 {
		r.recs = append(r.recs, in.Records...)
	} else {
		skip := map[record.Origin]int{}
		for _, x := range rej {
			skip[x.Record.Origin]++
		}
		for _, rec := range in.Records {
			if skip[rec.Origin] > 0 {
				skip[rec.Origin]--
				continue
			}
			r.recs = append(r.recs, rec)
		}
	}
	if int64(len(r.recs)) != r.stream.Rows() || r.stream.Rows() < before {
		return fmt.Errorf("reconcile: staged %d records but kept %d", r.stream.Rows(), len(r.recs))
	}
	return nil
}

// normRE finds normalize(s.col) and normalize(r.col) in rule conditions.
var normRE = regexp.MustCompile(`(?i)\bnormalize\(\s*([sr])\s*\.\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)\s*\)`)

// precompute rewrites normalize(s.col) and normalize(r.col) in the rules'
// conditions to columns computed once per row (a join evaluates its
// conditions once per candidate pair, which for an amount join over a
// large reference table is many times the number of rows). It returns the
// rewritten conditions and the extra select lists for stream and ref.
func precompute(rules []ReconcileRule) (conds []string, streamCols, refCols []string) {
	names := map[string]string{}
	for _, rule := range rules {
		cond := "(" + strings.Join(rule.Conditions, ") AND (") + ")"
		cond = normRE.ReplaceAllStringFunc(cond, func(m string) string {
			sub := normRE.FindStringSubmatch(m)
			alias, col := strings.ToLower(sub[1]), sub[2]
			id := alias + "." + col
			name, ok := names[id]
			if !ok {
				name = fmt.Sprintf("_kontor_norm_%d", len(names)+1)
				names[id] = name
				expr := "normalize(" + alias + "." + col + ") AS " + name
				if alias == "s" {
					streamCols = append(streamCols, expr)
				} else {
					refCols = append(refCols, expr)
				}
			}
			return alias + "." + name
		})
		conds = append(conds, cond)
	}
	return conds, streamCols, refCols
}

// match runs the rules in the staging database. Reference rows are
// identified by their rowid (in file order), or by a numbered column
// _kontor_ref when the file has a column named rowid.
func (r *reconcile) match(ctx context.Context) error {
	conn := r.db.Conn()
	conds, streamCols, refCols := precompute(r.cfg.Rules)
	extra := func(cols []string) string {
		if len(cols) == 0 {
			return ""
		}
		return ", " + strings.Join(cols, ", ")
	}
	if err := r.db.LoadCSVWith(ctx, "ref", resolve(r.env.Dir, r.cfg.Table), r.cfg.text(), r.cfg.Header, extra(refCols)); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	var shadowed int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_columns() WHERE table_name = 'ref' AND lower(column_name) = 'rowid'`).Scan(&shadowed); err != nil {
		return fmt.Errorf("staging reference: %w", err)
	}
	r.refID = "rowid"
	var stmts []string
	if shadowed > 0 {
		r.refID = "_kontor_ref"
		stmts = append(stmts, `ALTER TABLE ref RENAME TO _ref_raw`, `CREATE TABLE ref AS SELECT row_number() OVER () AS _kontor_ref, * FROM _ref_raw`, `DROP TABLE _ref_raw`)
	}
	stmts = append(stmts, `CREATE TABLE settled (_row BIGINT, status VARCHAR, rule VARCHAR, _ref BIGINT)`)
	if len(streamCols) > 0 {
		stmts = append(stmts, `ALTER TABLE stream RENAME TO _stream`,
			`CREATE TABLE stream AS SELECT s.*`+extra(streamCols)+` FROM _stream s`, `DROP TABLE _stream`)
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("staging reference: %w", err)
		}
	}
	for i, rule := range r.cfg.Rules {
		q := `INSERT INTO settled
WITH cand AS (
	SELECT s._row, r.` + r.refID + ` AS _ref FROM stream s JOIN ref r ON ` + conds[i] + `
	WHERE s._row NOT IN (SELECT _row FROM settled) AND r.` + r.refID + ` NOT IN (SELECT _ref FROM settled WHERE _ref IS NOT NULL)
), counted AS (
	SELECT _row, _ref, count(*) OVER (PARTITION BY _row) AS nr, count(*) OVER (PARTITION BY _ref) AS nl FROM cand
)
SELECT _row, CASE WHEN nr = 1 AND nl = 1 THEN 'matched' ELSE 'ambiguous' END, ?, CASE WHEN nr = 1 AND nl = 1 THEN _ref END
FROM counted QUALIFY row_number() OVER (PARTITION BY _row ORDER BY _ref) = 1`
		if _, err := conn.ExecContext(ctx, q, rule.Name); err != nil {
			return fmt.Errorf("rules[%d] (%s): %w", i, rule.Name, err)
		}
	}
	return nil
}

func (r *reconcile) outSchema(in *record.Schema) (*record.Schema, error) {
	if s, ok := r.schemas[in]; ok {
		return s, nil
	}
	s, err := withStringFields(in, append([]string{"match_status", "match_rule"}, r.targets...))
	if err != nil {
		return nil, err
	}
	r.schemas[in] = s
	return s, nil
}

func (r *reconcile) Flush(ctx context.Context, emit func(*record.Batch) error) error {
	if r.db == nil {
		return nil
	}
	if err := r.stream.Finish(ctx); err != nil {
		return err
	}
	if err := r.match(ctx); err != nil {
		return err
	}
	cols := []string{"s._row", "coalesce(st.status, 'unmatched')", "coalesce(st.rule, '')"}
	for _, t := range r.targets {
		cols = append(cols, "r."+Quote(r.cfg.Select[t]))
	}
	rows, err := r.db.Conn().QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+
		` FROM stream s LEFT JOIN settled st ON st._row = s._row LEFT JOIN ref r ON r.`+r.refID+` = st._ref ORDER BY s._row`)
	if err != nil {
		return fmt.Errorf("reading matches: %w", err)
	}
	defer rows.Close()
	var row int64
	var status, rule string
	refs := make([]sql.NullString, len(r.targets))
	scan := []any{&row, &status, &rule}
	for i := range refs {
		scan = append(scan, &refs[i])
	}
	size := r.env.BatchSize
	if size <= 0 {
		size = 1000
	}
	b := &record.Batch{}
	for rows.Next() {
		if err := rows.Scan(scan...); err != nil {
			return err
		}
		in := r.recs[row-1]
		s, err := r.outSchema(in.Schema)
		if err != nil {
			return err
		}
		nr := record.Record{Schema: s, Values: make([]record.Value, s.Len()), Origin: in.Origin}
		copy(nr.Values, in.Values)
		nr.Values[s.Index("match_status")] = record.String(status)
		nr.Values[s.Index("match_rule")] = record.String(rule)
		for i, t := range r.targets {
			v := record.Null
			if refs[i].Valid {
				v = record.String(refs[i].String)
			}
			nr.Values[s.Index(t)] = v
		}
		r.recs[row-1] = record.Record{}
		b.Records = append(b.Records, nr)
		if len(b.Records) >= size {
			if err := emit(b); err != nil {
				return err
			}
			b = &record.Batch{}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(b.Records) > 0 {
		return emit(b)
	}
	return nil
}

func (r *reconcile) Close() error { r.recs = nil; return r.db.Close() }
