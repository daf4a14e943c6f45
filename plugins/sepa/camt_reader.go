package sepa

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// CamtConfig is the configuration of sepa.camt.
type CamtConfig struct {
	// CheckBalance reports a statement whose opening balance (OPBD, else
	// PRCD) plus its booked entries differs from its closing balance (CLBD),
	// and one whose TxsSummry/TtlNtries count or sum differs from the
	// entries read, as a reject of the statement (the entries are still
	// emitted); likewise a batch entry whose transactions (each with an
	// amount in the entry's currency, no charges) do not add up to the
	// entry amount. Default true.
	CheckBalance bool `yaml:"check_balance"`
	// RemittanceSeparator joins several Ustrd lines; default " ". Use ""
	// to search tokens that banks wrap across lines (EREF/MREF).
	RemittanceSeparator string `yaml:"remittance_separator"`
	// MaxZipMemberMiB limits the uncompressed size of one ZIP member in
	// MiB (default 1024); a larger member (a ZIP bomb, or a mistake) fails
	// the read before it is decompressed. Must be at least 1.
	MaxZipMemberMiB int64 `yaml:"max_zip_member_mib"`
}

// defaultMaxZipMemberMiB is the default of max_zip_member_mib.
const defaultMaxZipMemberMiB = 1024

// CamtSpec returns the config spec of sepa.camt.
func CamtSpec() sdk.Spec {
	return sdk.Spec{Fields: []sdk.Field{
		{Name: "check_balance", Type: sdk.TypeBool, Default: true,
			Description: "Reject a statement (keeping its entries) when opening balance plus booked entries differs from the closing balance, or when the entry count or sum differs from TxsSummry; likewise a batch entry whose transaction amounts do not add up to it.", Example: false},
		{Name: "remittance_separator", Type: sdk.TypeString, Default: " ",
			Description: "Text placed between several unstructured remittance lines (Ustrd) when they are joined into the remittance field.", Example: ""},
		{Name: "max_zip_member_mib", Type: sdk.TypeInt, Default: int64(defaultMaxZipMemberMiB), Min: sdk.Int64(1),
			Description: "Largest uncompressed size of one member of a ZIP container in MiB; a larger member fails the read before it is decompressed (protection against ZIP bombs).", Example: 4096},
	}}
}

// camtFields is the fixed output schema of sepa.camt, one record per
// transaction detail (TxDtls), or per entry when an entry has none.
var camtFields = []record.Field{
	{Name: "message", Kind: record.KindString},           // camt.053.001.08
	{Name: "message_id", Kind: record.KindString},        // GrpHdr/MsgId
	{Name: "statement_id", Kind: record.KindString},      // Stmt/Id (Rpt/Id, Ntfctn/Id)
	{Name: "statement_seq", Kind: record.KindString},     // ElctrncSeqNb
	{Name: "account_iban", Kind: record.KindString},      // Acct/Id/IBAN (or Othr/Id)
	{Name: "account_currency", Kind: record.KindString},  // Acct/Ccy
	{Name: "entry_index", Kind: record.KindInt},          // 1-based Ntry number in the statement
	{Name: "entry_ref", Kind: record.KindString},         // NtryRef
	{Name: "bank_ref", Kind: record.KindString},          // Ntry/AcctSvcrRef
	{Name: "booking_date", Kind: record.KindDate},        // BookgDt
	{Name: "value_date", Kind: record.KindDate},          // ValDt
	{Name: "status", Kind: record.KindString},            // BOOK, PDNG, INFO
	{Name: "credit_debit", Kind: record.KindString},      // CRDT or DBIT (of the entry)
	{Name: "reversal", Kind: record.KindBool},            // RvslInd
	{Name: "amount", Kind: record.KindDecimal},           // transaction amount (positive)
	{Name: "currency", Kind: record.KindString},          // of amount
	{Name: "signed_amount", Kind: record.KindDecimal},    // amount, negative for DBIT
	{Name: "entry_amount", Kind: record.KindDecimal},     // Ntry/Amt (positive)
	{Name: "original_amount", Kind: record.KindDecimal},  // AmtDtls/InstdAmt (returns: without fees)
	{Name: "fees", Kind: record.KindDecimal},             // charges of the transaction
	{Name: "btc_domain", Kind: record.KindString},        // BkTxCd/Domn/Cd
	{Name: "btc_family", Kind: record.KindString},        // BkTxCd/Domn/Fmly/Cd
	{Name: "btc_subfamily", Kind: record.KindString},     // BkTxCd/Domn/Fmly/SubFmlyCd
	{Name: "btc_proprietary", Kind: record.KindString},   // BkTxCd/Prtry/Cd (NDDT+105+...)
	{Name: "btc_issuer", Kind: record.KindString},        // BkTxCd/Prtry/Issr (DK, ZKA)
	{Name: "gvc", Kind: record.KindString},               // German Geschäftsvorfallcode
	{Name: "end_to_end_id", Kind: record.KindString},     // Refs/EndToEndId
	{Name: "mandate_id", Kind: record.KindString},        // Refs/MndtId
	{Name: "creditor_id", Kind: record.KindString},       // Cdtr.../PrvtId/Othr/Id (Gläubiger-ID)
	{Name: "instruction_id", Kind: record.KindString},    // Refs/InstrId
	{Name: "payment_info_id", Kind: record.KindString},   // Refs/PmtInfId, else Btch/PmtInfId
	{Name: "tx_id", Kind: record.KindString},             // Refs/TxId
	{Name: "uetr", Kind: record.KindString},              // Refs/UETR
	{Name: "proprietary_ref", Kind: record.KindString},   // Refs/Prtry/Ref (FI-UMSATZ-ID)
	{Name: "counterparty_name", Kind: record.KindString}, // debtor for credits, creditor for debits (swapped for returns)
	{Name: "counterparty_iban", Kind: record.KindString},
	{Name: "counterparty_bic", Kind: record.KindString},
	{Name: "debtor_name", Kind: record.KindString},
	{Name: "debtor_iban", Kind: record.KindString},
	{Name: "creditor_name", Kind: record.KindString},
	{Name: "creditor_iban", Kind: record.KindString},
	{Name: "remittance", Kind: record.KindString},         // Ustrd lines joined
	{Name: "creditor_reference", Kind: record.KindString}, // Strd/CdtrRefInf/Ref
	{Name: "purpose", Kind: record.KindString},            // Purp/Cd
	{Name: "return_reason", Kind: record.KindString},      // RtrInf/Rsn/Cd (or Prtry)
	{Name: "return_info", Kind: record.KindString},        // RtrInf/AddtlInf
	{Name: "batch_count", Kind: record.KindInt},           // Btch/NbOfTxs
	{Name: "entry_info", Kind: record.KindString},         // AddtlNtryInf (Buchungstext)
	{Name: "tx_info", Kind: record.KindString},            // AddtlTxInf
}

