package staging

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// LookupConfig configures the lookup transform.
type LookupConfig struct {
	Table   string            `yaml:"table"`
	On      []JoinKey         `yaml:"on"`
	Select  map[string]string `yaml:"select"`
	Missing string            `yaml:"missing"`
	RefCSV  `yaml:",inline"`
}

// JoinKey pairs a stream field with a reference column.
type JoinKey struct {
	Field string `yaml:"field"`
	Ref   string `yaml:"ref"`
}

func joinFields() []sdk.Field {
	return []sdk.Field{
		{Name: "field", Type: sdk.TypeString, Required: true, Example: "order_no", Description: "Field of the stream record."},
		{Name: "ref", Type: sdk.TypeString, Required: true, Example: "order_no", Description: "Column of the reference table."},
	}
}

func lookupComponent() sdk.Component {
	return sdk.Component{
		Name:    "lookup",
		Kind:    sdk.KindTransform,
		Summary: "Enriches records with columns of a reference CSV table.",
		Description: "Loads the reference CSV once (DuckDB read_csv, all columns text) and joins every batch against it " +
			"in one query. Keys compare as text (the canonical text of the stream value). A record whose key matches " +
			"several reference rows is rejected; one without a match is handled by `missing`.",
		Spec: sdk.Spec{Fields: append([]sdk.Field{
			{Name: "table", Type: sdk.TypeString, Required: true, Example: "ref/orders.csv", Description: "Path of the reference CSV file, relative to the pipeline file."},
			{Name: "on", Type: sdk.TypeList, Required: true, Min: sdk.Int64(1), Children: joinFields(), Example: []any{map[string]any{"field": "order_no", "ref": "order_no"}},
				Description: "Pairs of stream field and reference column that must be equal."},
			{Name: "select", Type: sdk.TypeMap, Elem: sdk.TypeString, Required: true, Example: map[string]any{"customer": "customer_name"},
				Description: "New (or overwritten) fields of the record, each taken from a reference column."},
			{Name: "missing", Type: sdk.TypeEnum, Enum: []string{"reject", "set_null", "keep"}, Default: "reject",
				Description: "What happens to a record without a matching reference row: reject it, set the selected fields to null (set_null; a bare YAML null would mean the default), or keep the record unchanged."},
		}, refCSVFields()...)},
		Examples:     []string{"type: lookup\ntable: ref/orders.csv\ndelimiter: \";\"\non: [{field: order_no, ref: order_no}]\nselect: {customer: customer_name}\n"},
		NewTransform: newLookup,
		OutputSchema: staticSchema(selectKeys),
	}
}

type lookup struct {
	cfg     LookupConfig
	env     sdk.Env
	db      *DB
	targets []string // select keys in order
	schemas map[*record.Schema]*record.Schema
	query   string
}

