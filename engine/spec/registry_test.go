package spec

import (
	"context"
	"fmt"
	"sort"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/transform"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// testRegistry is a tiny Registry over plugins.
type testRegistry map[string]struct {
	c      sdk.Component
	plugin string
}

func newTestRegistry(ps ...sdk.Plugin) testRegistry {
	r := testRegistry{}
	for _, p := range ps {
		for _, c := range p.Components {
			name := c.Name
			if p.Name != "" {
				name = p.Name + "." + c.Name
			}
			r[name] = struct {
				c      sdk.Component
				plugin string
			}{c, p.Name}
		}
	}
	return r
}

func (r testRegistry) Lookup(typ string) (sdk.Component, string, bool) {
	e, ok := r[typ]
	return e.c, e.plugin, ok
}

func (r testRegistry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type nopDecoder struct{}

func (nopDecoder) Open(context.Context, sdk.Input) (sdk.Source, error) { return nil, nil }

type nopEncoder struct{}

func (nopEncoder) Create(context.Context, sdk.Output) (sdk.Sink, error) { return nil, nil }

// fakeCSV is a csv-like plugin with a declared-columns schema.
func fakeCSV() sdk.Plugin {
	columns := sdk.Field{Name: "columns", Type: sdk.TypeList, Description: "Columns.",
		Children: []sdk.Field{
			{Name: "name", Type: sdk.TypeString, Required: true, Pattern: `[a-z_][a-z0-9_]*`, Description: "Column name."},
			{Name: "type", Type: sdk.TypeEnum, Enum: []string{"string", "int", "decimal", "date", "bool"}, Default: "string", Description: "Column type."},
			{Name: "format", Type: sdk.TypeString, Description: "Format."},
		}}
	read := sdk.Component{Name: "read", Kind: sdk.KindSource, IO: sdk.IOFile, Summary: "Read CSV.",
		Spec: sdk.Spec{Fields: append(sdk.TextFormatFields(sdk.StandardText),
			sdk.Field{Name: "header", Type: sdk.TypeBool, Default: true, Description: "Header line."},
			sdk.Field{Name: "skip_lines", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Max: sdk.Int64(100), Description: "Lines to skip."},
			sdk.Field{Name: "null_values", Type: sdk.TypeList, Elem: sdk.TypeString, Description: "Null texts."},
			sdk.Field{Name: "comment", Type: sdk.TypeString, Deprecated: "use skip_lines", Description: "Comment char."},
			sdk.Field{Name: "limits", Type: sdk.TypeObject, Description: "Limits.", Children: []sdk.Field{
				{Name: "max_rows", Type: sdk.TypeInt, Required: true, Description: "Max rows."},
				{Name: "timeout", Type: sdk.TypeDuration, Default: "30s", Description: "Timeout."},
			}},
			sdk.Field{Name: "widths", Type: sdk.TypeMap, Elem: sdk.TypeInt, Description: "Widths."},
			sdk.Field{Name: "fee", Type: sdk.TypeDecimal, Description: "A fee."},
			sdk.Field{Name: "password", Type: sdk.TypeString, Secret: true, Description: "Password."},
			columns)},
		NewDecoder: func(context.Context, sdk.Config, sdk.Env) (sdk.Decoder, error) { return nopDecoder{}, nil },
		Schema: func(cfg sdk.Config) (*record.Schema, error) {
			cols, _ := cfg["columns"].([]any)
			if len(cols) == 0 {
				return nil, nil
			}
			var fs []record.Field
			var es sdk.FieldErrors
			for i, c := range cols {
				m := c.(map[string]any)
				k, _ := record.ParseKind(fmt.Sprint(m["type"]))
				if m["name"] == "forbidden" {
					es.Add(fmt.Sprintf("columns[%d].name", i), "name %q is reserved", m["name"])
				}
				fs = append(fs, record.Field{Name: fmt.Sprint(m["name"]), Kind: k})
			}
			if err := es.Err(); err != nil {
				return nil, err
			}
			return record.NewSchema(fs...)
		},
	}
	write := sdk.Component{Name: "write", Kind: sdk.KindSink, IO: sdk.IOFile, Summary: "Write CSV.",
		Spec:       sdk.Spec{Fields: sdk.TextFormatFields(sdk.StandardText)},
		NewEncoder: func(context.Context, sdk.Config, sdk.Env) (sdk.Encoder, error) { return nopEncoder{}, nil },
	}
	return sdk.Plugin{Name: "csv", Version: "1.0.0", Components: []sdk.Component{read, write}}
}

// fakeHTTP is a non-file sink with its own `path` key and a secret.
func fakeHTTP() sdk.Plugin {
	post := sdk.Component{Name: "post", Kind: sdk.KindSink, Summary: "POST records.",
		Spec: sdk.Spec{Fields: []sdk.Field{
			{Name: "url", Type: sdk.TypeString, Required: true, Description: "URL."},
			{Name: "token", Type: sdk.TypeString, Secret: true, Description: "Token."},
			{Name: "key", Type: sdk.TypeString, Expr: sdk.ExprValue, Description: "Idempotency key."},
		}},
		NewSink: func(context.Context, sdk.Config, sdk.Env) (sdk.Sink, error) { return nil, nil },
	}
	return sdk.Plugin{Name: "http", Version: "1.0.0", Components: []sdk.Component{post}}
}

func testReg() testRegistry { return newTestRegistry(fakeCSV(), fakeHTTP(), transform.Plugin()) }
