package fibu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// ExtfWriterConfig is the configuration of the fibu.datev_extf sink. See extfWriterSpec for the
// documentation of each key; defaults are those of DATEV's official sample.
type ExtfWriterConfig struct {
	Kind                  string            `yaml:"kind"`
	Berater               int               `yaml:"berater"`
	Mandant               int               `yaml:"mandant"`
	WJBeginn              string            `yaml:"wj_beginn"`
	Sachkontenlaenge      int               `yaml:"sachkontenlaenge"`
	DatumVom              string            `yaml:"datum_vom"`
	DatumBis              string            `yaml:"datum_bis"`
	Bezeichnung           string            `yaml:"bezeichnung"`
	Diktatkuerzel         string            `yaml:"diktatkuerzel"`
	Buchungstyp           int               `yaml:"buchungstyp"`
	Rechnungslegungszweck string            `yaml:"rechnungslegungszweck"`
	Festschreibung        bool              `yaml:"festschreibung"`
	WKZ                   string            `yaml:"wkz"`
	SKR                   string            `yaml:"skr"`
	Herkunft              string            `yaml:"herkunft"`
	ExportiertVon         string            `yaml:"exportiert_von"`
	ErzeugtAm             string            `yaml:"erzeugt_am"`
	Branchenloesung       string            `yaml:"branchenloesung"`
	Anwendungsinformation string            `yaml:"anwendungsinformation"`
	Mapping               map[string]string `yaml:"mapping"`
	Constants             map[string]string `yaml:"constants"`
	NegativeAmounts       string            `yaml:"negative_amounts"`
	PreserveScale         bool              `yaml:"preserve_scale"`
	Encoding              string            `yaml:"encoding"`
	LineEnding            string            `yaml:"line_ending"`
}

