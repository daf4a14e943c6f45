package sepa

import (
	"context"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/banking"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

// pain.008 versions.
const (
	Pain008V08 = "pain.008.001.08" // DK GBIC_5, default
	Pain008V02 = "pain.008.001.02" // DK GBIC_3, legacy
)

// Pain008Config is the configuration of sepa.pain008.
type Pain008Config struct {
	commonConfig `yaml:",inline"`
	// Creditor is the own account and creditor identifier (required).
	Creditor account `yaml:"creditor"`
	// LocalInstrument is CORE (default, Basislastschrift) or B2B
	// (Firmenlastschrift). One file holds one instrument: a record whose
	// local_instrument field names the other one is rejected.
	LocalInstrument string `yaml:"local_instrument"`
	// SequenceType is used for records without a sequence_type value:
	// RCUR (default), FRST, OOFF or FNAL.
	SequenceType string `yaml:"sequence_type"`
	// MinLeadDays is the least number of TARGET2 days between the run date
	// and a record's collection date (default 1, the EPC D-1 rule).
	MinLeadDays int `yaml:"min_lead_days"`
	// MaxLeadDays is the most calendar days a collection date may lie after
	// the run date; 0 (default) means no limit.
	MaxLeadDays int `yaml:"max_lead_days"`
	// Cutoff is the bank's daily cut-off time "HH:MM" in the run clock's
	// time zone; a run after it on a TARGET2 day counts the next TARGET2
	// day as day 0 for min_lead_days and lead_days. Empty (default): none.
	Cutoff string `yaml:"cutoff"`
	// Fields maps the record fields; every key defaults to its own name.
	Fields map[string]string `yaml:"fields"`
}

// pain.008 field mapping keys, in the order of fieldMap indices.
var pain008Keys = []struct{ key, desc string }{
	{"amount", "Amount in euro (decimal, or text with '.' or ','), 0.01 to 999999999.99 with at most 2 decimals."},
	{"currency", "Currency of the amount; when present it must be EUR."},
	{"debtor_name", "Name of the account holder who pays (at most 70 characters after transliteration)."},
	{"debtor_iban", "IBAN of the debtor's account."},
	{"debtor_bic", "BIC of the debtor's bank; optional."},
	{"mandate_id", "Mandate reference (Mandatsreferenz), up to 35 SEPA id characters."},
	{"mandate_date", "Date the mandate was signed; not in the future."},
	{"end_to_end_id", "Your reference of this collection (e.g. order and instalment); NOTPROVIDED when empty; must be unique in the file."},
	{"remittance", "Unstructured remittance text (Verwendungszweck), at most 140 characters."},
	{"sequence_type", "FRST, RCUR, OOFF or FNAL; empty uses the sequence_type option."},
	{"collection_date", "Requested collection date (a TARGET2 day at least min_lead_days ahead); empty uses lead_days."},
	{"local_instrument", "CORE or B2B; when present it must equal the local_instrument option."},
	{"original_mandate_id", "Amendment: the mandate reference before it changed."},
	{"original_creditor_id", "Amendment: the creditor identifier before it changed."},
	{"original_creditor_name", "Amendment: the creditor name before it changed."},
	{"original_debtor_iban", "Amendment: the debtor IBAN before a change of account at the same bank."},
	{"debtor_bank_changed", "Amendment: true when the debtor moved to another bank (SMNDA)."},
}

func init() { pain008Keys = append(pain008Keys, addressKeys("debtor")...) }

const (
	f8Amount = iota
	f8Currency
	f8DebtorName
	f8DebtorIBAN
	f8DebtorBIC
	f8MandateID
	f8MandateDate
	f8E2E
	f8Remittance
	f8SeqType
	f8CollDate
	f8LclInstrm
	f8OrigMandateID
	f8OrigCreditorID
	f8OrigCreditorName
	f8OrigDebtorIBAN
	f8BankChanged
	f8Address // debtor_street ... debtor_country (addressKeys)
)

func mappingSpec(keys []struct{ key, desc string }) sdk.Field {
	children := make([]sdk.Field, len(keys))
	for i, k := range keys {
		children[i] = sdk.Field{Name: k.key, Type: sdk.TypeString, Default: k.key,
			Description: "Record field holding the " + strings.ReplaceAll(k.key, "_", " ") + ": " + k.desc, Example: k.key}
	}
	return sdk.Field{Name: "fields", Type: sdk.TypeObject, Children: children,
		Description: "Which record field holds which value; each key defaults to the field of the same name, an empty string means the value is never taken from the record.",
		Example:     map[string]any{"amount": "betrag", "debtor_iban": "iban"}}
}

// Pain008Spec returns the config spec of sepa.pain008.
func Pain008Spec() sdk.Spec {
	fs := []sdk.Field{
		{Name: "creditor", Type: sdk.TypeObject, Required: true, Children: accountFields(true),
			Description: "The collecting account: name, IBAN, optional BIC and the SEPA creditor identifier."},
		{Name: "local_instrument", Type: sdk.TypeEnum, Enum: []string{"CORE", "B2B"}, Default: "CORE",
			Description: "CORE (SEPA Basislastschrift) or B2B (Firmenlastschrift); a file holds one instrument, records naming the other are rejected.", Example: "B2B"},
		{Name: "sequence_type", Type: sdk.TypeEnum, Enum: []string{"RCUR", "FRST", "OOFF", "FNAL"}, Default: "RCUR",
			Description: "Sequence type for records without one: RCUR for recurring mandates (since 2016 also the first collection), OOFF for one-off mandates.", Example: "OOFF"},
		{Name: "min_lead_days", Type: sdk.TypeInt, Default: int64(1), Min: sdk.Int64(0), Max: sdk.Int64(60),
			Description: "Least number of TARGET2 business days between the run date and a collection date; earlier dates are rejected.", Example: 2},
		{Name: "max_lead_days", Type: sdk.TypeInt, Default: int64(0), Min: sdk.Int64(0), Max: sdk.Int64(3660),
			Description: "Most calendar days a collection date may lie after the run date; later dates are rejected. 0 means no limit. The EPC rulebook lets the creditor bank forward a collection at most 14 calendar days before its due date, and banks cap how far ahead they accept files (e.g. 90 days at some); ask your bank and set its limit.", Example: 90},
		{Name: "cutoff", Type: sdk.TypeString, Pattern: `([01][0-9]|2[0-3]):[0-5][0-9]`,
			Description: "The bank's daily cut-off time (HH:MM, in the run clock's time zone). A run after it on a TARGET2 day counts the next TARGET2 day as day 0 for min_lead_days and lead_days, because the file is only processed then. Empty: no cut-off.", Example: "10:30"},
	}
	fs = append(fs, commonFields([]string{Pain008V08, Pain008V02}, Pain008V08, 2)...)
	fs = append(fs, mappingSpec(pain008Keys))
	return sdk.Spec{Fields: fs}
}

// Pain008Component returns the sepa.pain008 sink.
func Pain008Component() sdk.Component {
	return sdk.Component{
		Name:    "pain008",
		Kind:    sdk.KindSink,
		IO:      sdk.IOFile,
		Summary: "Writes SEPA direct debits (Basis- and Firmenlastschrift) as pain.008.001.08 (DK GBIC_5) or .001.02.",
		Description: "Writes one pain.008 file per run. Payment-information groups are formed per sequence type and " +
			"collection date (local instrument, creditor account and creditor id are fixed per file). Every record is " +
			"checked before it is written: IBAN and BIC, identifier character set and length, names (70) and remittance " +
			"(140) in the SEPA character set, amount range and decimals, mandate date, collection date on a TARGET2 " +
			"day, sequence types that contradict each other for one mandate (OOFF twice, FRST not first, anything after " +
			"FNAL); a bad record becomes a reject naming the field, and the file stays valid. Message ids come from the " +
			"pipeline counter sepa.msgid. Transactions stream to one scratch file per group, so a million " +
			"transactions need little memory. An input without any valid transaction fails the run (an empty " +
			"pain.008 is invalid).",
		Spec: Pain008Spec(),
		Examples: []string{`sinks:
  - type: sepa.pain008
    path: out/lastschrift-{date}.xml
    creditor:
      name: Stadttheater Musterstadt
      iban: DE89370400440532013000
      creditor_id: DE98ZZZ09999999999
    msg_id_prefix: ABO-
    fields:
      debtor_iban: iban
      mandate_id: mandatsreferenz
`},
		NewEncoder: newPain008Encoder,
	}
}

type pain008Encoder struct {
	cfg   Pain008Config
	rules textRules
	env   sdk.Env
	keys  []string
}

func newPain008Encoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	var cfg Pain008Config
	if err := sdk.ApplyDefaults(Pain008Spec(), c).Decode(&cfg); err != nil {
		return nil, err
	}
	var es sdk.FieldErrors
	rules := checkVersionAndAccount(&cfg.commonConfig, Pain008V08, Pain008V02, "creditor", &cfg.Creditor, true, &es)
	switch cfg.LocalInstrument {
	case "CORE", "B2B":
	default:
		es.Add("local_instrument", "must be CORE or B2B, got %q", cfg.LocalInstrument)
	}
	if !validSeqType(cfg.SequenceType) {
		es.Add("sequence_type", "must be FRST, RCUR, OOFF or FNAL, got %q", cfg.SequenceType)
	}
	checkCommon(&cfg.commonConfig, cfg.Creditor.Name, rules, &es)
	if cfg.MaxLeadDays < 0 {
		es.Add("max_lead_days", "must be 0 (no limit) or more, got %d", cfg.MaxLeadDays)
	}
	if cfg.Cutoff != "" {
		if _, err := time.Parse("15:04", cfg.Cutoff); err != nil || len(cfg.Cutoff) != 5 {
			es.Add("cutoff", "must be a time HH:MM (e.g. 10:30), got %q", cfg.Cutoff)
		}
	}
	keys, errs := mapping(pain008Keys, cfg.Fields)
	es = append(es, errs...)
	if err := es.Err(); err != nil {
		return nil, err
	}
	return &pain008Encoder{cfg: cfg, rules: rules, env: env, keys: keys}, nil
}

