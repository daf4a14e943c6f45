package tixngosim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

func (s *Server) route(w *recorder, method, path string, q url.Values, body []byte) {
	switch {
	case path == "/tickets" && method == http.MethodPost:
		s.inject(w, body)
	case path == "/tickets" && method == http.MethodGet:
		s.feed(w, q)
	case path == "/tickets/delete" && method == http.MethodPost:
		s.update(w, body, s.deleteOne)
	case path == "/tickets/control" && method == http.MethodPost:
		s.update(w, body, s.controlOne)
	case path == "/events" || strings.HasPrefix(path, "/events/"):
		s.eventsRoute(w, method, strings.TrimPrefix(strings.TrimPrefix(path, "/events"), "/"), body)
	case path == "/privileges/definitions" && method == http.MethodPost:
		s.createDefinition(w, body)
	case strings.HasPrefix(path, "/privileges/definitions/") && method == http.MethodGet:
		id, _ := url.PathUnescape(strings.TrimPrefix(path, "/privileges/definitions/"))
		if d, ok := s.definitions[id]; ok {
			w.status, w.body = 200, d
		} else {
			w.fail(404, "NOT_FOUND", "privilege definition "+id+" not found")
		}
	case path == "/privileges" && method == http.MethodPost:
		s.injectPrivileges(w, body)
	case path == "/reports/injections" && method == http.MethodGet:
		s.report(w, q)
	default:
		w.fail(404, "NOT_FOUND", method+" "+path+" is not an API endpoint")
	}
}

// decodeItems decodes {"<key>":[…]} with numbers kept exact.
func decodeItems(body []byte, key string) ([]map[string]any, []json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, err
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(env[key], &raws); err != nil || env[key] == nil {
		return nil, nil, errors.New(`"` + key + `" must be a list`)
	}
	items := make([]map[string]any, len(raws))
	for i, r := range raws {
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		if err := d.Decode(&items[i]); err != nil {
			return nil, nil, err
		}
	}
	return items, raws, nil
}

