// Package checkdigit computes and validates check digits of reference numbers such as the
// municipal Kassenzeichen (see shared/domain/fibu-kassenzeichen.md §3.3).
//
// No check-digit scheme is standardised for Kassenzeichen, so the methods are pluggable:
//
//   - none: no check digit; Compute returns "" and Validate accepts any digit string.
//   - luhn: modulo 10 with weights 2-1 from the right and cross sum of the products
//     (Bundesbank method 00). "0701172" gives 9.
//   - mod11: modulo 11 with weights 2,3,4,5,6,7,2,3,… from the right; check = 11 − (sum mod 11);
//     the results 10 and 11 are mapped (default both to "0"; "X" or "reject" are common
//     variants). "01015500001" gives 0.
//   - weighted: a custom weight table with modulus, direction, cyclic repetition, optional
//     cross sum of the products and complement or plain remainder.
//
// Methods work on the bare digit payload; use [Strip] to remove display separators first. The
// check digit is always the last character of the validated string. All methods are safe for
// concurrent use and never panic on any input.
package checkdigit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, wrapped with context by the methods.
var (
	// ErrEmpty is returned for an empty payload.
	ErrEmpty = errors.New("empty number")
	// ErrNotDigits is returned when the payload holds a character other than 0-9.
	ErrNotDigits = errors.New("not a digit")
	// ErrMismatch is returned by Validate when the check digit is wrong (see MismatchError).
	ErrMismatch = errors.New("check digit mismatch")
	// ErrNoCheckDigit is returned when the remainder is mapped to "reject": the payload has no
	// valid check digit under the method and must not be used as a number.
	ErrNoCheckDigit = errors.New("payload has no valid check digit")
	// ErrConfig is returned by Parse and the constructors for an invalid method configuration.
	ErrConfig = errors.New("invalid check digit method")
)

// Reject is the mapping value that makes a remainder unusable (see MethodConfig.Map10).
const Reject = "reject"

// MaxLen is the longest payload accepted (a generous bound; real Kassenzeichen have ≤ 17
// digits). Longer payloads are rejected so that sums cannot overflow.
const MaxLen = 1024

// Method computes and validates one check-digit scheme.
type Method interface {
	// Compute returns the check character(s) for the digit payload (without check digit).
	// It returns "" for the method none. Errors wrap ErrEmpty, ErrNotDigits or ErrNoCheckDigit.
	Compute(digits string) (string, error)
	// Validate checks a number whose last character is the check digit (for none: the whole
	// string must be digits). A wrong check digit gives a *MismatchError (wrapping ErrMismatch).
	Validate(withCheck string) error
	// Name returns a short, stable description of the method, e.g. "luhn" or
	// "mod11(2,3,4,5,6,7;10=0;11=0)".
	Name() string
	// Len is the number of check characters the method appends (0 for none, else 1).
	Len() int
}

// MismatchError reports a wrong check digit.
type MismatchError struct {
	// Method is the Name() of the method.
	Method string
	// Want is the correct check character, Got the one found.
	Want, Got string
}

// Error implements error.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("check digit mismatch (%s): got %q, want %q", e.Method, e.Got, e.Want)
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// MethodConfig is the declarative form of a method, as written in pipeline YAML:
//
//	check_digit: {method: mod11, map10: "X"}
//	check_digit: {method: weighted, weights: [1, 2], direction: left, modulus: 10, digit_sum: true}
type MethodConfig struct {
	// Method is one of none, luhn, mod11, weighted. Default: none (empty means none).
	Method string `yaml:"method"`
	// Weights for mod11 (default 2,3,4,5,6,7) and weighted (required). Each must be 0..99.
	Weights []int `yaml:"weights"`
	// Direction in which the weights are applied: right (from the last payload digit, default)
	// or left (from the first).
	Direction string `yaml:"direction"`
	// Cyclic repeats the weights when the payload is longer than the table. Default true; when
	// false, a payload longer than the table is an error.
	Cyclic *bool `yaml:"cyclic"`
	// Modulus for weighted: 2..11. Default 10 for weighted, always 11 for mod11.
	Modulus int `yaml:"modulus"`
	// DigitSum adds the cross sum of each product instead of the product (weighted only; luhn
	// always does). Default false.
	DigitSum bool `yaml:"digit_sum"`
	// Remainder uses (sum mod modulus) as the result instead of the complement
	// modulus − (sum mod modulus) (weighted only). Default false (complement).
	Remainder bool `yaml:"remainder"`
	// Map10 is the check character for a result of 10: a single digit, a letter such as "X",
	// or "reject". Default "0".
	Map10 string `yaml:"map10"`
	// Map11 is the check character for a result of 11 (complement of remainder 0 under modulus
	// 11): a single digit, a letter, or "reject". Default "0".
	Map11 string `yaml:"map11"`
}