// checkVersionAndAccount checks the version (current or legacy) and the
// charset options, which it returns as text rules, and the own account
// config called prefix (with a creditor id if withCI), whose BIC the legacy
// schema restricts further.
func checkVersionAndAccount(c *commonConfig, current, legacy, prefix string, own *account, withCI bool, es *sdk.FieldErrors) textRules {
	if c.Version != current && c.Version != legacy {
		es.Add("version", "must be %s or %s, got %q", current, legacy, c.Version)
	}
	rules := newTextRules(*c, es)
	checkAccount(prefix, own, withCI, rules, es)
	if own.BIC != "" && c.Version == legacy && !legacyBIC.MatchString(own.BIC) {
		es.Add(prefix+".bic", "not allowed by the %s BIC pattern", c.Version)
	}
	if where, ok := nonEEA(own.IBAN); ok && c.Version == legacy {
		es.Add(prefix+".iban", "the account is in %s, a SEPA country outside the EEA, where the address is mandatory; %s can carry it only unstructured, which banks reject since November 2026: use %s", where, legacy, current)
	}
	return rules
}

// checkCommon validates the shared options and fills defaults.
func checkCommon(c *commonConfig, holder string, rules textRules, es *sdk.FieldErrors) {
	if c.InitiatingParty == "" {
		c.InitiatingParty = holder
	} else if n, err := rules.name(c.InitiatingParty, 70); err != nil {
		es.Add("initiating_party", "%v", err)
	} else {
		c.InitiatingParty = n
	}
	if runeLen(c.MsgIDPrefix) > 12 {
		es.Add("msg_id_prefix", "at most 12 characters, got %d", runeLen(c.MsgIDPrefix))
	} else if c.MsgIDPrefix != "" {
		if err := banking.ValidSEPAID(c.MsgIDPrefix + "X"); err != nil || strings.HasPrefix(c.MsgIDPrefix, "/") {
			es.Add("msg_id_prefix", "must use only A-Z a-z 0-9 + ? / - : ( ) . , ' and space and not start with '/'")
		}
	}
	if c.LeadDays < 0 || c.LeadDays > 60 {
		es.Add("lead_days", "must be between 0 and 60, got %d", c.LeadDays)
	}
}

