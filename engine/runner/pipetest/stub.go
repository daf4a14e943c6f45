package pipetest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Stub is an HTTP endpoint a case provides to the pipeline (`http:` in the
// test file), so pipelines with HTTP sinks or sources run for real in a
// pipeline test without a partner system:
//
//	http:
//	  - env: CMS_EVENTS_URL              # set to the stub's URL (+ path) for ${env:...}
//	    path: /api/events/import         # default "/"; other paths answer 404
//	    status: 200                      # answer status (default 200)
//	    body: '{"ok": true}'             # answer body (default "{}"), sent as application/json
//	    requests: 1                      # number of requests expected (checked when given)
//	    want: events-to-cms_test/push.json  # request bodies, byte-exact, each followed by "\n"
//
// The stub listens on 127.0.0.1 for the duration of the case.
type Stub struct {
	Env      string `yaml:"env"`
	Path     string `yaml:"path"`
	Status   int    `yaml:"status"`
	Body     string `yaml:"body"`
	Requests *int   `yaml:"requests"`
	Want     string `yaml:"want"`
}

type stubServer struct {
	stub   Stub
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

// startStubs starts the case's stubs and adds their URLs to env.
func startStubs(stubs []Stub, env map[string]string) ([]*stubServer, error) {
	var out []*stubServer
	for i, st := range stubs {
		if st.Env == "" {
			closeStubs(out)
			return nil, fmt.Errorf("http[%d]: env is required", i)
		}
		if st.Path == "" {
			st.Path = "/"
		}
		if !strings.HasPrefix(st.Path, "/") {
			st.Path = "/" + st.Path
		}
		if st.Status == 0 {
			st.Status = http.StatusOK
		}
		if st.Body == "" {
			st.Body = "{}"
		}
		s := &stubServer{stub: st}
		s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != s.stub.Path {
				http.NotFound(w, r)
				return
			}
			b, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			s.bodies = append(s.bodies, b)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(s.stub.Status)
			io.WriteString(w, s.stub.Body)
		}))
		env[st.Env] = s.srv.URL + st.Path
		out = append(out, s)
	}
	return out, nil
}

func closeStubs(ss []*stubServer) {
	for _, s := range ss {
		s.srv.Close()
	}
}

// check compares what the stubs received with the expectations.
func checkStubs(ss []*stubServer, testDir string, update bool) []string {
	var fails []string
	for _, s := range ss {
		s.mu.Lock()
		bodies := s.bodies
		s.mu.Unlock()
		st := s.stub
		if st.Requests != nil && len(bodies) != *st.Requests {
			fails = append(fails, fmt.Sprintf("http %s: %d requests, want %d", st.Env, len(bodies), *st.Requests))
		}
		if st.Want == "" {
			continue
		}
		var got bytes.Buffer
		for _, b := range bodies {
			got.Write(b)
			got.WriteByte('\n')
		}
		wantFile := filepath.Join(testDir, st.Want)
		if update {
			if err := os.MkdirAll(filepath.Dir(wantFile), 0o755); err == nil {
				err = os.WriteFile(wantFile, got.Bytes(), 0o644)
			}
			continue
		}
		wb, err := os.ReadFile(wantFile)
		if err != nil {
			fails = append(fails, fmt.Sprintf("http %s: %v (run with -update to create it)", st.Env, err))
		} else if d := Diff(got.Bytes(), wb); d != "" {
			fails = append(fails, fmt.Sprintf("http %s: requests differ from %s:\n%s", st.Env, st.Want, d))
		}
	}
	return fails
}
