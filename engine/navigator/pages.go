package navigator

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

// names lists the pipelines: those with state and those with a file.
func (s *Server) names() ([]string, error) {
	names, err := s.opts.Pool.Names()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	for n := range scanPipelines(s.opts.PipelinesDir) {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// pipelineFile returns the file of a pipeline: the one whose sha256 is
// sha when given and found, else the first with the name.
func (s *Server) pipelineFile(name, sha string) (pipelineFile, bool) {
	fs := scanPipelines(s.opts.PipelinesDir)[name]
	for _, f := range fs {
		if sha != "" && f.SHA256 == sha {
			return f, true
		}
	}
	if len(fs) > 0 {
		return fs[0], true
	}
	return pipelineFile{}, false
}

// history reads a pipeline's runs (newest first); a pipeline without
// state has none.
func (s *Server) history(r *http.Request, name string) ([]state.RunRecord, error) {
	st, err := s.opts.Pool.Store(name)
	if err != nil {
		return nil, err
	}
	return st.History(r.Context(), 0)
}

// runFilter is the status/date filter of the run lists.
type runFilter struct {
	Status   string
	From, To string // YYYY-MM-DD as entered
	Limit    int
	from, to time.Time
}

func (s *Server) parseFilter(q url.Values) (runFilter, error) {
	f := runFilter{Status: strings.ToUpper(strings.TrimSpace(q.Get("status"))), From: q.Get("from"), To: q.Get("to"), Limit: 200}
	switch f.Status {
	case "", "OK", "WARNING", "ERROR", "RUNNING", "COMMITTING":
	default:
		return f, fmt.Errorf("invalid status %q (OK, WARNING, ERROR, RUNNING, COMMITTING)", f.Status)
	}
	if f.From != "" {
		t, err := time.ParseInLocation("2006-01-02", f.From, s.opts.Location)
		if err != nil {
			return f, fmt.Errorf("invalid from date %q (YYYY-MM-DD)", f.From)
		}
		f.from = t
	}
	if f.To != "" {
		t, err := time.ParseInLocation("2006-01-02", f.To, s.opts.Location)
		if err != nil {
			return f, fmt.Errorf("invalid to date %q (YYYY-MM-DD)", f.To)
		}
		f.to = t.AddDate(0, 0, 1)
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return f, fmt.Errorf("invalid limit %q", l)
		}
		f.Limit = n
	}
	return f, nil
}

func (f runFilter) apply(runs []state.RunRecord) []state.RunRecord {
	var out []state.RunRecord
	for _, r := range runs {
		if f.Status != "" && string(r.Status) != f.Status {
			continue
		}
		if !f.from.IsZero() && r.Start.Before(f.from) {
			continue
		}
		if !f.to.IsZero() && !r.Start.Before(f.to) {
			continue
		}
		out = append(out, r)
		if len(out) >= f.Limit {
			break
		}
	}
	return out
}

// rejectFilter is the search of the rejects page.
type rejectFilter struct {
	Q, Step, Field string
}

func (f rejectFilter) match(r state.RejectRecord) bool {
	if f.Step != "" && r.Step != f.Step {
		return false
	}
	if f.Field != "" && r.Field != f.Field {
		return false
	}
	if f.Q == "" {
		return true
	}
	q := strings.ToLower(f.Q)
	if strings.Contains(strings.ToLower(r.Origin+"\x00"+r.Step+"\x00"+r.Field+"\x00"+r.Reason), q) {
		return true
	}
	for k, v := range r.Record {
		if strings.Contains(strings.ToLower(k+"="+v), q) {
			return true
		}
	}
	return false
}

func (f rejectFilter) query() string {
	v := url.Values{}
	for k, x := range map[string]string{"q": f.Q, "step": f.Step, "field": f.Field} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// ---- pages

type pipelineRow struct {
	Name        string
	File        string
	Schedule    string
	Last        *state.RunRecord
	LastSuccess *state.RunRecord
	Runs        int
}

func (s *Server) pipelineRows(r *http.Request) ([]pipelineRow, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	files := scanPipelines(s.opts.PipelinesDir)
	var rows []pipelineRow
	for _, n := range names {
		row := pipelineRow{Name: n}
		if fs := files[n]; len(fs) > 0 {
			row.File, row.Schedule = fs[0].File, fs[0].Schedule
		}
		runs, err := s.history(r, n)
		if err != nil {
			return nil, fmt.Errorf("reading history of %s: %w", n, err)
		}
		row.Runs = len(runs)
		for i := range runs {
			if runs[i].DryRun {
				continue
			}
			if row.Last == nil {
				row.Last = &runs[i]
			}
			if runs[i].Status == state.StatusOK || runs[i].Status == state.StatusWarning {
				row.LastSuccess = &runs[i]
				break
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Server) pageIndex(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pipelineRows(r)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.render(w, r, http.StatusOK, "index", map[string]any{"Pipelines": rows})
}

func (s *Server) pagePipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, err := s.parseFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err)
		return
	}
	runs, err := s.history(r, name)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pf, hasFile := s.pipelineFile(name, "")
	if len(runs) == 0 && !hasFile {
		s.fail(w, r, http.StatusNotFound, fmt.Errorf("unknown pipeline %q", name))
		return
	}
	data := map[string]any{"Name": name, "Runs": f.apply(runs), "Total": len(runs), "Filter": f, "HasFile": hasFile, "File": pf,
		"Statuses": []string{"OK", "WARNING", "ERROR", "RUNNING", "COMMITTING"}}
	if hasFile {
		data["Graph"] = buildGraph(pf.Steps, nil)
	}
	if s.opts.AllowTrigger && hasFile {
		data["CSRF"] = s.csrfToken(r, name)
		s.mu.Lock()
		if res, ok := s.triggered[name]; ok {
			data["Triggered"] = res
		}
		data["TriggerRunning"] = s.running[name]
		s.mu.Unlock()
	}
	s.render(w, r, http.StatusOK, "pipeline", data)
}

func (s *Server) getRun(r *http.Request, name, id string) (state.RunRecord, error) {
	st, err := s.opts.Pool.Store(name)
	if err != nil {
		return state.RunRecord{}, err
	}
	return st.GetRun(r.Context(), id)
}

func (s *Server) pageRun(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("id")
	run, err := s.getRun(r, name, id)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	data := map[string]any{"Name": name, "Run": run}
	if !run.End.IsZero() {
		data["Duration"] = run.End.Sub(run.Start).Round(time.Millisecond).String()
	}
	if pf, ok := s.pipelineFile(name, run.SHA256); ok {
		data["Graph"] = buildGraph(pf.Steps, run.Counts)
		data["File"] = pf
		data["Changed"] = pf.SHA256 != run.SHA256
	}
	s.render(w, r, http.StatusOK, "run", data)
}

// maxRejectRows is how many rejects the page shows (the CSV has all).
const maxRejectRows = 1000

func (s *Server) rejects(r *http.Request) (state.RunRecord, []state.RejectRecord, rejectFilter, int, error) {
	name, id := r.PathValue("name"), r.PathValue("id")
	run, err := s.getRun(r, name, id)
	if err != nil {
		return run, nil, rejectFilter{}, 0, err
	}
	st, _ := s.opts.Pool.Store(name)
	all, err := st.Rejects(r.Context(), id)
	if err != nil {
		return run, nil, rejectFilter{}, 0, err
	}
	q := r.URL.Query()
	f := rejectFilter{Q: strings.TrimSpace(q.Get("q")), Step: q.Get("step"), Field: q.Get("field")}
	var out []state.RejectRecord
	for _, x := range all {
		if f.match(x) {
			out = append(out, x)
		}
	}
	return run, out, f, len(all), nil
}

type rejectRow struct {
	state.RejectRecord
	RecordText string
}

func (s *Server) pageRejects(w http.ResponseWriter, r *http.Request) {
	run, rs, f, total, err := s.rejects(r)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, err)
		return
	}
	rows := make([]rejectRow, 0, min(len(rs), maxRejectRows))
	steps, fields := map[string]bool{}, map[string]bool{}
	for i, x := range rs {
		steps[x.Step] = true
		if x.Field != "" {
			fields[x.Field] = true
		}
		if i < maxRejectRows {
			rows = append(rows, rejectRow{RejectRecord: x, RecordText: recordText(x.Record)})
		}
	}
	s.render(w, r, http.StatusOK, "rejects", map[string]any{
		"Name": r.PathValue("name"), "Run": run, "Rejects": rows, "Matched": len(rs), "Total": total,
		"Filter": f, "Query": f.query(), "Shown": len(rows), "Steps": sortedKeys(steps), "Fields": sortedKeys(fields),
	})
}

