package dropfolder

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSettleSkipsFilesStillBeingWritten(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	write(t, filepath.Join(dir, "a.csv"), "done")
	os.Chtimes(filepath.Join(dir, "a.csv"), old, old)
	write(t, filepath.Join(dir, "b.csv"), "growing")
	write(t, filepath.Join(dir, "c.csv"), "fresh but complete")
	write(t, filepath.Join(dir, "d.csv.part"), "temp")
	write(t, filepath.Join(dir, ".hidden.csv"), "x")
	write(t, filepath.Join(dir, "e.txt"), "other pattern")
	slept := 0
	f, err := Open(Options{Inbox: dir, Pattern: "*.csv", Settle: time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			slept++
			// The writer is still appending to b.csv during the settle time.
			fh, _ := os.OpenFile(filepath.Join(dir, "b.csv"), os.O_APPEND|os.O_WRONLY, 0)
			fh.WriteString(" more")
			fh.Close()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Ready(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a.csv,c.csv" || slept != 1 {
		t.Fatalf("ready %v (slept %d)", got, slept)
	}
}

func TestMarkerClaimDoneFail(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "set_kunden_inp.csv"), "1;2")
	write(t, filepath.Join(dir, "set_kunden_inp.csv.ok"), "")
	write(t, filepath.Join(dir, "set_artikel_inp.csv"), "no marker yet")
	write(t, filepath.Join(dir, "bad.csv"), "x")
	write(t, filepath.Join(dir, "bad.csv.ok"), "")
	var mu sync.Mutex
	var events []Event
	hook := func(_ context.Context, e Event) error {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
		return nil
	}
	now := time.Date(2025, 3, 30, 2, 30, 0, 0, time.UTC)
	f, err := Open(Options{Inbox: dir, Marker: ".ok", Before: hook, After: hook, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.Ready(context.Background())
	if strings.Join(got, ",") != "bad.csv,set_kunden_inp.csv" {
		t.Fatalf("ready %v", got)
	}
	ctx := context.Background()
	c, err := f.Claim(ctx, "set_kunden_inp.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "processing", "set_kunden_inp.csv")); err != nil {
		t.Fatal("not in processing/")
	}
	// A second claim (another run) finds the file gone.
	if _, err := f.Claim(ctx, "set_kunden_inp.csv"); !errors.Is(err, ErrGone) {
		t.Fatalf("second claim: %v", err)
	}
	if err := c.Done(ctx); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(dir, "done", "set_kunden_inp.csv")) != "1;2" ||
		read(t, filepath.Join(dir, "done", "set_kunden_inp.csv.ok")) != "status: ok\nfile: set_kunden_inp.csv\nat: 2025-03-30T02:30:00Z\n" {
		t.Fatal("done marker wrong")
	}
	c2, _ := f.Claim(ctx, "bad.csv")
	if err := c2.Fail(ctx, "line 3: amount\nmissing"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(read(t, filepath.Join(dir, "error", "bad.csv.err")), "reason: line 3: amount missing\n") {
		t.Fatal("err marker lacks reason")
	}
	if err := c2.Done(ctx); err == nil {
		t.Fatal("finished twice")
	}
	if len(events) != 4 || events[0].Phase != "before" || events[1].Status != "ok" || events[3].Reason == "" {
		t.Fatalf("events %+v", events)
	}
	// Same name again: the earlier delivery in done/ is kept.
	write(t, filepath.Join(dir, "set_kunden_inp.csv"), "again")
	write(t, filepath.Join(dir, "set_kunden_inp.csv.ok"), "")
	c3, _ := f.Claim(ctx, "set_kunden_inp.csv")
	c3.Done(ctx)
	ents, _ := os.ReadDir(filepath.Join(dir, "done"))
	if len(ents) != 4 {
		t.Fatalf("done/ holds %d entries", len(ents))
	}
}

func TestVetoAndRequeue(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "x.xml"), "<a/>")
	f, _ := Open(Options{Inbox: dir, Before: func(context.Context, Event) error { return errors.New("partner busy") }})
	if _, err := f.Claim(context.Background(), "x.xml"); !errors.Is(err, ErrVetoed) || !strings.Contains(err.Error(), "partner busy") {
		t.Fatalf("veto: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.xml")); err != nil {
		t.Fatal("vetoed file moved")
	}
	f, _ = Open(Options{Inbox: dir})
	if _, err := f.Claim(context.Background(), "x.xml"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Claim(context.Background(), "../etc"); err == nil {
		t.Fatal("path traversal accepted")
	}
	names, err := f.Requeue()
	if err != nil || len(names) != 1 {
		t.Fatalf("requeue %v %v", names, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.xml")); err != nil {
		t.Fatal("not back in inbox")
	}
}

func TestDeliverWithWebhookAndCommand(t *testing.T) {
	var got []Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e Event
		json.NewDecoder(r.Body).Decode(&e)
		got = append(got, e)
		if e.Phase == "before" && e.File == "veto.xml" {
			w.WriteHeader(409)
		}
	}))
	defer srv.Close()
	cl, err := httpclient.New(srv.URL, httpclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hook := WebhookHook(cl, "hooks/transfer")
	out := t.TempDir()
	if err := Deliver(context.Background(), out, "events.xml", strings.NewReader("<events/>"), ".ok", hook, hook); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(out, "events.xml")) != "<events/>" {
		t.Fatal("content")
	}
	if _, err := os.Stat(filepath.Join(out, "events.xml.ok")); err != nil {
		t.Fatal("marker missing")
	}
	if err := Deliver(context.Background(), out, "veto.xml", strings.NewReader("x"), "", hook, nil); !errors.Is(err, ErrVetoed) {
		t.Fatalf("veto: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "veto.xml")); err == nil {
		t.Fatal("vetoed delivery written")
	}
	if len(got) != 3 || got[1].Status != "ok" {
		t.Fatalf("webhook events %+v", got)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temp file left: %s", e.Name())
		}
	}
	// A command hook sees the event in its environment; a failing one vetoes.
	logf := filepath.Join(out, "hook.log")
	ok := CommandHook([]string{"sh", "-c", `echo "$KONTOR_PHASE $KONTOR_FILE $KONTOR_STATUS" >> ` + logf}, time.Second)
	if err := Deliver(context.Background(), out, "b.xml", strings.NewReader("b"), "", ok, ok); err != nil {
		t.Fatal(err)
	}
	if read(t, logf) != "before b.xml \nafter b.xml ok\n" {
		t.Fatalf("hook log %q", read(t, logf))
	}
	bad := CommandHook([]string{"sh", "-c", "echo nope; exit 3"}, time.Second)
	if err := Deliver(context.Background(), out, "c.xml", strings.NewReader("c"), "", bad, nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("command veto: %v", err)
	}
	_ = io.EOF
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Error("no inbox accepted")
	}
	if _, err := Open(Options{Inbox: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("missing inbox accepted")
	}
	if _, err := Open(Options{Inbox: t.TempDir(), Pattern: "["}); err == nil {
		t.Error("bad pattern accepted")
	}
}