var camtSchema = record.MustSchema(camtFields...)

// camtStatementSchema is the schema of the statement records that carry a
// balance reject.
var camtStatementSchema = record.MustSchema(
	record.Field{Name: "message", Kind: record.KindString},
	record.Field{Name: "statement_id", Kind: record.KindString},
	record.Field{Name: "account_iban", Kind: record.KindString},
	record.Field{Name: "entries", Kind: record.KindInt},
)

// CamtComponent returns the sepa.camt source.
func CamtComponent() sdk.Component {
	return sdk.Component{
		Name:    "camt",
		Kind:    sdk.KindSource,
		IO:      sdk.IOFile,
		Summary: "Reads camt.052/053/054 bank statements, reports and notifications (also in ZIP containers), one record per transaction.",
		Description: "Reads ISO 20022 cash management messages: camt.053 (statement), camt.052 (intraday report) and " +
			"camt.054 (debit/credit notification, batch break-down) in versions .001.02 to .001.08, detected from the " +
			"namespace or root element. One record per transaction detail (TxDtls) with the entry's data; an entry " +
			"without details gives one record. Lenient on purpose: no XML declaration with ISO-8859-1 content, missing " +
			"namespaces and invalid BICs or creditor ids are read as they are. ZIP files are read member by member " +
			"(origin `file.zip!member.xml:line:col`). Returns (Rücklastschriften) carry original_amount, fees and " +
			"return_reason; counterparty fields name the customer for returns too. A statement whose balances do not " +
			"add up is rejected as a statement record while its entries are still emitted. An entry without a valid " +
			"CdtDbtInd or with a missing, negative or non-decimal amount is rejected; PDNG and INFO entries keep their " +
			"status and are not balanced; ZIP members that are not XML are skipped with a reject, members larger than " +
			"max_zip_member_mib fail the read; camt versions outside .001.02 to .001.13 fail with the position.",
		Spec: CamtSpec(),
		Examples: []string{`source:
  type: sepa.camt
  path: in/kontoauszug/*.zip
`},
		NewDecoder: newCamtDecoder,
		Schema:     func(sdk.Config) (*record.Schema, error) { return camtSchema, nil },
	}
}

type camtDecoder struct {
	cfg  CamtConfig
	env  sdk.Env
	step string
}

func newCamtDecoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Decoder, error) {
	cfg := CamtConfig{CheckBalance: true, RemittanceSeparator: " ", MaxZipMemberMiB: defaultMaxZipMemberMiB}
	if err := sdk.ApplyDefaults(CamtSpec(), c).Decode(&cfg); err != nil {
		return nil, err
	}
	if cfg.MaxZipMemberMiB < 1 {
		var es sdk.FieldErrors
		es.Add("max_zip_member_mib", "must be at least 1, got %d", cfg.MaxZipMemberMiB)
		return nil, es.Err()
	}
	step := env.Step
	if step == "" {
		step = "sepa.camt"
	}
	return &camtDecoder{cfg: cfg, env: env, step: step}, nil
}