// recordText renders a reject's record as JSON with keys in order. The
// page template escapes it, so '<', '>' and '&' stay as they are (not
// \u003c) and the user reads the record's real text.
func recordText(m map[string]string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m) // encoding/json sorts map keys
	return strings.TrimSuffix(b.String(), "\n")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// rejectsCSV downloads the (filtered) rejects: origin, step, field, reason,
// record (JSON). Cells that a spreadsheet would run as a formula are
// prefixed with "'".
func (s *Server) rejectsCSV(w http.ResponseWriter, r *http.Request) {
	run, rs, _, _, err := s.rejects(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-run-%s-rejects.csv"`, fileSafe(r.PathValue("name")), fileSafe(run.ID)))
	cw := csv.NewWriter(w)
	cw.Write([]string{"origin", "step", "field", "reason", "record"})
	for _, x := range rs {
		cw.Write([]string{noFormula(x.Origin), noFormula(x.Step), noFormula(x.Field), noFormula(x.Reason), noFormula(recordText(x.Record))})
	}
	cw.Flush()
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// noFormula defuses CSV injection: a cell starting with = + @ (or a tab
// or CR, or - not followed by a digit) gets a leading apostrophe.
func noFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + s
	case '-':
		if len(s) == 1 || s[1] < '0' || s[1] > '9' {
			return "'" + s
		}
	}
	return s
}

