package tixngosim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzAPIBodies: no body crashes the simulator or leaves it locked; every
// answer is a 2xx or a 4xx.
func FuzzAPIBodies(f *testing.F) {
	f.Add("POST", "/tickets", `{"tickets":[`+good+`]}`)
	f.Add("POST", "/tickets/delete", `{"tickets":[{"ticketId":"A-1"}]}`)
	f.Add("POST", "/tickets/control", `{"tickets":[{"ticketId":"A-1","controlTime":"x"}]}`)
	f.Add("GET", "/tickets?paginationKey=Yzox&limit=2&dateFrom=2025-01-01T00:00:00Z", "")
	f.Add("POST", "/privileges", `{"privileges":[{"privilegeId":"P","definitionId":"D","barcode":"B"}]}`)
	f.Add("POST", "/privileges/definitions", `{"id":"D"}`)
	f.Add("POST", "/events", `{"id":"E"}`)
	f.Add("GET", "/reports/injections?period=2025-01&limit=1&offset=0", "")
	s := New(Options{})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if method != "GET" && method != "POST" && method != "PUT" {
			method = "POST"
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#%") {
			return
		}
		u, err := url.Parse("http://sim/v3/organizer" + path)
		if err != nil {
			return // not a request a client could send
		}
		req := httptest.NewRequest(method, u.String(), strings.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, w.Code, w.Body)
		}
		_ = http.StatusOK
	})
}