var extfWriterSpec = sdk.Spec{Fields: []sdk.Field{
	{Name: "kind", Type: sdk.TypeEnum, Enum: []string{"buchungsstapel", "debitoren_kreditoren"}, Default: "buchungsstapel",
		Description: "Which DATEV format to write: buchungsstapel (category 21, version 13, 125 columns) or debitoren_kreditoren (category 16, version 5, 254 columns).", Example: "buchungsstapel"},
	{Name: "berater", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1001), Max: sdk.Int64(9999999),
		Description: "DATEV Beraternummer (header field 11), 1001 to 9999999.", Example: 29098},
	{Name: "mandant", Type: sdk.TypeInt, Required: true, Min: sdk.Int64(1), Max: sdk.Int64(99999),
		Description: "DATEV Mandantennummer (header field 12), 1 to 99999.", Example: 55003},
	{Name: "wj_beginn", Type: sdk.TypeString,
		Description: "Start of the fiscal year as YYYYMMDD or YYYY-MM-DD (header field 13); empty means 1 January of the year of datum_vom (or of the run date).", Example: "20240101"},
	{Name: "sachkontenlaenge", Type: sdk.TypeInt, Default: 4, Min: sdk.Int64(4), Max: sdk.Int64(8),
		Description: "Length of the general-ledger accounts (header field 14); Konto and Gegenkonto may have at most this many digits, Personenkonten one more.", Example: 4},
	{Name: "datum_vom", Type: sdk.TypeString,
		Description: "First day of the booking period (header field 15) as YYYYMMDD, YYYY-MM-DD or one of month_start, prev_month_start, year_start relative to the run date; required for buchungsstapel, every Belegdatum must lie in the period.", Example: "prev_month_start"},
	{Name: "datum_bis", Type: sdk.TypeString,
		Description: "Last day of the booking period (header field 16) as YYYYMMDD, YYYY-MM-DD or one of month_end, prev_month_end, year_end relative to the run date; required for buchungsstapel.", Example: "prev_month_end"},
	{Name: "bezeichnung", Type: sdk.TypeString, Default: "", Pattern: `[\w.\-/ ]{0,30}`,
		Description: "Label of the batch (header field 17), at most 30 letters, digits, spaces and . - /; empty means the format name for buchungsstapel.", Example: "Vorstellungen KW 47"},
	{Name: "diktatkuerzel", Type: sdk.TypeString, Default: "", Pattern: `([A-Z]{2})?`,
		Description: "Two capital letters identifying the person (header field 18), or empty.", Example: "WD"},
	{Name: "buchungstyp", Type: sdk.TypeInt, Default: 1, Min: sdk.Int64(1), Max: sdk.Int64(2),
		Description: "Buchungstyp (header field 19): 1 Finanzbuchführung, 2 Jahresabschluss; buchungsstapel only.", Example: 1},
	{Name: "rechnungslegungszweck", Type: sdk.TypeEnum, Enum: []string{"", "0", "30", "40", "50", "64"}, Default: "0",
		Description: "Rechnungslegungszweck (header field 20): 0 independent of purpose, 30, 40, 50 or 64; buchungsstapel only.", Example: "0"},
	{Name: "festschreibung", Type: sdk.TypeBool, Default: false,
		Description: "Whether DATEV locks the imported bookings (header field 21); false lets the accountant review them first.", Example: false},
	{Name: "wkz", Type: sdk.TypeString, Default: "EUR", Pattern: `[A-Z]{3}`,
		Description: "Default currency of the rows (header field 22), an ISO 4217 code.", Example: "EUR"},
	{Name: "skr", Type: sdk.TypeString, Default: "03", Pattern: `(\d{2})?`,
		Description: "Sachkontenrahmen (header field 27), two digits such as 03 or 04.", Example: "04"},
	{Name: "herkunft", Type: sdk.TypeString, Default: "RE", Pattern: `\w{0,2}`,
		Description: "Origin code (header field 8), at most two characters; DATEV replaces it with SV on import.", Example: "RE"},
	{Name: "exportiert_von", Type: sdk.TypeString, Default: "", Pattern: `.{0,25}`,
		Description: "User name of the exporter (header field 9), at most 25 characters.", Example: "kasse"},
	{Name: "erzeugt_am", Type: sdk.TypeString, Default: "", Pattern: `(\d{17})?`,
		Description: "Creation time stamp (header field 6) as 17 digits YYYYMMDDHHMMSSFFF; empty means the run start time.", Example: "20240130140440439"},
	{Name: "branchenloesung", Type: sdk.TypeString, Default: "", Pattern: `\d{0,4}`,
		Description: "ID of the industry solution (header field 28), up to 4 digits, usually empty.", Example: ""},
	{Name: "anwendungsinformation", Type: sdk.TypeString, Default: "", Pattern: `.{0,16}`,
		Description: "Free information of the producing application (header field 31), at most 16 characters.", Example: "Kontor"},
	{Name: "mapping", Type: sdk.TypeMap, Elem: sdk.TypeString,
		Description: "Which record field fills which DATEV column: keys are DATEV columns (snake_case key, exact caption or column number), values are record field names; columns not mapped take the record field with the column's key, if any.",
		Example:     map[string]any{"umsatz": "betrag", "belegfeld_1": "fibu_nummer", "kost2": "fibu_nummer", "buchungstext": "text"}},
	{Name: "constants", Type: sdk.TypeMap, Elem: sdk.TypeString,
		Description: "Fixed text for DATEV columns (keys as in mapping), written in every row unless the column is mapped.", Example: map[string]any{"konto": "1000", "soll_haben_kennzeichen": "S"}},
	{Name: "negative_amounts", Type: sdk.TypeEnum, Enum: []string{"reject", "flip"}, Default: "reject",
		Description: "What a negative Umsatz does: reject the record, or write its absolute value and swap S and H.", Example: "flip"},
	{Name: "preserve_scale", Type: sdk.TypeBool, Default: false,
		Description: "Write decimals with the number of places they have (as read from an EXTF file) instead of the column's standard (two for amounts); for byte-identical round trips.", Example: false},
	{Name: "encoding", Type: sdk.TypeEnum, Enum: sdk.Encodings, Default: "windows-1252",
		Description: "Character encoding; DATEV imports only windows-1252 reliably (UTF-8 only with a byte order mark, utf-8-bom).", Example: "windows-1252"},
	{Name: "line_ending", Type: sdk.TypeEnum, Enum: []string{"crlf", "lf"}, Default: "crlf",
		Description: "Line ending; DATEV requires crlf.", Example: "crlf"},
}}

