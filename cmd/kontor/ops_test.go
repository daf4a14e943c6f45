package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/scheduler"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestKeygenAndEncryptedRun(t *testing.T) {
	dir := t.TempDir()
	idFile := filepath.Join(dir, "rz.key")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "-o", idFile}, &out, &errb); code != 0 {
		t.Fatalf("keygen: %d %s", code, errb.String())
	}
	fi, err := os.Stat(idFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", err, fi.Mode())
	}
	recipient := strings.TrimSpace(out.String())
	if !strings.HasPrefix(recipient, "age1") {
		t.Fatalf("recipient %q", recipient)
	}
	// Regression: an existing identity file is a refusal at run time (exit
	// 1), not an invalid command line (exit 2), and the file is unchanged.
	before := mustRead(t, idFile)
	errb.Reset()
	if code := run(context.Background(), []string{"keygen", "-o", idFile}, io.Discard, &errb); code != exitError || !strings.Contains(errb.String(), "exists; not overwriting") {
		t.Errorf("keygen over an existing identity: exit %d, want 1\n%s", code, errb.String())
	}
	if !bytes.Equal(mustRead(t, idFile), before) {
		t.Error("keygen changed the existing identity file")
	}
	f, _ := os.Open(idFile)
	ids, err := age.ParseIdentities(f)
	f.Close()
	if err != nil || len(ids) != 1 {
		t.Fatalf("identity: %v", err)
	}

	os.WriteFile(filepath.Join(dir, "in.csv"), []byte("kunde,iban\nMüller,DE02120300000000202051\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("# Rechenzentrum\n"+recipient+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(`version: 1
name: enc
source: {type: csv.read, path: in.csv}
sinks:
  - type: csv.write
    path: out/export.csv.age
    encrypt: {recipients_file: keys.txt}
`), 0o644)
	errb.Reset()
	if code := run(context.Background(), []string{"run", filepath.Join(dir, "p.yaml"), "--state-dir", "memory"}, io.Discard, &errb); code != 0 {
		t.Fatalf("run: %d\n%s", code, errb.String())
	}
	enc, _ := os.ReadFile(filepath.Join(dir, "out/export.csv.age"))
	r, err := age.Decrypt(bytes.NewReader(enc), ids...)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(r)
	if !strings.Contains(string(plain), "Müller") {
		t.Errorf("plaintext %q", plain)
	}
	other, _ := age.GenerateX25519Identity()
	if _, err := age.Decrypt(bytes.NewReader(enc), other); err == nil {
		t.Error("decrypted with another identity")
	}
	// a bad recipient is a positioned load error (exit 2)
	os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("age1broken\n"), 0o644)
	errb.Reset()
	if code := run(context.Background(), []string{"run", filepath.Join(dir, "p.yaml"), "--state-dir", "memory"}, io.Discard, &errb); code != exitUsage ||
		!strings.Contains(errb.String(), "keys.txt:1:1: error: encrypt: invalid age recipient") {
		t.Errorf("bad recipient: %d\n%s", code, errb.String())
	}
}

// TestScheduleEveryMinute runs a real pipeline "every minute" under
// `kontor schedule` on a fake clock for 5 simulated minutes: 5 runs in the
// state history, OK, never overlapping.
func TestScheduleEveryMinute(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "in.csv"), []byte("kunde,betrag\nA,1\nB,2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tick.yaml"), []byte(`version: 1
name: tick
schedule: "* * * * *"
source: {type: csv.read, path: in.csv}
sinks: [{type: csv.write, path: "out/{run}.csv"}]
`), 0o644)
	os.WriteFile(filepath.Join(dir, "other.yaml"), []byte("version: 1\nsource: {type: csv.read, path: in.csv}\nsinks: [{type: csv.write, path: o.csv}]\n"), 0o644)
	stateDir := filepath.Join(dir, "state")
	clock := scheduler.NewFakeClock(time.Date(2026, 11, 23, 9, 59, 30, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuf{}
	done := make(chan int, 1)
	go func() {
		done <- scheduleMain(ctx, []string{"--state-dir", stateDir, "--tz", "UTC", "--metrics-addr", "off", dir}, io.Discard, logs, clock)
	}()
	wait := func(cond func() bool, what string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timeout waiting for %s; log:\n%s", what, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := 1; i <= 5; i++ {
		wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := clock.WaitForSleepers(wctx, 1); err != nil {
			t.Fatalf("scheduler does not sleep: %v\n%s", err, logs.String())
		}
		wcancel()
		w, _ := clock.NextWake()
		clock.Set(w)
		wait(func() bool { return strings.Count(logs.String(), "msg=\"run ended\"") >= i }, "run end")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("schedule exit %d\n%s", code, logs.String())
	}
	st, _ := duckstate.Open(stateDir, "tick")
	defer st.Close()
	h, err := st.History(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 5 {
		t.Fatalf("%d runs, want 5\n%s", len(h), logs.String())
	}
	for i, r := range h {
		if r.Status != state.StatusOK {
			t.Errorf("run %s: %s %s", r.ID, r.Status, r.Error)
		}
		if i+1 < len(h) && h[i+1].End.After(r.Start) {
			t.Errorf("runs %s and %s overlap", h[i+1].ID, r.ID)
		}
	}
	if strings.Contains(logs.String(), "pipeline=other") {
		t.Error("a pipeline without schedule: was scheduled")
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "out", "*.csv"))
	if len(matches) != 5 {
		t.Errorf("outputs %v", matches)
	}
}

func TestServeAndScheduleFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--addr", "0.0.0.0:0", "--state-dir", dir}, "reachable from other machines: set --token"},
		{[]string{"serve", "--allow-trigger", "--addr", "127.0.0.1:0", "--state-dir", dir}, "--allow-trigger needs --pipelines"},
		{[]string{"serve", "--token", "${env:KONTOR_TEST_UNSET_TOKEN}", "--state-dir", dir}, "KONTOR_TEST_UNSET_TOKEN is not set"},
		{[]string{"schedule", "--state-dir", dir, dir}, "nothing to schedule"},
		{[]string{"schedule", "--catch-up", "all", "--schedule", "/nonexistent.yaml"}, "no such file"},
		{[]string{"keygen", "extra"}, "unexpected arguments"},
	} {
		var errb bytes.Buffer
		if code := run(context.Background(), tc.args, io.Discard, &errb); code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s\nwant %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// TestServeTokenAndShutdown starts `kontor serve` on a non-loopback
// address with a token from the environment: 401 without it, 200 with it,
// and a clean exit when the context ends.
func TestServeTokenAndShutdown(t *testing.T) {
	t.Setenv("KONTOR_TOKEN", "tok-123")
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on 0.0.0.0")
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out lockedBuf
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "0.0.0.0:" + port, "--state-dir", t.TempDir()}, &out, io.Discard)
	}()
	url := "http://127.0.0.1:" + port + "/api/pipelines"
	var resp *http.Response
	for i := 0; i < 200; i++ {
		if resp, err = http.Get(url); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("without token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("with token: %v %v", err, resp.StatusCode)
	} else {
		resp.Body.Close()
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exit %d", code)
	}
}

func TestProgressBar(t *testing.T) {
	var w bytes.Buffer
	now := time.Unix(0, 0)
	b := &progressBar{w: &w, every: time.Second, now: func() time.Time { return now }}
	b.update(runnerProgress(1000, 500, 2000, 2*time.Second))
	if got := w.String(); !strings.Contains(got, "1,000 records  500 rec/s  [######..................]  25%  500 B/2.0 kB  ETA 6s") {
		t.Errorf("bar %q", got)
	}
	b.update(runnerProgress(1001, 501, 2000, 2*time.Second)) // throttled
	if strings.Count(w.String(), "records") != 1 {
		t.Errorf("not throttled: %q", w.String())
	}
	b.Write([]byte("level=INFO msg=x\n"))
	if !strings.HasSuffix(w.String(), "\r\033[Klevel=INFO msg=x\n1,000 records  500 rec/s  [######..................]  25%  500 B/2.0 kB  ETA 6s") {
		t.Errorf("log line not around the bar: %q", w.String())
	}
	b.done()
	if !strings.HasSuffix(w.String(), "\r\033[K") {
		t.Errorf("bar not cleared: %q", w.String())
	}
	if newProgressBar(&w) != nil {
		t.Error("a bar on a non-terminal")
	}
}

func runnerProgress(records, bytes, size int64, elapsed time.Duration) runner.Progress {
	return runner.Progress{Records: records, Bytes: bytes, Size: size, Elapsed: elapsed}
}
