package calendar

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/rickar/cal/v2/de"
)

// germanStates maps the Bundesland codes (ISO 3166-2:DE without "DE-")
// to the holiday lists of github.com/rickar/cal/v2/de. "" is the
// nationwide list (holidays common to all states).
var germanStates = map[string]*yearCache{
	"":   {list: de.Holidays},
	"BW": {list: de.HolidaysBW},
	"BY": {list: de.HolidaysBY},
	"BE": {list: de.HolidaysBE},
	"BB": {list: de.HolidaysBB},
	"HB": {list: de.HolidaysHB},
	"HH": {list: de.HolidaysHH},
	"HE": {list: de.HolidaysHE},
	"MV": {list: de.HolidaysMV},
	"NI": {list: de.HolidaysNI},
	"NW": {list: de.HolidaysNW},
	"RP": {list: de.HolidaysRP},
	"SL": {list: de.HolidaysSL},
	"SN": {list: de.HolidaysSN},
	"ST": {list: de.HolidaysST},
	"SH": {list: de.HolidaysSH},
	"TH": {list: de.HolidaysTH},
}

// GermanStates returns the accepted Bundesland codes, sorted:
// BB BE BW BY HB HE HH MV NI NW RP SH SL SN ST TH.
func GermanStates() []string {
	var s []string
	for k := range germanStates {
		if k != "" {
			s = append(s, k)
		}
	}
	sort.Strings(s)
	return s
}

// GermanHoliday returns the name of the statutory public holiday on d in
// the German state (Bundesland code such as "NW" or "BY", case-insensitive,
// an optional "DE-" prefix allowed; "" for nationwide holidays only) and
// whether d is one. Holidays that only some municipalities keep (Mariä
// Himmelfahrt in parts of Bavaria, Augsburger Friedensfest, Fronleichnam in
// parts of Saxony/Thuringia) follow rickar/cal/v2/de. An unknown state is
// an error.
func GermanHoliday(d record.Date, state string) (string, bool, error) {
	st := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(state)), "DE-")
	c, ok := germanStates[st]
	if !ok {
		return "", false, fmt.Errorf("unknown german state %q (want one of %s)", state, strings.Join(GermanStates(), ", "))
	}
	name, ok := c.lookup(d)
	return name, ok, nil
}

// IsGermanHoliday reports whether d is a public holiday in state; see
// GermanHoliday for the state codes and the error.
func IsGermanHoliday(d record.Date, state string) (bool, error) {
	_, ok, err := GermanHoliday(d, state)
	return ok, err
}
