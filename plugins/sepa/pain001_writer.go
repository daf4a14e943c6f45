package sepa

import (
	"context"
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/banking"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

// pain.001 versions.
const (
	Pain001V09 = "pain.001.001.09" // DK GBIC_5, default
	Pain001V03 = "pain.001.001.03" // DK GBIC_3, legacy
)

// Pain001Config is the configuration of sepa.pain001.
type Pain001Config struct {
	commonConfig `yaml:",inline"`
	// Debtor is the own (paying) account (required).
	Debtor account `yaml:"debtor"`
	// Fields maps the record fields; every key defaults to its own name.
	Fields map[string]string `yaml:"fields"`
}

var pain001Keys = []struct{ key, desc string }{
	{"amount", "Amount in euro (decimal, or text with '.' or ','), 0.01 to 999999999.99 with at most 2 decimals."},
	{"currency", "Currency of the amount; when present it must be EUR."},
	{"creditor_name", "Name of the payee (at most 70 characters after transliteration)."},
	{"creditor_iban", "IBAN of the payee's account."},
	{"creditor_bic", "BIC of the payee's bank; optional (without it no creditor agent is written)."},
	{"end_to_end_id", "Your reference of this payment (e.g. refund number); NOTPROVIDED when empty; must be unique in the file."},
	{"remittance", "Unstructured remittance text (Verwendungszweck), at most 140 characters."},
	{"execution_date", "Requested execution date (a TARGET2 day, not in the past); empty uses lead_days."},
}

const (
	f1Amount = iota
	f1Currency
	f1CreditorName
	f1CreditorIBAN
	f1CreditorBIC
	f1E2E
	f1Remittance
	f1ExecDate
)

// Pain001Spec returns the config spec of sepa.pain001.
func Pain001Spec() sdk.Spec {
	fs := []sdk.Field{
		{Name: "debtor", Type: sdk.TypeObject, Required: true, Children: accountFields(false),
			Description: "The paying account: name, IBAN and optional BIC."},
	}
	fs = append(fs, commonFields([]string{Pain001V09, Pain001V03}, Pain001V09, 0)...)
	fs = append(fs, mappingSpec(pain001Keys))
	return sdk.Spec{Fields: fs}
}

// Pain001Component returns the sepa.pain001 sink.
func Pain001Component() sdk.Component {
	return sdk.Component{
		Name:    "pain001",
		Kind:    sdk.KindSink,
		IO:      sdk.IOFile,
		Summary: "Writes SEPA credit transfers (refunds, payouts) as pain.001.001.09 (DK GBIC_5) or .001.03.",
		Description: "Writes one pain.001 file per run with one payment-information group per execution date. " +
			"Records are checked like in sepa.pain008 (IBAN, BIC, ids, SEPA character set, amount); without a BIC the " +
			"creditor agent is omitted and the debtor agent is written as NOTPROVIDED, as the DK rules require. An input " +
			"without any valid transaction fails the run (an empty pain.001 is invalid).",
		Spec: Pain001Spec(),
		Examples: []string{`sinks:
  - type: sepa.pain001
    path: out/erstattungen-{date}.xml
    debtor:
      name: Stadttheater Musterstadt
      iban: DE89370400440532013000
    fields:
      creditor_name: kunde
      creditor_iban: iban
      remittance: grund
`},
		NewEncoder: newPain001Encoder,
	}
}

type pain001Encoder struct {
	cfg   Pain001Config
	rules textRules
	env   sdk.Env
	keys  []string
}

func newPain001Encoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	var cfg Pain001Config
	if err := sdk.ApplyDefaults(Pain001Spec(), c).Decode(&cfg); err != nil {
		return nil, err
	}
	var es sdk.FieldErrors
	if cfg.Version != Pain001V09 && cfg.Version != Pain001V03 {
		es.Add("version", "must be %s or %s, got %q", Pain001V09, Pain001V03, cfg.Version)
	}
	rules := newTextRules(cfg.commonConfig, &es)
	checkAccount("debtor", &cfg.Debtor, false, rules, &es)
	if cfg.Debtor.BIC != "" && cfg.Version == Pain001V03 && !legacyBIC.MatchString(cfg.Debtor.BIC) {
		es.Add("debtor.bic", "not allowed by the %s BIC pattern", cfg.Version)
	}
	checkCommon(&cfg.commonConfig, cfg.Debtor.Name, rules, &es)
	keys, errs := mapping(pain001Keys, cfg.Fields)
	es = append(es, errs...)
	if err := es.Err(); err != nil {
		return nil, err
	}
	return &pain001Encoder{cfg: cfg, rules: rules, env: env, keys: keys}, nil
}

