// Package navigator is the web UI of `kontor serve`: what ran, what failed
// and why, over the state stores of a state directory, without reading
// logs.
//
// Pages (server-rendered html/template, embedded CSS, no JavaScript, no
// external resources):
//
//	/                                    pipelines with their last status (and its message)
//	/pipelines/{name}                    run history (filters: status, from, to) with errors and messages, the pipeline graph, "run now"
//	/pipelines/{name}/runs/{id}          one run: counts per step, outputs with sha256, timings, error, message, graph with counts
//	/pipelines/{name}/runs/{id}/rejects  its rejects (search q, step, field), download as CSV (…/rejects.csv)
//	/metrics                             Prometheus metrics (engine/metrics)
//
// JSON API: /api/pipelines, /api/runs?pipeline=&status=&from=&to=&limit=,
// /api/runs/{id}?pipeline=, /api/runs/{id}/rejects?pipeline=&q=&step=&field=.
// Runs are state.RunRecord as JSON: "error" for ERROR runs, "message" for
// a committed run that says why it did no work (both omitted when empty).
// Run ids are per pipeline; without ?pipeline= the id is looked up in all
// pipelines (409 when it is ambiguous).
//
// Security: with a Token every request but /static/ needs it, as
// `Authorization: Bearer <token>` or the session cookie the /login form
// sets (an HMAC of the token; compared in constant time); otherwise 401.
// The server sends a strict Content-Security-Policy (no scripts at all).
// "Run now" (Options.AllowTrigger) is a POST that needs a CSRF token (an
// HMAC bound to the pipeline and the session, embedded in the page) and a
// same-origin Origin/Sec-Fetch-Site when the browser sends them.
package navigator

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/engine/metrics"
	"github.com/kontor-etl/kontor/engine/state/statepool"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// TriggerResult is what a "run now" ended with.
type TriggerResult struct {
	RunID  string
	Status string // OK, WARNING, ERROR, INVALID, LOCKED
	Error  string
}

// Options configure a Server.
type Options struct {
	// Pool gives the state stores (required).
	Pool *statepool.Pool
	// PipelinesDir is where pipeline files are found (for the graph, the
	// schedule and "run now"); "" shows pipelines by their state only.
	PipelinesDir string
	// Token, when not empty, is required on every request (see the package doc).
	Token string
	// AllowTrigger enables "run now"; Trigger runs a pipeline file in
	// process (through the runner, respecting the run lock) and is
	// required with it.
	AllowTrigger bool
	Trigger      func(ctx context.Context, file string) TriggerResult
	// Context bounds triggered runs (nil: context.Background()).
	Context context.Context
	// Location is the time zone of displayed times and of the from/to
	// date filters (nil: time.Local).
	Location *time.Location
	// ExtraMetrics adds metrics to /metrics (the scheduler's).
	ExtraMetrics func(*metrics.Set)
	Logger       *slog.Logger
}

// Server serves the navigator. Create it with New.
type Server struct {
	opts  Options
	log   *slog.Logger
	key   []byte // HMAC key for sessions and CSRF tokens (random per process)
	pages map[string]*template.Template
	mux   *http.ServeMux

	mu        sync.Mutex
	triggered map[string]TriggerResult // last "run now" per pipeline
	running   map[string]bool
}

// New builds the server.
func New(opts Options) (*Server, error) {
	if opts.Pool == nil {
		return nil, errors.New("navigator: no state pool")
	}
	if opts.AllowTrigger && opts.Trigger == nil {
		return nil, errors.New("navigator: AllowTrigger needs Trigger")
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	s := &Server{opts: opts, log: opts.Logger, key: make([]byte, 32), triggered: map[string]TriggerResult{}, running: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	rand.Read(s.key)
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the HTTP handler with authentication and security headers.
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", s.pageIndex)
	m.HandleFunc("GET /pipelines/{name}", s.pagePipeline)
	m.HandleFunc("GET /pipelines/{name}/runs/{id}", s.pageRun)
	m.HandleFunc("GET /pipelines/{name}/runs/{id}/rejects", s.pageRejects)
	m.HandleFunc("GET /pipelines/{name}/runs/{id}/rejects.csv", s.rejectsCSV)
	if s.opts.AllowTrigger {
		m.HandleFunc("POST /pipelines/{name}/run", s.trigger)
	}
	m.HandleFunc("GET /login", s.pageLogin)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("GET /metrics", s.metrics)
	m.HandleFunc("GET /api/pipelines", s.apiPipelines)
	m.HandleFunc("GET /api/runs", s.apiRuns)
	m.HandleFunc("GET /api/runs/{id}", s.apiRun)
	m.HandleFunc("GET /api/runs/{id}/rejects", s.apiRejects)
	s.mux = m
}

const sessionCookie = "kontor_session"

// session is the cookie value for the token: HMAC(key, token).
func (s *Server) session() string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("session\x00" + s.opts.Token))
	return hex.EncodeToString(m.Sum(nil))
}