func TestRequeueCountsAttemptsAndRestoresMarker(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.xml"), "<a/>")
	write(t, filepath.Join(dir, "a.xml.rdy"), "")
	var events []string
	f, err := Open(Options{Inbox: dir, Marker: ".rdy", After: func(_ context.Context, e Event) error {
		events = append(events, e.Status+" "+e.File)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		ready, _ := f.Ready(context.Background())
		if len(ready) != 1 {
			t.Fatalf("attempt %d: ready %v", attempt, ready)
		}
		c, err := f.Claim(context.Background(), "a.xml")
		if err != nil {
			t.Fatal(err)
		}
		if c.Attempts != attempt-1 {
			t.Fatalf("attempt %d: Attempts %d", attempt, c.Attempts)
		}
		if _, err := os.Stat(filepath.Join(dir, "a.xml.err")); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("claim must remove the requeue note")
		}
		if err := c.Requeue(context.Background(), "server down\nretry"); err != nil {
			t.Fatal(err)
		}
		note := read(t, filepath.Join(dir, "a.xml.err"))
		if !strings.Contains(note, "attempts: "+string(rune('0'+attempt))+"\n") || !strings.Contains(note, "reason: server down retry\n") {
			t.Fatalf("note %q", note)
		}
		if _, err := os.Stat(filepath.Join(dir, "a.xml.rdy")); err != nil {
			t.Fatal("requeue must restore the marker")
		}
	}
	if strings.Join(events, ",") != "requeued a.xml,requeued a.xml" {
		t.Fatalf("events %v", events)
	}
}

func TestLeftoversAndMark(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(Options{Inbox: dir})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "processing", "b.csv"), "b")
	write(t, filepath.Join(dir, "processing", "a.csv"), "a")
	cs, err := f.Leftovers()
	if err != nil || len(cs) != 2 || cs[0].Name != "a.csv" {
		t.Fatalf("%v %v", cs, err)
	}
	if err := cs[0].Done(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := cs[1].Requeue(context.Background(), "crashed run"); err != nil {
		t.Fatal(err)
	}
	read(t, filepath.Join(dir, "done", "a.csv.ok"))
	read(t, filepath.Join(dir, "b.csv"))

	out := t.TempDir()
	write(t, filepath.Join(out, "x.csv"), "x")
	var got Event
	if err := Mark(context.Background(), filepath.Join(out, "x.csv"), ".ok", func(_ context.Context, e Event) error { got = e; return nil }); err != nil {
		t.Fatal(err)
	}
	read(t, filepath.Join(out, "x.csv.ok"))
	if got.File != "x.csv" || got.Status != "ok" {
		t.Fatalf("event %+v", got)
	}
}

