// Package vat is the component library of Kontor's example external plugin
// (plugins/example): vat.split, which splits a gross amount into net and VAT
// with exact decimals. It imports only plugins/sdk and engine/record, like
// any plugin written outside this repository would.
package vat

import (
	"context"
	"fmt"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Plugin returns the example plugin: served out of process by
// plugins/example (kontor-plugin-example), and linkable in process for
// tests and benchmarks.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "example",
		Version:     "1.0.0",
		Description: "Example external plugin: VAT split of gross amounts.",
		Components:  []sdk.Component{SplitComponent()},
	}
}

// SplitConfig is the configuration of example.vat_split.
type SplitConfig struct {
	// Gross is the field holding the gross amount (decimal). Required.
	Gross string `yaml:"gross"`
	// Rate is the VAT rate in percent (default "19"); must not be negative.
	Rate string `yaml:"rate"`
	// RateField, when set, names a field holding the rate per record
	// (decimal percent); it wins over Rate. Default: unset.
	RateField string `yaml:"rate_field"`
	// Net is the output field for the net amount (default "net").
	Net string `yaml:"net"`
	// VAT is the output field for the VAT amount (default "vat").
	VAT string `yaml:"vat"`
	// Scale is the number of decimal places of net (default 2, 0..6).
	Scale int `yaml:"scale"`
}

// SplitSpec is the config spec of example.vat_split.
var SplitSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "gross", Type: sdk.TypeString, Required: true, Pattern: `[a-z_][a-z0-9_]*`,
		Description: "Field holding the gross amount as a decimal.", Example: "amount"},
	{Name: "rate", Type: sdk.TypeDecimal, Default: "19",
		Description: "VAT rate in percent, used when rate_field is not set or null.", Example: "7"},
	{Name: "rate_field", Type: sdk.TypeString,
		Description: "Field holding the VAT rate in percent per record; wins over rate when set.", Example: "vat_rate"},
	{Name: "net", Type: sdk.TypeString, Default: "net", Pattern: `[a-z_][a-z0-9_]*`,
		Description: "Output field for the net amount (added when the input has no such field).", Example: "net"},
	{Name: "vat", Type: sdk.TypeString, Default: "vat", Pattern: `[a-z_][a-z0-9_]*`,
		Description: "Output field for the VAT amount (added when the input has no such field).", Example: "vat"},
	{Name: "scale", Type: sdk.TypeInt, Default: 2, Min: sdk.Int64(0), Max: sdk.Int64(6),
		Description: "Decimal places of the net amount, rounded half away from zero; VAT is gross minus net, so net plus VAT is always exactly gross.", Example: 2},
}}

// SplitComponent is example.vat_split.
func SplitComponent() sdk.Component {
	return sdk.Component{
		Name:    "vat_split",
		Kind:    sdk.KindTransform,
		Summary: "Split a gross amount into net and VAT by rate, with exact decimals and half-up rounding.",
		Description: "net = round(gross * 100 / (100 + rate), scale) half away from zero; vat = gross - net. " +
			"A record whose gross is null or not a number, or whose rate is negative, is rejected.",
		Spec:         SplitSpec,
		Examples:     []string{"type: example.vat_split\ngross: amount\nrate: \"19\""},
		NewTransform: NewSplit,
		OutputSchema: func(cfg sdk.Config, in *record.Schema, _ func(string) record.Kind) (*record.Schema, error) {
			c, err := parseSplit(cfg)
			if err != nil {
				return nil, err
			}
			if in == nil {
				return nil, nil
			}
			return outSchema(in, c)
		},
	}
}

type split struct {
	c      SplitConfig
	rate   record.Decimal
	step   string
	in     *record.Schema // last input schema
	out    *record.Schema
	gi, ri int // field indexes in `in`
	ni, vi int // field indexes in `out`
}

var hundred = record.DecimalFromInt(100)

func parseSplit(cfg sdk.Config) (SplitConfig, error) {
	c := SplitConfig{Rate: "19", Net: "net", VAT: "vat", Scale: 2}
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	var es sdk.FieldErrors
	if c.Gross == "" {
		es.Add("gross", "must name the gross amount field")
	}
	if d, err := record.ParseDecimal(c.Rate, '.'); err != nil {
		es.Add("rate", "not a decimal: %q", c.Rate)
	} else if d.Sign() < 0 {
		es.Add("rate", "must not be negative, got %s", c.Rate)
	}
	if c.Net == c.VAT {
		es.Add("vat", "must differ from net (%q)", c.Net)
	}
	if c.Scale < 0 || c.Scale > 6 {
		es.Add("scale", "must be between 0 and 6, got %d", c.Scale)
	}
	return c, es.Err()
}

