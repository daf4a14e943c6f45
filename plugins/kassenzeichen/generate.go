// Package kassenzeichen generates and validates municipal cash references (Kassenzeichen):
// per-tenant segments (constants, fiscal year, Einnahmeart by product, customer number, a
// running number from a persistent sequence), a check digit (plugins/sdk/checkdigit) and a
// display mask. There is no national format; see shared/domain/fibu-kassenzeichen.md §3.
//
// The export of Sollstellungen is layout.write with a Sollstellung layout
// (pipelines/layouts/sollstellung-fixed.yaml); there is deliberately no kassenzeichen.export
// alias, so one component owns file layouts.
package kassenzeichen

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/checkdigit"
)

// Segment is one part of the Kassenzeichen payload.
type Segment struct {
	// Type: const, year, einnahmeart, field, sequence.
	Type    string            `yaml:"type"`
	Value   string            `yaml:"value"`
	Field   string            `yaml:"field"`
	Width   int               `yaml:"width"`
	Digits  int               `yaml:"digits"`
	Map     map[string]string `yaml:"map"`
	Default string            `yaml:"default"`
}

// Sequence is the range of the running number.
type Sequence struct {
	From      int64 `yaml:"from"`
	To        int64 `yaml:"to"`
	WarnBelow int64 `yaml:"warn_below"`
}

// GenerateConfig is the configuration of kassenzeichen.generate.
type GenerateConfig struct {
	Pool        string                  `yaml:"pool"`
	Target      string                  `yaml:"target"`
	PlainTarget string                  `yaml:"plain_target"`
	Overwrite   bool                    `yaml:"overwrite"`
	Segments    []Segment               `yaml:"segments"`
	Sequence    Sequence                `yaml:"sequence"`
	CheckDigit  checkdigit.MethodConfig `yaml:"check_digit"`
	Mask        string                  `yaml:"mask"`
}

// CheckDigitFields is the spec of a check_digit option group (shared with validate).
var CheckDigitFields = []sdk.Field{
	{Name: "method", Type: sdk.TypeEnum, Enum: checkdigit.Methods(), Default: "none",
		Description: "Check-digit method: none, luhn (modulo 10, weights 2-1 from the right), mod11 (weights 2..7 from the right) or weighted (custom table).", Example: "luhn"},
	{Name: "weights", Type: sdk.TypeList, Elem: sdk.TypeInt,
		Description: "Weights for mod11 (default 2,3,4,5,6,7) and weighted (required).", Example: []any{2, 3, 4, 5, 6, 7}},
	{Name: "direction", Type: sdk.TypeEnum, Enum: []string{"right", "left"}, Default: "right",
		Description: "Whether the weights start at the last (right) or the first (left) payload digit.", Example: "right"},
	{Name: "cyclic", Type: sdk.TypeBool, Default: true,
		Description: "Whether the weights repeat for payloads longer than the table.", Example: true},
	{Name: "modulus", Type: sdk.TypeInt, Min: sdk.Int64(2), Max: sdk.Int64(11),
		Description: "Modulus of the weighted method, 2 to 11 (default 10).", Example: 11},
	{Name: "digit_sum", Type: sdk.TypeBool, Default: false,
		Description: "Whether the weighted method adds the cross sums of the products.", Example: false},
	{Name: "remainder", Type: sdk.TypeBool, Default: false,
		Description: "Whether the weighted method uses the remainder instead of modulus minus remainder.", Example: false},
	{Name: "map10", Type: sdk.TypeString, Default: "0",
		Description: "Check character for a result of 10: one digit, a letter such as X, or reject.", Example: "X"},
	{Name: "map11", Type: sdk.TypeString, Default: "0",
		Description: "Check character for a result of 11: one digit, a letter, or reject.", Example: "0"},
}

