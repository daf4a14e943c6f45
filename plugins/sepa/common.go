package sepa

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/banking"
)

// ErrNoTransactions is returned by Close of a pain writer when no record
// was accepted: an empty pain file is schema-invalid and banks refuse it, so
// the run fails instead of committing one. Route empty inputs around the
// sink (e.g. a `when:` condition) if an empty month is normal.
var ErrNoTransactions = errors.New("no valid transactions: an empty SEPA file is invalid and is not written")

// maxGroups bounds the payment-information groups of one file; each group
// holds one scratch file open while writing.
const maxGroups = 256

// Charset policies.
const (
	policyTransliterate = "transliterate"
	policyReject        = "reject"
)

// commonFields are the options pain.008 and pain.001 share.
func commonFields(versions []string, defVersion string, leadDefault int64) []sdk.Field {
	return []sdk.Field{
		{Name: "version", Type: sdk.TypeEnum, Enum: versions, Default: defVersion,
			Description: "Message version to write; the first is the current DK format (GBIC_5), the second the legacy GBIC_3 format that banks accept until their own cut-over date.", Example: versions[len(versions)-1]},
		{Name: "initiating_party", Type: sdk.TypeString,
			Description: "Name of the initiating party in the group header (at most 70 characters); defaults to the account holder's name.", Example: "Stadttheater Musterstadt"},
		{Name: "msg_id_prefix", Type: sdk.TypeString, Default: "KONTOR-", Pattern: `[A-Za-z0-9+?/:().,' -]{0,12}`,
			Description: "Prefix of the message id; the id is the prefix, the run date (YYYYMMDD), '-' and a number from the pipeline's counter sepa.msgid, so every file gets a new, unique id. Use a different prefix per pipeline that submits for the same account.", Example: "ABO-"},
		{Name: "batch_booking", Type: sdk.TypeBool, Default: true,
			Description: "Request one booking per payment-information group (BtchBookg true) instead of one per transaction; set false when the statement must show each transaction for reconciliation.", Example: false},
		{Name: "charset_policy", Type: sdk.TypeEnum, Enum: []string{policyTransliterate, policyReject}, Default: policyTransliterate,
			Description: "What to do with names and remittance text outside the SEPA character set: transliterate (ä to ae, é to e, & to +, ...) or reject the record.", Example: policyReject},
		{Name: "charset", Type: sdk.TypeEnum, Enum: []string{"epc", "dk"}, Default: "epc",
			Description: "Character set for names and remittance text: epc (basic Latin, accepted by every SEPA bank) or dk (adds the umlauts, ß and & * $ % that German banks committed to accept).", Example: "dk"},
		{Name: "lead_days", Type: sdk.TypeInt, Default: leadDefault, Min: sdk.Int64(0), Max: sdk.Int64(60),
			Description: "TARGET2 business days after the run date used as the requested date when a record has none.", Example: 5},
	}
}

// commonConfig is the part of the config both writers share.
type commonConfig struct {
	Version         string `yaml:"version"`
	InitiatingParty string `yaml:"initiating_party"`
	MsgIDPrefix     string `yaml:"msg_id_prefix"`
	BatchBooking    bool   `yaml:"batch_booking"`
	CharsetPolicy   string `yaml:"charset_policy"`
	Charset         string `yaml:"charset"`
	LeadDays        int    `yaml:"lead_days"`
}

// account is the own account (creditor of a direct debit, debtor of a transfer).
type account struct {
	Name       string `yaml:"name"`
	IBAN       string `yaml:"iban"`
	BIC        string `yaml:"bic"`
	CreditorID string `yaml:"creditor_id"`
	// Address is the optional postal address, written in the party block
	// (Cdtr of pain.008, Dbtr of pain.001) by the current versions; it is
	// required when the own IBAN is in a non-EEA SEPA country and for
	// records whose counterparty IBAN is.
	Address *address `yaml:"address"`
}

