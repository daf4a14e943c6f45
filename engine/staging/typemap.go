package staging

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"math/big"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/kontor-etl/kontor/engine/record"
)

// The type mapping between record values and DuckDB, in one place.
//
//	record kind   DuckDB column          back to record
//	string        VARCHAR                string
//	int           BIGINT                 int (all integer types; HUGEINT beyond int64 -> decimal)
//	decimal       DECIMAL(38, s)         decimal, exactly (big.Int coefficient and scale, never float)
//	bool          BOOLEAN                bool
//	date          DATE                   date
//	datetime      TIMESTAMPTZ            datetime (UTC); TIMESTAMP -> datetime (UTC)
//	list, map     VARCHAR (canonical text)
//	null/unknown  VARCHAR                FLOAT/DOUBLE results -> decimal via shortest text
//
// Note: in DuckDB avg() and "/" of DECIMALs return DOUBLE; such results come
// back as decimals through their shortest text, which is not exact money
// arithmetic. Use sum, +, -, * (exact DECIMAL) for amounts.
//
// s is the largest scale of the column's values in the first batch; a later
// value with more digits widens the column (ALTER … TYPE) before it is
// appended, so no digit is ever lost. DECIMAL(38, s) holds every
// record.Decimal (at most 19 significant digits).

const decimalWidth = 38

// columnType returns the DuckDB type for a kind.
func columnType(k record.Kind, scale int) string {
	switch k {
	case record.KindInt:
		return "BIGINT"
	case record.KindDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", decimalWidth, scale)
	case record.KindBool:
		return "BOOLEAN"
	case record.KindDate:
		return "DATE"
	case record.KindDateTime:
		return "TIMESTAMPTZ"
	}
	return "VARCHAR"
}

// toDuck converts v for a column of kind k (scale for decimals).
func toDuck(v record.Value, k record.Kind, scale int) (driver.Value, error) {
	if v.IsNull() {
		return nil, nil
	}
	switch k {
	case record.KindString, record.KindNull, record.KindList, record.KindMap:
		return v.String(), nil
	case record.KindInt:
		if v.Kind() == record.KindInt {
			return v.Int(), nil
		}
	case record.KindDecimal:
		if v.Kind() == record.KindDecimal || v.Kind() == record.KindInt {
			return decimalToDuck(v.Decimal(), scale)
		}
	case record.KindBool:
		if v.Kind() == record.KindBool {
			return v.Bool(), nil
		}
	case record.KindDate:
		if v.Kind() == record.KindDate {
			return v.Date().Time(), nil
		}
	case record.KindDateTime:
		if v.Kind() == record.KindDateTime || v.Kind() == record.KindDate {
			return v.Time().UTC(), nil
		}
	}
	return nil, fmt.Errorf("a %s value does not fit the staged %s column", v.Kind(), k)
}

func decimalToDuck(d record.Decimal, scale int) (driver.Value, error) {
	if d.Scale() > scale {
		if r := d.Rescale(scale); !r.Equal(d) {
			return nil, fmt.Errorf("decimal %s has more than %d digits after the point", d, scale)
		}
	}
	coef, sc := d.Coef()
	v := new(big.Int).SetUint64(coef)
	if sc < scale {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-sc)), nil))
	} else if sc > scale {
		v.Quo(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sc-scale)), nil))
	}
	if d.Sign() < 0 {
		v.Neg(v)
	}
	return duckdb.Decimal{Width: decimalWidth, Scale: uint8(scale), Value: v}, nil
}