// A recent file that stays unchanged over the settle time is ready after
// the wait, also when the clock moved on during it (it once was skipped as
// "taken above" because the age was computed again after the sleep).
func TestReadyAfterSettleWithMovingClock(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.csv"), "a")
	now := time.Now()
	f, err := Open(Options{Inbox: dir, Settle: time.Second, Now: func() time.Time { return now },
		Sleep: func(context.Context, time.Duration) error { now = now.Add(2 * time.Second); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Ready(context.Background()); err != nil || len(got) != 1 {
		t.Fatalf("ready %v, %v", got, err)
	}
}

// TestIncomplete: matching files that Ready did not return (still being
// written, or waiting for their marker) are reported; other names, hidden,
// temporary and status files are not.
func TestIncomplete(t *testing.T) {
	ctx := context.Background()
	t.Run("settle", func(t *testing.T) {
		dir := t.TempDir()
		old := time.Now().Add(-time.Hour)
		write(t, filepath.Join(dir, "a.csv"), "done")
		os.Chtimes(filepath.Join(dir, "a.csv"), old, old)
		write(t, filepath.Join(dir, "b.csv"), "growing")
		write(t, filepath.Join(dir, "c.csv.part"), "temp")
		write(t, filepath.Join(dir, ".d.csv"), "hidden")
		write(t, filepath.Join(dir, "e.txt"), "other pattern")
		f, err := Open(Options{Inbox: dir, Pattern: "*.csv", Settle: time.Second,
			Sleep: func(context.Context, time.Duration) error {
				fh, _ := os.OpenFile(filepath.Join(dir, "b.csv"), os.O_APPEND|os.O_WRONLY, 0)
				fh.WriteString(" more")
				return fh.Close()
			}})
		if err != nil {
			t.Fatal(err)
		}
		ready, err := f.Ready(ctx)
		if err != nil {
			t.Fatal(err)
		}
		inc, err := f.Incomplete(ready)
		if err != nil || strings.Join(ready, ",") != "a.csv" || strings.Join(inc, ",") != "b.csv" {
			t.Fatalf("ready %v, incomplete %v, %v", ready, inc, err)
		}
	})
	t.Run("marker", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "x.csv"), "no marker yet")
		write(t, filepath.Join(dir, "y.csv"), "1")
		write(t, filepath.Join(dir, "y.csv.ok"), "")
		f, err := Open(Options{Inbox: dir, Marker: ".ok"})
		if err != nil {
			t.Fatal(err)
		}
		ready, _ := f.Ready(ctx)
		inc, err := f.Incomplete(ready)
		if err != nil || strings.Join(ready, ",") != "y.csv" || strings.Join(inc, ",") != "x.csv" {
			t.Fatalf("ready %v, incomplete %v, %v", ready, inc, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		f, err := Open(Options{Inbox: t.TempDir(), Pattern: "*.csv"})
		if err != nil {
			t.Fatal(err)
		}
		ready, _ := f.Ready(ctx)
		if inc, err := f.Incomplete(ready); err != nil || len(ready)+len(inc) != 0 {
			t.Fatalf("ready %v, incomplete %v, %v", ready, inc, err)
		}
	})
}
