// Package tixngosim is a loopback simulator of the TIXnGO organizer API
// (ticketing-apis.md §7) for tests and for integrators trying pipelines
// without a partner account. It serves the documented injection call and
// the GUESSED paths of the other functions under Options.Prefix, keeps the
// ticket status lifecycle, validates every ticket, checks API-key auth,
// counts calls (calls per window, the highest rate seen, tickets processed
// more than once) and injects scripted faults: 429 with Retry-After, 5xx,
// dropped connections (before or after processing), slow answers and a
// hard lockout once a rate limit is exceeded.
//
// API (Prefix default "/v3/organizer"):
//
//	POST {p}/tickets                     inject {"tickets":[…]} → {"results":[…]}
//	GET  {p}/tickets?paginationKey=&limit=&product=&performance=&tariff=&category=&fileNumber=&dateFrom=
//	POST {p}/tickets/delete              {"tickets":[{"ticketId","deletionReason","showDeletedTicket"}]}
//	POST {p}/tickets/control             {"tickets":[{"ticketId","controlTime"}]}
//	GET|POST {p}/events, GET|PUT {p}/events/{id}
//	GET {p}/privileges/definitions/{id}, POST {p}/privileges/definitions, POST {p}/privileges
//	GET {p}/reports/injections?period=YYYY-MM&limit=&offset=
//
// Control endpoints (no auth): POST /_sim/reset, GET /_sim/stats,
// GET /_sim/calls, POST /_sim/faults, POST /_sim/unlock, POST /_sim/tick,
// GET /_sim/tickets/{id}, POST /_sim/tickets/{id}/transition.
package tixngosim

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// Options configure a simulator.
type Options struct {
	// APIKey is the organizer key; "" disables auth. Accepted as the Basic
	// password or in KeyHeader / "x_tixngo_key".
	APIKey string
	// KeyHeader is the key header name (default "X-Api-Key").
	KeyHeader string
	// Prefix is the API path prefix (default "/v3/organizer").
	Prefix string
	// RateLimit > 0 locks the caller out (403 BLOCKED on every call until
	// /_sim/unlock or reset) as soon as more than RateLimit calls arrive in
	// one RateWindow — the Hypersoft-style hard block.
	RateLimit int
	// RateWindow is the window of RateLimit and of the max-rate counter
	// (default 1m).
	RateWindow time.Duration
	// DeletionDelay is how long a ticket stays DELETION_PENDING (default 0:
	// until the next request).
	DeletionDelay time.Duration
	// MaxBatch is the most items one call may carry (default 10000; more
	// is a 413).
	MaxBatch int
	// Latency delays every API answer.
	Latency time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Seed seeds random faults (default 1).
	Seed uint64
}