func accountFields(withCI bool) []sdk.Field {
	fs := []sdk.Field{
		{Name: "name", Type: sdk.TypeString, Required: true,
			Description: "Account holder's name as registered with the bank, at most 70 characters in the SEPA character set.", Example: "Stadttheater Musterstadt"},
		{Name: "iban", Type: sdk.TypeString, Required: true,
			Description: "IBAN of the own account; spaces are removed, check digits and country length are verified.", Example: "DE89370400440532013000"},
		{Name: "bic", Type: sdk.TypeString,
			Description: "BIC of the own bank; optional (IBAN-only), then NOTPROVIDED is written where the schema requires an agent.", Example: "COBADEFFXXX"},
	}
	fs = append(fs, sdk.Field{Name: "address", Type: sdk.TypeObject, Children: addressFields(),
		Description: "Optional postal address of the account holder, written as a structured address (StrtNm, BldgNb, PstCd, TwnNm, Ctry) in the party block of pain.008.001.08 / pain.001.001.09. Required as soon as the own or a record's counterparty IBAN is in a non-EEA SEPA country (CH, GB, SM, VA, MC, AD, ...): a record needing it without it is rejected. The legacy versions can only carry unstructured addresses, which banks reject since November 2026; they write no address.",
		Example:     map[string]any{"street": "Theaterplatz", "building_number": "1", "postal_code": "79539", "town": "Lörrach", "country": "DE"}})
	if withCI {
		fs = append(fs, sdk.Field{Name: "creditor_id", Type: sdk.TypeString, Required: true,
			Description: "SEPA creditor identifier (Gläubiger-Identifikationsnummer); check digits are verified.", Example: "DE98ZZZ09999999999"})
	}
	return fs
}

// textRules applies the charset policy and length limits to names and
// remittance text.
type textRules struct {
	cs     banking.Charset
	reject bool
}

func newTextRules(c commonConfig, es *sdk.FieldErrors) textRules {
	cs, err := banking.ParseCharset(c.Charset)
	if err != nil {
		es.Add("charset", "%v", err)
	}
	var r textRules
	r.cs = cs
	switch c.CharsetPolicy {
	case policyReject:
		r.reject = true
	case policyTransliterate, "":
	default:
		es.Add("charset_policy", "must be transliterate or reject, got %q", c.CharsetPolicy)
	}
	return r
}

// text normalises white space, applies the policy and checks the length.
// The length counts after transliteration, which can lengthen a text
// (Müller → Mueller): a text that only then exceeds max is rejected with
// both lengths, never cut.
func (t textRules) text(s string, max int) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	before := -1
	if err := t.cs.Check(s); err != nil {
		if t.reject {
			return "", err
		}
		before = runeLen(s)
		s = strings.Join(strings.Fields(t.cs.Transliterate(s)), " ")
	}
	if n := runeLen(s); n > max {
		if before >= 0 && before <= max {
			return "", fmt.Errorf("%d characters after transliteration (%d before; ä becomes ae, ß ss), at most %d allowed", n, before, max)
		}
		return "", fmt.Errorf("%d characters, at most %d allowed", n, max)
	}
	return s, nil
}

// name is text for a party name: besides the length, at least one letter
// or digit must be left after transliteration, so that a name written
// only in another script (王小明 would become "...") is rejected instead of
// sent as dots.
func (t textRules) name(s string, max int) (string, error) {
	n, err := t.text(s, max)
	if err != nil || n == "" {
		return n, err
	}
	for _, r := range n {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return n, nil
		}
	}
	return "", fmt.Errorf("no letter or digit left after transliteration (%q becomes %q); give the name in Latin script", s, n)
}