var generateSpec = sdk.Spec{Fields: []sdk.Field{
	// The key is pool, not name: `name:` of a step is the engine's step name.
	{Name: "pool", Type: sdk.TypeString, Required: true, Pattern: `[a-z][a-z0-9_]*`,
		Description: "Name of the number pool; the running number comes from the persistent counter kassenzeichen.<pool>.", Example: "abo"},
	{Name: "target", Type: sdk.TypeString, Default: "kassenzeichen",
		Description: "Record field that receives the (masked) Kassenzeichen; it is added when missing.", Example: "kassenzeichen"},
	{Name: "plain_target", Type: sdk.TypeString, Default: "",
		Description: "Optional record field that receives the digits without mask.", Example: "kassenzeichen_plain"},
	{Name: "overwrite", Type: sdk.TypeBool, Default: false,
		Description: "Whether a record that already has a Kassenzeichen gets a new one; by default it keeps it and consumes no number.", Example: false},
	{Name: "segments", Type: sdk.TypeList, Required: true,
		Description: "The payload segments in order; their digits are concatenated and the check digit is appended.",
		Children: []sdk.Field{
			{Name: "type", Type: sdk.TypeEnum, Enum: []string{"const", "year", "einnahmeart", "field", "sequence"}, Required: true,
				Description: "Segment kind: const (value), year (fiscal year from field or run date), einnahmeart (mapped from field), field (zero-padded record field), sequence (running number).", Example: "sequence"},
			{Name: "value", Type: sdk.TypeString, Description: "Digits of a const segment.", Example: "8"},
			{Name: "field", Type: sdk.TypeString, Description: "Record field read by year (a date), einnahmeart (the key) and field segments.", Example: "kundennummer"},
			{Name: "width", Type: sdk.TypeInt, Min: sdk.Int64(0), Max: sdk.Int64(20), Description: "Digits of field and sequence segments, zero-padded on the left; a longer value rejects the record.", Example: 6},
			{Name: "digits", Type: sdk.TypeInt, Default: 4, Min: sdk.Int64(2), Max: sdk.Int64(4), Description: "Year digits: 4 (2025) or 2 (25).", Example: 2},
			{Name: "map", Type: sdk.TypeMap, Elem: sdk.TypeString, Description: "Einnahmeart per product or Abo type (field value to digits).", Example: map[string]any{"premiere": "8057"}},
			{Name: "default", Type: sdk.TypeString, Description: "Einnahmeart for values missing in map; empty rejects the record.", Example: "8050"},
		}},
	{Name: "sequence", Type: sdk.TypeObject, Description: "Range of the running number.", Children: []sdk.Field{
		{Name: "from", Type: sdk.TypeInt, Default: 1, Min: sdk.Int64(0), Description: "First number of the range.", Example: 1},
		{Name: "to", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1), Description: "Last number of the range; when it is used up the run fails.", Example: 9999},
		{Name: "warn_below", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Description: "Log a warning when fewer numbers than this remain.", Example: 500},
	}},
	{Name: "check_digit", Type: sdk.TypeObject, Children: CheckDigitFields, Description: "Check-digit method appended to the payload.", Example: map[string]any{"method": "luhn"}},
	{Name: "mask", Type: sdk.TypeString, Default: "",
		Description: "Display mask, # per digit and any other characters literally (e.g. #.####.####.####-#); empty writes the bare digits.", Example: "#.####.####.####-#"},
}}

// Generate returns the kassenzeichen.generate transform.
func Generate() sdk.Component {
	return sdk.Component{
		Name: "generate", Kind: sdk.KindTransform,
		Summary:     "Assigns a Kassenzeichen from segments, a persistent running number and a check digit.",
		Description: "Numbers are reserved per batch from the persistent counter kassenzeichen.<name> (gap-free across committed runs, re-used when a run fails).",
		Spec:        generateSpec,
		Examples: []string{`type: kassenzeichen.generate
pool: abo
segments:
  - {type: const, value: "8"}
  - {type: einnahmeart, field: abo_typ, map: {oper: "8057", konzert: "8058"}}
  - {type: sequence, width: 8}
sequence: {from: 1, to: 99999999, warn_below: 1000}
check_digit: {method: luhn}
mask: "#.####.####.####-#"
`},
		NewTransform: newGenerate,
		OutputSchema: func(c sdk.Config, in *record.Schema, _ func(string) record.Kind) (*record.Schema, error) {
			if in == nil {
				return nil, nil
			}
			return withFields(in, c.String("target"), c.String("plain_target"))
		},
	}
}

func withFields(in *record.Schema, names ...string) (*record.Schema, error) {
	fs := in.Fields()
	for _, n := range names {
		if n != "" && in.Index(n) < 0 {
			fs = append(fs, record.Field{Name: n, Kind: record.KindString})
		}
	}
	return record.NewSchema(fs...)
}

type generate struct {
	cfg     GenerateConfig
	env     sdk.Env
	method  checkdigit.Method
	warned  bool
	schemas map[*record.Schema]*record.Schema
}

func newGenerate(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var cfg GenerateConfig
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	return build(cfg, env)
}