// Ticket is the simulator's state of one ticket.
type Ticket struct {
	TicketID      string          `json:"ticketId"`
	Status        string          `json:"status"`
	EventID       string          `json:"eventId"`
	FileID        string          `json:"fileId,omitempty"`
	Owner         *Person         `json:"owner"`
	Holder        *Person         `json:"holder"`
	InitialOwner  *Person         `json:"initialOwner,omitempty"`
	PreviousOwner *Person         `json:"previousOwner,omitempty"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	History       []HistoryEntry  `json:"history"`
	Injections    int             `json:"injections"` // times processed by an inject call (1 = exactly once)
	Payload       json.RawMessage `json:"payload"`    // the last injected ticket

	seq        int64
	injectedAt time.Time
	deleteAt   time.Time
	filter     map[string]string
}

// Person is an owner or holder.
type Person struct {
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Email     string `json:"email,omitempty"`
}

// HistoryEntry is one status change.
type HistoryEntry struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Fault is one scripted answer. Match is "" (any API call) or
// "METHOD /path-suffix" (e.g. "POST /tickets"); Times is how many matching
// calls it takes (0 = 1).
type Fault struct {
	Match        string `json:"match"`
	Status       int    `json:"status"`       // answer with this status (0: process normally)
	RetryAfter   string `json:"retryAfter"`   // Retry-After header value
	Drop         bool   `json:"drop"`         // close the connection without an answer
	AfterProcess bool   `json:"afterProcess"` // Drop only after the call took effect
	Delay        string `json:"delay"`        // wait before answering (Go duration)
	Times        int    `json:"times"`
}

// RandomFaults answers a fraction of API calls with one of Statuses (or
// drops them when Statuses is empty), chosen at random.
type RandomFaults struct {
	Rate       float64 `json:"rate"`
	Statuses   []int   `json:"statuses"`
	RetryAfter string  `json:"retryAfter"`
}

// FaultScript is the body of POST /_sim/faults.
type FaultScript struct {
	Faults []Fault       `json:"faults"`
	Random *RandomFaults `json:"random"`
	Lock   *bool         `json:"lock"` // force the lockout on or off
}

// Call is one logged API request.
type Call struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	At     time.Time `json:"at"`
	Status int       `json:"status"`          // 0 when the connection was dropped
	Items  int       `json:"items"`           // tickets/privileges in the body
	First  string    `json:"first,omitempty"` // first item id of the body
	Last   string    `json:"last,omitempty"`  // last item id of the body
}

// Stats is the answer of GET /_sim/stats.
type Stats struct {
	Calls          int            `json:"calls"`
	CallsByRoute   map[string]int `json:"callsByRoute"`
	Window         string         `json:"window"`
	CallsInWindow  int            `json:"callsInWindow"`  // in the last window
	MaxInWindow    int            `json:"maxInWindow"`    // highest number of calls in any window
	MaxPerMinute   int            `json:"maxPerMinute"`   // highest number of calls in any minute
	Locked         bool           `json:"locked"`         // hard lockout active
	Tickets        int            `json:"tickets"`        // known tickets
	ByStatus       map[string]int `json:"byStatus"`       // tickets per status
	Duplicates     int            `json:"duplicates"`     // tickets processed by more than one inject call
	Privileges     int            `json:"privileges"`     // privilege instances
	Definitions    int            `json:"definitions"`    // privilege definitions
	Events         int            `json:"events"`         // events
	IdempotentHits int            `json:"idempotentHits"` // replays answered from the idempotency cache
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	o   Options
	mu  sync.Mutex
	rnd *rand.Rand

	tickets     map[string]*Ticket
	changes     []change // change log: the status feed's cursor walks it
	seq         int64
	events      map[string]json.RawMessage
	definitions map[string]json.RawMessage
	privileges  map[string]json.RawMessage
	idem        map[string]cached

	calls     []Call
	arrivals  []time.Time
	maxWindow int
	maxMinute int
	locked    bool
	faults    []Fault
	random    *RandomFaults
	idemHits  int
}

type change struct {
	seq int64
	id  string
}

type cached struct {
	status int
	body   []byte
}

// New returns a simulator with empty state.
func New(o Options) *Server {
	if o.KeyHeader == "" {
		o.KeyHeader = "X-Api-Key"
	}
	if o.Prefix == "" {
		o.Prefix = "/v3/organizer"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.RateWindow <= 0 {
		o.RateWindow = time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	s := &Server{o: o}
	s.reset()
	return s
}

func (s *Server) reset() {
	s.rnd = rand.New(rand.NewPCG(s.o.Seed, s.o.Seed^0x9e3779b97f4a7c15))
	s.tickets = map[string]*Ticket{}
	s.changes = nil
	s.seq = 0
	s.events = map[string]json.RawMessage{}
	s.definitions = map[string]json.RawMessage{}
	s.privileges = map[string]json.RawMessage{}
	s.idem = map[string]cached{}
	s.calls = nil
	s.arrivals = nil
	s.maxWindow, s.maxMinute = 0, 0
	s.locked = false
	s.faults = nil
	s.random = nil
	s.idemHits = 0
}

// Start serves on addr (e.g. "127.0.0.1:0") in a goroutine and returns the
// API base URL ("http://127.0.0.1:PORT/v3": append "organizer/tickets") and
// a function that stops the server.
func (s *Server) Start(addr string) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	root := strings.TrimSuffix(s.o.Prefix, "/organizer")
	return "http://" + ln.Addr().String() + root, func() { _ = hs.Close() }, nil
}

// Stats returns the counters (also served at GET /_sim/stats).
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

// Ticket returns a copy of the state of one ticket.
func (s *Server) Ticket(id string) (Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, false
	}
	return *t, true
}

// Calls returns the API call log (also GET /_sim/calls).
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// SetFaults installs a fault script (also POST /_sim/faults).
func (s *Server) SetFaults(fs FaultScript) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append([]Fault(nil), fs.Faults...)
	s.random = fs.Random
	if fs.Lock != nil {
		s.locked = *fs.Lock
	}
}

// Transition moves a ticket to status as the app would (DOWNLOADED,
// ASSIGNED, transfers, activation); owner and holder are optional.
func (s *Server) Transition(id, status string, owner, holder *Person) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickLocked()
	t, ok := s.tickets[id]
	if !ok {
		return fmt.Errorf("ticket %q not found", id)
	}
	if !allowed(t.Status, status) {
		return fmt.Errorf("ticket %q: transition %s → %s not allowed", id, t.Status, status)
	}
	if owner != nil {
		if t.Owner != nil {
			t.PreviousOwner = t.Owner
		}
		t.Owner = owner
		if t.InitialOwner == nil {
			t.InitialOwner = owner
		}
	}
	if holder != nil {
		t.Holder = holder
	}
	s.setStatusLocked(t, status)
	return nil
}

func (s *Server) statsLocked() Stats {
	st := Stats{Calls: len(s.calls), CallsByRoute: map[string]int{}, Window: s.o.RateWindow.String(),
		MaxInWindow: s.maxWindow, MaxPerMinute: s.maxMinute, Locked: s.locked, Tickets: len(s.tickets),
		ByStatus: map[string]int{}, Privileges: len(s.privileges), Definitions: len(s.definitions),
		Events: len(s.events), IdempotentHits: s.idemHits}
	for _, c := range s.calls {
		st.CallsByRoute[c.Method+" "+c.Path]++
	}
	now := s.o.Now()
	for i := len(s.arrivals) - 1; i >= 0 && now.Sub(s.arrivals[i]) < s.o.RateWindow; i-- {
		st.CallsInWindow++
	}
	for _, t := range s.tickets {
		st.ByStatus[t.Status]++
		if t.Injections > 1 {
			st.Duplicates++
		}
	}
	return st
}

// countIn returns how many arrivals lie in (at-window, at].
func countIn(arr []time.Time, at time.Time, window time.Duration) int {
	i := sort.Search(len(arr), func(i int) bool { return at.Sub(arr[i]) < window })
	return len(arr) - i
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.control(w, r)
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeJSON(w, 400, tixngoapi.ErrorBody{Code: "BAD_REQUEST", Message: err.Error()})
		return
	}
	s.mu.Lock()
	now := s.o.Now()
	s.arrivals = append(s.arrivals, now)
	s.maxWindow = max(s.maxWindow, countIn(s.arrivals, now, s.o.RateWindow))
	s.maxMinute = max(s.maxMinute, countIn(s.arrivals, now, time.Minute))
	if s.o.RateLimit > 0 && countIn(s.arrivals, now, s.o.RateWindow) > s.o.RateLimit {
		s.locked = true
	}
	call := Call{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, s.o.Prefix), At: now}
	idx := len(s.calls)
	s.calls = append(s.calls, call)
	fault := s.pickFaultLocked(r.Method, call.Path)
	locked := s.locked
	s.mu.Unlock()

	setStatus := func(code int) {
		s.mu.Lock()
		s.calls[idx].Status = code
		s.mu.Unlock()
	}
	if s.o.Latency > 0 {
		time.Sleep(s.o.Latency)
	}
	if fault != nil && fault.Delay != "" {
		if d, err := time.ParseDuration(fault.Delay); err == nil {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
	}
	if locked {
		setStatus(403)
		writeJSON(w, 403, tixngoapi.ErrorBody{Code: "BLOCKED", Message: "rate limit exceeded: caller blocked until reactivated"})
		return
	}
	if !s.authorized(r) {
		setStatus(401)
		writeJSON(w, 401, tixngoapi.ErrorBody{Code: "UNAUTHORIZED", Message: "missing or invalid API key"})
		return
	}
	if fault != nil && fault.Drop && !fault.AfterProcess {
		drop(w)
		return
	}
	if fault != nil && fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		setStatus(fault.Status)
		writeJSON(w, fault.Status, tixngoapi.ErrorBody{Code: http.StatusText(fault.Status), Message: "simulated fault"})
		return
	}
	rec := &recorder{header: http.Header{}}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.tickLocked()
	if c, ok := s.idem[r.Method+" "+r.URL.Path+" "+key]; ok && key != "" {
		s.idemHits++
		rec.status, rec.body = c.status, c.body
	} else {
		s.route(rec, r.Method, call.Path, r.URL.Query(), body)
		if key != "" && rec.status < 500 && rec.status != 429 && rec.status != 409 {
			s.idem[r.Method+" "+r.URL.Path+" "+key] = cached{rec.status, rec.body}
		}
	}
	s.calls[idx].Items, s.calls[idx].First, s.calls[idx].Last = rec.items, rec.first, rec.last
	s.mu.Unlock()
	if fault != nil && fault.Drop && fault.AfterProcess {
		drop(w)
		return
	}
	setStatus(rec.status)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

func (s *Server) pickFaultLocked(method, path string) *Fault {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Match != "" {
			m, p, _ := strings.Cut(f.Match, " ")
			if m != method || !strings.HasSuffix(path, p) {
				continue
			}
		}
		out := *f
		if f.Times <= 1 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		} else {
			f.Times--
		}
		return &out
	}
	if s.random != nil && s.random.Rate > 0 && s.rnd.Float64() < s.random.Rate {
		if len(s.random.Statuses) == 0 {
			return &Fault{Drop: true}
		}
		st := s.random.Statuses[s.rnd.IntN(len(s.random.Statuses))]
		f := &Fault{Status: st}
		if st == 429 {
			f.RetryAfter = s.random.RetryAfter
		}
		return f
	}
	return nil
}

func (s *Server) authorized(r *http.Request) bool {
	if s.o.APIKey == "" {
		return true
	}
	eq := func(v string) bool { return subtle.ConstantTimeCompare([]byte(v), []byte(s.o.APIKey)) == 1 }
	if _, pass, ok := r.BasicAuth(); ok && eq(pass) {
		return true
	}
	return eq(r.Header.Get(s.o.KeyHeader)) || eq(r.Header.Get("x_tixngo_key"))
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, 256<<20))
	return b.Bytes(), err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// recorder collects an answer while the lock is held.
type recorder struct {
	header http.Header
	status int
	body   []byte
	items  int
	first  string
	last   string
}

func (r *recorder) json(status int, v any) {
	r.status = status
	r.body, _ = json.Marshal(v)
}

func (r *recorder) fail(status int, code, msg string) {
	r.json(status, tixngoapi.ErrorBody{Code: code, Message: msg})
}

func encodeKey(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("c:" + strconv.FormatInt(seq, 10)))
}

func decodeKey(k string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || !strings.HasPrefix(string(b), "c:") {
		return 0, errors.New("invalid paginationKey")
	}
	return strconv.ParseInt(string(b[2:]), 10, 64)
}