// checkAccount validates the own account config.
func checkAccount(prefix string, a *account, withCI bool, rules textRules, es *sdk.FieldErrors) {
	if strings.TrimSpace(a.Name) == "" {
		es.Add(prefix+".name", "is required")
	} else if n, err := rules.name(a.Name, 70); err != nil {
		es.Add(prefix+".name", "%v", err)
	} else {
		a.Name = n
	}
	a.IBAN = banking.NormalizeIBAN(a.IBAN)
	if err := banking.ValidIBAN(a.IBAN); err != nil {
		es.Add(prefix+".iban", "%v", err)
	} else if !banking.IsSEPACountry(a.IBAN[:2]) {
		es.Add(prefix+".iban", "country %s is not in the SEPA scheme", a.IBAN[:2])
	}
	if a.BIC != "" {
		a.BIC = banking.NormalizeBIC(a.BIC)
		if err := banking.ValidBIC(a.BIC); err != nil {
			es.Add(prefix+".bic", "%v", err)
		}
	}
	if key, err := checkAddress(a.Address, rules); err != nil {
		es.Add(prefix+".address."+key, "%v", err)
	} else if a.Address.empty() {
		a.Address = nil
		if where, ok := nonEEA(a.IBAN); ok {
			es.Add(prefix+".address", "is required: the account is in %s, a SEPA country outside the EEA, where the scheme makes the address mandatory (town and country at least)", where)
		}
	}
	if withCI {
		a.CreditorID = banking.NormalizeCreditorID(a.CreditorID)
		if err := banking.ValidCreditorID(a.CreditorID); err != nil {
			es.Add(prefix+".creditor_id", "%v", err)
		}
	}
}

// legacyBIC is the BIC pattern of the .02/.03 schemas (stricter than BICFI).
var legacyBIC = regexp.MustCompile(`^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$`)

func checkBIC(bic string, legacy bool) error {
	if err := banking.ValidBIC(bic); err != nil {
		return err
	}
	if legacy && !legacyBIC.MatchString(bic) {
		return fmt.Errorf("%w: not allowed by the pain .02/.03 BIC pattern", banking.ErrInvalidBIC)
	}
	return nil
}

// fieldMap resolves the configured record field names to indices once per
// schema (records of a batch share their schema).
type fieldMap struct {
	names  []string
	schema *record.Schema
	idx    []int
}

func (m *fieldMap) resolve(s *record.Schema) {
	if s == m.schema && m.idx != nil {
		return
	}
	m.schema = s
	if m.idx == nil {
		m.idx = make([]int, len(m.names))
	}
	for i, n := range m.names {
		m.idx[i] = -1
		if n != "" {
			m.idx[i] = s.Index(n)
		}
	}
}

// get returns the value of mapped field i (null if unmapped or absent).
func (m *fieldMap) get(r record.Record, i int) record.Value {
	j := m.idx[i]
	if j < 0 || j >= len(r.Values) {
		return record.Null
	}
	return r.Values[j]
}

// str returns the trimmed text of a value ("" for null).
func str(v record.Value) string {
	if v.Kind() == record.KindString {
		return strings.TrimSpace(v.Str())
	}
	return strings.TrimSpace(v.String())
}

// tooManyDigits explains an amount text s with more digits than a decimal
// holds in the words of the range checks of cents: too many integer digits
// are above the maximum, otherwise there are too many decimal places.
func tooManyDigits(s string, sep byte) error {
	intPart := strings.TrimLeft(s, "+-")
	if i := strings.IndexByte(intPart, sep); i >= 0 {
		intPart = intPart[:i]
	}
	switch {
	case strings.HasPrefix(s, "-"):
		return fmt.Errorf("%q has too many digits: it is below the minimum 0.01", s)
	case len(strings.TrimLeft(intPart, "0")) > 9:
		return fmt.Errorf("%q has too many digits: it is above the maximum 999999999.99", s)
	}
	return fmt.Errorf("%q has too many digits: it has more than 2 decimal places", s)
}