// ownAddress is the own party's address the file writes: none for the
// legacy versions, which only know unstructured addresses.
func ownAddress(a account, legacy bool) *address {
	if legacy {
		return nil
	}
	return a.Address
}

// mapping returns the record field name per key (default: the key).
func mapping(keys []struct{ key, desc string }, m map[string]string) ([]string, sdk.FieldErrors) {
	var es sdk.FieldErrors
	known := map[string]bool{}
	out := make([]string, len(keys))
	for i, k := range keys {
		known[k.key] = true
		out[i] = k.key
		if v, ok := m[k.key]; ok {
			out[i] = v
		}
	}
	for k := range m {
		if !known[k] {
			es.Add("fields."+k, "unknown field mapping key")
		}
	}
	return out, es
}

func validSeqType(s string) bool {
	switch s {
	case "FRST", "RCUR", "OOFF", "FNAL":
		return true
	}
	return false
}

// Create implements sdk.Encoder.
func (e *pain008Encoder) Create(ctx context.Context, out sdk.Output) (sdk.Sink, error) {
	ps, err := newPainSink(ctx, pain008Kind, &e.cfg.commonConfig, e.rules, e.env, e.keys, e.cfg.Version == Pain008V02, ownAddress(e.cfg.Creditor, e.cfg.Version == Pain008V02), out)
	if err != nil {
		return nil, err
	}
	sk := &pain008Sink{painSink: ps, cfg: &e.cfg, day0: ps.today, mandates: mandates{}}
	if e.cfg.Cutoff != "" && calendar.IsTargetDay(ps.today) && runNow(e.env).Format("15:04") > e.cfg.Cutoff {
		sk.day0 = calendar.NextTargetDay(ps.today)
		sk.late = true
		sk.deflt = calendar.AddTargetDays(sk.day0, e.cfg.LeadDays)
	}
	sk.earliest = calendar.AddTargetDays(sk.day0, e.cfg.MinLeadDays)
	return sk, nil
}

