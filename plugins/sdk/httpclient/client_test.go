package httpclient

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 10, 26, 1, 30, 0, 0, time.UTC)

func newTestClient(t *testing.T, url string, o Options) (*Client, *FakeClock) {
	t.Helper()
	fc := NewFakeClock(t0)
	if o.Clock == nil {
		o.Clock = fc
	}
	if o.Jitter == nil {
		o.Jitter = func() float64 { return 0.5 }
	}
	c, err := New(url, o)
	if err != nil {
		t.Fatal(err)
	}
	return c, fc
}

func TestRetryAfterParsing(t *testing.T) {
	now := t0
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{" 120 ", 120 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %v,%v want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRetriesHonourRetryAfterAndKeepIdempotencyKey(t *testing.T) {
	var n atomic.Int32
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case 2:
			w.Header().Set("Retry-After", t0.Add(20*time.Second).Format(http.TimeFormat))
			w.WriteHeader(503)
		case 3:
			w.WriteHeader(502) // no Retry-After: backoff
		default:
			io.WriteString(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	c, fc := newTestClient(t, srv.URL, Options{IdempotencyHeader: "Idempotency-Key", BackoffBase: time.Second})
	resp, err := c.Do(context.Background(), Request{Method: "POST", Path: "x", Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Attempts != 4 || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("attempts %d body %s", resp.Attempts, resp.Body)
	}
	// 7s, then the HTTP date 20s after t0 minus the 7s already slept, then
	// the third backoff: base 1s doubled twice = 4s, jitter 0.5 → 3s.
	want := []time.Duration{7 * time.Second, 13 * time.Second, 3 * time.Second}
	if len(fc.Slept) != 3 {
		t.Fatalf("slept %v", fc.Slept)
	}
	for i := range want {
		if fc.Slept[i] != want[i] {
			t.Errorf("sleep %d = %v, want %v", i, fc.Slept[i], want[i])
		}
	}
	for _, k := range keys {
		if k == "" || k != keys[0] {
			t.Fatalf("idempotency keys differ or missing: %q", keys)
		}
	}
}

func TestNoRetryForPlainPostOnServerError(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(500)
		io.WriteString(w, `{"code":"BOOM"}`)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv.URL, Options{})
	resp, err := c.Do(context.Background(), Request{Method: "POST", Path: "x", Body: []byte(`{}`)})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 500 || resp == nil || n.Load() != 1 {
		t.Fatalf("err %v calls %d", err, n.Load())
	}
	if !strings.Contains(err.Error(), "BOOM") {
		t.Errorf("error lacks body: %v", err)
	}
	// The same POST marked idempotent is retried up to MaxAttempts.
	n.Store(0)
	c, _ = newTestClient(t, srv.URL, Options{MaxAttempts: 3})
	_, err = c.Do(context.Background(), Request{Method: "POST", Path: "x", Body: []byte(`{}`), Idempotent: true})
	if !IsStatus(err, 500) || n.Load() != 3 {
		t.Fatalf("err %v calls %d", err, n.Load())
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409} {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			w.WriteHeader(code)
		}))
		c, _ := newTestClient(t, srv.URL, Options{})
		_, err := c.Do(context.Background(), Request{Path: "x"})
		srv.Close()
		if !IsStatus(err, code) || n.Load() != 1 {
			t.Errorf("%d: err %v calls %d", code, err, n.Load())
		}
	}
}

func TestRetryAfterTooLong(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, fc := newTestClient(t, srv.URL, Options{MaxRetryAfter: time.Minute})
	_, err := c.Do(context.Background(), Request{Path: "x"})
	if !errors.Is(err, ErrRetryAfterTooLong) || !IsStatus(err, 429) || len(fc.Slept) != 0 {
		t.Fatalf("err %v slept %v", err, fc.Slept)
	}
}

