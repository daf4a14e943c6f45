package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

type syncBuf struct {
	ch chan string
}

func (s syncBuf) Write(p []byte) (int, error) { s.ch <- string(p); return len(p), nil }

func TestRunPrintsBaseAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := syncBuf{ch: make(chan string, 4)}
	var errb bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-api-key", "k"}, out, &errb) }()
	var base string
	select {
	case base = <-out.ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no address printed")
	}
	base = strings.TrimSpace(base)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v3") {
		t.Fatalf("base %q", base)
	}
	resp, err := http.Get(strings.TrimSuffix(base, "/v3") + "/_sim/stats")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"-faults", "{"}, out, &errb); code != 2 {
		t.Errorf("bad -faults: exit %d", code)
	}
}