// cents converts an amount value to euro cents, enforcing the SEPA range.
func cents(v record.Value) (int64, error) {
	var d record.Decimal
	switch v.Kind() {
	case record.KindNull:
		return 0, errors.New("is missing")
	case record.KindDecimal, record.KindInt:
		d = v.Decimal()
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		sep := byte('.')
		if strings.IndexByte(s, ',') >= 0 && strings.IndexByte(s, '.') < 0 {
			sep = ','
		}
		var err error
		if d, err = record.ParseDecimal(s, sep); err != nil {
			if errors.Is(err, record.ErrDecimalOverflow) {
				return 0, tooManyDigits(s, sep)
			}
			return 0, fmt.Errorf("not a number: %q", s)
		}
	default:
		return 0, fmt.Errorf("must be a decimal, got %s", v.Kind())
	}
	r := d.Round(2)
	if !r.Equal(d) {
		return 0, fmt.Errorf("%s has more than 2 decimal places", d)
	}
	if r.Sign() <= 0 || r.Cmp(record.MustDecimal("0.01")) < 0 {
		return 0, fmt.Errorf("%s is below the minimum 0.01", d)
	}
	if r.Cmp(record.MustDecimal("999999999.99")) > 0 {
		return 0, fmt.Errorf("%s is above the maximum 999999999.99", d)
	}
	coef, scale := r.Coef()
	if scale != 2 {
		return 0, fmt.Errorf("%s: unexpected scale", d)
	}
	return int64(coef), nil
}

// dateOf converts a date value (date, datetime or ISO / German text).
func dateOf(v record.Value) (record.Date, bool, error) {
	switch v.Kind() {
	case record.KindNull:
		return 0, false, nil
	case record.KindDate, record.KindDateTime:
		return v.Date(), true, nil
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		if s == "" {
			return 0, false, nil
		}
		for _, layout := range []string{"2006-01-02", "02.01.2006"} {
			if t, err := time.Parse(layout, s); err == nil {
				return record.DateOf(t), true, nil
			}
		}
		return 0, false, fmt.Errorf("invalid date %q (want YYYY-MM-DD or DD.MM.YYYY)", s)
	}
	return 0, false, fmt.Errorf("must be a date, got %s", v.Kind())
}

// boolOf reads a flag: bool, or text true/yes/ja/1/x.
func boolOf(v record.Value) bool {
	switch v.Kind() {
	case record.KindBool:
		return v.Bool()
	case record.KindInt:
		return v.Int() != 0
	}
	switch strings.ToLower(str(v)) {
	case "true", "yes", "ja", "j", "y", "1", "x":
		return true
	}
	return false
}

// rejectErr is a record problem: the field (record field name) and reason.
type rejectErr struct{ field, reason string }

func (e *rejectErr) Error() string { return e.field + ": " + e.reason }

func bad(field, format string, args ...any) *rejectErr {
	return &rejectErr{field: field, reason: fmt.Sprintf(format, args...)}
}

// group is one payment-information block: its transactions go to a scratch
// file while count and sum are kept exactly.
type group struct {
	key   groupKey
	tmp   sdk.TempFile
	w     *bufio.Writer
	n     int64
	cents int64
}

type groupKey struct {
	seq  string // sequence type (pain.008 only)
	date record.Date
}

// groups holds the groups of one file.
type groups struct {
	out sdk.Output
	m   map[groupKey]*group
}

func (g *groups) get(k groupKey) (*group, error) {
	if gr, ok := g.m[k]; ok {
		return gr, nil
	}
	if len(g.m) >= maxGroups {
		return nil, fmt.Errorf("more than %d payment groups (sequence type and date combinations) in one file", maxGroups)
	}
	if g.out.Temp == nil {
		return nil, errors.New("output has no scratch files")
	}
	tmp, err := g.out.Temp()
	if err != nil {
		return nil, fmt.Errorf("creating scratch file: %w", err)
	}
	gr := &group{key: k, tmp: tmp, w: bufio.NewWriterSize(tmp, 128*1024)}
	if g.m == nil {
		g.m = map[groupKey]*group{}
	}
	g.m[k] = gr
	return gr, nil
}