// Create implements sdk.Encoder.
func (e *pain001Encoder) Create(ctx context.Context, out sdk.Output) (sdk.Sink, error) {
	msgID, err := newMsgID(ctx, e.env, e.cfg.MsgIDPrefix)
	if err != nil {
		return nil, err
	}
	step := e.env.Step
	if step == "" {
		step = "sepa.pain001"
	}
	today := runDate(e.env)
	deflt := calendar.AddTargetDays(today, e.cfg.LeadDays) // 0: today if a TARGET2 day, else the next one
	return &pain001Sink{
		e: e, out: out, msgID: msgID, step: step, today: today, deflt: deflt,
		groups: groups{out: out},
		fm:     fieldMap{names: e.keys},
		seen:   seenIDs{},
		legacy: e.cfg.Version == Pain001V03,
	}, nil
}

type pain001Sink struct {
	e      *pain001Encoder
	out    sdk.Output
	msgID  string
	step   string
	today  record.Date
	deflt  record.Date
	legacy bool
	groups groups
	fm     fieldMap
	seen   seenIDs
	n      int64
	cents  int64
	x      xbuf
	closed bool
}

// Write implements sdk.Sink.
func (s *pain001Sink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	return writeEach(ctx, b, s.step, s.writeOne)
}

type sctTx struct {
	e2e, name, iban, bic, remit string
	cents                       int64
}

func (s *pain001Sink) writeOne(r record.Record) error {
	s.fm.resolve(r.Schema)
	fn := s.fm.names
	get := func(i int) record.Value { return s.fm.get(r, i) }
	var t sctTx
	var err error
	date, ok, err := dateOf(get(f1ExecDate))
	if err != nil {
		return bad(fn[f1ExecDate], "%v", err)
	}
	if !ok {
		date = s.deflt
	} else if date < s.today {
		return bad(fn[f1ExecDate], "%s is in the past", date)
	} else if !calendar.IsTargetDay(date) {
		return bad(fn[f1ExecDate], "%s is not a TARGET2 business day (%s)", date, calendar.TargetClosingReason(date))
	}
	if t.cents, err = cents(get(f1Amount)); err != nil {
		return bad(fn[f1Amount], "%v", err)
	}
	if c := strings.ToUpper(str(get(f1Currency))); c != "" && c != "EUR" {
		return bad(fn[f1Currency], "SEPA credit transfers are in EUR only, got %q", c)
	}
	if t.name, err = s.e.rules.text(str(get(f1CreditorName)), 70); err != nil {
		return bad(fn[f1CreditorName], "%v", err)
	}
	if t.name == "" {
		return bad(fn[f1CreditorName], "is missing")
	}
	t.iban = banking.NormalizeIBAN(str(get(f1CreditorIBAN)))
	if t.iban == "" {
		return bad(fn[f1CreditorIBAN], "is missing")
	}
	if err := banking.ValidIBAN(t.iban); err != nil {
		return bad(fn[f1CreditorIBAN], "%v", err)
	}
	if !banking.IsSEPACountry(t.iban[:2]) {
		return bad(fn[f1CreditorIBAN], "country %s is not in the SEPA scheme", t.iban[:2])
	}
	if t.bic = banking.NormalizeBIC(str(get(f1CreditorBIC))); t.bic != "" {
		if err := checkBIC(t.bic, s.legacy); err != nil {
			return bad(fn[f1CreditorBIC], "%v", err)
		}
	}
	if t.e2e = str(get(f1E2E)); t.e2e == "" {
		t.e2e = "NOTPROVIDED"
	} else if err := banking.ValidSEPAID(t.e2e); err != nil {
		return bad(fn[f1E2E], "%v", err)
	}
	if t.remit, err = s.e.rules.text(str(get(f1Remittance)), 140); err != nil {
		return bad(fn[f1Remittance], "%v", err)
	}
	if t.e2e != "NOTPROVIDED" && !s.seen.add(t.e2e) {
		return bad(fn[f1E2E], "duplicate end-to-end id in this file")
	}
	g, err := s.groups.get(groupKey{date: date})
	if err != nil {
		return bad(fn[f1ExecDate], "%v", err)
	}
	if s.n >= 1<<40 || s.cents > 1<<60 {
		return bad(fn[f1Amount], "file control sum would overflow")
	}
	s.x.b = s.x.b[:0]
	s.encodeTx(&t)
	if _, err := g.w.Write(s.x.b); err != nil {
		return fmt.Errorf("writing scratch file: %w", err)
	}
	g.n++
	g.cents += t.cents
	s.n++
	s.cents += t.cents
	return nil
}