type pain008Sink struct {
	painSink
	cfg      *Pain008Config
	day0     record.Date // the run date, or the next TARGET2 day after the cut-off
	late     bool        // the run is after the cut-off
	earliest record.Date // first allowed collection date
	mandates mandates    // sequence types per mandate in this file
}

// Write implements sdk.Sink.
func (s *pain008Sink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	return writeEach(ctx, b, s.step, s.writeOne)
}

// sddTx is one checked transaction.
type sddTx struct {
	painTx
	mandate                        string
	mandateDate                    record.Date
	origMandate, origCI, origCName string
	origIBAN                       string
	smnda                          bool
}

// pain008Tx are the indices of the painTx fields in pain008Keys.
var pain008Tx = txFields{amount: f8Amount, currency: f8Currency, name: f8DebtorName, iban: f8DebtorIBAN,
	bic: f8DebtorBIC, e2e: f8E2E, remit: f8Remittance, addr: f8Address}

func (s *pain008Sink) writeOne(r record.Record) error {
	s.fm.resolve(r.Schema)
	fn := s.fm.names
	get := func(i int) record.Value { return s.fm.get(r, i) }
	var t sddTx
	var err error
	// Instrument, sequence type and date decide the group.
	if li := strings.ToUpper(str(get(f8LclInstrm))); li != "" && li != s.cfg.LocalInstrument {
		return bad(fn[f8LclInstrm], "local instrument %s differs from this file's %s; CORE and B2B must go to separate files (use a second sink with when:)", li, s.cfg.LocalInstrument)
	}
	seq := strings.ToUpper(str(get(f8SeqType)))
	if seq == "" {
		seq = s.cfg.SequenceType
	} else if !validSeqType(seq) {
		return bad(fn[f8SeqType], "must be FRST, RCUR, OOFF or FNAL, got %q", seq)
	}
	date, ok, err := dateOf(get(f8CollDate))
	if err != nil {
		return bad(fn[f8CollDate], "%v", err)
	}
	if !ok {
		date = s.deflt
	} else if !calendar.IsTargetDay(date) {
		return bad(fn[f8CollDate], "%s is not a TARGET2 business day (%s)", date, calendar.TargetClosingReason(date))
	} else if date < s.earliest {
		if s.late {
			return bad(fn[f8CollDate], "%s is too early: the first possible collection date is %s (%d TARGET2 days after %s, because the run at %s is after the cut-off %s)", date, s.earliest, s.cfg.MinLeadDays, s.day0, runNow(s.env).Format("15:04"), s.cfg.Cutoff)
		}
		return bad(fn[f8CollDate], "%s is too early: the first possible collection date is %s (%d TARGET2 days after %s)", date, s.earliest, s.cfg.MinLeadDays, s.today)
	}
	if n := s.cfg.MaxLeadDays; n > 0 && date > s.today.AddDays(n) {
		return bad(fn[f8CollDate], "%s is too far ahead: %d calendar days after the run date %s, at most %d allowed (max_lead_days; the last possible collection date is %s)", date, int(date-s.today), s.today, n, s.today.AddDays(n))
	}
	// Amount and debtor.
	if err := s.payment(r, pain008Tx, &t.painTx); err != nil {
		return err
	}
	// Mandate.
	if t.mandate = str(get(f8MandateID)); t.mandate == "" {
		return bad(fn[f8MandateID], "is missing")
	}
	if err := banking.ValidSEPAID(t.mandate); err != nil {
		return bad(fn[f8MandateID], "%v", err)
	}
	md, ok, err := dateOf(get(f8MandateDate))
	if err != nil {
		return bad(fn[f8MandateDate], "%v", err)
	}
	if !ok {
		return bad(fn[f8MandateDate], "is missing (the date of signature is mandatory)")
	}
	if md > s.today {
		return bad(fn[f8MandateDate], "%s is in the future", md)
	}
	t.mandateDate = md
	// References and text.
	if err := s.reference(r, pain008Tx, &t.painTx); err != nil {
		return err
	}
	// Amendment.
	if t.origMandate = str(get(f8OrigMandateID)); t.origMandate != "" {
		if err := banking.ValidSEPAID(t.origMandate); err != nil {
			return bad(fn[f8OrigMandateID], "%v", err)
		}
		if t.origMandate == t.mandate {
			return bad(fn[f8OrigMandateID], "equals the mandate id; leave it empty when the mandate id did not change")
		}
	}
	if t.origCI = banking.NormalizeCreditorID(str(get(f8OrigCreditorID))); t.origCI != "" {
		if err := banking.ValidCreditorID(t.origCI); err != nil {
			return bad(fn[f8OrigCreditorID], "%v", err)
		}
	}
	if t.origCName, err = s.rules.name(str(get(f8OrigCreditorName)), 70); err != nil {
		return bad(fn[f8OrigCreditorName], "%v", err)
	}
	if t.origIBAN = banking.NormalizeIBAN(str(get(f8OrigDebtorIBAN))); t.origIBAN != "" {
		if err := banking.ValidIBAN(t.origIBAN); err != nil {
			return bad(fn[f8OrigDebtorIBAN], "%v", err)
		}
	}
	t.smnda = boolOf(get(f8BankChanged))
	if t.smnda && t.origIBAN != "" {
		return bad(fn[f8BankChanged], "a change of bank (SMNDA) and %s exclude each other; give the old IBAN only for an account change at the same bank", fn[f8OrigDebtorIBAN])
	}
	if err := s.mandates.check(t.mandate, seq, date); err != nil {
		return bad(fn[f8SeqType], "%v", err)
	}
	if err := s.add(pain008Tx, &t.painTx, groupKey{seq: seq, date: date}, fn[f8CollDate], func(x *xbuf) { s.encodeTx(x, &t) }); err != nil {
		return err
	}
	s.mandates.add(t.mandate, seq, date)
	return nil
}

