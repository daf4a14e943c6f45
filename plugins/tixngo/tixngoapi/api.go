// Package tixngoapi holds the wire model of the TIXnGO organizer API as far
// as it is documented (ticketing-apis.md): ticket statuses, the per-item
// result shape and the field rules of the injection payload. The tixngo
// plugin and the simulator (tixngosim) share it. Everything marked GUESS in
// the domain notes (paths, result and error bodies) is configurable in the
// plugin.
package tixngoapi

// Ticket statuses of the V3 lifecycle mode (DOC).
const (
	StatusInjected         = "INJECTED"
	StatusDownloaded       = "DOWNLOADED"
	StatusAssigned         = "ASSIGNED"
	StatusPendingTransfer  = "PENDING_TRANSFER"
	StatusTransferred      = "TRANSFERRED"
	StatusFailureTransfer  = "FAILURE_TRANSFER"
	StatusFailure          = "FAILURE"
	StatusBTActivated      = "BT_ACTIVATED"
	StatusManualActivated  = "MANUAL_ACTIVATED"
	StatusOfflineActivated = "OFFLINE_ACTIVATED"
	StatusOnlineActivated  = "ONLINE_ACTIVATED"
	StatusActivated        = "ACTIVATED"
	StatusPending          = "PENDING"
	StatusControlled       = "CONTROLLED"
	StatusDeletionPending  = "DELETION_PENDING"
	StatusDeleted          = "DELETED"
	StatusDeactivated      = "DEACTIVATED"
	StatusDefault          = "DEFAULT"
	StatusInvalid          = "INVALID"
)

// Per-item result statuses.
const (
	Accepted = "ACCEPTED"
	Rejected = "REJECTED"
)

// Result is one item's outcome in a batch answer:
// {"results":[{"ticketId":"T1","status":"ACCEPTED"}, …]} (shape GUESSED,
// modelled on the CSV-injection output). Privilege results carry
// privilegeId instead of ticketId.
type Result struct {
	TicketID    string      `json:"ticketId,omitempty"`
	PrivilegeID string      `json:"privilegeId,omitempty"`
	Status      string      `json:"status"`
	Errors      []ItemError `json:"errors,omitempty"`
}

// ID returns the ticket or privilege id of the result.
func (r Result) ID() string {
	if r.TicketID != "" {
		return r.TicketID
	}
	return r.PrivilegeID
}

// Reason joins the item errors into one plain-language reason.
func (r Result) Reason() string {
	if len(r.Errors) == 0 {
		return "rejected by TIXnGO without a reason"
	}
	s := ""
	for i, e := range r.Errors {
		if i > 0 {
			s += "; "
		}
		if e.Field != "" {
			s += e.Field + ": "
		}
		s += e.Message
		if e.Code != "" {
			s += " [" + e.Code + "]"
		}
	}
	return s
}

// Results is the body of a batch answer.
type Results struct {
	Results []Result `json:"results"`
}

// ErrorBody is the body of a whole-call error (400, 401, 403, 409, 423, 429).
type ErrorBody struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Details []ItemError `json:"details,omitempty"`
}