func build(cfg GenerateConfig, env sdk.Env) (*generate, error) {
	var es sdk.FieldErrors
	if cfg.Target == "" {
		cfg.Target = "kassenzeichen"
	}
	if cfg.Pool == "" {
		es.Add("pool", "required")
	}
	m, err := checkdigit.Parse(cfg.CheckDigit)
	if err != nil {
		es.Add("check_digit", "%v", err)
	}
	seqs, total, known := 0, 0, true
	for i, s := range cfg.Segments {
		p := fmt.Sprintf("segments[%d]", i)
		switch s.Type {
		case "const":
			if !digitsOnly(s.Value) {
				es.Add(p+".value", "must be digits, got %q", s.Value)
			}
			total += len(s.Value)
		case "year":
			if s.Digits == 0 {
				cfg.Segments[i].Digits = 4
			}
			if cfg.Segments[i].Digits != 2 && cfg.Segments[i].Digits != 4 {
				es.Add(p+".digits", "must be 2 or 4")
			}
			total += cfg.Segments[i].Digits
		case "einnahmeart":
			if s.Field == "" {
				es.Add(p+".field", "required for einnahmeart")
			}
			if len(s.Map) == 0 {
				es.Add(p+".map", "required for einnahmeart")
			}
			w := -1
			if s.Default != "" {
				if !digitsOnly(s.Default) {
					es.Add(p+".default", "must be digits, got %q", s.Default)
				}
				w = len(s.Default)
			}
			for k, v := range s.Map {
				if !digitsOnly(v) {
					es.Add(p+".map."+k, "must be digits, got %q", v)
				}
				if w >= 0 && len(v) != w {
					known = false
				}
				w = len(v)
			}
			total += max(w, 0)
		case "field":
			if s.Field == "" {
				es.Add(p+".field", "required for field")
			}
			if s.Width <= 0 {
				known = false
			}
			total += s.Width
		case "sequence":
			seqs++
			if s.Width <= 0 {
				es.Add(p+".width", "required for sequence (digits of the running number)")
			} else if l := len(strconv.FormatInt(cfg.Sequence.To, 10)); l > s.Width {
				es.Add(p+".width", "%d digits cannot hold sequence.to %d", s.Width, cfg.Sequence.To)
			}
			total += s.Width
		default:
			es.Add(p+".type", "unknown segment type %q (want const, year, einnahmeart, field or sequence)", s.Type)
		}
	}
	if len(cfg.Segments) == 0 {
		es.Add("segments", "at least one segment is required")
	}
	if seqs > 1 {
		es.Add("segments", "at most one sequence segment")
	}
	if seqs == 1 && (cfg.Sequence.To <= 0 || cfg.Sequence.To < cfg.Sequence.From) {
		es.Add("sequence.to", "must be at least sequence.from (%d)", cfg.Sequence.From)
	}
	if cfg.Mask != "" && known && err == nil {
		if n := strings.Count(cfg.Mask, "#"); n != total+m.Len() {
			es.Add("mask", "has %d # but the Kassenzeichen has %d digits", n, total+m.Len())
		}
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return &generate{cfg: cfg, env: env, method: m, schemas: map[*record.Schema]*record.Schema{}}, nil
}

func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ApplyMask fills the # of mask with digits; it fails when the counts differ.
func ApplyMask(mask, digits string) (string, error) {
	if mask == "" {
		return digits, nil
	}
	if n := strings.Count(mask, "#"); n != len(digits) {
		return "", fmt.Errorf("mask %q has %d # for %d digits", mask, n, len(digits))
	}
	var b strings.Builder
	j := 0
	for _, r := range mask {
		if r == '#' {
			b.WriteByte(digits[j])
			j++
		} else {
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func (g *generate) outSchema(in *record.Schema) *record.Schema {
	if s, ok := g.schemas[in]; ok {
		return s
	}
	s, err := withFields(in, g.cfg.Target, g.cfg.PlainTarget)
	if err != nil {
		s = in
	}
	g.schemas[in] = s
	return s
}

// Process implements sdk.Transform. It builds every payload first, reserves one block of running
// numbers for the records that need one, then fills them in.
func (g *generate) Process(ctx context.Context, in, out *record.Batch) error {
	type pending struct {
		rec   record.Record
		parts []string
		seq   int  // index of the sequence part, -1 none
		keep  bool // already has a Kassenzeichen: passed on unchanged
	}
	// Records leave in input order, also those that keep their Kassenzeichen.
	var todo []pending
	for _, r := range in.Records {
		os := g.outSchema(r.Schema)
		nr := r
		if os != r.Schema {
			nr = record.New(os, r.Origin)
			copy(nr.Values, r.Values)
		}
		if !g.cfg.Overwrite {
			if v := nr.Value(g.cfg.Target); !v.IsNull() && strings.TrimSpace(v.String()) != "" {
				todo = append(todo, pending{rec: nr, keep: true})
				continue
			}
		}
		parts, seq, field, reason := g.segments(nr)
		if reason != "" {
			out.Reject(r, g.env.Step, field, reason)
			continue
		}
		todo = append(todo, pending{rec: nr, parts: parts, seq: seq})
	}
	need := 0
	for _, p := range todo {
		if !p.keep && p.seq >= 0 {
			need++
		}
	}
	var next int64
	if need > 0 {
		first, err := g.env.State.Reserve(ctx, "kassenzeichen."+g.cfg.Pool, int64(need))
		if err != nil {
			return fmt.Errorf("reserving %d numbers from kassenzeichen.%s: %w", need, g.cfg.Pool, err)
		}
		next = g.cfg.Sequence.From + first - 1
		last := next + int64(need) - 1
		if last > g.cfg.Sequence.To {
			return fmt.Errorf("kassenzeichen.%s: number range %d..%d exhausted (needed up to %d); extend sequence.to or start a new pool",
				g.cfg.Pool, g.cfg.Sequence.From, g.cfg.Sequence.To, last)
		}
		if left := g.cfg.Sequence.To - last; left < g.cfg.Sequence.WarnBelow && !g.warned {
			g.warned = true
			g.env.Logger.Warn("kassenzeichen number range running out", "pool", g.cfg.Pool, "remaining", left, "to", g.cfg.Sequence.To, "warn_below", g.cfg.Sequence.WarnBelow)
		}
	}
	for _, p := range todo {
		if p.keep {
			out.Records = append(out.Records, p.rec)
			continue
		}
		if p.seq >= 0 {
			w := g.cfg.Segments[p.seq].Width
			p.parts[p.seq] = fmt.Sprintf("%0*d", w, next)
			next++
		}
		payload := strings.Join(p.parts, "")
		check, err := g.method.Compute(payload)
		if err != nil {
			out.Reject(p.rec, g.env.Step, g.cfg.Target, fmt.Sprintf("payload %s: %v", payload, err))
			continue
		}
		full := payload + check
		masked, err := ApplyMask(g.cfg.Mask, full)
		if err != nil {
			out.Reject(p.rec, g.env.Step, g.cfg.Target, err.Error())
			continue
		}
		p.rec.Set(g.cfg.Target, record.String(masked))
		if g.cfg.PlainTarget != "" {
			p.rec.Set(g.cfg.PlainTarget, record.String(full))
		}
		out.Records = append(out.Records, p.rec)
	}
	return nil
}

// segments returns the payload parts of r (the sequence part left empty).
func (g *generate) segments(r record.Record) ([]string, int, string, string) {
	parts := make([]string, len(g.cfg.Segments))
	seq := -1
	for i, s := range g.cfg.Segments {
		switch s.Type {
		case "const":
			parts[i] = s.Value
		case "year":
			y := g.env.Now.Year()
			if s.Field != "" {
				v, ok := r.Get(s.Field)
				if !ok || v.IsNull() {
					return nil, 0, s.Field, "fiscal year: field is missing or empty"
				}
				switch v.Kind() {
				case record.KindDate, record.KindDateTime:
					y, _, _ = v.Date().YMD()
				case record.KindInt:
					y = int(v.Int())
				default:
					d, err := record.ParseDate(v.String(), "YYYY-MM-DD")
					if err != nil {
						n, err2 := strconv.Atoi(strings.TrimSpace(v.String()))
						if err2 != nil {
							return nil, 0, s.Field, fmt.Sprintf("fiscal year: %q is neither a date nor a year", v.String())
						}
						y = n
					} else {
						y, _, _ = d.YMD()
					}
				}
			}
			if y < 0 || y > 9999 || s.Digits == 4 && y < 1000 {
				return nil, 0, s.Field, fmt.Sprintf("fiscal year %d is not a four-digit year", y)
			}
			parts[i] = fmt.Sprintf("%04d", y)[4-s.Digits:]
		case "einnahmeart":
			key := strings.TrimSpace(r.Value(s.Field).String())
			v, ok := s.Map[key]
			if !ok {
				if s.Default == "" {
					return nil, 0, s.Field, fmt.Sprintf("no Einnahmeart for %q in the map", key)
				}
				v = s.Default
			}
			parts[i] = v
		case "field":
			v := strings.TrimSpace(r.Value(s.Field).String())
			if v == "" {
				return nil, 0, s.Field, "empty, but part of the Kassenzeichen"
			}
			if !digitsOnly(v) {
				return nil, 0, s.Field, fmt.Sprintf("%q is not a number", v)
			}
			if s.Width > 0 {
				if len(v) > s.Width {
					return nil, 0, s.Field, fmt.Sprintf("%q has more than %d digits", v, s.Width)
				}
				v = strings.Repeat("0", s.Width-len(v)) + v
			}
			parts[i] = v
		case "sequence":
			seq = i
		}
	}
	return parts, seq, "", ""
}

// Close implements sdk.Transform.
func (g *generate) Close() error { return nil }