// DecimalFromDuck converts a DuckDB decimal exactly. Trailing zeros beyond
// 19 digits of scale are dropped; a value that still does not fit in a
// record.Decimal (19 significant digits) is an error.
func DecimalFromDuck(d duckdb.Decimal) (record.Decimal, error) {
	v := new(big.Int).Set(d.Value)
	scale := int(d.Scale)
	ten := big.NewInt(10)
	var m big.Int
	for scale > 0 {
		if scale <= 19 && fitsDigits(v) {
			break
		}
		q, r := new(big.Int).QuoRem(v, ten, &m)
		if r.Sign() != 0 {
			break
		}
		v, scale = q, scale-1
	}
	if scale > 19 || !fitsDigits(v) {
		return record.Decimal{}, fmt.Errorf("%w: DuckDB decimal %s does not fit in 19 digits", record.ErrDecimalOverflow, d.String())
	}
	if v.IsInt64() {
		return record.NewDecimal(v.Int64(), scale)
	}
	// 19-digit coefficients above int64: through exact text.
	s := new(big.Int).Abs(v).String()
	for len(s) <= scale {
		s = "0" + s
	}
	if scale > 0 {
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if v.Sign() < 0 {
		s = "-" + s
	}
	return record.ParseDecimal(s, '.')
}

var maxCoef = big.NewInt(0).SetUint64(9999999999999999999)

func fitsDigits(v *big.Int) bool { return new(big.Int).Abs(v).Cmp(maxCoef) <= 0 }

// fromDuck converts a scanned DuckDB value; dbType is the column's
// DatabaseTypeName (tells DATE from TIMESTAMP).
func fromDuck(a any, dbType string) (record.Value, error) {
	switch x := a.(type) {
	case nil:
		return record.Null, nil
	case duckdb.Decimal:
		d, err := DecimalFromDuck(x)
		if err != nil {
			return record.Null, err
		}
		return record.Dec(d), nil
	case *big.Int:
		if x.IsInt64() {
			return record.Int(x.Int64()), nil
		}
		return fromDuck(duckdb.Decimal{Width: 38, Value: x}, dbType)
	case time.Time:
		if dbType == "DATE" {
			return record.DateValue(record.NewDate(x.Year(), x.Month(), x.Day())), nil
		}
		return record.DateTime(x.UTC()), nil
	case []byte:
		return record.String(string(x)), nil
	case duckdb.Interval:
		return record.String(fmt.Sprintf("%d months %d days %d us", x.Months, x.Days, x.Micros)), nil
	case duckdb.UUID:
		return record.String(x.String()), nil
	case []any:
		l := make([]record.Value, len(x))
		for i, e := range x {
			v, err := fromDuck(e, "")
			if err != nil {
				return record.Null, err
			}
			l[i] = v
		}
		return record.List(l), nil
	case map[string]any:
		m := make(map[string]record.Value, len(x))
		for k, e := range x {
			v, err := fromDuck(e, "")
			if err != nil {
				return record.Null, err
			}
			m[k] = v
		}
		return record.Map(m), nil
	case duckdb.Map:
		m := make(map[string]record.Value, len(x))
		for k, e := range x {
			v, err := fromDuck(e, "")
			if err != nil {
				return record.Null, err
			}
			m[fmt.Sprint(k)] = v
		}
		return record.Map(m), nil
	}
	return record.FromAny(a)
}

// kindOfDBType maps a result column's DatabaseTypeName to a record kind
// (KindNull: any).
func kindOfDBType(t string) record.Kind {
	switch {
	case t == "VARCHAR":
		return record.KindString
	case t == "BIGINT", t == "INTEGER", t == "SMALLINT", t == "TINYINT", t == "UBIGINT", t == "UINTEGER", t == "USMALLINT", t == "UTINYINT":
		return record.KindInt
	case strings.HasPrefix(t, "DECIMAL"), t == "DOUBLE", t == "FLOAT", t == "HUGEINT":
		return record.KindDecimal
	case t == "BOOLEAN":
		return record.KindBool
	case t == "DATE":
		return record.KindDate
	case strings.HasPrefix(t, "TIMESTAMP"):
		return record.KindDateTime
	}
	return record.KindNull
}

// scanRecords reads rows into records of one schema built from the
// result columns; origin(n) gives the origin of the n-th row (1-based).
func scanRecords(rows *sql.Rows, batchSize int, origin func(n int64) record.Origin, emit func(*record.Batch) error) error {
	cols, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	fields := make([]record.Field, len(cols))
	types := make([]string, len(cols))
	for i, c := range cols {
		types[i] = c.DatabaseTypeName()
		fields[i] = record.Field{Name: c.Name(), Kind: kindOfDBType(types[i])}
	}
	schema, err := record.NewSchema(fields...)
	if err != nil {
		return fmt.Errorf("result columns: %w", err)
	}
	if batchSize <= 0 {
		batchSize = 1000
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	b := &record.Batch{}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		n++
		rec := record.Record{Schema: schema, Values: make([]record.Value, len(cols)), Origin: origin(n)}
		for i, a := range vals {
			v, err := fromDuck(a, types[i])
			if err != nil {
				return fmt.Errorf("row %d, column %s: %w", n, cols[i].Name(), err)
			}
			rec.Values[i] = v
		}
		b.Records = append(b.Records, rec)
		if len(b.Records) >= batchSize {
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