// NewSplit builds the transform.
func NewSplit(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	c, err := parseSplit(cfg)
	if err != nil {
		return nil, err
	}
	rate, _ := record.ParseDecimal(c.Rate, '.')
	return &split{c: c, rate: rate, step: env.Step}, nil
}

func outSchema(in *record.Schema, c SplitConfig) (*record.Schema, error) {
	fs := in.Fields()
	for _, name := range []string{c.Net, c.VAT} {
		if i := in.Index(name); i >= 0 {
			fs[i].Kind = record.KindDecimal
		} else {
			fs = append(fs, record.Field{Name: name, Kind: record.KindDecimal})
		}
	}
	return record.NewSchema(fs...)
}

func (s *split) prepare(in *record.Schema) error {
	out, err := outSchema(in, s.c)
	if err != nil {
		return err
	}
	s.in, s.out = in, out
	s.gi, s.ri = in.Index(s.c.Gross), -1
	if s.c.RateField != "" {
		s.ri = in.Index(s.c.RateField)
	}
	s.ni, s.vi = out.Index(s.c.Net), out.Index(s.c.VAT)
	return nil
}

// Process implements sdk.Transform.
func (s *split) Process(_ context.Context, in *record.Batch, out *record.Batch) error {
	// One values array for the whole batch: no allocation per record.
	var vals []record.Value
	for _, r := range in.Records {
		if r.Schema != s.in {
			if err := s.prepare(r.Schema); err != nil {
				return err
			}
		}
		if s.gi < 0 {
			out.Reject(r, s.step, s.c.Gross, "no such field")
			continue
		}
		g := r.Values[s.gi]
		if g.Kind() != record.KindDecimal && g.Kind() != record.KindInt {
			out.Reject(r, s.step, s.c.Gross, fmt.Sprintf("gross amount %q is not a number", g.String()))
			continue
		}
		rate := s.rate
		if s.ri >= 0 {
			if rv := r.Values[s.ri]; !rv.IsNull() {
				if rv.Kind() != record.KindDecimal && rv.Kind() != record.KindInt {
					out.Reject(r, s.step, s.c.RateField, fmt.Sprintf("rate %q is not a number", rv.String()))
					continue
				}
				rate = rv.Decimal()
			}
		}
		if rate.Sign() < 0 {
			out.Reject(r, s.step, s.c.RateField, "rate must not be negative")
			continue
		}
		net, vat, err := Split(g.Decimal(), rate, s.c.Scale)
		if err != nil {
			out.Reject(r, s.step, s.c.Gross, err.Error())
			continue
		}
		n := s.out.Len()
		if cap(vals)-len(vals) < n {
			vals = make([]record.Value, 0, max(n*(len(in.Records)), 64))
		}
		start := len(vals)
		vals = append(vals, r.Values...)
		vals = vals[:start+n]
		vals[start+s.ni] = record.Dec(net)
		vals[start+s.vi] = record.Dec(vat)
		out.Records = append(out.Records, record.Record{Schema: s.out, Values: vals[start : start+n : start+n], Origin: r.Origin})
	}
	return nil
}

// Close implements sdk.Transform.
func (s *split) Close() error { return nil }

// InPlace reports that Process appends at most one record per input record
// after reading it and keeps no reference to the input batch (its output
// records have values of their own), so hosts may reuse the input's memory.
func (s *split) InPlace() bool { return true }

// Split returns net and VAT of gross at rate percent: net is rounded half
// away from zero to scale places, VAT is gross minus net, so net + VAT ==
// gross exactly.
func Split(gross, rate record.Decimal, scale int) (net, vat record.Decimal, err error) {
	div, err := hundred.Add(rate)
	if err != nil {
		return net, vat, err
	}
	num, err := gross.Mul(hundred)
	if err != nil {
		return net, vat, fmt.Errorf("gross amount %s too large", gross)
	}
	q, err := num.Quo(div)
	if err != nil {
		return net, vat, err
	}
	net = q.Round(scale)
	vat, err = gross.Sub(net)
	return net, vat, err
}