// ExtfWriter returns the fibu.datev_extf sink component.
func ExtfWriter() sdk.Component {
	return sdk.Component{
		Name: "datev_extf", Kind: sdk.KindSink, IO: sdk.IOFile,
		Summary: "Writes bookings (Buchungsstapel) or Debitoren/Kreditoren as a DATEV EXTF file.",
		Description: "Writes DATEV EXTF (header version 700): Windows-1252, `;`, CRLF, decimal comma, every text field in quotes. " +
			"Each record becomes one row of exactly 125 (Buchungsstapel v13) or 254 (Debitoren/Kreditoren v5) columns. " +
			"Every value is checked against DATEV's field rules (lengths, characters, Umsatz > 0 with at most 10+2 digits, S/H, " +
			"WKZ, Belegdatum TTMM inside the header period, account lengths against the Sachkontenlänge); a violation rejects " +
			"the record naming the DATEV field. DATEV wants one file per booking period and the name to start with EXTF_, " +
			"so a good `path` is `out/EXTF_Buchungsstapel_29098_55003_{date}.csv` (Berater and Mandant written into the name, " +
			"`{date}` is the run date; the path placeholders are {date}, {time}, {run} and {name}) or a fixed " +
			"name per period such as `out/EXTF_Buchungsstapel_2024-11.csv`.",
		Spec: extfWriterSpec,
		Examples: []string{`type: fibu.datev_extf
path: out/EXTF_Buchungsstapel_{date}.csv
berater: 29098
mandant: 55003
datum_vom: prev_month_start
datum_bis: prev_month_end
bezeichnung: Vorstellungen
mapping:
  umsatz: betrag
  belegfeld_1: fibu_nummer
  kost2: fibu_nummer
`},
		NewEncoder: newExtfEncoder,
	}
}

type extfEncoder struct {
	cfg    ExtfWriterConfig
	format *Format
	header Header
	period *period
	cols   []colSource // per format column
	env    sdk.Env
	nl     string
	cp1252 bool
}

// colSource says where a column's value comes from.
type colSource struct {
	field    string // mapped record field ("" = by key)
	constant *string
	rule     *rule
}

func newExtfEncoder(_ context.Context, c sdk.Config, env sdk.Env) (sdk.Encoder, error) {
	var cfg ExtfWriterConfig
	if err := c.Decode(&cfg); err != nil {
		return nil, err
	}
	return buildExtfEncoder(cfg, env)
}

