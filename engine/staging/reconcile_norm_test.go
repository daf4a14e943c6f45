package staging

import (
	"strings"
	"testing"
)

func TestPrecomputeNormalize(t *testing.T) {
	conds, sc, rc := precompute([]ReconcileRule{
		{Name: "a", Conditions: []string{"s.amount = r.amount::DECIMAL(18,2)", `contains(normalize(s.text), NORMALIZE( r . "Order No" ))`}},
		{Name: "b", Conditions: []string{"normalize(s.text) = normalize(r.customer)", "normalize(s.a || s.b) <> ''"}},
	})
	want := []string{
		`(s.amount = r.amount::DECIMAL(18,2)) AND (contains(s._kontor_norm_1, r._kontor_norm_2))`,
		`(s._kontor_norm_1 = r._kontor_norm_3) AND (normalize(s.a || s.b) <> '')`,
	}
	if strings.Join(conds, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conditions\n%s\nwant\n%s", strings.Join(conds, "\n"), strings.Join(want, "\n"))
	}
	if g := strings.Join(sc, "; "); g != "normalize(s.text) AS _kontor_norm_1" {
		t.Fatalf("stream columns %s", g)
	}
	if g := strings.Join(rc, "; "); g != `normalize(r."Order No") AS _kontor_norm_2; normalize(r.customer) AS _kontor_norm_3` {
		t.Fatalf("ref columns %s", g)
	}
}
