package navigator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium finds the headless browser: Debian's chromium (or
// chromium-browser / google-chrome). In CI (CI=true) a missing browser
// fails the test; locally it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); required in CI")
	}
	t.Skip("chromium not installed; skipping the browser test (apt-get install -y chromium)")
	return ""
}

// browse runs headless Chromium on url and returns the rendered DOM;
// with shot set it also writes a screenshot there.
func browse(t *testing.T, bin, url, shot string) string {
	t.Helper()
	profile := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile}
	if shot != "" {
		args = append(args, "--screenshot="+shot, "--window-size=1280,900")
	} else {
		args = append(args, "--dump-dom")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.Dir = profile
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr)
	}
	return string(out)
}

// artifacts is where the screenshots go: $KONTOR_ARTIFACTS or a temp dir.
func artifacts(t *testing.T) string {
	if d := os.Getenv("KONTOR_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser opens the navigator in headless Chromium over a state store
// with an OK, a WARNING and an ERROR run, follows the WARNING run to its
// rejects, checks what the rendered pages show, and that an empty-inbox
// run's message shows in its row of the run list.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test in -short mode")
	}
	bin := chromium(t)
	srv, _ := newTestServer(t, Options{})
	out := artifacts(t)

	dom := browse(t, bin, srv.URL+"/", "")
	if !strings.Contains(dom, `<a href="/pipelines/abo-export">abo-export</a>`) || !strings.Contains(dom, "ERROR") {
		t.Fatalf("index DOM:\n%s", dom)
	}
	// pipeline page: find the WARNING run's link in the rendered table
	dom = browse(t, bin, srv.URL+"/pipelines/abo-export", "")
	row := regexp.MustCompile(`(?s)<tr class="row-warning">.*?href="(/pipelines/abo-export/runs/\d+)"`).FindStringSubmatch(dom)
	if row == nil {
		t.Fatalf("no WARNING run row in the pipeline page:\n%s", dom)
	}
	for _, w := range []string{"row-ok", "row-error", "<svg", "no input matches"} {
		if !strings.Contains(dom, w) {
			t.Errorf("pipeline page misses %q", w)
		}
	}
	// run page: follow its rejects link
	dom = browse(t, bin, srv.URL+row[1], "")
	link := regexp.MustCompile(`id="rejects-link" href="([^"]+)"`).FindStringSubmatch(dom)
	if link == nil || !strings.Contains(dom, "WARNING") || !strings.Contains(dom, "in 118 · out 115 · rej 3") {
		t.Fatalf("run page:\n%s", dom)
	}
	rejectsURL := srv.URL + link[1]
	dom = browse(t, bin, rejectsURL, "")
	for _, w := range []string{
		`<p class="muted" id="reject-count">3 of 3 rejects.</p>`,
		"<code>in/abos-2026-11.csv:17:1</code>",
		"iban_valid(iban) is false: check digits do not match",
		// the reason with markup is text in the DOM: the browser parsed no element from it
		`name contains &lt;script&gt;alert("x")&lt;/script&gt;`,
	} {
		if !strings.Contains(dom, w) {
			t.Errorf("rejects page misses %q", w)
		}
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "<b>Corp") {
		t.Errorf("markup from rejects became elements:\n%s", dom)
	}
	if n := strings.Count(dom, "<tr><td><code>"); n != 3 {
		t.Errorf("%d reject rows, want 3", n)
	}
	// the search narrows the table
	dom = browse(t, bin, rejectsURL+"?q=required", "")
	if !strings.Contains(dom, "1 of 3 rejects") || !strings.Contains(dom, "iban is required") {
		t.Errorf("search: %s", dom)
	}

	// a run that did no work says why, in the run list, as text
	dom = browse(t, bin, srv.URL+"/pipelines/kassenzeichen", "")
	if !regexp.MustCompile(`(?s)<tr class="row-warning">.*?<div class="note">inbox in/&lt;kasse&gt;: no files matching \*\.txt</div>`).MatchString(dom) ||
		strings.Contains(dom, "<kasse>") {
		t.Errorf("the empty-inbox run's message is not in its row:\n%s", dom)
	}

	shot := filepath.Join(out, "navigator-rejects.png")
	browse(t, bin, rejectsURL, shot)
	browse(t, bin, srv.URL+row[1], filepath.Join(out, "navigator-run.png"))
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshots in %s", out)
}
