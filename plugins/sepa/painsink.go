package sepa

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/banking"
	"github.com/kontor-etl/kontor/plugins/sdk/calendar"
)

// painKind is what tells a pain.001 file from a pain.008 file in the parts
// both writers share.
type painKind struct {
	step    string // default step name for rejects
	root    string // message root element
	method  string // PmtMtd of the payment-information blocks
	what    string // the payments, for reject reasons
	other   string // the counterparty of a record (debtor, creditor)
	own     string // the config key of the own party (creditor, debtor)
	current string // the current message version
}

var (
	pain001Kind = painKind{step: "sepa.pain001", root: "CstmrCdtTrfInitn", method: "TRF", what: "SEPA credit transfers", other: "creditor", own: "debtor", current: Pain001V09}
	pain008Kind = painKind{step: "sepa.pain008", root: "CstmrDrctDbtInitn", method: "DD", what: "SEPA direct debits", other: "debtor", own: "creditor", current: Pain008V08}
)

// painSink is the part of a pain.001 or pain.008 sink both share: the
// message id, run dates, groups with their scratch files, field mapping,
// end-to-end ids seen and the file totals. Write checks and encodes each
// record into the scratch file of its group; Close writes the file.
type painSink struct {
	kind   painKind
	common *commonConfig
	rules  textRules
	env    sdk.Env
	out    sdk.Output
	msgID  string
	step   string
	today  record.Date
	deflt  record.Date // requested date of records without one
	legacy bool        // GBIC_3 (.02/.03) schema
	own    *address    // own party's address, nil if not configured
	groups groups
	fm     fieldMap
	seen   seenIDs
	n      int64
	cents  int64
	x      xbuf
	closed bool
}

// newPainSink reserves the message id and sets up the file's state.
func newPainSink(ctx context.Context, kind painKind, cfg *commonConfig, rules textRules, env sdk.Env, keys []string, legacy bool, own *address, out sdk.Output) (painSink, error) {
	msgID, err := newMsgID(ctx, env, cfg.MsgIDPrefix)
	if err != nil {
		return painSink{}, err
	}
	step := env.Step
	if step == "" {
		step = kind.step
	}
	today := runDate(env)
	return painSink{
		kind: kind, common: cfg, rules: rules, env: env, out: out, msgID: msgID, step: step, today: today,
		deflt:  calendar.AddTargetDays(today, cfg.LeadDays), // 0: today if a TARGET2 day, else the next one
		legacy: legacy,
		own:    own,
		groups: groups{out: out},
		fm:     fieldMap{names: keys},
		seen:   seenIDs{},
	}, nil
}

// painTx holds the checked fields every SEPA transaction has.
type painTx struct {
	e2e, name, iban, bic, remit string
	cents                       int64
	addr                        *address // counterparty address, nil if none
}

// txFields are the mapping indices of the painTx fields of one writer.
type txFields struct {
	amount, currency, name, iban, bic, e2e, remit int
	addr                                          int // first of the address keys (street ... country, addressParts order)
}

// addressKeys are the mapping keys of a counterparty address (party is
// "debtor" or "creditor"), in addressParts order.
func addressKeys(party string) []struct{ key, desc string } {
	out := make([]struct{ key, desc string }, len(addressParts))
	for i, p := range addressParts {
		out[i].key = party + "_" + p.key
		out[i].desc = fmt.Sprintf("Optional %s of the %s's postal address, at most %d characters; written as a structured address (pain.008.001.08 / pain.001.001.09 only). Town and country are required when any part is given, and always when the %s's IBAN is in a non-EEA SEPA country (CH, GB, SM, VA, MC, AD, ...).", p.what, party, p.max, party)
	}
	return out
}

// bicTag is the element name of a BIC in this file's schema.
func (s *painSink) bicTag() string {
	if s.legacy {
		return "BIC"
	}
	return "BICFI"
}

// payment checks the amount, the currency and the other party (name, IBAN
// and optional BIC) of record r, in that order.
func (s *painSink) payment(r record.Record, f txFields, t *painTx) error {
	fn := s.fm.names
	var err error
	if t.cents, err = cents(s.fm.get(r, f.amount)); err != nil {
		return bad(fn[f.amount], "%v", err)
	}
	if c := strings.ToUpper(str(s.fm.get(r, f.currency))); c != "" && c != "EUR" {
		return bad(fn[f.currency], "%s are in EUR only, got %q", s.kind.what, c)
	}
	if t.name, err = s.rules.name(str(s.fm.get(r, f.name)), 70); err != nil {
		return bad(fn[f.name], "%v", err)
	}
	if t.name == "" {
		return bad(fn[f.name], "is missing")
	}
	t.iban = banking.NormalizeIBAN(str(s.fm.get(r, f.iban)))
	if t.iban == "" {
		return bad(fn[f.iban], "is missing")
	}
	if err := banking.ValidIBAN(t.iban); err != nil {
		return bad(fn[f.iban], "%v", err)
	}
	if !banking.IsSEPACountry(t.iban[:2]) {
		return bad(fn[f.iban], "country %s is not in the SEPA scheme", t.iban[:2])
	}
	if t.bic = banking.NormalizeBIC(str(s.fm.get(r, f.bic))); t.bic != "" {
		if err := checkBIC(t.bic, s.legacy); err != nil {
			return bad(fn[f.bic], "%v", err)
		}
	}
	return s.address(r, f, t)
}

