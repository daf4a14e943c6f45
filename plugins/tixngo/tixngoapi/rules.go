package tixngoapi

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldRule is the documented constraint of one ticket JSON field
// (ticketing-apis.md §1.3 and §7.4). The tixngo sink checks records against
// the same table before sending, so over-long values are rejected locally.
type FieldRule struct {
	Path     string   // dotted JSON path inside one ticket, e.g. "event.address.city"
	MaxLen   int      // maximum length in characters (0: no limit)
	Required bool     // must be present and non-empty
	Kind     string   // "string" (default), "datetime" (RFC 3339), "bool", "number"
	Enum     []string // allowed values
	Pattern  *regexp.Regexp
}

var ticketIDPattern = regexp.MustCompile(`^[A-Za-z0-9 *.\-_+/()]+$`)

// TicketRules are the constraints of the injection payload. Lengths,
// required fields and the ticketId character set are documented; the JSON
// leaf names of spectator, purchase and security data are GUESSED.
var TicketRules = []FieldRule{
	{Path: "ticketId", MaxLen: 256, Required: true, Pattern: ticketIDPattern},
	{Path: "event.id", MaxLen: 256, Required: true},
	{Path: "event.name", MaxLen: 128},
	{Path: "event.imageUrl", MaxLen: 256},
	{Path: "event.startTime", Kind: "datetime"},
	{Path: "event.expirationDate", Kind: "datetime"},
	{Path: "event.ribbonDisplayTime", Kind: "datetime"},
	{Path: "event.address.site", MaxLen: 200, Required: true},
	{Path: "event.address.city", MaxLen: 200, Required: true},
	{Path: "event.address.countryCode", MaxLen: 200, Required: true},
	{Path: "event.address.zip", MaxLen: 200, Required: true},
	{Path: "security.barcode", MaxLen: 512, Required: true},
	{Path: "spectatorDetails.gender", MaxLen: 1, Enum: []string{"M", "F", "U", "X"}},
	{Path: "spectatorDetails.firstName", MaxLen: 50},
	{Path: "spectatorDetails.lastName", MaxLen: 100},
	{Path: "spectatorDetails.email", MaxLen: 256},
	{Path: "spectatorDetails.mainApplicant", Kind: "bool"},
	{Path: "purchaseDetails.price", Kind: "number"},
	{Path: "purchaseDetails.currency", MaxLen: 20},
	{Path: "purchaseDetails.category", MaxLen: 512},
	{Path: "purchaseDetails.taxNumber", MaxLen: 256},
	{Path: "purchaseDetails.fileId", MaxLen: 256},
	{Path: "purchaseDetails.sortingKey", MaxLen: 256},
	{Path: "purchaseDetails.ticketImageUrl", MaxLen: 256},
	{Path: "activationParameters.groupId", MaxLen: 50},
	{Path: "activationParameters.method", Enum: []string{"online", "offline"}},
	{Path: "activationParameters.time", Kind: "datetime"},
	{Path: "activationParameters.instanceId", MaxLen: 128},
}

// RequiredObjects are the objects every ticket must carry (DOC).
var RequiredObjects = []string{"event", "purchaseDetails", "security", "spectatorDetails"}

// CheckValue checks one present value against r; "" means fine.
func (r FieldRule) CheckValue(v any) string {
	switch r.Kind {
	case "bool":
		if _, ok := v.(bool); !ok {
			return "must be true or false"
		}
		return ""
	case "number":
		switch v.(type) {
		case float64, int, int64, fmt.Stringer: // json.Number is a Stringer
			return ""
		}
		return "must be a number"
	}
	s, ok := v.(string)
	if !ok {
		return "must be a string"
	}
	return r.CheckString(s)
}

// CheckString checks a string value against r; "" means fine.
func (r FieldRule) CheckString(s string) string {
	if r.Required && strings.TrimSpace(s) == "" {
		return "is required"
	}
	if r.MaxLen > 0 {
		if n := utf8.RuneCountInString(s); n > r.MaxLen {
			return fmt.Sprintf("is %d characters long, at most %d allowed", n, r.MaxLen)
		}
	}
	if r.Pattern != nil && s != "" && !r.Pattern.MatchString(s) {
		return "contains characters outside " + strings.Trim(r.Pattern.String(), "^$+")
	}
	if len(r.Enum) > 0 && s != "" {
		ok := false
		for _, e := range r.Enum {
			ok = ok || e == s
		}
		if !ok {
			return fmt.Sprintf("must be one of %s", strings.Join(r.Enum, ", "))
		}
	}
	if r.Kind == "datetime" && s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return "must be an RFC 3339 date-time such as 2025-05-01T19:30:00+02:00"
		}
	}
	return ""
}

// Lookup walks a dotted path through nested maps.
func Lookup(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[p]
		if !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// ItemError is one per-item problem in a result.
type ItemError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ValidateTicket checks one decoded ticket against TicketRules.
func ValidateTicket(t map[string]any) []ItemError {
	var errs []ItemError
	for _, o := range RequiredObjects {
		if v, ok := t[o].(map[string]any); !ok || v == nil {
			errs = append(errs, ItemError{Code: "VALIDATION_ERROR", Field: o, Message: "is required"})
		}
	}
	for _, r := range TicketRules {
		v, ok := Lookup(t, r.Path)
		if !ok {
			if r.Required {
				errs = append(errs, ItemError{Code: "VALIDATION_ERROR", Field: r.Path, Message: "is required"})
			}
			continue
		}
		if msg := r.CheckValue(v); msg != "" {
			errs = append(errs, ItemError{Code: "VALIDATION_ERROR", Field: r.Path, Message: msg})
		}
	}
	return errs
}