func buildExtfEncoder(cfg ExtfWriterConfig, env sdk.Env) (*extfEncoder, error) {
	var es sdk.FieldErrors
	e := &extfEncoder{cfg: cfg, env: env, nl: "\r\n"}
	if cfg.LineEnding == "lf" {
		e.nl = "\n"
	}
	switch strings.ToLower(cfg.Encoding) {
	case "", "windows-1252", "cp1252":
		e.cp1252 = true
	case "utf-8", "utf8", "utf-8-bom":
	default:
		es.Add("encoding", "DATEV EXTF is written as windows-1252 or utf-8-bom, not %q", cfg.Encoding)
	}
	switch cfg.Kind {
	case "", "buchungsstapel":
		e.format = Buchungsstapel
	case "debitoren_kreditoren":
		e.format = DebitorenKreditoren
	default:
		es.Add("kind", "unknown kind %q (want buchungsstapel or debitoren_kreditoren)", cfg.Kind)
		return nil, es
	}
	if cfg.Sachkontenlaenge == 0 {
		cfg.Sachkontenlaenge = 4
		e.cfg.Sachkontenlaenge = 4
	}
	if cfg.Sachkontenlaenge < 4 || cfg.Sachkontenlaenge > 8 {
		es.Add("sachkontenlaenge", "must be 4 to 8, got %d", cfg.Sachkontenlaenge)
	}
	if cfg.Berater < 1001 || cfg.Berater > 9999999 {
		es.Add("berater", "must be 1001 to 9999999, got %d", cfg.Berater)
	}
	if cfg.Mandant < 1 || cfg.Mandant > 99999 {
		es.Add("mandant", "must be 1 to 99999, got %d", cfg.Mandant)
	}
	now := env.Now
	if now.IsZero() {
		now = time.Now()
	}
	h := &e.header
	h.Fields[hKennzeichen] = "EXTF"
	h.Fields[hVersion] = "700"
	h.Fields[hKategorie] = strconv.Itoa(e.format.Category)
	h.Fields[hFormatname] = e.format.Name
	h.Fields[hFormatversion] = strconv.Itoa(e.format.Version)
	h.Fields[hErzeugtAm] = cfg.ErzeugtAm
	if cfg.ErzeugtAm == "" {
		h.Fields[hErzeugtAm] = now.Format("20060102150405") + fmt.Sprintf("%03d", now.Nanosecond()/1e6)
	} else if !allDigits(cfg.ErzeugtAm, 17) {
		es.Add("erzeugt_am", "must be 17 digits YYYYMMDDHHMMSSFFF, got %q", cfg.ErzeugtAm)
	}
	h.Fields[hHerkunft] = cfg.Herkunft
	h.Fields[hExportiertVon] = cfg.ExportiertVon
	h.Fields[hBerater] = strconv.Itoa(cfg.Berater)
	h.Fields[hMandant] = strconv.Itoa(cfg.Mandant)
	h.Fields[hSKLaenge] = strconv.Itoa(cfg.Sachkontenlaenge)
	h.Fields[hBezeichnung] = cfg.Bezeichnung
	h.Fields[hDiktat] = cfg.Diktatkuerzel
	h.Fields[hSKR] = cfg.SKR
	h.Fields[hBranche] = cfg.Branchenloesung
	h.Fields[hAnwendung] = cfg.Anwendungsinformation
	h.Fields[hDerivat] = ""
	if utf8.RuneCountInString(cfg.Bezeichnung) > 30 {
		es.Add("bezeichnung", "at most 30 characters, got %d", utf8.RuneCountInString(cfg.Bezeichnung))
	}
	if e.format.Category == 21 {
		if cfg.Bezeichnung == "" {
			h.Fields[hBezeichnung] = "Buchungsstapel"
		}
		h.Fields[hBuchungstyp] = strconv.Itoa(max(cfg.Buchungstyp, 1))
		h.Fields[hRLZweck] = cfg.Rechnungslegungszweck
		h.Fields[hFestschr] = "0"
		if cfg.Festschreibung {
			h.Fields[hFestschr] = "1"
		}
		h.Fields[hWKZ] = cfg.WKZ
		if cfg.WKZ == "" {
			h.Fields[hWKZ] = "EUR"
		}
		from, err := resolveDate(cfg.DatumVom, now, true)
		if err != nil {
			es.Add("datum_vom", "%v", err)
		}
		to, err2 := resolveDate(cfg.DatumBis, now, false)
		if err2 != nil {
			es.Add("datum_bis", "%v", err2)
		}
		if err == nil && err2 == nil {
			if to < from {
				es.Add("datum_bis", "%s is before datum_vom %s", to, from)
			}
			e.period = &period{from: from, to: to}
			h.Fields[hDatumVom] = from.Format("YYYYMMDD")
			h.Fields[hDatumBis] = to.Format("YYYYMMDD")
		}
	}
	wj := cfg.WJBeginn
	switch {
	case wj != "":
		d, err := resolveDate(wj, now, true)
		if err != nil {
			es.Add("wj_beginn", "%v", err)
		} else {
			h.Fields[hWJBeginn] = d.Format("YYYYMMDD")
			end := record.DateOf(d.Time().AddDate(1, 0, 0)) - 1
			if e.period != nil && (e.period.from < d || e.period.to > end) {
				es.Add("datum_vom", "the period %s to %s must lie in the fiscal year %s to %s (wj_beginn)", e.period.from, e.period.to, d, end)
			}
		}
	case e.period != nil:
		y, _, _ := e.period.from.YMD()
		h.Fields[hWJBeginn] = fmt.Sprintf("%04d0101", y)
	default:
		h.Fields[hWJBeginn] = fmt.Sprintf("%04d0101", now.Year())
	}
	// Resolve mapping and constants.
	e.cols = make([]colSource, len(e.format.Columns))
	for i := range e.cols {
		if r, ok := e.format.rules[i+1]; ok {
			rr := r
			e.cols[i].rule = &rr
		}
	}
	names := e.format.keys()
	for _, k := range sortedKeys(cfg.Mapping) {
		col, ok := e.format.column(k)
		if !ok {
			es.Add("mapping."+k, "unknown DATEV column %q%s", k, hint(k, names))
			continue
		}
		e.cols[col.Num-1].field = cfg.Mapping[k]
	}
	for _, k := range sortedKeys(cfg.Constants) {
		col, ok := e.format.column(k)
		if !ok {
			es.Add("constants."+k, "unknown DATEV column %q%s", k, hint(k, names))
			continue
		}
		v := cfg.Constants[k]
		e.cols[col.Num-1].constant = &v
	}
	if err := es.Err(); err != nil {
		return nil, err
	}
	return e, nil
}

