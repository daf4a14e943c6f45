package kassenzeichen

import (
	"context"
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/checkdigit"
)

// ValidateConfig is the configuration of kassenzeichen.validate.
type ValidateConfig struct {
	Field      string                  `yaml:"field"`
	CheckDigit checkdigit.MethodConfig `yaml:"check_digit"`
	Mask       string                  `yaml:"mask"`
	MinLength  int                     `yaml:"min_length"`
	MaxLength  int                     `yaml:"max_length"`
}

var validateSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "field", Type: sdk.TypeString, Default: "kassenzeichen", Description: "Record field holding the Kassenzeichen.", Example: "kassenzeichen"},
	{Name: "check_digit", Type: sdk.TypeObject, Children: CheckDigitFields, Description: "Check-digit method; the last digit is the check digit.", Example: map[string]any{"method": "mod11"}},
	{Name: "mask", Type: sdk.TypeString, Default: "", Description: "Display mask the value must match exactly (# = digit; the last # also takes a check letter such as X when a check-digit method is set); empty accepts the separators space . - / _ anywhere.", Example: "#.####.####.####-#"},
	{Name: "min_length", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Description: "Minimum number of digits (separators not counted); 0 means no minimum.", Example: 8},
	{Name: "max_length", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Description: "Maximum number of digits; 0 means no maximum.", Example: 17},
}}

// Validate returns the kassenzeichen.validate transform.
func Validate() sdk.Component {
	return sdk.Component{
		Name: "validate", Kind: sdk.KindTransform,
		Summary:      "Rejects records whose Kassenzeichen has a wrong check digit, mask or length.",
		Spec:         validateSpec,
		Examples:     []string{"type: kassenzeichen.validate\nfield: kassenzeichen\ncheck_digit: {method: luhn}\n"},
		NewTransform: newValidate,
	}
}

type validate struct {
	cfg    ValidateConfig
	method checkdigit.Method
	env    sdk.Env
}

func newValidate(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Transform, error) {
	var cfg ValidateConfig
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.Field == "" {
		cfg.Field = "kassenzeichen"
	}
	m, err := checkdigit.Parse(cfg.CheckDigit)
	if err != nil {
		return nil, sdk.FieldError{Path: "check_digit", Message: err.Error()}
	}
	return &validate{cfg: cfg, method: m, env: env}, nil
}

// Check returns a reason why s is not a valid Kassenzeichen, or "".
func (v *validate) Check(s string) string {
	if v.cfg.Mask != "" {
		if len([]rune(s)) != len([]rune(v.cfg.Mask)) {
			return fmt.Sprintf("%q does not match the mask %q", s, v.cfg.Mask)
		}
		mr := []rune(v.cfg.Mask)
		last := strings.LastIndexByte(v.cfg.Mask, '#')
		last = len([]rune(v.cfg.Mask[:max(last, 0)]))
		for i, r := range []rune(s) {
			digit := r >= '0' && r <= '9'
			// The last # may hold a check letter (map10/map11: X); the method checks it.
			if i == last && mr[i] == '#' && v.method.Len() > 0 && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
				digit = true
			}
			if (mr[i] == '#') != digit || (mr[i] != '#' && mr[i] != r) {
				return fmt.Sprintf("%q does not match the mask %q at position %d", s, v.cfg.Mask, i+1)
			}
		}
	}
	d := checkdigit.Strip(s)
	if v.cfg.MinLength > 0 && len(d) < v.cfg.MinLength {
		return fmt.Sprintf("%q has %d digits, at least %d required", s, len(d), v.cfg.MinLength)
	}
	if v.cfg.MaxLength > 0 && len(d) > v.cfg.MaxLength {
		return fmt.Sprintf("%q has %d digits, at most %d allowed", s, len(d), v.cfg.MaxLength)
	}
	if err := v.method.Validate(d); err != nil {
		return err.Error()
	}
	return ""
}

// Process implements sdk.Transform.
func (v *validate) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		val, ok := r.Get(v.cfg.Field)
		s := strings.TrimSpace(val.String())
		switch {
		case !ok:
			out.Reject(r, v.env.Step, v.cfg.Field, "field is missing")
		case s == "":
			out.Reject(r, v.env.Step, v.cfg.Field, "empty")
		default:
			if reason := v.Check(s); reason != "" {
				out.Reject(r, v.env.Step, v.cfg.Field, reason)
				continue
			}
			out.Records = append(out.Records, r)
		}
	}
	return nil
}

// Close implements sdk.Transform.
func (v *validate) Close() error { return nil }

// Plugin returns the kassenzeichen plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name: "kassenzeichen", Version: "0.1.0",
		Description: "Generates and validates municipal cash references (Kassenzeichen) with check digits and masks.",
		Components:  []sdk.Component{Generate(), Validate()},
	}
}
