// Package sepa implements the SEPA / ISO 20022 formats German box offices,
// subscription sales and municipal cash offices exchange with their banks:
//
//   - sepa.pain008: writes direct debit initiations (SEPA Basis- and
//     Firmenlastschrift, CORE and B2B) as pain.008.001.08 (DK GBIC_5,
//     default) or pain.008.001.02 (GBIC_3, legacy);
//   - sepa.pain001: writes credit transfer initiations (refunds, payouts) as
//     pain.001.001.09 (GBIC_5, default) or pain.001.001.03 (GBIC_3, legacy);
//   - sepa.camt: reads bank statements, intraday reports and debit/credit
//     notifications (camt.053, camt.052, camt.054; versions .02 to .08),
//     one record per transaction, also from ZIP containers.
//
// German banks reject a whole file for one bad transaction, so the writers
// check every record before it is written (IBAN and creditor identifier check
// digits, BIC, identifier character set, names and remittance text in the
// SEPA character set, amount range and scale, mandate and collection dates)
// and turn a bad record into a record.Reject naming the field. Postal
// addresses are written only structured (TwnNm and Ctry at least; the
// unstructured-only form is rejected by banks since November 2026) and are
// required when the counterparty's IBAN is in a non-EEA SEPA country. What they
// write validates against the ISO schema and the DK technical validation
// subset (GBIC); the tests check this with xmllint.
//
// The rules come from the DK "Anlage 3" specification (V3.9, GBIC_5), the
// EPC SDD/SCT implementation guidelines and the schema annotations; see
// shared/domain/sepa.md of the project notes for the sources.
//
// Memory: the writers stream. Transactions are written to one scratch file
// per payment-information group (Output.Temp) while counts and control sums
// are kept in memory; Close writes the group header and copies the groups.
// The camt reader is a token loop over encoding/xml: it keeps one entry
// (Ntry) at a time, so a statement with 100,000 entries needs no DOM.
package sepa