const hDerivat = 24

func hint(k string, names []string) string {
	if s := diag.Suggest(k, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// resolveDate parses YYYYMMDD, YYYY-MM-DD (also with a time suffix from YAML timestamps) or a
// keyword relative to now.
func resolveDate(s string, now time.Time, start bool) (record.Date, error) {
	y, m, _ := now.Date()
	first := record.NewDate(y, m, 1)
	switch s {
	case "":
		return 0, fmt.Errorf("required: a date YYYYMMDD or a keyword such as prev_month_%s", map[bool]string{true: "start", false: "end"}[start])
	case "month_start":
		return first, nil
	case "month_end":
		return record.NewDate(y, m+1, 1) - 1, nil
	case "prev_month_start":
		return record.NewDate(y, m-1, 1), nil
	case "prev_month_end":
		return first - 1, nil
	case "year_start":
		return record.NewDate(y, 1, 1), nil
	case "year_end":
		return record.NewDate(y, 12, 31), nil
	}
	if len(s) > 10 && s[4] == '-' {
		s = s[:10]
	}
	if len(s) == 10 {
		d, err := record.ParseDate(s, "YYYY-MM-DD")
		if err != nil {
			return 0, err
		}
		return d, nil
	}
	return parseYMD(s)
}

func (e *extfEncoder) Create(_ context.Context, out sdk.Output) (sdk.Sink, error) {
	s := &extfSink{enc: e, w: bufio.NewWriterSize(out.W, 64*1024), name: out.Name, schemas: map[*record.Schema][]int{}}
	if strings.EqualFold(e.cfg.Encoding, "utf-8-bom") {
		s.w.WriteString("\ufeff")
	}
	line := e.header.appendTo(nil)
	line = append(line, e.nl...)
	for i, c := range e.format.Columns {
		if i > 0 {
			line = append(line, ';')
		}
		line = append(line, c.Caption...)
	}
	line = append(line, e.nl...)
	if err := s.emit(line); err != nil {
		return nil, err
	}
	return s, nil
}

type extfSink struct {
	enc     *extfEncoder
	w       *bufio.Writer
	name    string
	line    []byte
	enc1252 []byte
	schemas map[*record.Schema][]int
	rows    int64
}

// emit writes one finished line (UTF-8) in the target encoding.
func (s *extfSink) emit(line []byte) error {
	if !s.enc.cp1252 {
		_, err := s.w.Write(line)
		return err
	}
	b := s.enc1252[:0]
	for i := 0; i < len(line); {
		c := line[i]
		if c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(line[i:])
		x, ok := charmap.Windows1252.EncodeRune(r)
		if !ok {
			return fmt.Errorf("%s: %w: %q", s.name, sdk.ErrUnencodable, r)
		}
		b = append(b, x)
		i += n
	}
	s.enc1252 = b
	_, err := s.w.Write(b)
	return err
}

func (s *extfSink) indexes(sc *record.Schema) []int {
	if ix, ok := s.schemas[sc]; ok {
		return ix
	}
	ix := make([]int, len(s.enc.format.Columns))
	for i, c := range s.enc.format.Columns {
		src := s.enc.cols[i]
		switch {
		case src.field != "":
			ix[i] = sc.Index(src.field)
			if ix[i] < 0 {
				ix[i] = -2 // mapped field missing: reported per record
			}
		case src.constant != nil:
			ix[i] = -1
		default:
			ix[i] = sc.Index(c.Key)
		}
	}
	s.schemas[sc] = ix
	return ix
}

// Write implements sdk.Sink.
func (s *extfSink) Write(_ context.Context, b *record.Batch) ([]record.Reject, error) {
	var rejects []record.Reject
	for _, r := range b.Records {
		field, reason := s.row(r)
		if reason != "" {
			rejects = append(rejects, record.Reject{Record: r, Step: s.enc.env.Step, Field: field, Reason: reason})
			continue
		}
		if err := s.emit(s.line); err != nil {
			return rejects, err
		}
		s.rows++
	}
	return rejects, nil
}

// Close implements sdk.Sink.
func (s *extfSink) Close(context.Context) error { return s.w.Flush() }

func colName(c Column) string { return fmt.Sprintf("%s (%s)", c.Caption, c.Key) }

// row formats record r into s.line. It returns the offending DATEV field and a reason when the
// record violates a rule.
func (s *extfSink) row(r record.Record) (string, string) {
	e := s.enc
	ix := s.indexes(r.Schema)
	s.line = s.line[:0]
	flip := false
	cols := e.format.Columns
	val := func(i int) (record.Value, bool) {
		switch {
		case ix[i] >= 0 && ix[i] < len(r.Values):
			return r.Values[ix[i]], true
		case e.cols[i].constant != nil:
			return record.String(*e.cols[i].constant), true
		}
		return record.Null, ix[i] != -2
	}
	if e.format.Category == 21 {
		if v, _ := val(0); !v.IsNull() {
			if d, err := decimalOf(v); err == nil && d.Sign() < 0 {
				if e.cfg.NegativeAmounts != "flip" {
					return colName(cols[0]), fmt.Sprintf("%s is negative; DATEV amounts are always positive with S/H (set negative_amounts: flip)", d)
				}
				flip = true
			}
		}
		for _, n := range []int{1, 2, 7, 8, 10} {
			if v, _ := val(n - 1); v.IsNull() || (v.Kind() == record.KindString && v.Str() == "") {
				return colName(cols[n-1]), "required"
			}
		}
		k, _ := val(6)
		g, _ := val(7)
		if textOf(k) == textOf(g) {
			return colName(cols[6]), fmt.Sprintf("Konto and Gegenkonto are both %s", textOf(k))
		}
	} else if v, _ := val(0); v.IsNull() {
		return colName(cols[0]), "required"
	}
	for i, c := range cols {
		if i > 0 {
			s.line = append(s.line, ';')
		}
		v, ok := val(i)
		if !ok {
			return colName(c), fmt.Sprintf("mapped record field %q does not exist", e.cols[i].field)
		}
		if reason := s.cell(c, e.cols[i].rule, v, flip); reason != "" {
			return colName(c), reason
		}
	}
	s.line = append(s.line, e.nl...)
	return "", ""
}

func textOf(v record.Value) string {
	switch v.Kind() {
	case record.KindString:
		return v.Str()
	case record.KindDecimal:
		return v.Decimal().Format(',', -1)
	case record.KindDate:
		return v.Date().Format("DDMMYYYY")
	case record.KindBool:
		if v.Bool() {
			return "1"
		}
		return "0"
	}
	return v.String()
}

func decimalOf(v record.Value) (record.Decimal, error) {
	switch v.Kind() {
	case record.KindDecimal, record.KindInt:
		return v.Decimal(), nil
	case record.KindString:
		s := strings.TrimSpace(v.Str())
		if strings.IndexByte(s, ',') >= 0 {
			return record.ParseDecimal(s, ',')
		}
		return record.ParseDecimal(s, '.')
	}
	return record.Decimal{}, fmt.Errorf("a %s is not a number", v.Kind())
}

// appendDecimalComma appends d rounded to exactly scale places with a decimal comma.
func appendDecimalComma(b []byte, d record.Decimal, scale int) []byte {
	start := len(b)
	b = d.Round(scale).AppendText(b)
	for i := start; i < len(b); i++ {
		if b[i] == '.' {
			b[i] = ','
			break
		}
	}
	return b
}

// datevYears are the dates a TTMMJJJJ column holds (there is no year 0;
// 10000 needs a fifth digit).
var datevYears = sdk.NewYearWindow("TTMMJJJJ", 1)

// appendDate appends d as TTMM or TTMMJJJJ.
func appendDate(b []byte, d record.Date, year bool) []byte {
	y, m, dd := d.YMD()
	b = append(b, byte('0'+dd/10), byte('0'+dd%10), byte('0'+int(m)/10), byte('0'+int(m)%10))
	if year {
		y %= 10000
		b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	}
	return b
}

// cell appends column c's formatted value to s.line and returns a reason when it is invalid.
func (s *extfSink) cell(c Column, rl *rule, v record.Value, flip bool) string {
	if v.IsNull() {
		if c.Kind == KindText && !c.NullBare {
			s.line = append(s.line, '"', '"')
		}
		return ""
	}
	if v.Kind() == record.KindString && v.Str() == "" {
		// An explicit empty string: "" (DATEV's own sample writes "" in some numeric columns).
		s.line = append(s.line, '"', '"')
		return ""
	}
	var str string
	switch c.Kind {
	case KindText:
		str = textOf(v)
		if s.enc.cp1252 {
			str = sdk.NFC(str)
		}
		if c.Num == 2 && flip {
			switch str {
			case "S":
				str = "H"
			case "H":
				str = "S"
			}
		}
		for i, r := range str {
			if r < 0x20 || r == 0x7f {
				return fmt.Sprintf("control character %q at position %d not allowed in DATEV text", r, utf8.RuneCountInString(str[:i])+1)
			}
			if r == utf8.RuneError {
				if _, sz := utf8.DecodeRuneInString(str[i:]); sz == 1 {
					return fmt.Sprintf("invalid UTF-8 at position %d", utf8.RuneCountInString(str[:i])+1)
				}
			}
			if s.enc.cp1252 && r >= utf8.RuneSelf {
				if _, ok := charmap.Windows1252.EncodeRune(r); !ok {
					return fmt.Sprintf("character %q is not representable in windows-1252", r)
				}
			}
		}
	case KindAmount:
		d, err := decimalOf(v)
		if err != nil {
			return fmt.Sprintf("not an amount: %v", err)
		}
		if c.Num == 1 && flip {
			d = d.Abs()
		}
		if d.Sign() < 0 {
			return fmt.Sprintf("%s is negative", d)
		}
		fracMax, fracMin := c.Scale, c.Scale
		if rl != nil {
			fracMax, fracMin = rl.fracMax, rl.fracMin
		}
		sc := d.Scale()
		if s.enc.cfg.PreserveScale {
			fracMin = 0
		}
		if sc > fracMax {
			if !d.Round(fracMax).Equal(d) {
				return fmt.Sprintf("%s has more than %d decimal places", d, fracMax)
			}
			sc = fracMax
		}
		sc = max(sc, fracMin)
		// Append in place (no string per cell): the hot path of large Buchungsstapel.
		start := len(s.line)
		s.line = appendDecimalComma(s.line, d, sc)
		if rl != nil {
			r2 := *rl
			if s.enc.cfg.PreserveScale {
				r2.fracMin = 0
			}
			if reason := checkDecimal(s.line[start:], r2); reason != "" {
				return reason
			}
		}
		return ""
	case KindDate:
		switch v.Kind() {
		case record.KindDate, record.KindDateTime:
			d := v.Date()
			if c.Num == 10 && s.enc.period != nil && (d < s.enc.period.from || d > s.enc.period.to) {
				return fmt.Sprintf("%s is outside the period %s to %s of the header", d, s.enc.period.from, s.enc.period.to)
			}
			if c.DateFormat == "DDMMYYYY" {
				if reason := datevYears.Check(d); reason != "" {
					return d.String() + ": " + reason
				}
			}
			// TTMM or TTMMJJJJ from the calendar date, appended in place.
			s.line = appendDate(s.line, d, c.DateFormat == "DDMMYYYY")
			return ""
		default:
			str = textOf(v)
			if c.Num == 10 && s.enc.period != nil {
				if _, ok := s.enc.period.belegdatum(str); !ok {
					return fmt.Sprintf("%q (TTMM) is not a day inside the period %s to %s of the header", str, s.enc.period.from, s.enc.period.to)
				}
			} else if c.DateFormat == "DDMMYYYY" {
				if _, err := time.Parse("02012006", str); err != nil {
					return fmt.Sprintf("%q is not a date TTMMJJJJ", str)
				}
			}
		}
	default: // KindNumber
		switch v.Kind() {
		case record.KindDecimal:
			d := v.Decimal()
			if !d.IsInt() {
				return fmt.Sprintf("%s is not a whole number", d)
			}
			str = d.Trunc(0).String()
		default:
			str = textOf(v)
		}
	}
	if rl != nil && str != "" {
		if reason := rl.check(str, c.Kind); reason != "" {
			return reason
		}
		if rl.account && len(str) > s.enc.cfg.Sachkontenlaenge+1 {
			return fmt.Sprintf("account %s has %d digits; Sachkontenlänge %d allows at most %d (Personenkonto)", str, len(str), s.enc.cfg.Sachkontenlaenge, s.enc.cfg.Sachkontenlaenge+1)
		}
	}
	if c.Kind == KindText {
		s.line = appendQuoted(s.line, str)
	} else {
		s.line = append(s.line, str...)
	}
	return ""
}

var _ io.Writer = (*bufio.Writer)(nil)