func (s *pain001Sink) bicTag() string {
	if s.legacy {
		return "BIC"
	}
	return "BICFI"
}

func (s *pain001Sink) encodeTx(t *sctTx) {
	x := &s.x
	x.open(3, "CdtTrfTxInf")
	x.open(4, "PmtId")
	x.leaf(5, "EndToEndId", t.e2e)
	x.close(4, "PmtId")
	x.open(4, "Amt")
	x.amount(5, "InstdAmt", t.cents)
	x.close(4, "Amt")
	if t.bic != "" { // GBIC: without a BIC the creditor agent is not used
		x.open(4, "CdtrAgt")
		x.open(5, "FinInstnId")
		x.leaf(6, s.bicTag(), t.bic)
		x.close(5, "FinInstnId")
		x.close(4, "CdtrAgt")
	}
	x.party(4, "Cdtr", t.name)
	x.ibanAcct(4, "CdtrAcct", t.iban)
	x.remittance(4, t.remit)
	x.close(3, "CdtTrfTxInf")
}

// Close implements sdk.Sink.
func (s *pain001Sink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.groups.closeAll()
	if s.n == 0 {
		return fmt.Errorf("%s: %w", s.out.Name, ErrNoTransactions)
	}
	cfg := &s.e.cfg
	x := &xbuf{b: make([]byte, 0, 4096)}
	x.docStart(cfg.Version, "CstmrCdtTrfInitn", s.msgID, creDtTm(s.e.env), s.n, s.cents, cfg.InitiatingParty)
	for i, g := range s.groups.sorted() {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.pmtInfStart(fmt.Sprintf("%s-%d", s.msgID, i+1), "TRF", cfg.BatchBooking, g.n, g.cents)
		x.open(3, "PmtTpInf")
		x.open(4, "SvcLvl")
		x.leaf(5, "Cd", "SEPA")
		x.close(4, "SvcLvl")
		x.close(3, "PmtTpInf")
		if s.legacy {
			x.leaf(3, "ReqdExctnDt", g.key.date.String())
		} else {
			x.open(3, "ReqdExctnDt")
			x.leaf(4, "Dt", g.key.date.String())
			x.close(3, "ReqdExctnDt")
		}
		x.party(3, "Dbtr", cfg.Debtor.Name)
		x.ibanAcct(3, "DbtrAcct", cfg.Debtor.IBAN)
		x.agent(3, "DbtrAgt", s.bicTag(), cfg.Debtor.BIC)
		x.leaf(3, "ChrgBr", "SLEV")
		if err := x.flushTo(s.out.W, s.out.Name); err != nil {
			return err
		}
		if err := g.copyTo(s.out.W); err != nil {
			return fmt.Errorf("%s: %w", s.out.Name, err)
		}
		x.close(2, "PmtInf")
	}
	x.docEnd("CstmrCdtTrfInitn")
	return x.flushTo(s.out.W, s.out.Name)
}
