package sepa

import (
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xbuf builds indented XML into a byte slice without reflection or
// per-element allocations; callers flush b to their writer. Text is escaped
// (& < >; text nodes need no quote escaping); all text the writers emit has already been checked
// against the SEPA character set, so no control characters reach it.
type xbuf struct{ b []byte }

const indentSpaces = "                                                                "

func (x *xbuf) indent(d int) {
	n := 2 * d
	if n > len(indentSpaces) {
		n = len(indentSpaces)
	}
	x.b = append(x.b, indentSpaces[:n]...)
}

// open writes <tag> on its own line at depth d.
func (x *xbuf) open(d int, tag string) {
	x.indent(d)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// close writes </tag> on its own line at depth d.
func (x *xbuf) close(d int, tag string) {
	x.indent(d)
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// leaf writes <tag>text</tag> at depth d.
func (x *xbuf) leaf(d int, tag, text string) {
	x.indent(d)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>')
	x.b = appendEscaped(x.b, text)
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// amount writes <tag Ccy="EUR">12.34</tag> at depth d.
func (x *xbuf) amount(d int, tag string, cents int64) {
	x.indent(d)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, ` Ccy="EUR">`...)
	x.b = appendCents(x.b, cents)
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// centsLeaf writes <tag>12.34</tag> at depth d.
func (x *xbuf) centsLeaf(d int, tag string, cents int64) {
	x.indent(d)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>')
	x.b = appendCents(x.b, cents)
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// intLeaf writes <tag>n</tag> at depth d.
func (x *xbuf) intLeaf(d int, tag string, n int64) {
	x.indent(d)
	x.b = append(x.b, '<')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>')
	x.b = strconv.AppendInt(x.b, n, 10)
	x.b = append(x.b, '<', '/')
	x.b = append(x.b, tag...)
	x.b = append(x.b, '>', '\n')
}

// appendCents appends a non-negative amount in cents as "123.45".
func appendCents(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	c := cents % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

// appendEscaped appends s with & < > escaped, for text nodes.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// runeLen is the length in characters, which is what the schema limits count.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// docStart writes the XML declaration, the Document element of the message
// version, the message root and the group header that pain.001 and
// pain.008 share (exact totals known only at Close).
func (x *xbuf) docStart(version, root, msgID, created string, n, cents int64, initiator string) {
	x.b = append(x.b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	x.b = append(x.b, `<Document xmlns="urn:iso:std:iso:20022:tech:xsd:`+version+`" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">`+"\n"...)
	x.open(1, root)
	x.open(2, "GrpHdr")
	x.leaf(3, "MsgId", msgID)
	x.leaf(3, "CreDtTm", created)
	x.intLeaf(3, "NbOfTxs", n)
	x.centsLeaf(3, "CtrlSum", cents)
	x.open(3, "InitgPty")
	x.leaf(4, "Nm", initiator)
	x.close(3, "InitgPty")
	x.close(2, "GrpHdr")
}

// docEnd closes the message root and the Document.
func (x *xbuf) docEnd(root string) {
	x.close(1, root)
	x.b = append(x.b, "</Document>\n"...)
}

// pmtInfStart opens a payment information block with its id, method
// (TRF or DD), batch booking flag and the block's totals.
func (x *xbuf) pmtInfStart(id, method string, batchBooking bool, n, cents int64) {
	x.open(2, "PmtInf")
	x.leaf(3, "PmtInfId", id)
	x.leaf(3, "PmtMtd", method)
	x.leaf(3, "BtchBookg", strconv.FormatBool(batchBooking))
	x.intLeaf(3, "NbOfTxs", n)
	x.centsLeaf(3, "CtrlSum", cents)
}

// party writes <tag><Nm>name</Nm></tag> at depth d, with the structured
// postal address a after the name unless a is nil.
func (x *xbuf) party(d int, tag, name string, a *address) {
	x.open(d, tag)
	x.leaf(d+1, "Nm", name)
	if a != nil {
		x.open(d+1, "PstlAdr")
		for i, p := range [...]struct{ tag, v string }{
			{"StrtNm", a.Street}, {"BldgNb", a.BuildingNumber}, {"PstCd", a.PostalCode}, {"TwnNm", a.Town}, {"Ctry", a.Country},
		} {
			if p.v != "" || i >= 3 { // TwnNm and Ctry are mandatory in PostalAddress24 (GBIC_5)
				x.leaf(d+2, p.tag, p.v)
			}
		}
		x.close(d+1, "PstlAdr")
	}
	x.close(d, tag)
}

// remittance writes unstructured remittance text at depth d, if there is any.
func (x *xbuf) remittance(d int, text string) {
	if text == "" {
		return
	}
	x.open(d, "RmtInf")
	x.leaf(d+1, "Ustrd", text)
	x.close(d, "RmtInf")
}

// flushTo writes what is buffered to w (the output called name) and empties the buffer.
func (x *xbuf) flushTo(w io.Writer, name string) error {
	if _, err := w.Write(x.b); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	x.b = x.b[:0]
	return nil
}

// agent writes <tag><FinInstnId><BICFI>..</BICFI></FinInstnId></tag>, or
// Othr/Id NOTPROVIDED without a BIC.
func (x *xbuf) agent(d int, tag, bicTag, bic string) {
	x.open(d, tag)
	x.open(d+1, "FinInstnId")
	if bic != "" {
		x.leaf(d+2, bicTag, bic)
	} else {
		x.open(d+2, "Othr")
		x.leaf(d+3, "Id", "NOTPROVIDED")
		x.close(d+2, "Othr")
	}
	x.close(d+1, "FinInstnId")
	x.close(d, tag)
}

// sepaCI writes the Id/PrvtId/Othr structure of a creditor identifier.
func (x *xbuf) sepaCI(d int, ci string) {
	x.open(d, "Id")
	x.open(d+1, "PrvtId")
	x.open(d+2, "Othr")
	x.leaf(d+3, "Id", ci)
	x.open(d+3, "SchmeNm")
	x.leaf(d+4, "Prtry", "SEPA")
	x.close(d+3, "SchmeNm")
	x.close(d+2, "Othr")
	x.close(d+1, "PrvtId")
	x.close(d, "Id")
}

func (x *xbuf) ibanAcct(d int, tag, iban string) {
	x.open(d, tag)
	x.open(d+1, "Id")
	x.leaf(d+2, "IBAN", iban)
	x.close(d+1, "Id")
	x.close(d, tag)
}
