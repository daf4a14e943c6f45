package sdk

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/kontor-etl/kontor/engine/record"
)

// This file holds the checks every text writer (csv.write, layout.write,
// fibu.datev_extf) applies before a value goes into a file, so that the
// rules and their messages are the same in every format.

// NFC returns s in Unicode normalisation form C. Writers of single-byte
// encodings (windows-1252, iso-8859-1, iso-8859-15) call it before
// CheckEncodable: those charsets hold only precomposed letters, so "e"+U+0301
// (e and a combining acute, as macOS and some web forms send it) is written
// as the é it means instead of being rejected as unencodable. Canonically
// equivalent text means the same, so nothing is lost. ASCII text is returned
// as it is without a table look-up; invalid UTF-8 bytes are kept as they are
// (writers reject them with their position). UTF-8 output should keep the
// bytes it is given and not call NFC.
func NFC(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return norm.NFC.String(s)
		}
	}
	return s
}

// The century window of two-digit years: Go's time package, and with it
// record.ParseDate and every Kontor reader, reads YY 69..99 as 1969..1999
// and 00..68 as 2000..2068. A writer of a two-digit year accepts only the
// dates a reader gets back unchanged.
const (
	// TwoDigitYearMin is the first year a two-digit year pattern holds (1969).
	TwoDigitYearMin = 1969
	// TwoDigitYearMax is the last year a two-digit year pattern holds (2068).
	TwoDigitYearMax = 2068
)

// YearDigits returns how many year digits a date pattern (YYYY, YY, the
// German JJJJ, JJ, or yyyy, yy) or a Go time layout (2006, 06) writes: 4, 2,
// or 0 when it writes no year (TTMM). A pattern with a four-digit year
// counts as 4 even when it also contains a two-digit token.
func YearDigits(pattern string) int {
	switch {
	case strings.Contains(pattern, "YYYY") || strings.Contains(pattern, "JJJJ") || strings.Contains(pattern, "yyyy") || strings.Contains(pattern, "2006"):
		return 4
	case strings.Contains(pattern, "YY") || strings.Contains(pattern, "JJ") || strings.Contains(pattern, "yy") || strings.Contains(pattern, "06"):
		return 2
	}
	return 0
}

// YearWindow is the span of dates a date pattern can write so that a reader
// gets the same date back. Build it once per column with NewYearWindow and
// call Check per value; Check compares day numbers, so the hot path needs
// no calendar conversion. The zero YearWindow accepts every date (a pattern
// without a year).
type YearWindow struct {
	pattern  string
	digits   int
	min, max record.Date
}

// NewYearWindow returns the window of a date pattern or Go layout (see
// YearDigits). minYear4 is the first year a four-digit pattern holds, 0 or 1:
// 0 where the target reads year 0000 as a year (ISO 8601's proleptic year 0,
// csv.write), 1 where there is no year 0 (DATEV TTMMJJJJ, fixed-width
// layouts). The last four-digit year is 9999 (10000 needs a fifth digit);
// two-digit patterns hold TwoDigitYearMin to TwoDigitYearMax.
func NewYearWindow(pattern string, minYear4 int) YearWindow {
	w := YearWindow{pattern: pattern, digits: YearDigits(pattern)}
	switch w.digits {
	case 4:
		w.min, w.max = record.NewDate(minYear4, 1, 1), record.NewDate(9999, 12, 31)
	case 2:
		w.min, w.max = record.NewDate(TwoDigitYearMin, 1, 1), record.NewDate(TwoDigitYearMax, 12, 31)
	}
	return w
}

// Digits returns the year digits of the window's pattern: 4, 2 or 0.
func (w YearWindow) Digits() int { return w.digits }

// Check returns "" when the year of d can be written with the pattern, else
// the reason a writer rejects the value with:
//
//	the year 10000 does not fit the four digits of YYYY-MM-DD
//	the two-digit year of DD.MM.YY holds 1969 to 2068 only, 2069 would read back as another century
//
// Callers that name the date put it in front ("2069-01-01: the two-digit ...").
func (w YearWindow) Check(d record.Date) string {
	if w.digits == 0 || d >= w.min && d <= w.max {
		return ""
	}
	y, _, _ := d.YMD()
	if w.digits == 4 {
		return fmt.Sprintf("the year %d does not fit the four digits of %s", y, w.pattern)
	}
	return fmt.Sprintf("the two-digit year of %s holds %d to %d only, %d would read back as another century", w.pattern, TwoDigitYearMin, TwoDigitYearMax, y)
}