// sorted returns the groups by date, then sequence type in the order
// FRST, RCUR, OOFF, FNAL.
func (g *groups) sorted() []*group {
	out := make([]*group, 0, len(g.m))
	for _, gr := range g.m {
		out = append(out, gr)
	}
	rank := map[string]int{"FRST": 0, "RCUR": 1, "OOFF": 2, "FNAL": 3}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].key, out[j].key
		if a.date != b.date {
			return a.date < b.date
		}
		return rank[a.seq] < rank[b.seq]
	})
	return out
}

// copyTo flushes the group's scratch file and copies it to w.
func (gr *group) copyTo(w io.Writer) error {
	if err := gr.w.Flush(); err != nil {
		return fmt.Errorf("writing scratch file: %w", err)
	}
	if _, err := gr.tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewinding scratch file: %w", err)
	}
	if _, err := io.Copy(w, gr.tmp); err != nil {
		return fmt.Errorf("copying scratch file: %w", err)
	}
	return nil
}

func (g *groups) closeAll() {
	for _, gr := range g.m {
		_ = gr.tmp.Close()
	}
}

// newMsgID reserves the next number of the counter sepa.msgid.
func newMsgID(ctx context.Context, env sdk.Env, prefix string) (string, error) {
	n, err := env.State.Reserve(ctx, "sepa.msgid", 1)
	if err != nil {
		return "", fmt.Errorf("reserving message id: %w", err)
	}
	id := fmt.Sprintf("%s%s-%06d", prefix, runDate(env).Format("20060102"), n)
	if err := banking.ValidSEPAID(id); err != nil {
		return "", fmt.Errorf("message id %q: %w", id, err)
	}
	return id, nil
}

// runNow is the run's clock (env.Now, else the wall clock).
func runNow(env sdk.Env) time.Time {
	if env.Now.IsZero() {
		return time.Now()
	}
	return env.Now
}

func runDate(env sdk.Env) record.Date { return record.DateOf(runNow(env)) }

// creDtTm formats the creation time with an explicit UTC offset.
func creDtTm(env sdk.Env) string {
	return runNow(env).Truncate(time.Second).Format("2006-01-02T15:04:05-07:00")
}

// seenIDs detects duplicate end-to-end ids in one file with 8 bytes per id.
type seenIDs map[uint64]struct{}

// has reports whether id was added.
func (s seenIDs) has(id string) bool {
	_, ok := s[fnv64(id)]
	return ok
}

// add records id; it reports false when id was added before.
func (s seenIDs) add(id string) bool {
	h := fnv64(id)
	if _, ok := s[h]; ok {
		return false
	}
	s[h] = struct{}{}
	return true
}

// seqBit is the bit of a sequence type in mandateUse.mask.
func seqBit(seq string) uint8 {
	switch seq {
	case "FRST":
		return 1
	case "RCUR":
		return 2
	case "OOFF":
		return 4
	case "FNAL":
		return 8
	}
	return 0
}

// mandateUse is what one file already collects on a mandate.
type mandateUse struct {
	mask uint8       // sequence types used (seqBit)
	frst record.Date // date of the FRST collection, if any
}

// mandates tracks the collections per mandate id in one file (8 bytes of
// hash plus 8 of state per mandate) so that contradicting sequence types
// are rejected: a one-off (OOFF) mandate collected twice, a FRST that is
// not the mandate's first collection, a RCUR/FNAL not after the FRST of the
// same file, anything after a FNAL. Several RCUR of one mandate are fine.
type mandates map[uint64]mandateUse

func (m mandates) check(id, seq string, date record.Date) error {
	u, ok := m[fnv64(id)]
	if !ok || u.mask == 0 {
		return nil
	}
	switch {
	case seq == "OOFF" || u.mask&4 != 0:
		return fmt.Errorf("mandate %s is already collected in this file; a one-off (OOFF) mandate allows a single collection", id)
	case seq == "FRST":
		return fmt.Errorf("mandate %s is already collected in this file, so this cannot be its first collection (FRST)", id)
	case u.mask&8 != 0:
		return fmt.Errorf("mandate %s already has its final collection (FNAL) in this file", id)
	case u.mask&1 != 0 && date <= u.frst:
		return fmt.Errorf("%s collection on %s is not after the first collection (FRST) of mandate %s on %s in this file", seq, date, id, u.frst)
	}
	return nil
}