func str(m map[string]any, path string) string {
	v, ok := tixngoapi.Lookup(m, path)
	if !ok {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func (s *Server) inject(w *recorder, body []byte) {
	items, raws, err := decodeItems(body, "tickets")
	if err != nil {
		w.fail(400, "VALIDATION_ERROR", "body must be {\"tickets\":[…]}: "+err.Error())
		return
	}
	if len(items) > s.o.MaxBatch {
		w.fail(413, "BATCH_TOO_LARGE", "at most "+strconv.Itoa(s.o.MaxBatch)+" tickets per call")
		return
	}
	w.items = len(items)
	if len(items) > 0 {
		w.first, w.last = str(items[0], "ticketId"), str(items[len(items)-1], "ticketId")
	}
	now := s.o.Now()
	seen := map[string]bool{}
	res := tixngoapi.Results{Results: make([]tixngoapi.Result, 0, len(items))}
	for i, t := range items {
		id := str(t, "ticketId")
		r := tixngoapi.Result{TicketID: id, Status: tixngoapi.Accepted}
		if errs := tixngoapi.ValidateTicket(t); len(errs) > 0 {
			r.Status, r.Errors = tixngoapi.Rejected, errs
		} else if seen[id] {
			r.Status, r.Errors = tixngoapi.Rejected, []tixngoapi.ItemError{{Code: "DUPLICATE_TICKET_ID", Field: "ticketId", Message: "ticket id occurs twice in this call"}}
		} else if old, ok := s.tickets[id]; ok && (old.Status == tixngoapi.StatusDeleted || old.Status == tixngoapi.StatusDeletionPending) {
			r.Status, r.Errors = tixngoapi.Rejected, []tixngoapi.ItemError{{Code: "TICKET_DELETED", Field: "ticketId", Message: "ticket was deleted and cannot be injected again"}}
		}
		seen[id] = true
		res.Results = append(res.Results, r)
		if r.Status != tixngoapi.Accepted {
			continue
		}
		evID := str(t, "event.id")
		// The injection creates the event if missing and updates its data otherwise.
		ev, _ := json.Marshal(t["event"])
		s.events[evID] = ev
		holder := &Person{FirstName: str(t, "spectatorDetails.firstName"), LastName: str(t, "spectatorDetails.lastName"), Email: str(t, "spectatorDetails.email")}
		filter := map[string]string{"product": str(t, "purchaseDetails.productId"), "performance": evID,
			"tariff": str(t, "purchaseDetails.tariffId"), "category": str(t, "purchaseDetails.category"),
			"fileNumber": str(t, "purchaseDetails.fileId")}
		tk, ok := s.tickets[id]
		if !ok {
			tk = &Ticket{TicketID: id, injectedAt: now}
			s.tickets[id] = tk
		}
		tk.EventID, tk.FileID, tk.Holder, tk.filter = evID, filter["fileNumber"], holder, filter
		tk.Payload = append(json.RawMessage(nil), raws[i]...)
		tk.Injections++
		if !ok {
			s.setStatusLocked(tk, tixngoapi.StatusInjected)
		}
	}
	w.json(200, res)
}

type updateItem struct {
	TicketID          string `json:"ticketId"`
	DeletionReason    string `json:"deletionReason"`
	ShowDeletedTicket *bool  `json:"showDeletedTicket"`
	ControlTime       string `json:"controlTime"`
}

func (s *Server) update(w *recorder, body []byte, one func(updateItem) tixngoapi.Result) {
	var in struct {
		Tickets []updateItem `json:"tickets"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Tickets == nil {
		w.fail(400, "VALIDATION_ERROR", "body must be {\"tickets\":[…]}")
		return
	}
	if len(in.Tickets) > s.o.MaxBatch {
		w.fail(413, "BATCH_TOO_LARGE", "at most "+strconv.Itoa(s.o.MaxBatch)+" tickets per call")
		return
	}
	w.items = len(in.Tickets)
	res := tixngoapi.Results{Results: make([]tixngoapi.Result, 0, len(in.Tickets))}
	for _, it := range in.Tickets {
		res.Results = append(res.Results, one(it))
	}
	w.json(200, res)
}

func rejected(id, code, field, msg string) tixngoapi.Result {
	return tixngoapi.Result{TicketID: id, Status: tixngoapi.Rejected, Errors: []tixngoapi.ItemError{{Code: code, Field: field, Message: msg}}}
}

func (s *Server) deleteOne(it updateItem) tixngoapi.Result {
	t, ok := s.tickets[it.TicketID]
	if !ok {
		return rejected(it.TicketID, "NOT_FOUND", "ticketId", "unknown ticket")
	}
	if t.Status != tixngoapi.StatusDeletionPending && t.Status != tixngoapi.StatusDeleted {
		t.deleteAt = s.o.Now().Add(s.o.DeletionDelay)
		s.setStatusLocked(t, tixngoapi.StatusDeletionPending)
	}
	return tixngoapi.Result{TicketID: it.TicketID, Status: tixngoapi.Accepted}
}

func (s *Server) controlOne(it updateItem) tixngoapi.Result {
	t, ok := s.tickets[it.TicketID]
	switch {
	case !ok:
		return rejected(it.TicketID, "NOT_FOUND", "ticketId", "unknown ticket")
	case t.Status == tixngoapi.StatusDeletionPending || t.Status == tixngoapi.StatusDeleted:
		return rejected(it.TicketID, "TICKET_DELETED", "ticketId", "ticket is "+t.Status)
	case it.ControlTime != "":
		if _, err := time.Parse(time.RFC3339, it.ControlTime); err != nil {
			return rejected(it.TicketID, "VALIDATION_ERROR", "controlTime", "must be an RFC 3339 date-time")
		}
	}
	if t.Status != tixngoapi.StatusControlled {
		s.setStatusLocked(t, tixngoapi.StatusControlled)
	}
	return tixngoapi.Result{TicketID: it.TicketID, Status: tixngoapi.Accepted}
}

// tickLocked promotes due DELETION_PENDING tickets to DELETED.
func (s *Server) tickLocked() {
	now := s.o.Now()
	for _, t := range s.tickets {
		if t.Status == tixngoapi.StatusDeletionPending && !now.Before(t.deleteAt) {
			s.setStatusLocked(t, tixngoapi.StatusDeleted)
		}
	}
}

func (s *Server) setStatusLocked(t *Ticket, status string) {
	now := s.o.Now()
	s.seq++
	t.Status, t.UpdatedAt, t.seq = status, now, s.seq
	t.History = append(t.History, HistoryEntry{Status: status, At: now})
	s.changes = append(s.changes, change{seq: s.seq, id: t.TicketID})
}

var activated = []string{tixngoapi.StatusBTActivated, tixngoapi.StatusManualActivated, tixngoapi.StatusOfflineActivated,
	tixngoapi.StatusOnlineActivated, tixngoapi.StatusActivated}

func in(s string, set ...string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// allowed encodes the V3 lifecycle (ticketing-apis.md §7.3).
func allowed(from, to string) bool {
	if from == tixngoapi.StatusDeleted || from == to {
		return false
	}
	if from == tixngoapi.StatusDeletionPending {
		return to == tixngoapi.StatusDeleted
	}
	switch {
	case to == tixngoapi.StatusDeletionPending:
		return true
	case to == tixngoapi.StatusDeleted:
		return false
	case in(to, tixngoapi.StatusDeactivated, tixngoapi.StatusDefault, tixngoapi.StatusInvalid):
		return true
	case from == tixngoapi.StatusControlled:
		return false
	case to == tixngoapi.StatusDownloaded:
		return from == tixngoapi.StatusInjected
	case to == tixngoapi.StatusAssigned:
		return in(from, tixngoapi.StatusDownloaded, tixngoapi.StatusTransferred)
	case to == tixngoapi.StatusPendingTransfer || to == tixngoapi.StatusPending:
		return in(from, tixngoapi.StatusDownloaded, tixngoapi.StatusAssigned, tixngoapi.StatusTransferred, tixngoapi.StatusFailureTransfer)
	case in(to, tixngoapi.StatusTransferred, tixngoapi.StatusFailureTransfer, tixngoapi.StatusFailure):
		return in(from, tixngoapi.StatusPendingTransfer, tixngoapi.StatusPending)
	case in(to, activated...):
		return !in(from, tixngoapi.StatusPendingTransfer, tixngoapi.StatusPending) && !in(from, activated...)
	case to == tixngoapi.StatusControlled:
		return true
	}
	return false
}

// feedTicket is one element of the status feed.
type feedTicket struct {
	TicketID      string         `json:"ticketId"`
	Status        string         `json:"status"`
	EventID       string         `json:"eventId"`
	FileID        string         `json:"fileId,omitempty"`
	Owner         *Person        `json:"owner"`
	Holder        *Person        `json:"holder"`
	InitialOwner  *Person        `json:"initialOwner,omitempty"`
	PreviousOwner *Person        `json:"previousOwner,omitempty"`
	UpdatedAt     time.Time      `json:"updatedAt"`
	History       []HistoryEntry `json:"history"`
}

func (s *Server) feed(w *recorder, q url.Values) {
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			w.fail(400, "VALIDATION_ERROR", "limit must be 1..10000")
			return
		}
		limit = n
	}
	var after int64
	if k := q.Get("paginationKey"); k != "" {
		n, err := decodeKey(k)
		if err != nil {
			w.fail(400, "VALIDATION_ERROR", err.Error())
			return
		}
		after = n
	}
	var from time.Time
	if v := q.Get("dateFrom"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			w.fail(400, "VALIDATION_ERROR", "dateFrom must be RFC 3339")
			return
		}
		from = t
	}
	if q.Get("fileNumber") != "" {
		for _, k := range []string{"product", "performance", "tariff", "category"} {
			if q.Get(k) != "" {
				w.fail(400, "VALIDATION_ERROR", "fileNumber excludes every other filter")
				return
			}
		}
	}
	i := sort.Search(len(s.changes), func(i int) bool { return s.changes[i].seq > after })
	out := []feedTicket{}
	last := int64(0)
	for ; i < len(s.changes) && len(out) < limit; i++ {
		c := s.changes[i]
		t := s.tickets[c.id]
		if t == nil || t.seq != c.seq { // superseded by a later change
			continue
		}
		last = c.seq
		if !from.IsZero() && t.UpdatedAt.Before(from) {
			continue
		}
		match := true
		for _, k := range []string{"product", "performance", "tariff", "category", "fileNumber"} {
			if v := q.Get(k); v != "" && t.filter[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		out = append(out, feedTicket{TicketID: t.TicketID, Status: t.Status, EventID: t.EventID, FileID: t.FileID,
			Owner: t.Owner, Holder: t.Holder, InitialOwner: t.InitialOwner, PreviousOwner: t.PreviousOwner,
			UpdatedAt: t.UpdatedAt, History: append([]HistoryEntry(nil), t.History...)})
	}
	var key *string
	if last > 0 {
		k := encodeKey(last)
		key = &k
	}
	w.json(200, map[string]any{"tickets": out, "paginationKey": key})
}

func (s *Server) eventsRoute(w *recorder, method, id string, body []byte) {
	id, _ = url.PathUnescape(id)
	switch {
	case id == "" && method == http.MethodGet:
		keys := make([]string, 0, len(s.events))
		for k := range s.events {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]json.RawMessage, len(keys))
		for i, k := range keys {
			out[i] = s.events[k]
		}
		w.json(200, map[string]any{"events": out})
	case id == "" && method == http.MethodPost:
		var ev map[string]any
		if err := json.Unmarshal(body, &ev); err != nil {
			w.fail(400, "VALIDATION_ERROR", "event must be a JSON object")
			return
		}
		eid, _ := ev["id"].(string)
		if eid == "" {
			w.fail(400, "VALIDATION_ERROR", "event id is required")
			return
		}
		if _, ok := s.events[eid]; ok {
			w.fail(409, "EVENT_EXISTS", "event "+eid+" exists")
			return
		}
		s.events[eid] = append(json.RawMessage(nil), body...)
		w.status, w.body = 201, s.events[eid]
	case method == http.MethodGet:
		if ev, ok := s.events[id]; ok {
			w.status, w.body = 200, ev
		} else {
			w.fail(404, "NOT_FOUND", "event "+id+" not found")
		}
	case method == http.MethodPut:
		if _, ok := s.events[id]; !ok {
			w.fail(404, "NOT_FOUND", "event "+id+" not found")
			return
		}
		if !json.Valid(body) {
			w.fail(400, "VALIDATION_ERROR", "event must be JSON")
			return
		}
		s.events[id] = append(json.RawMessage(nil), body...)
		w.status, w.body = 200, s.events[id]
	default:
		w.fail(405, "METHOD_NOT_ALLOWED", method+" not allowed on events")
	}
}

func (s *Server) createDefinition(w *recorder, body []byte) {
	var def map[string]any
	if err := json.Unmarshal(body, &def); err != nil {
		w.fail(400, "VALIDATION_ERROR", "definition must be a JSON object")
		return
	}
	id, _ := def["id"].(string)
	if id == "" {
		w.fail(400, "VALIDATION_ERROR", "definition id is required")
		return
	}
	canon, _ := json.Marshal(def)
	if old, ok := s.definitions[id]; ok {
		if !bytes.Equal(old, canon) {
			w.fail(409, "DEFINITION_CONFLICT", "privilege definition "+id+" exists with other data")
			return
		}
		w.status, w.body = 200, old
		return
	}
	s.definitions[id] = canon
	w.status, w.body = 201, canon
}

func (s *Server) injectPrivileges(w *recorder, body []byte) {
	items, raws, err := decodeItems(body, "privileges")
	if err != nil {
		w.fail(400, "VALIDATION_ERROR", "body must be {\"privileges\":[…]}")
		return
	}
	if len(items) > s.o.MaxBatch {
		w.fail(413, "BATCH_TOO_LARGE", "too many privileges in one call")
		return
	}
	w.items = len(items)
	res := tixngoapi.Results{}
	seen := map[string]bool{}
	for i, p := range items {
		id := str(p, "privilegeId")
		r := tixngoapi.Result{PrivilegeID: id, Status: tixngoapi.Accepted}
		switch {
		case id == "":
			r = tixngoapi.Result{Status: tixngoapi.Rejected, Errors: []tixngoapi.ItemError{{Code: "VALIDATION_ERROR", Field: "privilegeId", Message: "is required"}}}
		case seen[id]:
			r.Status, r.Errors = tixngoapi.Rejected, []tixngoapi.ItemError{{Code: "DUPLICATE_ID", Field: "privilegeId", Message: "occurs twice in this call"}}
		case s.definitions[str(p, "definitionId")] == nil:
			r.Status, r.Errors = tixngoapi.Rejected, []tixngoapi.ItemError{{Code: "DEFINITION_NOT_FOUND", Field: "definitionId", Message: "unknown privilege definition"}}
		case str(p, "barcode") == "" || len(str(p, "barcode")) > 512:
			r.Status, r.Errors = tixngoapi.Rejected, []tixngoapi.ItemError{{Code: "VALIDATION_ERROR", Field: "barcode", Message: "is required, at most 512 characters"}}
		}
		seen[id] = true
		if r.Status == tixngoapi.Accepted {
			s.privileges[id] = append(json.RawMessage(nil), raws[i]...)
		}
		res.Results = append(res.Results, r)
	}
	w.json(200, res)
}

func (s *Server) report(w *recorder, q url.Values) {
	period := q.Get("period")
	p, err := time.Parse("2006-01", period)
	limit, lerr := strconv.Atoi(q.Get("limit"))
	offset, oerr := strconv.Atoi(q.Get("offset"))
	if err != nil || lerr != nil || oerr != nil || limit < 1 || offset < 0 {
		w.fail(400, "VALIDATION_ERROR", "period (YYYY-MM), limit and offset are required")
		return
	}
	counts := map[string]int{}
	grand := 0
	for _, t := range s.tickets {
		if t.injectedAt.Year() == p.Year() && t.injectedAt.Month() == p.Month() {
			counts[t.EventID]++
			grand++
		}
	}
	ids := make([]string, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	type ev struct {
		EventID   string `json:"eventId"`
		EventName string `json:"eventName"`
		StartTime string `json:"startTime"`
		Injected  int    `json:"injected"`
	}
	out := []ev{}
	for i := offset; i < len(ids) && len(out) < limit; i++ {
		var meta struct {
			Name      string `json:"name"`
			StartTime string `json:"startTime"`
		}
		_ = json.Unmarshal(s.events[ids[i]], &meta)
		out = append(out, ev{EventID: ids[i], EventName: meta.Name, StartTime: meta.StartTime, Injected: counts[ids[i]]})
	}
	w.json(200, map[string]any{"total": len(ids), "grandTotal": grand, "events": out})
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case path == "reset" && r.Method == http.MethodPost:
		s.mu.Lock()
		s.reset()
		s.mu.Unlock()
		writeJSON(w, 200, map[string]string{"status": "reset"})
	case path == "unlock" && r.Method == http.MethodPost:
		s.mu.Lock()
		s.locked = false
		s.mu.Unlock()
		writeJSON(w, 200, map[string]string{"status": "unlocked"})
	case path == "tick" && r.Method == http.MethodPost:
		s.mu.Lock()
		s.tickLocked()
		s.mu.Unlock()
		writeJSON(w, 200, map[string]string{"status": "ok"})
	case path == "stats":
		writeJSON(w, 200, s.Stats())
	case path == "calls":
		writeJSON(w, 200, s.Calls())
	case path == "faults" && r.Method == http.MethodPost:
		var fs FaultScript
		if err := json.NewDecoder(r.Body).Decode(&fs); err != nil {
			writeJSON(w, 400, tixngoapi.ErrorBody{Code: "BAD_REQUEST", Message: err.Error()})
			return
		}
		s.SetFaults(fs)
		writeJSON(w, 200, map[string]int{"faults": len(fs.Faults)})
	case strings.HasPrefix(path, "tickets/"):
		rest := strings.TrimPrefix(path, "tickets/")
		id, action, _ := strings.Cut(rest, "/")
		id, _ = url.PathUnescape(id)
		if action == "transition" && r.Method == http.MethodPost {
			var in struct {
				Status string  `json:"status"`
				Owner  *Person `json:"owner"`
				Holder *Person `json:"holder"`
			}
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				writeJSON(w, 400, tixngoapi.ErrorBody{Code: "BAD_REQUEST", Message: err.Error()})
				return
			}
			if err := s.Transition(id, in.Status, in.Owner, in.Holder); err != nil {
				writeJSON(w, 409, tixngoapi.ErrorBody{Code: "TRANSITION", Message: err.Error()})
				return
			}
		}
		t, ok := s.Ticket(id)
		if !ok {
			writeJSON(w, 404, tixngoapi.ErrorBody{Code: "NOT_FOUND", Message: "unknown ticket"})
			return
		}
		writeJSON(w, 200, t)
	default:
		writeJSON(w, 404, tixngoapi.ErrorBody{Code: "NOT_FOUND", Message: "unknown control endpoint"})
	}
}