// authorized checks the bearer token or the session cookie in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		a := sha256.Sum256([]byte(strings.TrimPrefix(h, "Bearer ")))
		b := sha256.Sum256([]byte(s.opts.Token))
		if subtle.ConstantTimeCompare(a[:], b[:]) == 1 {
			return true
		}
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session())) == 1
	}
	return false
}

func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		p := r.URL.Path
		if strings.HasPrefix(p, "/static/") || p == "/login" || s.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="kontor"`)
		if strings.HasPrefix(p, "/api/") || p == "/metrics" || !strings.Contains(r.Header.Get("Accept"), "text/html") {
			http.Error(w, "401 unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{Next: r.URL.RequestURI()})
	})
}

type loginPage struct {
	Next  string
	Error string
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || s.opts.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	a := sha256.Sum256([]byte(r.PostForm.Get("token")))
	b := sha256.Sum256([]byte(s.opts.Token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		s.log.Warn("navigator: failed login", "remote", r.RemoteAddr)
		s.render(w, r, http.StatusUnauthorized, "login", loginPage{Next: safeNext(r.PostForm.Get("next")), Error: "Wrong token."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.session(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// safeNext allows only local paths as a redirect target.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") {
		return "/"
	}
	return n
}

// csrfToken binds a trigger form to the pipeline and the session.
func (s *Server) csrfToken(r *http.Request, pipeline string) string {
	sess := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		sess = c.Value
	}
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00" + pipeline + "\x00" + sess))
	return hex.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies the form token and, when the browser sends them,
// Sec-Fetch-Site and Origin.
func (s *Server) checkCSRF(r *http.Request, pipeline string) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("cross-site request (Sec-Fetch-Site: %s)", site)
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("request from another origin (%s)", o)
		}
	}
	want := s.csrfToken(r, pipeline)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		return errors.New("missing or invalid CSRF token (reload the page)")
	}
	return nil
}

// trigger starts a run of the pipeline in the background ("run now").
func (s *Server) trigger(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.checkCSRF(r, name); err != nil {
		s.log.Warn("navigator: refused run now", "pipeline", name, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "403 forbidden: "+err.Error(), http.StatusForbidden)
		return
	}
	pf, ok := s.pipelineFile(name, "")
	if !ok {
		http.Error(w, "404 no pipeline file for "+name+" under --pipelines", http.StatusNotFound)
		return
	}
	s.mu.Lock()
	if s.running[name] {
		s.mu.Unlock()
		http.Redirect(w, r, "/pipelines/"+url.PathEscape(name), http.StatusSeeOther)
		return
	}
	s.running[name] = true
	s.mu.Unlock()
	s.log.Info("navigator: run now", "pipeline", name, "file", pf.File, "remote", r.RemoteAddr)
	go func() {
		res := s.opts.Trigger(s.opts.Context, pf.File)
		s.mu.Lock()
		s.triggered[name] = res
		delete(s.running, name)
		s.mu.Unlock()
	}()
	http.Redirect(w, r, "/pipelines/"+url.PathEscape(name)+"?triggered=1", http.StatusSeeOther)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	var set metrics.Set
	names, err := s.names()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, n := range names {
		st, err := s.opts.Pool.Store(n)
		if err != nil {
			s.log.Error("metrics: opening state", "pipeline", n, "err", err)
			continue
		}
		runs, err := st.History(r.Context(), 0)
		if err != nil {
			s.log.Error("metrics: reading history", "pipeline", n, "err", err)
			continue
		}
		metrics.AddRuns(&set, n, runs)
	}
	if s.opts.ExtraMetrics != nil {
		s.opts.ExtraMetrics(&set)
	}
	w.Header().Set("Content-Type", metrics.ContentType)
	set.WriteTo(w)
}