// Open implements sdk.Decoder.
func (d *camtDecoder) Open(_ context.Context, in sdk.Input) (sdk.Source, error) {
	br := bufio.NewReaderSize(in.R, 64*1024)
	magic, _ := br.Peek(4)
	var docs []camtDoc
	if bytes.Equal(magic, []byte("PK\x03\x04")) {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("%s: reading zip: %w", in.Name, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		files := append([]*zip.File(nil), zr.File...)
		sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		limit := uint64(d.cfg.MaxZipMemberMiB) << 20
		for _, f := range files {
			if f.FileInfo().IsDir() || strings.HasPrefix(pathBase(f.Name), ".") || strings.HasPrefix(f.Name, "__MACOSX/") {
				continue
			}
			name := in.Name + "!" + f.Name
			if f.UncompressedSize64 > limit {
				return nil, fmt.Errorf("%s: uncompressed size %d bytes exceeds max_zip_member_mib %d (%d compressed bytes); not read", name, f.UncompressedSize64, d.cfg.MaxZipMemberMiB, f.CompressedSize64)
			}
			// archive/zip fails a member that inflates beyond its declared
			// size, so the declared size bounds what is read.
			docs = append(docs, camtDoc{name: name, open: f.Open, member: true})
		}
	} else {
		docs = []camtDoc{{name: in.Name, open: func() (io.ReadCloser, error) { return io.NopCloser(br), nil }}}
	}
	batch := d.env.BatchSize
	if batch <= 0 {
		batch = 1000
	}
	s := &camtSource{d: d, docs: docs, batch: batch}
	s.next, s.stop = iter.Pull2(s.items)
	return s, nil
}

// looksLikeXML reports whether the first non-blank byte after an optional
// UTF-8 byte order mark is '<'.
func looksLikeXML(br *bufio.Reader) bool {
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '<'
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

type camtDoc struct {
	name   string
	open   func() (io.ReadCloser, error)
	member bool // a ZIP member: one that is not XML is skipped with a reject
}

// camtItem is one record or one reject produced by the parser.
type camtItem struct {
	rec record.Record
	rej *record.Reject
}

type camtSource struct {
	d     *camtDecoder
	docs  []camtDoc
	batch int
	next  func() (camtItem, error, bool)
	stop  func()
	done  bool
}

var errStopped = errors.New("stopped")

func (s *camtSource) items(yield func(camtItem, error) bool) {
	for _, doc := range s.docs {
		rc, err := doc.open()
		if err != nil {
			yield(camtItem{}, fmt.Errorf("%s: %w", doc.name, err))
			return
		}
		var r io.Reader = rc
		if doc.member {
			br := bufio.NewReaderSize(rc, 4096)
			if !looksLikeXML(br) {
				rc.Close()
				rec := record.New(camtStatementSchema, record.Origin{File: doc.name})
				rej := &record.Reject{Record: rec, Step: s.d.step, Field: "file",
					Reason: "ZIP member " + doc.name[strings.LastIndexByte(doc.name, '!')+1:] + " is not an XML file; skipped"}
				if !yield(camtItem{rej: rej}, nil) {
					return
				}
				continue
			}
			r = br
		}
		p := &camtParser{cfg: s.d.cfg, step: s.d.step, file: doc.name, yield: yield}
		err = p.parse(r)
		rc.Close()
		if err != nil {
			if err != errStopped {
				yield(camtItem{}, err)
			}
			return
		}
	}
}

// Next implements sdk.Source.
func (s *camtSource) Next(ctx context.Context) (*record.Batch, error) {
	if s.done {
		return nil, io.EOF
	}
	b := &record.Batch{Records: make([]record.Record, 0, s.batch)}
	for len(b.Records) < s.batch {
		if len(b.Records)&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		it, err, ok := s.next()
		if !ok {
			s.done = true
			break
		}
		if err != nil {
			s.done = true
			s.stop()
			return nil, err
		}
		if it.rej != nil {
			b.Rejects = append(b.Rejects, *it.rej)
		} else {
			b.Records = append(b.Records, it.rec)
		}
	}
	if len(b.Records) == 0 && len(b.Rejects) == 0 {
		return nil, io.EOF
	}
	return b, nil
}

// Close implements sdk.Source.
func (s *camtSource) Close() error {
	s.stop()
	return nil
}

// camtParser reads one XML document.
type camtParser struct {
	cfg   CamtConfig
	step  string
	file  string
	yield func(camtItem, error) bool
	x     *xmlReader
	index int64 // records emitted from this document

	message string // camt.053.001.08
	msgID   string
}

// camtKinds maps the message root element to the message type.
var camtKinds = map[string]string{
	"BkToCstmrAcctRpt":      "camt.052",
	"BkToCstmrStmt":         "camt.053",
	"BkToCstmrDbtCdtNtfctn": "camt.054",
}

func (p *camtParser) parse(r io.Reader) error {
	d, err := newXMLDecoder(r)
	if err != nil {
		return fmt.Errorf("%s: %w", p.file, err)
	}
	p.x = &xmlReader{d: d, name: p.file}
	// Find the root element.
	var root xml.StartElement
	for {
		t, err := p.x.token()
		if err == io.EOF {
			return fmt.Errorf("%s: no XML element found (not a camt file)", p.file)
		}
		if err != nil {
			return err
		}
		if se, ok := t.(xml.StartElement); ok {
			root = se
			break
		}
	}
	p.x.raw = true // namespaces are resolved for the root only
	path := root.Name.Local
	if _, ok := camtKinds[root.Name.Local]; ok { // Document wrapper missing
		if err := p.setMessage(root.Name.Local, root.Name.Space); err != nil {
			return err
		}
		return p.message_(root, path)
	}
	if root.Name.Local != "Document" {
		return p.x.errAt("root element <%s> is not a camt Document", root.Name.Local)
	}
	found := false
	for {
		line, col := p.x.pos()
		t, err := p.x.token()
		if err != nil {
			if err == io.EOF {
				return p.x.errAt("unexpected end of file inside <Document>")
			}
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if _, ok := camtKinds[t.Name.Local]; !ok {
				return fmt.Errorf("%s:%d:%d: <%s> is not a camt.052/053/054 message (want BkToCstmrStmt, BkToCstmrAcctRpt or BkToCstmrDbtCdtNtfctn)", p.file, line, col, t.Name.Local)
			}
			ns := root.Name.Space
			for _, a := range t.Attr { // a namespace declared on the message element itself
				if (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == "xmlns" {
					if strings.Contains(a.Value, "camt.") {
						ns = a.Value
					}
				}
			}
			if err := p.setMessage(t.Name.Local, ns); err != nil {
				return err
			}
			found = true
			if err := p.message_(t, path+"/"+t.Name.Local); err != nil {
				return err
			}
		case xml.EndElement:
			if !found {
				return p.x.errAt("empty <Document>")
			}
			return nil
		}
	}
}

// camtNamespace finds the message and version in a namespace such as
// urn:iso:std:iso:20022:tech:xsd:camt.053.001.08.
var camtNamespace = regexp.MustCompile(`camt\.(05[234])\.001\.([0-9]{2})`)

// Versions read: .001.02 to .001.13 share the structure of the elements
// read here (.02 to .06 with the plain Sts code and Nm under Dbtr/Cdtr,
// .07 on with Sts/Cd and Dbtr/Pty/Nm; both forms are tried).
const minCamtVersion, maxCamtVersion = 2, 13

// setMessage derives "camt.053.001.08" from the namespace, or the bare
// message type when the namespace is missing or not an ISO 20022 one
// (bank quirks). A namespace of another ISO 20022 message, of another camt
// message than the root element, or of a version outside .001.02 to
// .001.13 is an error naming it.
func (p *camtParser) setMessage(local, ns string) error {
	kind := camtKinds[local]
	p.message = kind
	if ns == "" {
		return nil
	}
	m := camtNamespace.FindStringSubmatch(ns)
	if m == nil {
		if strings.Contains(ns, "20022") {
			return p.x.errAt("namespace %q is not a camt.052/053/054 namespace (root element <%s>)", ns, local)
		}
		return nil
	}
	if "camt."+m[1] != kind {
		return p.x.errAt("namespace %q is camt.%s but <%s> is the root of a %s message", ns, m[1], local, kind)
	}
	v, _ := strconv.Atoi(m[2])
	if v < minCamtVersion || v > maxCamtVersion {
		return p.x.errAt("%s (namespace %q) is not supported: this reader knows versions .001.%02d to .001.%02d", m[0], ns, minCamtVersion, maxCamtVersion)
	}
	p.message = m[0]
	return nil
}

// message_ reads BkToCstmrStmt etc.: GrpHdr and the statements.
func (p *camtParser) message_(start xml.StartElement, path string) error {
	counts := map[string]int{}
	for {
		line, col := p.x.pos()
		t, err := p.x.token()
		if err != nil {
			if err == io.EOF {
				return p.x.errAt("unexpected end of file inside <%s>", start.Name.Local)
			}
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "GrpHdr":
				n, err := p.x.capture(t)
				if err != nil {
					return err
				}
				p.msgID = n.str("MsgId")
			case "Stmt", "Rpt", "Ntfctn":
				counts[t.Name.Local]++
				sp := fmt.Sprintf("%s/%s[%d]", path, t.Name.Local, counts[t.Name.Local])
				if err := p.statement(t, sp, line, col); err != nil {
					return err
				}
			default:
				if err := p.x.d.Skip(); err != nil {
					return p.x.errAt("malformed XML: %v", err)
				}
			}
		case xml.EndElement:
			return nil
		}
	}
}

// stmtInfo is what every record of a statement shares.
type stmtInfo struct {
	id, seq, iban, ccy string
}

func (p *camtParser) statement(start xml.StartElement, path string, line, col int) error {
	hdr := &xnode{name: start.Name.Local}
	var info *stmtInfo
	var entries int64
	var booked, absSum record.Decimal // booked: signed sum of BOOK entries in the balance currency
	var sumErr bool
	var otherCcy int64 // booked entries not in the balance currency
	balCcy := ""
	counts := 0
	for {
		l, c := p.x.pos()
		t, err := p.x.token()
		if err != nil {
			if err == io.EOF {
				return p.x.errAt("unexpected end of file inside <%s>", start.Name.Local)
			}
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "Ntry" {
				n, err := p.x.capture(t)
				if err != nil {
					return err
				}
				hdr.kids = append(hdr.kids, n)
				continue
			}
			if info == nil {
				info = p.stmtInfo(hdr)
				balCcy = balanceCurrency(hdr)
			}
			counts++
			e, err := p.entry(t, info, counts, fmt.Sprintf("%s/Ntry[%d]", path, counts), l, c)
			if err != nil {
				return err
			}
			entries++
			if e.amountOK {
				if s, err := absSum.Add(e.amount); err == nil {
					absSum = s
				} else {
					sumErr = true
				}
				if (e.status == "BOOK" || e.status == "") && e.ccy != balCcy && e.ccy != "" {
					otherCcy++
				}
				if (e.status == "BOOK" || e.status == "") && (e.ccy == balCcy || e.ccy == "") {
					v := e.amount
					if e.cd == "DBIT" {
						v = v.Neg()
					}
					if s, err := booked.Add(v); err == nil {
						booked = s
					} else {
						sumErr = true
					}
				}
			} else {
				sumErr = true
			}
		case xml.EndElement:
			if info == nil {
				info = p.stmtInfo(hdr)
			}
			if p.cfg.CheckBalance && !sumErr {
				p.checkStatement(hdr, info, entries, otherCcy, booked, absSum, path, line, col)
			}
			return nil
		}
	}
}

func (p *camtParser) stmtInfo(hdr *xnode) *stmtInfo {
	return &stmtInfo{
		id:   hdr.str("Id"),
		seq:  hdr.first("ElctrncSeqNb", "LglSeqNb"),
		iban: hdr.first("Acct/Id/IBAN", "Acct/Id/Othr/Id"),
		ccy:  hdr.str("Acct", "Ccy"),
	}
}

// balance returns the signed amount of the first balance with one of the
// codes. problem is set when that balance cannot be used: its code occurs
// more than once with different amounts, or its amount is unreadable.
func balance(hdr *xnode, codes ...string) (v record.Decimal, ccy, code, problem string, ok bool) {
	for _, code := range codes {
		var found []*xnode
		for _, b := range hdr.kids {
			if b.name == "Bal" && b.first("Tp/CdOrPrtry/Cd", "Tp/CdOrPrtry/Prtry") == code {
				found = append(found, b)
			}
		}
		if len(found) == 0 {
			continue
		}
		var vals []record.Decimal
		for _, b := range found {
			amt := b.child("Amt")
			x, c, reason := parseAmtReason(amt)
			if reason != "" {
				return record.Decimal{}, "", code, fmt.Sprintf("balance %s: %s", code, reason), false
			}
			switch b.str("CdtDbtInd") {
			case "DBIT":
				x = x.Neg()
			case "CRDT":
			default:
				return record.Decimal{}, "", code, fmt.Sprintf("balance %s: CdtDbtInd %q is not CRDT or DBIT", code, b.str("CdtDbtInd")), false
			}
			if len(vals) > 0 && (!x.Equal(vals[0]) || c != ccy) {
				return record.Decimal{}, "", code, fmt.Sprintf("%d %s balances with different amounts (%s and %s): balance not checked", len(found), code, vals[0].Format('.', 2), x.Format('.', 2)), false
			}
			vals = append(vals, x)
			ccy = c
		}
		return vals[0], ccy, code, "", true
	}
	return record.Decimal{}, "", "", "", false
}

func balanceCurrency(hdr *xnode) string {
	if _, ccy, _, _, ok := balance(hdr, "OPBD", "PRCD"); ok {
		return ccy
	}
	return ""
}

func (p *camtParser) checkStatement(hdr *xnode, info *stmtInfo, entries, otherCcy int64, booked, absSum record.Decimal, path string, line, col int) {
	rec := record.New(camtStatementSchema, record.Origin{File: p.file, Line: line, Col: col, Path: path})
	rec.Values[0] = record.String(p.message)
	rec.Values[1] = record.String(info.id)
	rec.Values[2] = record.String(info.iban)
	rec.Values[3] = record.Int(entries)
	name := info.id
	if name == "" {
		name = path
	}
	var reasons []string
	if n := hdr.str("TxsSummry", "TtlNtries", "NbOfNtries"); n != "" {
		if want, err := strconv.ParseInt(n, 10, 64); err == nil && want != entries {
			reasons = append(reasons, fmt.Sprintf("entry count mismatch: TxsSummry/TtlNtries/NbOfNtries %d != %d entries read", want, entries))
		}
	}
	if s := hdr.str("TxsSummry", "TtlNtries", "Sum"); s != "" {
		if want, err := record.ParseDecimal(s, '.'); err == nil && !want.Equal(absSum) {
			reasons = append(reasons, fmt.Sprintf("entry sum mismatch: TxsSummry/TtlNtries/Sum %s != %s read", s, absSum.Format('.', 2)))
		}
	}
	open, oc, ocode, p1, ok1 := balance(hdr, "OPBD", "PRCD")
	closing, cc, _, p2, ok2 := balance(hdr, "CLBD")
	for _, pr := range []string{p1, p2} {
		if pr != "" {
			reasons = append(reasons, pr)
		}
	}
	if ok1 && ok2 && oc == cc {
		if sum, err := open.Add(booked); err == nil && !sum.Equal(closing) {
			r := fmt.Sprintf("balance mismatch: %s %s + entries %s != CLBD %s",
				ocode, open.Format('.', 2), booked.Format('.', 2), closing.Format('.', 2))
			if otherCcy > 0 {
				r += fmt.Sprintf(" (%d booked entries in a currency other than %s not counted)", otherCcy, oc)
			}
			reasons = append(reasons, r)
		}
	}
	for _, r := range reasons {
		rej := &record.Reject{Record: rec, Step: p.step, Field: "balance", Reason: "statement " + name + ": " + r}
		if !p.yield(camtItem{rej: rej}, nil) {
			return
		}
	}
}

// entrySum is what the statement check needs of an entry.
type entrySum struct {
	amount   record.Decimal
	amountOK bool
	ccy, cd  string
	status   string
}

type txNode struct {
	n         *xnode
	line, col int
	path      string
}

func (p *camtParser) entry(start xml.StartElement, info *stmtInfo, idx int, path string, line, col int) (entrySum, error) {
	e := &xnode{name: "Ntry"}
	var txs []txNode
	dtls := 0
	for {
		t, err := p.x.token()
		if err != nil {
			if err == io.EOF {
				return entrySum{}, p.x.errAt("unexpected end of file inside <Ntry>")
			}
			return entrySum{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "NtryDtls" {
				n, err := p.x.capture(t)
				if err != nil {
					return entrySum{}, err
				}
				e.kids = append(e.kids, n)
				continue
			}
			dtls++
			dp := path + "/NtryDtls"
			if dtls > 1 {
				dp += fmt.Sprintf("[%d]", dtls)
			}
			ntx := 0
			for done := false; !done; {
				l, c := p.x.pos()
				t, err := p.x.token()
				if err != nil {
					if err == io.EOF {
						return entrySum{}, p.x.errAt("unexpected end of file inside <NtryDtls>")
					}
					return entrySum{}, err
				}
				switch t := t.(type) {
				case xml.StartElement:
					n, err := p.x.capture(t)
					if err != nil {
						return entrySum{}, err
					}
					if t.Name.Local == "TxDtls" {
						ntx++
						txs = append(txs, txNode{n: n, line: l, col: c, path: fmt.Sprintf("%s/TxDtls[%d]", dp, ntx)})
					} else {
						e.kids = append(e.kids, n) // Btch
					}
				case xml.EndElement:
					done = true
				}
			}
		case xml.EndElement:
			return p.emitEntry(e, txs, info, idx, path, line, col)
		}
	}
}

// parseAmt reads an amount element. Amounts are never negative in camt
// (the direction is CdtDbtInd), so a negative amount is invalid rather
// than silently turned around; so is an exponent (1E2), which xs:decimal
// does not allow. "1.5" and "001.50" are valid and read exactly.
func parseAmt(n *xnode) (record.Decimal, string, bool) {
	v, ccy, reason := parseAmtReason(n)
	return v, ccy, reason == ""
}

// parseAmtReason is parseAmt with the reason an amount is not usable.
func parseAmtReason(n *xnode) (record.Decimal, string, string) {
	if n == nil || n.text == "" {
		return record.Decimal{}, "", "missing amount"
	}
	v, err := record.ParseDecimal(n.text, '.')
	if errors.Is(err, record.ErrDecimalOverflow) {
		return record.Decimal{}, n.ccy, fmt.Sprintf("amount %q has more digits than a decimal holds exactly", n.text)
	}
	if err != nil {
		return record.Decimal{}, n.ccy, fmt.Sprintf("invalid amount %q", n.text)
	}
	if v.Sign() < 0 {
		return record.Decimal{}, n.ccy, fmt.Sprintf("negative amount %q (the direction belongs in CdtDbtInd)", n.text)
	}
	return v, n.ccy, ""
}

func camtDate(n *xnode, path ...string) record.Value {
	d := n.child(path...)
	if d == nil {
		return record.Null
	}
	s := d.first("Dt", "DtTm")
	if len(s) < 10 {
		return record.Null
	}
	dt, err := record.ParseDate(s[:10], "2006-01-02")
	if err != nil {
		return record.Null
	}
	return record.DateValue(dt)
}

func strOrNull(s string) record.Value {
	if s == "" {
		return record.Null
	}
	return record.String(s)
}

// gvcOf extracts the German GVC from a DK proprietary code such as
// "NDDT+105+00931" or "166".
func gvcOf(prtry string) string {
	parts := strings.Split(prtry, "+")
	cand := ""
	if len(parts) >= 2 {
		cand = parts[1]
	} else if len(parts) == 1 {
		cand = parts[0]
	}
	if len(cand) == 3 && cand[0] >= '0' && cand[0] <= '9' && cand[1] >= '0' && cand[1] <= '9' && cand[2] >= '0' && cand[2] <= '9' {
		return cand
	}
	return ""
}

func (p *camtParser) emitEntry(e *xnode, txs []txNode, info *stmtInfo, idx int, path string, line, col int) (entrySum, error) {
	es := entrySum{cd: e.str("CdtDbtInd"), status: e.first("Sts/Cd", "Sts/Prtry", "Sts")}
	amt := e.child("Amt")
	var amtReason string
	es.amount, es.ccy, amtReason = parseAmtReason(amt)
	es.amountOK = amtReason == ""
	// An entry without a valid direction cannot be booked: all its
	// records are rejected and the statement is not balance-checked.
	var entryField, entryReason string
	switch {
	case es.cd == "":
		entryField, entryReason = "credit_debit", "entry has no CdtDbtInd (CRDT or DBIT): its direction is unknown"
	case es.cd != "CRDT" && es.cd != "DBIT":
		entryField, entryReason = "credit_debit", fmt.Sprintf("invalid CdtDbtInd %q (want CRDT or DBIT)", es.cd)
	case amt == nil:
		entryField, entryReason = "entry_amount", "entry has no amount (Ntry/Amt)"
	case !es.amountOK:
		entryField, entryReason = "entry_amount", "Ntry/Amt: "+amtReason
	}
	if entryField != "" {
		es.amountOK = false
	}
	reversal := false
	switch e.str("RvslInd") {
	case "true", "1":
		reversal = true
	}
	if len(txs) == 0 {
		txs = []txNode{{n: &xnode{name: "TxDtls"}, line: line, col: col, path: path}}
	}
	// The transactions of a batch entry must add up to it when each has
	// its own amount in the entry's currency and none carries charges.
	var txSum record.Decimal
	sumTxs := len(txs) > 1 && es.amountOK && entryField == "" && p.cfg.CheckBalance
	for _, tx := range txs {
		p.index++
		rec := record.New(camtSchema, record.Origin{File: p.file, Line: tx.line, Col: tx.col, Path: tx.path, Index: p.index})
		v := rec.Values
		t := tx.n
		set := func(i int, s string) { v[i] = strOrNull(s) }
		set(0, p.message)
		set(1, p.msgID)
		set(2, info.id)
		set(3, info.seq)
		set(4, info.iban)
		set(5, info.ccy)
		v[6] = record.Int(int64(idx))
		set(7, e.str("NtryRef"))
		set(8, e.str("AcctSvcrRef"))
		v[9] = camtDate(e, "BookgDt")
		v[10] = camtDate(e, "ValDt")
		set(11, es.status)
		set(12, es.cd)
		v[13] = record.Bool(reversal)
		// Transaction amount: TxDtls/Amt (.08), AmtDtls/TxAmt, else the entry
		// amount when the entry has a single transaction.
		var rejField, rejReason string
		var txAmt record.Decimal
		var txCcy string
		ok := false
		for _, n := range []*xnode{t.child("Amt"), t.child("AmtDtls", "TxAmt", "Amt")} {
			if n != nil {
				var reason string
				txAmt, txCcy, reason = parseAmtReason(n)
				ok = reason == ""
				if !ok {
					rejField, rejReason = "amount", reason
				}
				break
			}
		}
		if !ok && rejField == "" && len(txs) == 1 {
			txAmt, txCcy, ok = es.amount, es.ccy, es.amountOK

		}
		// Several transactions without their own amounts (a batch the
		// bank does not break down) keep amount null: entry_amount holds
		// the total.
		if entryField != "" {
			rejField, rejReason = entryField, entryReason
		}
		if sumTxs {
			if !ok || rejField != "" || txCcy != es.ccy || t.child("Chrgs") != nil {
				sumTxs = false
			} else if sum, err := txSum.Add(txAmt); err == nil {
				txSum = sum
			} else {
				sumTxs = false
			}
		}
		if ok {
			v[14] = record.Dec(txAmt)
			set(15, txCcy)
			s := txAmt
			if es.cd == "DBIT" {
				s = s.Neg()
			}
			v[16] = record.Dec(s)
		}
		if es.amountOK {
			v[17] = record.Dec(es.amount)
		}
		if o, _, ok := parseAmt(t.child("AmtDtls", "InstdAmt", "Amt")); ok {
			v[18] = record.Dec(o)
		}
		if f, ok, reason := fees(t); reason != "" {
			if rejField == "" {
				rejField, rejReason = "fees", reason
			}
		} else if ok {
			v[19] = record.Dec(f)
		}
		// Bank transaction code: the transaction's, else the entry's.
		btc := t.child("BkTxCd")
		if btc == nil || len(btc.kids) == 0 {
			btc = e.child("BkTxCd")
		}
		set(20, btc.str("Domn", "Cd"))
		set(21, btc.str("Domn", "Fmly", "Cd"))
		set(22, btc.str("Domn", "Fmly", "SubFmlyCd"))
		prtry := btc.str("Prtry", "Cd")
		if prtry == "" { // entry-level proprietary code when the tx has only the domain
			prtry = e.str("BkTxCd", "Prtry", "Cd")
		}
		set(23, prtry)
		issuer := btc.str("Prtry", "Issr")
		set(24, issuer)
		if issuer == "DK" || issuer == "ZKA" || strings.Contains(prtry, "+") {
			set(25, gvcOf(prtry))
		}
		set(26, t.str("Refs", "EndToEndId"))
		set(27, t.str("Refs", "MndtId"))
		isReturn := t.child("RtrInf") != nil
		rp := t.child("RltdPties")
		dbtrName := rp.first("Dbtr/Pty/Nm", "Dbtr/Nm")
		dbtrIBAN := rp.first("DbtrAcct/Id/IBAN", "DbtrAcct/Id/Othr/Id")
		cdtrName := rp.first("Cdtr/Pty/Nm", "Cdtr/Nm")
		cdtrIBAN := rp.first("CdtrAcct/Id/IBAN", "CdtrAcct/Id/Othr/Id")
		set(28, rp.first("Cdtr/Pty/Id/PrvtId/Othr/Id", "Cdtr/Id/PrvtId/Othr/Id", "UltmtCdtr/Pty/Id/PrvtId/Othr/Id", "UltmtCdtr/Id/PrvtId/Othr/Id"))
		refs := t.child("Refs")
		set(29, refs.str("InstrId"))
		pmtInf := refs.str("PmtInfId")
		if pmtInf == "" {
			pmtInf = e.str("Btch", "PmtInfId")
		}
		set(30, pmtInf)
		set(31, refs.str("TxId"))
		set(32, refs.str("UETR"))
		set(33, refs.str("Prtry", "Ref"))
		// The counterparty is the debtor of a credit and the creditor of a
		// debit; returns and reversals keep the original direction in
		// RltdPties, so swap.
		agts := t.child("RltdAgts")
		// Reversals (RvslInd) also describe the original transaction.
		debtorSide := (es.cd == "CRDT") != (isReturn || reversal)
		if debtorSide {
			set(34, dbtrName)
			set(35, dbtrIBAN)
			set(36, agts.first("DbtrAgt/FinInstnId/BICFI", "DbtrAgt/FinInstnId/BIC"))
		} else {
			set(34, cdtrName)
			set(35, cdtrIBAN)
			set(36, agts.first("CdtrAgt/FinInstnId/BICFI", "CdtrAgt/FinInstnId/BIC"))
		}
		set(37, dbtrName)
		set(38, dbtrIBAN)
		set(39, cdtrName)
		set(40, cdtrIBAN)
		var ustrd []string
		for _, u := range t.all("Ustrd", "RmtInf") {
			if u.text != "" {
				ustrd = append(ustrd, u.text)
			}
		}
		set(41, strings.Join(ustrd, p.cfg.RemittanceSeparator))
		set(42, t.str("RmtInf", "Strd", "CdtrRefInf", "Ref"))
		set(43, t.first("Purp/Cd", "Purp/Prtry"))
		set(44, t.first("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"))
		var addtl []string
		for _, a := range t.all("AddtlInf", "RtrInf") {
			addtl = append(addtl, a.text)
		}
		set(45, strings.Join(addtl, " "))
		if n := e.str("Btch", "NbOfTxs"); n != "" {
			if k, err := strconv.ParseInt(n, 10, 64); err == nil {
				v[46] = record.Int(k)
			}
		}
		set(47, e.str("AddtlNtryInf"))
		set(48, t.str("AddtlTxInf"))
		var it camtItem
		if rejField != "" {
			it.rej = &record.Reject{Record: rec, Step: p.step, Field: rejField, Reason: rejReason}
		} else {
			it.rec = rec
		}
		if !p.yield(it, nil) {
			return es, errStopped
		}
	}
	if sumTxs && !txSum.Equal(es.amount) {
		rec := record.New(camtStatementSchema, record.Origin{File: p.file, Line: line, Col: col, Path: path})
		rec.Values[0] = record.String(p.message)
		rec.Values[1] = record.String(info.id)
		rec.Values[2] = record.String(info.iban)
		rec.Values[3] = record.Int(1)
		rej := &record.Reject{Record: rec, Step: p.step, Field: "amount", Reason: fmt.Sprintf(
			"entry %d: its %d transactions add up to %s, the entry amount is %s (the transactions are still read)",
			idx, len(txs), txSum.Format('.', 2), es.amount.Format('.', 2))}
		if !p.yield(camtItem{rej: rej}, nil) {
			return es, errStopped
		}
	}
	return es, nil
}

func (n *xnode) textOrEmpty() string {
	if n == nil {
		return ""
	}
	return n.text
}

// fees sums the charges of a transaction: .08 TtlChrgsAndTaxAmt or the
// Rcrd amounts, .02 the Chrgs/Amt list. found is false when there are no
// charge amounts. reason is set when the total would be incomplete: a
// charge amount that is not a valid amount, or charges that add up to more
// than the 19 digits a decimal holds exactly; the record is then rejected
// (field fees) instead of carrying a fee total without that charge.
func fees(t *xnode) (sum record.Decimal, found bool, reason string) {
	add := func(n *xnode) {
		if reason != "" || n == nil || n.text == "" {
			return
		}
		v, _, why := parseAmtReason(n)
		if why != "" {
			reason = "charge: " + why
			return
		}
		s, err := sum.Add(v)
		if err != nil {
			reason = fmt.Sprintf("the charges add up to more than the 19 digits a decimal holds exactly (%s + %s)", sum, v)
			return
		}
		sum, found = s, true
	}
	chrgs := t.all("Chrgs")
	for _, c := range chrgs {
		if tot := c.child("TtlChrgsAndTaxAmt"); tot != nil {
			add(tot)
			continue
		}
		if recs := c.all("Rcrd"); len(recs) > 0 {
			for _, r := range recs {
				add(r.child("Amt"))
			}
			continue
		}
		add(c.child("Amt"))
	}
	// .02 lists Chrgs directly under TxDtls (t.all finds them); fees is
	// null when no charges element exists.
	return sum, found, reason
}