// address reads and checks the counterparty's postal address of record r
// and applies the non-EEA rule: when the counterparty's IBAN is in a
// non-EEA SEPA country, the record needs town and country and the own
// party its configured address. The legacy versions write no address
// (they only know the unstructured form banks reject since November 2026),
// so there a non-EEA record is rejected.
func (s *painSink) address(r record.Record, f txFields, t *painTx) error {
	fn := s.fm.names
	var a address
	for i := range addressParts {
		*a.part(i) = str(s.fm.get(r, f.addr+i))
	}
	party := s.kind.other
	if where, ok := nonEEA(t.iban); ok {
		if s.legacy {
			return bad(fn[f.iban], "the %s's bank is in %s, a SEPA country outside the EEA, where the %s address is mandatory; %s can carry it only unstructured, which banks reject since November 2026: use %s", party, where, party, s.common.Version, s.kind.current)
		}
		if a.empty() {
			return bad(fn[f.addr+3], "is missing: the %s's bank is in %s, a SEPA country outside the EEA, where the %s address (town and country at least) is mandatory", party, where, party)
		}
		if s.own == nil {
			return bad(fn[f.iban], "the %s's bank is in %s, a SEPA country outside the EEA, where the %s address is mandatory too: configure %s.address in the sink", party, where, s.kind.own, s.kind.own)
		}
	}
	if s.legacy || a.empty() {
		return nil
	}
	if key, err := checkAddress(&a, s.rules); err != nil {
		for i, p := range addressParts {
			if p.key == key {
				return bad(fn[f.addr+i], "%v", err)
			}
		}
		return bad(fn[f.addr], "%v", err)
	}
	t.addr = &a
	return nil
}

// reference checks the end-to-end id (NOTPROVIDED when empty) and the
// remittance text of record r, in that order.
func (s *painSink) reference(r record.Record, f txFields, t *painTx) error {
	fn := s.fm.names
	if t.e2e = str(s.fm.get(r, f.e2e)); t.e2e == "" {
		t.e2e = "NOTPROVIDED"
	} else if err := banking.ValidSEPAID(t.e2e); err != nil {
		return bad(fn[f.e2e], "%v", err)
	}
	var err error
	if t.remit, err = s.rules.text(str(s.fm.get(r, f.remit)), 140); err != nil {
		return bad(fn[f.remit], "%v", err)
	}
	return nil
}

// add rejects a duplicate end-to-end id and a transaction the file totals
// cannot hold, finds the group of key (a group error is a reject of
// dateField) and appends the transaction that encode writes to the group's
// scratch file, counting it in the totals. The end-to-end id counts as seen
// only once the transaction is appended: a record rejected here does not
// make a later record with its id a duplicate. Callers record their own
// per-file history (pain.008 mandates) only after add returns nil, too.
func (s *painSink) add(f txFields, t *painTx, key groupKey, dateField string, encode func(x *xbuf)) error {
	fn := s.fm.names
	if t.e2e != "NOTPROVIDED" && s.seen.has(t.e2e) {
		return bad(fn[f.e2e], "duplicate end-to-end id in this file")
	}
	if s.n >= 1<<40 || s.cents > 1<<60 { // before the group: a new group must get its transaction
		return bad(fn[f.amount], "file control sum would overflow")
	}
	g, err := s.groups.get(key)
	if err != nil {
		return bad(dateField, "%v", err)
	}
	s.x.b = s.x.b[:0]
	encode(&s.x)
	if _, err := g.w.Write(s.x.b); err != nil {
		return fmt.Errorf("writing scratch file: %w", err)
	}
	g.n++
	g.cents += t.cents
	s.n++
	s.cents += t.cents
	if t.e2e != "NOTPROVIDED" {
		s.seen.add(t.e2e)
	}
	return nil
}

// close writes the file: the group header with the exact totals, then per
// group the payment-information block, whose header after PmtInfId, PmtMtd,
// BtchBookg and the totals pmtInf writes, followed by the group's
// transactions. A second call does nothing; no transactions is
// ErrNoTransactions.
func (s *painSink) close(ctx context.Context, pmtInf func(x *xbuf, key groupKey)) error {
	if s.closed {
		return nil
	}
	s.closed = true
	defer s.groups.closeAll()
	if s.n == 0 {
		return fmt.Errorf("%s: %w", s.out.Name, ErrNoTransactions)
	}
	x := &xbuf{b: make([]byte, 0, 4096)}
	x.docStart(s.common.Version, s.kind.root, s.msgID, creDtTm(s.env), s.n, s.cents, s.common.InitiatingParty)
	if err := s.flush(x); err != nil {
		return err
	}
	for i, g := range s.groups.sorted() {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.pmtInfStart(fmt.Sprintf("%s-%d", s.msgID, i+1), s.kind.method, s.common.BatchBooking, g.n, g.cents)
		pmtInf(x, g.key)
		if err := s.flush(x); err != nil {
			return err
		}
		if err := g.copyTo(s.out.W); err != nil {
			return fmt.Errorf("%s: %w", s.out.Name, err)
		}
		x.close(2, "PmtInf")
	}
	x.docEnd(s.kind.root)
	return s.flush(x)
}

func (s *painSink) flush(x *xbuf) error { return x.flushTo(s.out.W, s.out.Name) }

// writeEach writes the records of b with one, turning a *rejectErr into a
// reject of that record (the file stays valid) and stopping at any other error.
func writeEach(ctx context.Context, b *record.Batch, step string, one func(record.Record) error) ([]record.Reject, error) {
	var rejects []record.Reject
	for _, r := range b.Records {
		if err := one(r); err != nil {
			var re *rejectErr
			if errors.As(err, &re) {
				rejects = append(rejects, record.Reject{Record: r, Step: step, Field: re.field, Reason: re.reason})
				continue
			}
			return rejects, err
		}
	}
	return rejects, ctx.Err()
}