func (m mandates) add(id, seq string, date record.Date) {
	k := fnv64(id)
	u := m[k]
	u.mask |= seqBit(seq)
	if seq == "FRST" {
		u.frst = date
	}
	m[k] = u
}

func fnv64(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// address is a postal address of the own party (config) or of a record's
// counterparty. Only the structured elements are kept; the writers emit
// them as PstlAdr StrtNm, BldgNb, PstCd, TwnNm, Ctry (PostalAddress24 order).
type address struct {
	Street         string `yaml:"street"`
	BuildingNumber string `yaml:"building_number"`
	PostalCode     string `yaml:"postal_code"`
	Town           string `yaml:"town"`
	Country        string `yaml:"country"`
}

func (a *address) empty() bool {
	return a == nil || (a.Street == "" && a.BuildingNumber == "" && a.PostalCode == "" && a.Town == "" && a.Country == "")
}

// addressParts are the address elements with their schema limits, in
// schema order; key is the config / mapping suffix.
var addressParts = []struct {
	key, what string
	max       int
}{
	{"street", "street name (StrtNm)", 70},
	{"building_number", "building number (BldgNb)", 16},
	{"postal_code", "postal code (PstCd)", 16},
	{"town", "town (TwnNm)", 35},
	{"country", "country, ISO 3166 two letters (Ctry)", 2},
}

func (a *address) part(i int) *string {
	return [...]*string{&a.Street, &a.BuildingNumber, &a.PostalCode, &a.Town, &a.Country}[i]
}

// addressFields is the spec of the own party's optional address.
func addressFields() []sdk.Field {
	fs := make([]sdk.Field, len(addressParts))
	ex := []string{"Theaterplatz", "1", "79539", "Lörrach", "DE"}
	for i, p := range addressParts {
		fs[i] = sdk.Field{Name: p.key, Type: sdk.TypeString, Example: ex[i],
			Description: fmt.Sprintf("The %s, at most %d characters in the SEPA character set.", p.what, p.max)}
	}
	fs[3].Description += " Required when any address part is given."
	fs[4].Description = "Country code, ISO 3166 two letters (Ctry). Required when any address part is given."
	return fs
}

// checkAddress applies the charset policy and limits to the address parts
// in place. An address with any part needs town and country (GBIC_5:
// structured or hybrid, TwnNm and Ctry mandatory). The error names the key
// of the bad part.
func checkAddress(a *address, rules textRules) (key string, err error) {
	if a.empty() {
		return "", nil
	}
	for i, p := range addressParts {
		v := a.part(i)
		if p.key == "country" {
			*v = strings.ToUpper(strings.TrimSpace(*v))
			if *v == "" {
				return p.key, errors.New("is missing: a postal address needs town and country (structured address; unstructured-only addresses are rejected since November 2026)")
			}
			if !banking.IsCountry(*v) {
				return p.key, fmt.Errorf("%q is not an ISO 3166 two-letter country code", *v)
			}
			continue
		}
		s, err := rules.text(*v, p.max)
		if err != nil {
			return p.key, err
		}
		if p.key == "town" && s == "" {
			return p.key, errors.New("is missing: a postal address needs town and country (structured address; unstructured-only addresses are rejected since November 2026)")
		}
		*v = s
	}
	return "", nil
}

// nonEEA reports whether the IBAN's country is a SEPA country outside the
// EEA (banking.NonEEASEPACountry), where the scheme makes addresses
// mandatory, and the country's name for messages.
func nonEEA(iban string) (name string, ok bool) {
	if len(iban) < 2 {
		return "", false
	}
	return banking.NonEEASEPACountry(iban[:2])
}