func newLookup(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	c := LookupConfig{Missing: "reject"}
	c.Header = true
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	var errs sdk.FieldErrors
	if c.Table == "" {
		errs.Add("table", "table is required")
	}
	if len(c.On) == 0 {
		errs.Add("on", "at least one key pair is required")
	}
	if len(c.Select) == 0 {
		errs.Add("select", "select at least one column")
	}
	if c.Missing != "reject" && c.Missing != "set_null" && c.Missing != "keep" {
		errs.Add("missing", "must be reject, set_null or keep, not %q", c.Missing)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	l := &lookup{cfg: c, env: env, targets: sortedKeys(c.Select), schemas: map[*record.Schema]*record.Schema{}}
	var conds, cols []string
	for i, k := range c.On {
		conds = append(conds, fmt.Sprintf("r.%s = k.k%d", Quote(k.Ref), i))
	}
	for _, t := range l.targets {
		cols = append(cols, "r."+Quote(c.Select[t]))
	}
	l.query = `SELECT k.i, count(*) OVER (PARTITION BY k.i), ` + strings.Join(cols, ", ") +
		` FROM _keys k JOIN ref r ON ` + strings.Join(conds, " AND ")
	return l, nil
}

func (l *lookup) open(ctx context.Context) error {
	db, err := Open(ctx)
	if err != nil {
		return err
	}
	l.db = db
	if err := db.LoadCSV(ctx, "ref", resolve(l.env.Dir, l.cfg.Table), l.cfg.text(), l.cfg.Header); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	cols := []string{"i INTEGER"}
	for i := range l.cfg.On {
		cols = append(cols, "k"+strconv.Itoa(i)+" VARCHAR")
	}
	if _, err := db.Conn().ExecContext(ctx, `CREATE TABLE _keys (`+strings.Join(cols, ", ")+`)`); err != nil {
		return err
	}
	// Check the query once, so a wrong column name fails at the first batch with a clear message.
	if _, err := db.Conn().ExecContext(ctx, `SELECT * FROM (`+l.query+`) LIMIT 0`); err != nil {
		return fmt.Errorf("joining with %s: %w", l.cfg.Table, err)
	}
	return nil
}

func (l *lookup) outSchema(in *record.Schema) (*record.Schema, error) {
	if s, ok := l.schemas[in]; ok {
		return s, nil
	}
	s, err := withStringFields(in, l.targets)
	if err != nil {
		return nil, err
	}
	l.schemas[in] = s
	return s, nil
}

func (l *lookup) Process(ctx context.Context, in, out *record.Batch) error {
	out.Rejects = append(out.Rejects, in.Rejects...)
	if len(in.Records) == 0 {
		return nil
	}
	if l.db == nil {
		if err := l.open(ctx); err != nil {
			return err
		}
	}
	conn := l.db.Conn()
	if _, err := conn.ExecContext(ctx, `DELETE FROM _keys`); err != nil {
		return err
	}
	row := make([]driver.Value, len(l.cfg.On)+1)
	err := appendRows(conn, "_keys", len(in.Records), func(i int) []driver.Value {
		row[0] = int32(i)
		for j, k := range l.cfg.On {
			v := in.Records[i].Value(k.Field)
			if v.IsNull() {
				row[j+1] = nil
			} else {
				row[j+1] = v.String()
			}
		}
		return row
	})
	if err != nil {
		return err
	}
	type hit struct {
		n    int64
		vals []record.Value
	}
	hits := make([]hit, len(in.Records))
	rows, err := conn.QueryContext(ctx, l.query)
	if err != nil {
		return fmt.Errorf("joining with %s: %w", l.cfg.Table, err)
	}
	scan := make([]any, len(l.targets)+2)
	var i int32
	var n int64
	strs := make([]*string, len(l.targets))
	scan[0], scan[1] = &i, &n
	for j := range l.targets {
		scan[j+2] = &strs[j]
	}
	for rows.Next() {
		if err := rows.Scan(scan...); err != nil {
			rows.Close()
			return err
		}
		h := hit{n: n, vals: make([]record.Value, len(l.targets))}
		for j, p := range strs {
			if p != nil {
				h.vals[j] = record.String(*p)
			}
		}
		hits[i] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for idx, r := range in.Records {
		h := hits[idx]
		switch {
		case h.n > 1:
			out.Reject(r, l.env.Step, l.cfg.On[0].Field, fmt.Sprintf("%d rows of %s match", h.n, l.cfg.Table))
			continue
		case h.n == 0 && l.cfg.Missing == "reject":
			out.Reject(r, l.env.Step, l.cfg.On[0].Field, "no matching row in "+l.cfg.Table)
			continue
		case h.n == 0 && l.cfg.Missing == "keep":
			out.Records = append(out.Records, r)
			continue
		}
		s, err := l.outSchema(r.Schema)
		if err != nil {
			return err
		}
		nr := record.Record{Schema: s, Values: make([]record.Value, s.Len()), Origin: r.Origin}
		copy(nr.Values, r.Values)
		for j, t := range l.targets {
			v := record.Null
			if h.n == 1 {
				v = h.vals[j]
			}
			nr.Values[s.Index(t)] = v
		}
		out.Records = append(out.Records, nr)
	}
	return nil
}

func (l *lookup) Close() error { return l.db.Close() }
