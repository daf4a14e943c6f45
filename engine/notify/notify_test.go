package notify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
)

func report() *runner.Report {
	t0 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	return &runner.Report{RunID: "17", Pipeline: "abo-export", File: "pipelines/abo-export.yaml", Status: "ERROR", ExitCode: 1,
		Start: t0, End: t0.Add(1500 * time.Millisecond), DurationMS: 1500, Error: "source: no input matches in/*.csv",
		Steps: []runner.StepReport{{ID: "source", Type: "csv.read", Section: "source"}}, Outputs: []runner.OutputReport{}}
}

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var got []Summary
	var auth []string
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 { // the first attempt fails: retried once
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var s Summary
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body: %v", err)
		}
		got = append(got, s)
		auth = append(auth, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	cfg := &spec.Notify{On: []string{"ERROR"}, Webhook: &spec.Webhook{URL: srv.URL + "/hook", Headers: map[string]string{"Authorization": "Bearer tok"}}}
	n := &Notifier{RetryDelay: time.Millisecond}
	s := FromReport(report(), "https://kontor.example.org/")
	if err := n.Notify(context.Background(), cfg, s, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || calls != 2 {
		t.Fatalf("%d deliveries in %d calls", len(got), calls)
	}
	g := got[0]
	if g.Event != "run.error" || g.Pipeline != "abo-export" || g.RunID != "17" || g.Error != "source: no input matches in/*.csv" ||
		g.Link != "https://kontor.example.org/pipelines/abo-export/runs/17" || auth[0] != "Bearer tok" {
		t.Errorf("summary %+v, auth %q", g, auth[0])
	}

	// WARNING is not configured: nothing is sent.
	warn := s
	warn.Status = "WARNING"
	if err := n.Notify(context.Background(), cfg, warn, nil); err != nil || calls != 2 {
		t.Errorf("warning notified: %v, %d calls", err, calls)
	}
}

func TestWebhookFailureIsReportedNotFatal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	n := &Notifier{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	cfg := &spec.Notify{On: []string{"ERROR"}, Webhook: &spec.Webhook{URL: srv.URL + "/hook?token=sekrit"}}
	err := n.Notify(context.Background(), cfg, FromReport(report(), ""), []string{"sekrit"})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error()+logs.String(), "sekrit") {
		t.Errorf("secret leaked: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "notification failed") {
		t.Errorf("not logged: %s", logs.String())
	}
	// unreachable
	cfg.Webhook.URL = "http://127.0.0.1:1/x"
	if err := (&Notifier{Timeout: time.Second, RetryDelay: time.Millisecond}).Notify(context.Background(), cfg, FromReport(report(), ""), nil); err == nil {
		t.Error("no error for an unreachable webhook")
	}
}

// smtpServer is a minimal SMTP server on 127.0.0.1 with STARTTLS and
// AUTH PLAIN, recording what it receives.
type smtpServer struct {
	ln       net.Listener
	tls      *tls.Config
	noTLS    bool
	mu       sync.Mutex
	from     string
	rcpt     []string
	data     string
	authUser string
	authPass string
	usedTLS  bool
}

func newSMTPServer(t *testing.T, noTLS bool) (*smtpServer, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, noTLS: noTLS, tls: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s, pool
}

func (s *smtpServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

func (s *smtpServer) handle(c net.Conn) {
	defer c.Close()
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	say("220 test ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch cmd {
		case "EHLO", "HELO":
			if !secure && !s.noTLS {
				say("250-test\r\n250 STARTTLS")
			} else {
				say("250-test\r\n250 AUTH PLAIN")
			}
		case "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			s.mu.Lock()
			s.usedTLS = true
			s.mu.Unlock()
		case "AUTH":
			parts := strings.Fields(line)
			b, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			f := strings.Split(string(b), "\x00")
			s.mu.Lock()
			s.authUser, s.authPass = f[1], f[2]
			s.mu.Unlock()
			say("235 ok")
		case "MAIL":
			s.mu.Lock()
			s.from = line
			s.mu.Unlock()
			say("250 ok")
		case "RCPT":
			s.mu.Lock()
			s.rcpt = append(s.rcpt, line)
			s.mu.Unlock()
			say("250 ok")
		case "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	srv, pool := newSMTPServer(t, false)
	cfg := &spec.Notify{On: []string{"ERROR", "WARNING"}, Email: &spec.Email{SMTP: srv.ln.Addr().String(), From: "kontor@example.org",
		To: []string{"ops@example.org", "kasse@example.org"}, Username: "kontor", Password: "pw-secret", StartTLS: true}}
	n := &Notifier{TLSConfig: &tls.Config{RootCAs: pool}}
	s := FromReport(report(), "http://127.0.0.1:8080")
	s.Pipeline = "abo-export-ä"
	if err := n.Notify(context.Background(), cfg, s, []string{"pw-secret"}); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !srv.usedTLS || srv.authUser != "kontor" || srv.authPass != "pw-secret" {
		t.Errorf("tls %v, auth %q/%q", srv.usedTLS, srv.authUser, srv.authPass)
	}
	if srv.from != "MAIL FROM:<kontor@example.org>" || len(srv.rcpt) != 2 {
		t.Errorf("envelope %q %q", srv.from, srv.rcpt)
	}
	head, body, _ := strings.Cut(srv.data, "\r\n\r\n")
	plain, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if !strings.Contains(head, "Subject: =?utf-8?q?[kontor]_abo-export-=C3=A4:_ERROR_(run_17)?=") {
		t.Errorf("headers:\n%s", head)
	}
	for _, w := range []string{"Pipeline abo-export-ä ended ERROR.", "Error: source: no input matches in/*.csv", "Details: http://127.0.0.1:8080/pipelines/abo-export/runs/17"} {
		if !strings.Contains(string(plain), w) {
			t.Errorf("body misses %q:\n%s", w, plain)
		}
	}
}

func TestEmailRequiresSTARTTLS(t *testing.T) {
	srv, _ := newSMTPServer(t, true)
	cfg := &spec.Notify{On: []string{"ERROR"}, Email: &spec.Email{SMTP: srv.ln.Addr().String(), From: "a@example.org", To: []string{"b@example.org"},
		Username: "u", Password: "pw-secret", StartTLS: true}}
	err := (&Notifier{}).Notify(context.Background(), cfg, FromReport(report(), ""), []string{"pw-secret"})
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("err = %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.authPass != "" || srv.data != "" {
		t.Error("sent in the clear")
	}
}

// A committed run that did no work (an empty drop-folder inbox with
// on_empty: warning) says why, in the webhook body and in the e-mail.
func TestSummaryCarriesMessage(t *testing.T) {
	rep := report()
	rep.Status, rep.ExitCode, rep.Error = "WARNING", 3, ""
	rep.Message = "inbox in: no files matching *.txt"
	s := FromReport(rep, "")
	if s.Message != rep.Message {
		t.Fatalf("summary message %q", s.Message)
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"message":"inbox in: no files matching *.txt"`) {
		t.Errorf("webhook body lacks the message: %s", js)
	}
	raw := Message("kontor@example.org", []string{"ops@example.org"}, s, rep.End)
	_, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	plain, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil || !strings.Contains(string(plain), "inbox in: no files matching *.txt") {
		t.Errorf("e-mail body lacks the message (%v):\n%s", err, plain)
	}
}
