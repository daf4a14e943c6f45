package sepa

import (
	"context"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
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
	f1Address // creditor_street ... creditor_country (addressKeys)
)

func init() { pain001Keys = append(pain001Keys, addressKeys("creditor")...) }

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
	rules := checkVersionAndAccount(&cfg.commonConfig, Pain001V09, Pain001V03, "debtor", &cfg.Debtor, false, &es)
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
	ps, err := newPainSink(ctx, pain001Kind, &e.cfg.commonConfig, e.rules, e.env, e.keys, e.cfg.Version == Pain001V03, ownAddress(e.cfg.Debtor, e.cfg.Version == Pain001V03), out)
	if err != nil {
		return nil, err
	}
	return &pain001Sink{painSink: ps, debtor: e.cfg.Debtor}, nil
}

type pain001Sink struct {
	painSink
	debtor account
}

// Write implements sdk.Sink.
func (s *pain001Sink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	return writeEach(ctx, b, s.step, s.writeOne)
}

// pain001Tx are the indices of the painTx fields in pain001Keys.
var pain001Tx = txFields{amount: f1Amount, currency: f1Currency, name: f1CreditorName, iban: f1CreditorIBAN,
	bic: f1CreditorBIC, e2e: f1E2E, remit: f1Remittance, addr: f1Address}

func (s *pain001Sink) writeOne(r record.Record) error {
	s.fm.resolve(r.Schema)
	fn := s.fm.names
	date, ok, err := dateOf(s.fm.get(r, f1ExecDate))
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
	var t painTx
	if err := s.payment(r, pain001Tx, &t); err != nil {
		return err
	}
	if err := s.reference(r, pain001Tx, &t); err != nil {
		return err
	}
	return s.add(pain001Tx, &t, groupKey{date: date}, fn[f1ExecDate], func(x *xbuf) { s.encodeTx(x, &t) })
}

func (s *pain001Sink) encodeTx(x *xbuf, t *painTx) {
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
	x.party(4, "Cdtr", t.name, t.addr)
	x.ibanAcct(4, "CdtrAcct", t.iban)
	x.remittance(4, t.remit)
	x.close(3, "CdtTrfTxInf")
}

// Close implements sdk.Sink: header with exact totals, then the groups.
func (s *pain001Sink) Close(ctx context.Context) error {
	return s.close(ctx, func(x *xbuf, key groupKey) {
		x.open(3, "PmtTpInf")
		x.open(4, "SvcLvl")
		x.leaf(5, "Cd", "SEPA")
		x.close(4, "SvcLvl")
		x.close(3, "PmtTpInf")
		if s.legacy {
			x.leaf(3, "ReqdExctnDt", key.date.String())
		} else {
			x.open(3, "ReqdExctnDt")
			x.leaf(4, "Dt", key.date.String())
			x.close(3, "ReqdExctnDt")
		}
		x.party(3, "Dbtr", s.debtor.Name, s.own)
		x.ibanAcct(3, "DbtrAcct", s.debtor.IBAN)
		x.agent(3, "DbtrAgt", s.bicTag(), s.debtor.BIC)
		x.leaf(3, "ChrgBr", "SLEV")
	})
}
