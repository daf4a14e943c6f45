package sepa

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		comp sdk.Component
		yaml string
		want []string // "path: message prefix"
	}{
		{"pain008 bad creditor", Pain008Component(), `
creditor:
  name: Stadttheater
  iban: DE89370400440532013001
  bic: COBAXXFF
  creditor_id: DE26ZZZ00000000000
`, []string{"creditor.iban: invalid iban: check digits do not match", "creditor.bic: invalid bic: unknown country code XX", "creditor.creditor_id: invalid creditor id"}},
		{"pain008 options", Pain008Component(), `
version: pain.008.001.09
local_instrument: COR1
sequence_type: RPRE
msg_id_prefix: "/ABC"
charset_policy: drop
fields:
  betrag: amount
creditor:
  name: "Theater_Kasse"
  iban: DE89370400440532013000
  creditor_id: DE98ZZZ09999999999
`, []string{"version: must be", "local_instrument: must be CORE or B2B", "sequence_type: must be", "msg_id_prefix: must use only", "charset_policy: must be transliterate or reject", "fields.betrag: unknown field mapping key"}},
		{"pain008 name rejected by policy", Pain008Component(), `
charset_policy: reject
creditor:
  name: "Theater_Kasse"
  iban: DE89370400440532013000
  creditor_id: DE98ZZZ09999999999
`, []string{"creditor.name: invalid sepa text"}},
		{"pain008 legacy bic", Pain008Component(), `
version: pain.008.001.02
creditor:
  name: Theater
  iban: DE89370400440532013000
  bic: 1NGDDEFF
  creditor_id: DE98ZZZ09999999999
`, []string{"creditor.bic: not allowed by the pain.008.001.02 BIC pattern"}},
		{"pain001 bad debtor", Pain001Component(), `
initiating_party: "` + strings.Repeat("x", 71) + `"
debtor:
  name: ""
  iban: TR330006100519786457841326
`, []string{"initiating_party: 71 characters", "debtor.name: is required", "debtor.iban: country TR is not in the SEPA scheme"}},
		{"pain008 non-EEA creditor without address", Pain008Component(), `
creditor:
  name: Theater Basel
  iban: CH9300762011623852957
  creditor_id: DE98ZZZ09999999999
`, []string{"creditor.address: is required: the account is in Switzerland"}},
		{"pain008 own address parts", Pain008Component(), `
creditor:
  name: Theater
  iban: DE89370400440532013000
  creditor_id: DE98ZZZ09999999999
  address:
    street: Theaterplatz
    country: DE
`, []string{"creditor.address.town: is missing: a postal address needs town and country"}},
		{"pain001 own address country", Pain001Component(), `
debtor:
  name: Theater
  iban: DE89370400440532013000
  address:
    town: Lörrach
    country: Deutschland
`, []string{"debtor.address.country: \"DEUTSCHLAND\" is not an ISO 3166 two-letter country code"}},
		{"pain008 legacy non-EEA creditor", Pain008Component(), `
version: pain.008.001.02
creditor:
  name: Theater Basel
  iban: CH9300762011623852957
  creditor_id: DE98ZZZ09999999999
  address:
    town: Basel
    country: CH
`, []string{"creditor.iban: the account is in Switzerland, a SEPA country outside the EEA, where the address is mandatory; pain.008.001.02 can carry it only unstructured"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := sdk.ParseConfig(tc.comp.Spec, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tc.comp.NewEncoder(context.Background(), cfg, sdk.Env{State: &sdk.MemState{}})
			fes, ok := sdk.AsFieldErrors(err)
			if !ok {
				t.Fatalf("want field errors, got %v", err)
			}
			var got []string
			for _, fe := range fes {
				got = append(got, fe.Path+": "+fe.Message)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("missing %q in %q", w, got)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors, want %d: %q", len(got), len(tc.want), got)
			}
		})
	}
}

// TestSpecs checks the conventions of every component spec: snake_case
// names, descriptions that are sentences, defaults of the right type, and
// that every spec key is a key of the config struct.
func TestSpecs(t *testing.T) {
	name := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(prefix string, fs []sdk.Field)
	walk = func(prefix string, fs []sdk.Field) {
		for _, f := range fs {
			p := prefix + f.Name
			if !name.MatchString(f.Name) {
				t.Errorf("%s: name not snake_case", p)
			}
			if !strings.HasSuffix(f.Description, ".") || len(f.Description) < 20 || strings.ToUpper(f.Description[:1]) != f.Description[:1] {
				t.Errorf("%s: description %q is not a full sentence", p, f.Description)
			}
			if f.Type == sdk.TypeEnum && f.Default != nil && !slices.Contains(f.Enum, f.Default.(string)) {
				t.Errorf("%s: default %v not in enum", p, f.Default)
			}
			if f.Pattern != "" && f.Default != nil {
				if !regexp.MustCompile(`^(?:` + f.Pattern + `)$`).MatchString(f.Default.(string)) {
					t.Errorf("%s: default %q does not match its pattern", p, f.Default)
				}
			}
			walk(p+".", f.Children)
		}
	}
	p := Plugin()
	if len(p.Components) != 3 {
		t.Fatalf("want 3 components, got %d", len(p.Components))
	}
	for _, c := range p.Components {
		if !name.MatchString(c.Name) || c.Summary == "" || c.Description == "" {
			t.Errorf("component %q lacks name/summary/description", c.Name)
		}
		walk(c.Name+".", c.Spec.Fields)
		// Defaults alone (plus required fields) must decode.
		cfg := sdk.ApplyDefaults(c.Spec, nil)
		switch c.Name {
		case "pain008":
			var pc Pain008Config
			if err := cfg.Decode(&pc); err != nil || pc.Version != Pain008V08 || !pc.BatchBooking || pc.CharsetPolicy != "transliterate" || pc.LeadDays != 2 || pc.MinLeadDays != 1 {
				t.Errorf("pain008 defaults: %+v %v", pc, err)
			}
		case "pain001":
			var pc Pain001Config
			if err := cfg.Decode(&pc); err != nil || pc.Version != Pain001V09 || pc.LeadDays != 0 {
				t.Errorf("pain001 defaults: %+v %v", pc, err)
			}
		case "camt":
			var cc CamtConfig
			if err := cfg.Decode(&cc); err != nil || !cc.CheckBalance || cc.RemittanceSeparator != " " {
				t.Errorf("camt defaults: %+v %v", cc, err)
			}
		}
	}
}