func (s *pain008Sink) encodeTx(x *xbuf, t *sddTx) {
	x.open(3, "DrctDbtTxInf")
	x.open(4, "PmtId")
	x.leaf(5, "EndToEndId", t.e2e)
	x.close(4, "PmtId")
	x.amount(4, "InstdAmt", t.cents)
	x.open(4, "DrctDbtTx")
	x.open(5, "MndtRltdInf")
	x.leaf(6, "MndtId", t.mandate)
	x.leaf(6, "DtOfSgntr", t.mandateDate.String())
	if t.origMandate != "" || t.origCI != "" || t.origCName != "" || t.origIBAN != "" || t.smnda {
		x.leaf(6, "AmdmntInd", "true")
		x.open(6, "AmdmntInfDtls")
		if t.origMandate != "" {
			x.leaf(7, "OrgnlMndtId", t.origMandate)
		}
		if t.origCI != "" || t.origCName != "" {
			x.open(7, "OrgnlCdtrSchmeId")
			if t.origCName != "" {
				x.leaf(8, "Nm", t.origCName)
			}
			if t.origCI != "" {
				x.sepaCI(8, t.origCI)
			}
			x.close(7, "OrgnlCdtrSchmeId")
		}
		switch {
		case t.origIBAN != "":
			x.ibanAcct(7, "OrgnlDbtrAcct", t.origIBAN)
		case t.smnda: // same mandate, new debtor account at another bank (GBIC_3 and GBIC_5 alike)
			x.open(7, "OrgnlDbtrAcct")
			x.open(8, "Id")
			x.open(9, "Othr")
			x.leaf(10, "Id", "SMNDA")
			x.close(9, "Othr")
			x.close(8, "Id")
			x.close(7, "OrgnlDbtrAcct")
		}
		x.close(6, "AmdmntInfDtls")
	}
	x.close(5, "MndtRltdInf")
	x.close(4, "DrctDbtTx")
	x.agent(4, "DbtrAgt", s.bicTag(), t.bic)
	x.party(4, "Dbtr", t.name, t.addr)
	x.ibanAcct(4, "DbtrAcct", t.iban)
	x.remittance(4, t.remit)
	x.close(3, "DrctDbtTxInf")
}

// Close implements sdk.Sink: header with exact totals, then the groups.
func (s *pain008Sink) Close(ctx context.Context) error {
	return s.close(ctx, func(x *xbuf, key groupKey) {
		x.open(3, "PmtTpInf")
		x.open(4, "SvcLvl")
		x.leaf(5, "Cd", "SEPA")
		x.close(4, "SvcLvl")
		x.open(4, "LclInstrm")
		x.leaf(5, "Cd", s.cfg.LocalInstrument)
		x.close(4, "LclInstrm")
		x.leaf(4, "SeqTp", key.seq)
		x.close(3, "PmtTpInf")
		x.leaf(3, "ReqdColltnDt", key.date.String())
		x.party(3, "Cdtr", s.cfg.Creditor.Name, s.own)
		x.ibanAcct(3, "CdtrAcct", s.cfg.Creditor.IBAN)
		x.agent(3, "CdtrAgt", s.bicTag(), s.cfg.Creditor.BIC)
		x.leaf(3, "ChrgBr", "SLEV")
		x.open(3, "CdtrSchmeId")
		x.sepaCI(4, s.cfg.Creditor.CreditorID)
		x.close(3, "CdtrSchmeId")
	})
}