// Parse builds a Method from its configuration. Errors wrap ErrConfig and name the field.
func Parse(cfg MethodConfig) (Method, error) {
	switch strings.ToLower(strings.TrimSpace(cfg.Method)) {
	case "", "none":
		return None(), nil
	case "luhn", "mod10":
		return Luhn(), nil
	case "mod11":
		w := cfg.Weights
		if len(w) == 0 {
			w = []int{2, 3, 4, 5, 6, 7}
		}
		return newWeighted("mod11", weightedParams{
			weights: w, fromLeft: cfg.Direction == "left", cyclic: boolOr(cfg.Cyclic, true),
			modulus: 11, map10: cfg.Map10, map11: cfg.Map11, direction: cfg.Direction,
		})
	case "weighted":
		if len(cfg.Weights) == 0 {
			return nil, fmt.Errorf("%w: weights: required for method weighted", ErrConfig)
		}
		m := cfg.Modulus
		if m == 0 {
			m = 10
		}
		return newWeighted("weighted", weightedParams{
			weights: cfg.Weights, fromLeft: cfg.Direction == "left", cyclic: boolOr(cfg.Cyclic, true),
			modulus: m, digitSum: cfg.DigitSum, remainder: cfg.Remainder,
			map10: cfg.Map10, map11: cfg.Map11, direction: cfg.Direction,
		})
	default:
		return nil, fmt.Errorf("%w: method: unknown %q (want none, luhn, mod11 or weighted)", ErrConfig, cfg.Method)
	}
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Methods lists the method names Parse accepts.
func Methods() []string { return []string{"none", "luhn", "mod11", "weighted"} }

// Strip removes the display separators ' ', '.', '-', '/' and '_' from s, e.g. a masked
// Kassenzeichen "8.8057.0000.0001-3" becomes "88057000000013".
func Strip(s string) string {
	if strings.IndexAny(s, " .-/_") < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '.', '-', '/', '_':
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// checkDigits verifies that s is a non-empty string of ASCII digits within MaxLen.
func checkDigits(s string) error {
	if s == "" {
		return ErrEmpty
	}
	if len(s) > MaxLen {
		return fmt.Errorf("number longer than %d characters", MaxLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("position %d: %w: %q", i+1, ErrNotDigits, s[i])
		}
	}
	return nil
}

// None returns the method without check digit.
func None() Method { return noneMethod{} }

type noneMethod struct{}

func (noneMethod) Name() string { return "none" }
func (noneMethod) Len() int     { return 0 }
func (noneMethod) Compute(d string) (string, error) {
	if err := checkDigits(d); err != nil {
		return "", err
	}
	return "", nil
}
func (noneMethod) Validate(s string) error { return checkDigits(s) }

// Luhn returns modulo 10 with weights 2,1 from the right and cross sums of the products
// (Bundesbank method 00; "0701172" → "9").
func Luhn() Method {
	m, _ := newWeighted("luhn", weightedParams{weights: []int{2, 1}, cyclic: true, modulus: 10, digitSum: true})
	return m
}

// Mod11 returns modulo 11 with the given weights applied cyclically from the right (nil means
// 2,3,4,5,6,7); map10 and map11 are the check characters for the results 10 and 11 ("" means
// "0"; "reject" makes such payloads invalid). It fails for weights outside 0..99 or a mapping
// that is neither one character nor "reject".
func Mod11(weights []int, map10, map11 string) (Method, error) {
	return Parse(MethodConfig{Method: "mod11", Weights: weights, Map10: map10, Map11: map11})
}

type weightedParams struct {
	weights             []int
	fromLeft, cyclic    bool
	modulus             int
	digitSum, remainder bool
	map10, map11        string
	direction           string
}

type weighted struct {
	p    weightedParams
	name string
}

func newWeighted(kind string, p weightedParams) (Method, error) {
	switch p.direction {
	case "", "right", "left":
	default:
		return nil, fmt.Errorf("%w: direction: %q (want right or left)", ErrConfig, p.direction)
	}
	if p.modulus < 2 || p.modulus > 11 {
		return nil, fmt.Errorf("%w: modulus: %d (want 2..11)", ErrConfig, p.modulus)
	}
	for i, w := range p.weights {
		if w < 0 || w > 99 {
			return nil, fmt.Errorf("%w: weights[%d]: %d (want 0..99)", ErrConfig, i, w)
		}
	}
	for _, mp := range []*string{&p.map10, &p.map11} {
		if *mp == "" {
			*mp = "0"
		}
		if *mp != Reject && len(*mp) != 1 {
			return nil, fmt.Errorf("%w: map10/map11: %q (want one character or %q)", ErrConfig, *mp, Reject)
		}
	}
	p.weights = append([]int(nil), p.weights...)
	name := kind
	if kind != "luhn" {
		ws := make([]string, len(p.weights))
		for i, w := range p.weights {
			ws[i] = strconv.Itoa(w)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s(%s", kind, strings.Join(ws, ","))
		if kind == "weighted" {
			fmt.Fprintf(&b, ";mod=%d", p.modulus)
			if p.digitSum {
				b.WriteString(";digitsum")
			}
			if p.remainder {
				b.WriteString(";remainder")
			}
		}
		if p.fromLeft {
			b.WriteString(";left")
		}
		if !p.cyclic {
			b.WriteString(";noncyclic")
		}
		if p.modulus >= 10 {
			fmt.Fprintf(&b, ";10=%s", p.map10)
		}
		if p.modulus == 11 {
			fmt.Fprintf(&b, ";11=%s", p.map11)
		}
		b.WriteString(")")
		name = b.String()
	}
	return &weighted{p: p, name: name}, nil
}

func (w *weighted) Name() string { return w.name }
func (w *weighted) Len() int     { return 1 }

func (w *weighted) Compute(d string) (string, error) {
	if err := checkDigits(d); err != nil {
		return "", err
	}
	n := len(d)
	nw := len(w.p.weights)
	if !w.p.cyclic && n > nw {
		return "", fmt.Errorf("%s: payload has %d digits, weight table only %d", w.name, n, nw)
	}
	sum := 0
	for i := 0; i < n; i++ {
		var digit int
		if w.p.fromLeft {
			digit = int(d[i] - '0')
		} else {
			digit = int(d[n-1-i] - '0')
		}
		prod := digit * w.p.weights[i%nw]
		if w.p.digitSum {
			prod = crossSum(prod)
		}
		sum += prod
	}
	rem := sum % w.p.modulus
	res := rem
	if !w.p.remainder {
		res = w.p.modulus - rem
	}
	var out string
	switch {
	case res < 10:
		return digitStr[res], nil
	case res == 10:
		if w.p.modulus == 10 {
			return "0", nil // complement of remainder 0 under modulus 10
		}
		out = w.p.map10
	default: // 11
		out = w.p.map11
	}
	if out == Reject {
		return "", fmt.Errorf("%s: %w (result %d)", w.name, ErrNoCheckDigit, res)
	}
	return out, nil
}

var digitStr = [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

func crossSum(n int) int {
	s := 0
	for n > 0 {
		s += n % 10
		n /= 10
	}
	return s
}

func (w *weighted) Validate(s string) error {
	if len(s) < 2 {
		if s == "" {
			return ErrEmpty
		}
		return fmt.Errorf("%s: number %q too short for a check digit", w.name, s)
	}
	payload, got := s[:len(s)-1], s[len(s)-1:]
	want, err := w.Compute(payload)
	if err != nil {
		return err
	}
	if !strings.EqualFold(got, want) {
		return &MismatchError{Method: w.name, Want: want, Got: got}
	}
	return nil
}