// ---- API

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func apiError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

type apiPipeline struct {
	Name        string           `json:"name"`
	File        string           `json:"file,omitempty"`
	Schedule    string           `json:"schedule,omitempty"`
	Runs        int              `json:"runs"`
	LastRun     *state.RunRecord `json:"last_run"`
	LastSuccess *time.Time       `json:"last_success"`
}

func (s *Server) apiPipelines(w http.ResponseWriter, r *http.Request) {
	rows, err := s.pipelineRows(r)
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return
	}
	out := make([]apiPipeline, 0, len(rows))
	for _, row := range rows {
		p := apiPipeline{Name: row.Name, File: row.File, Schedule: row.Schedule, Runs: row.Runs, LastRun: row.Last}
		if row.LastSuccess != nil {
			t := row.LastSuccess.End
			p.LastSuccess = &t
		}
		out = append(out, p)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	f, err := s.parseFilter(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err)
		return
	}
	names := []string{r.URL.Query().Get("pipeline")}
	if names[0] == "" {
		if names, err = s.names(); err != nil {
			apiError(w, http.StatusInternalServerError, err)
			return
		}
	}
	all := []state.RunRecord{}
	for _, n := range names {
		runs, err := s.history(r, n)
		if err != nil {
			apiError(w, http.StatusInternalServerError, err)
			return
		}
		all = append(all, runs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Start.After(all[j].Start) })
	out := f.apply(all)
	if out == nil {
		out = []state.RunRecord{}
	}
	writeJSON(w, http.StatusOK, out)
}

// findRun resolves /api/runs/{id}[?pipeline=] to a pipeline name.
func (s *Server) findRun(w http.ResponseWriter, r *http.Request) (string, state.RunRecord, bool) {
	id := r.PathValue("id")
	if p := r.URL.Query().Get("pipeline"); p != "" {
		run, err := s.getRun(r, p, id)
		if err != nil {
			apiError(w, http.StatusNotFound, err)
			return "", run, false
		}
		return p, run, true
	}
	names, err := s.names()
	if err != nil {
		apiError(w, http.StatusInternalServerError, err)
		return "", state.RunRecord{}, false
	}
	var found []string
	var run state.RunRecord
	for _, n := range names {
		if rr, err := s.getRun(r, n, id); err == nil {
			found = append(found, n)
			run = rr
		}
	}
	switch len(found) {
	case 0:
		apiError(w, http.StatusNotFound, fmt.Errorf("run %q not found", id))
		return "", run, false
	case 1:
		return found[0], run, true
	}
	writeJSON(w, http.StatusConflict, map[string]any{"error": fmt.Sprintf("run id %q exists in several pipelines: add ?pipeline=", id), "pipelines": found})
	return "", run, false
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	if _, run, ok := s.findRun(w, r); ok {
		writeJSON(w, http.StatusOK, run)
	}
}

func (s *Server) apiRejects(w http.ResponseWriter, r *http.Request) {
	name, _, ok := s.findRun(w, r)
	if !ok {
		return
	}
	r.SetPathValue("name", name)
	_, rs, _, _, err := s.rejects(r)
	if err != nil {
		apiError(w, http.StatusNotFound, err)
		return
	}
	if rs == nil {
		rs = []state.RejectRecord{}
	}
	writeJSON(w, http.StatusOK, rs)
}

// ---- rendering

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"time": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.In(s.opts.Location).Format("2006-01-02 15:04:05")
		},
		"since": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			d := time.Since(t)
			switch {
			case d < time.Minute:
				return "just now"
			case d < time.Hour:
				return fmt.Sprintf("%d min ago", int(d.Minutes()))
			case d < 48*time.Hour:
				return fmt.Sprintf("%d h ago", int(d.Hours()))
			}
			return fmt.Sprintf("%d days ago", int(d.Hours()/24))
		},
		"dur": func(a, b time.Time) string {
			if a.IsZero() || b.IsZero() {
				return "—"
			}
			return b.Sub(a).Round(time.Millisecond).String()
		},
		"lower": func(s any) string { return strings.ToLower(fmt.Sprint(s)) },
		"path":  url.PathEscape,
		"short": func(s string) string { return clip(s, 16) },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("navigator templates: %w", err)
	}
	s.pages = map[string]*template.Template{}
	for _, p := range []string{"index", "pipeline", "run", "rejects", "login", "error"} {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("navigator templates: %w", err)
		}
		s.pages[p] = t
	}
	return nil
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, page string, data any) {
	var b bytes.Buffer
	err := s.pages[page].ExecuteTemplate(&b, "layout.html", map[string]any{
		"Page": page, "Data": data, "Auth": s.opts.Token != "", "Trigger": s.opts.AllowTrigger,
	})
	if err != nil {
		s.log.Error("navigator: rendering", "page", page, "err", err)
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	if code >= 500 {
		s.log.Error("navigator", "path", r.URL.Path, "err", err)
	}
	s.render(w, r, code, "error", map[string]any{"Code": code, "Status": http.StatusText(code), "Error": err.Error()})
}