func TestConnectionErrorsRetriedForIdempotentOnly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			conn.Close() // drop the connection without an answer
		}
	}()
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	c, _ := newTestClient(t, url, Options{MaxAttempts: 3})
	if _, err := c.Do(context.Background(), Request{Method: "POST", Path: "x", Body: []byte("{}")}); err == nil {
		t.Fatal("want error")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("plain POST sent %d times, want 1", got)
	}
	n.Store(0)
	if _, err := c.Do(context.Background(), Request{Path: "x"}); err == nil {
		t.Fatal("want error")
	}
	if got := n.Load(); got < 3 {
		t.Errorf("GET sent %d times, want 3", got)
	}
}

func TestAuthAndDumpRedaction(t *testing.T) {
	const key = "s3cr3t-key-123"
	var gotUser, gotPass, gotHeader string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		gotHeader = r.Header.Get("X-Key")
		io.WriteString(w, `{"owner":{"email":"a@b.c"},"echo":"`+key+`"}`)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c, _ := newTestClient(t, srv.URL, Options{Auth: AuthBasic, Username: "u", APIKey: key, DumpKB: 1,
		RedactFields: []string{"email", "token"}, Logger: logger})
	if _, err := c.Do(context.Background(), Request{Method: "PUT", Path: "x", Query: map[string][]string{"token": {"abc"}},
		Body: []byte(`{"email":"x@y.z","name":"Max"}`)}); err != nil {
		t.Fatal(err)
	}
	if gotUser != "u" || gotPass != key {
		t.Errorf("basic auth %q %q", gotUser, gotPass)
	}
	out := logs.String()
	for _, leak := range []string{key, "x@y.z", "a@b.c", "token=abc", "Basic "} {
		if strings.Contains(out, leak) {
			t.Errorf("dump leaks %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "Max") || !strings.Contains(out, "***") {
		t.Errorf("dump lacks payload:\n%s", out)
	}
	c, _ = newTestClient(t, srv.URL, Options{Auth: AuthHeader, KeyHeader: "X-Key", APIKey: key})
	if _, err := c.Do(context.Background(), Request{Path: "x"}); err != nil {
		t.Fatal(err)
	}
	if gotHeader != key {
		t.Errorf("key header %q", gotHeader)
	}
	if _, err := New(srv.URL, Options{Auth: AuthBasic}); err == nil {
		t.Error("basic auth without key accepted")
	}
}

func TestCustomCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	defer srv.Close()
	dir := t.TempDir()
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// Without the CA the call fails.
	c, _ := newTestClient(t, srv.URL, Options{MaxAttempts: 1})
	if _, err := c.Do(context.Background(), Request{Path: "x"}); err == nil {
		t.Fatal("untrusted server accepted")
	}
	o, err := Config{CAFile: "ca.pem", Retries: 0}.Options(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = newTestClient(t, srv.URL, o)
	if _, err := c.Do(context.Background(), Request{Path: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := (Config{CAFile: "missing.pem"}).Options(dir, nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("missing CA: %v", err)
	}
}

func TestConfigOptionsErrors(t *testing.T) {
	_, err := Config{Auth: AuthBasic, Timeout: "soon", Retries: -1, CertFile: "x"}.Options("", nil)
	for _, want := range []string{"api_key", "timeout", "retries", "cert_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error on %s, got %v", want, err)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	for _, j := range []float64{0, 0.999} {
		c, _ := newTestClient(t, "http://127.0.0.1:1", Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second, Jitter: func() float64 { return j }})
		prevHi := time.Duration(0)
		for attempt := 1; attempt <= 8; attempt++ {
			d := c.backoff(attempt)
			capd := time.Second << (attempt - 1)
			if capd > 10*time.Second {
				capd = 10 * time.Second
			}
			if d < capd/2 || d > capd {
				t.Errorf("attempt %d jitter %v: %v outside [%v,%v]", attempt, j, d, capd/2, capd)
			}
			_ = prevHi
		}
	}
}

func TestChunks(t *testing.T) {
	var got [][2]int
	_ = Chunks(2500, 1000, func(lo, hi int) error { got = append(got, [2]int{lo, hi}); return nil })
	if len(got) != 3 || got[2] != [2]int{2000, 2500} {
		t.Fatalf("%v", got)
	}
}
