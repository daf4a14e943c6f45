package tixngo

import (
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// S-360's injection options (ticketing-apis.md §2, §7.1) that change what
// is sent: sub-calls per batch (iteration_size), tickets to skip
// (skip_ids), barcode prefix/suffix and mandatory holder fields.

// holderFields maps S-360's mandatory holder field names to ticket JSON
// paths. FIRSTNAME and LASTNAME are the documented spectator fields; the
// other leaf names are GUESSED (not in the public variables table), so
// they must be mapped explicitly with fields: before they can be required.
var holderFields = map[string]string{
	"FIRSTNAME":    "spectatorDetails.firstName",
	"LASTNAME":     "spectatorDetails.lastName",
	"BIRTHDATE":    "spectatorDetails.birthDate",
	"ID_NUMBER":    "spectatorDetails.idNumber",
	"COUNTRY_CODE": "spectatorDetails.countryCode",
	"BIRTH_REGION": "spectatorDetails.birthRegion",
	"BIRTH_PLACE":  "spectatorDetails.birthPlace",
}

var holderNames = []string{"FIRSTNAME", "LASTNAME", "BIRTHDATE", "ID_NUMBER", "COUNTRY_CODE", "BIRTH_REGION", "BIRTH_PLACE"}

func injectOptionFields() []sdk.Field {
	return []sdk.Field{
		{Name: "iteration_size", Type: sdk.TypeInt, Default: 0, Min: sdk.Int64(0), Max: sdk.Int64(10000),
			Description: "Splits each batch of batch_size tickets into calls of at most this many, sent one after the other (S-360's ticketIterationSize); 0 sends each batch in one call.", Example: 250},
		{Name: "skip_ids", Type: sdk.TypeList, Elem: sdk.TypeString,
			Description: "Tickets that are never sent and count as handled (S-360's skip list, to end a run's error state for tickets TIXnGO keeps refusing): id:<ticket id> names a ticket id, a bare value a tax number (purchaseDetails.taxNumber); a comma-separated text is split.", Example: []any{"id:T-1001", "4711"}},
		{Name: "barcode_prefix", Type: sdk.TypeString,
			Description: "Text put before every barcode (security.barcode) that is sent; the 512-character limit applies to the result.", Example: "TH-"},
		{Name: "barcode_suffix", Type: sdk.TypeString,
			Description: "Text put after every barcode (security.barcode) that is sent.", Example: "-2025"},
		{Name: "mandatory_holder_fields", Type: sdk.TypeList, Elem: sdk.TypeString,
			Description: "Holder data a ticket must carry to be sent (" + strings.Join(holderNames, ", ") + "); a ticket without one is rejected, not sent, and tried again next run. FIRSTNAME and LASTNAME are spectatorDetails.firstName/lastName; the others need their spectatorDetails path mapped in fields (birthDate, idNumber, countryCode, birthRegion, birthPlace: leaf names not published).", Example: []any{"FIRSTNAME", "LASTNAME"}},
	}
}

// skipSet is the parsed skip_ids.
type skipSet struct {
	ids, taxes map[string]bool
}

func parseIDList(list []string) skipSet {
	s := skipSet{ids: map[string]bool{}, taxes: map[string]bool{}}
	for _, e := range list {
		for _, v := range strings.Split(e, ",") {
			v = strings.TrimSpace(v)
			if id, ok := strings.CutPrefix(v, "id:"); ok {
				if id = strings.TrimSpace(id); id != "" {
					s.ids[id] = true
				}
			} else if v != "" {
				s.taxes[v] = true
			}
		}
	}
	return s
}

func (s skipSet) empty() bool { return len(s.ids) == 0 && len(s.taxes) == 0 }

// injectOptions are the checked options.
type injectOptions struct {
	iteration int
	skip      skipSet
	mandatory [][2]string // S-360 name, JSON path
}

func (c InjectConfig) options(m *mapping) (injectOptions, sdk.FieldErrors) {
	var es sdk.FieldErrors
	o := injectOptions{iteration: c.IterationSize, skip: parseIDList(c.SkipIDs)}
	if c.IterationSize < 0 {
		es.Add("iteration_size", "must be 0 or more, got %d", c.IterationSize)
	}
	if !o.skip.empty() && len(o.skip.taxes) > 0 && m != nil && !m.mapped("purchaseDetails.taxNumber") {
		es.Add("skip_ids", "tax numbers (values without id:) need purchaseDetails.taxNumber mapped to a record field")
	}
	for i, n := range c.MandatoryHolderFields {
		name := strings.ToUpper(strings.TrimSpace(n))
		path, ok := holderFields[name]
		if !ok {
			es.Add(fmt.Sprintf("mandatory_holder_fields[%d]", i), "unknown holder field %q (want one of %s)", n, strings.Join(holderNames, ", "))
			continue
		}
		if m != nil && !m.mapped(path) {
			es.Add(fmt.Sprintf("mandatory_holder_fields[%d]", i), "%s needs %s mapped to a record field in fields", name, path)
			continue
		}
		o.mandatory = append(o.mandatory, [2]string{name, path})
	}
	return o, es
}

// leafOf returns the leaf of a mapped JSON path (nil when not mapped).
func (m *mapping) leafOf(path string) *node {
	for _, l := range m.leaves {
		if l.path == path {
			return l
		}
	}
	return nil
}

// text returns the record's value of a mapped path as text ("" when null).
func (m *mapping) text(r record.Record, path string) string {
	l := m.leafOf(path)
	if l == nil {
		return ""
	}
	m.resolve(r.Schema)
	if i := m.leafIndex[l.leaf]; i >= 0 && i < len(r.Values) && !r.Values[i].IsNull() {
		return strings.TrimSpace(r.Values[i].String())
	}
	return ""
}

// screen applies skip_ids and mandatory_holder_fields to a record before it
// is encoded: skip reports a ticket that is not sent and counts as handled;
// a non-nil itemError rejects it.
func (o *injectOptions) screen(m *mapping, r record.Record) (skip bool, ierr *itemError) {
	if !o.skip.empty() {
		if o.skip.ids[m.text(r, m.idPath)] {
			return true, nil
		}
		if len(o.skip.taxes) > 0 {
			if t := m.text(r, "purchaseDetails.taxNumber"); t != "" && o.skip.taxes[t] {
				return true, nil
			}
		}
	}
	for _, h := range o.mandatory {
		l := m.leafOf(h[1])
		m.resolve(r.Schema)
		if !m.present(r, l) {
			f := l.field
			if f == "" {
				f = h[1]
			}
			return false, &itemError{field: f, reason: fmt.Sprintf("mandatory holder field %s (%s) is missing; the ticket is not sent", h[0], h[1])}
		}
	}
	return false, nil
}
