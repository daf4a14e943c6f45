package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kontor-etl/kontor/engine/runner"
)

// progressBar draws the progress of `kontor run` on the last line of a
// terminal: records, rate, bytes and ETA when the input size is known. It
// is only used when stderr is a terminal (a character device); in a pipe,
// a file or under a scheduler nothing is drawn. Everything else written
// to stderr (the log) goes through Write, which clears the bar first and
// redraws it after, so log lines and the bar do not mix.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	line  string // the bar as last drawn ("" when not shown)
	last  time.Time
	every time.Duration
	now   func() time.Time
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newProgressBar returns a bar on w when w is a terminal, else nil.
func newProgressBar(w io.Writer) *progressBar {
	if !isTerminal(w) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	return &progressBar{w: w, every: 150 * time.Millisecond, now: time.Now}
}

// Write passes p to the terminal with the bar cleared around it.
func (b *progressBar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.line != "" {
		io.WriteString(b.w, "\r\033[K")
	}
	n, err := b.w.Write(p)
	if b.line != "" && len(p) > 0 && p[len(p)-1] == '\n' {
		io.WriteString(b.w, b.line)
	}
	return n, err
}

// update is the runner's Options.Progress.
func (b *progressBar) update(p runner.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Done {
		if b.line != "" {
			io.WriteString(b.w, "\r\033[K")
			b.line = ""
		}
		return
	}
	now := b.now()
	if now.Sub(b.last) < b.every {
		return
	}
	b.last = now
	b.line = renderProgress(p)
	io.WriteString(b.w, "\r\033[K"+b.line)
}

// finish removes the bar.
func (b *progressBar) finish() { b.update(runner.Progress{Done: true}) }

// renderProgress formats one bar line.
func renderProgress(p runner.Progress) string {
	var s strings.Builder
	secs := p.Elapsed.Seconds()
	fmt.Fprintf(&s, "%s records", group(p.Records))
	if secs > 0 {
		fmt.Fprintf(&s, "  %s rec/s", group(int64(float64(p.Records)/secs)))
	}
	if p.Size > 0 {
		frac := min(1, float64(p.Bytes)/float64(p.Size))
		const width = 24
		fill := int(frac * width)
		fmt.Fprintf(&s, "  [%s%s] %3.0f%%  %s/%s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100, bytesText(p.Bytes), bytesText(p.Size))
		if frac > 0.01 && secs > 1 {
			eta := time.Duration(secs/frac*(1-frac)) * time.Second
			fmt.Fprintf(&s, "  ETA %s", eta.Round(time.Second))
		}
	} else if p.Bytes > 0 {
		fmt.Fprintf(&s, "  %s", bytesText(p.Bytes))
	}
	return s.String()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progress returns the runner callback (nil without a bar or when quiet).
func (b *progressBar) progress(quiet bool) func(runner.Progress) {
	if b == nil || quiet {
		return nil
	}
	return b.update
}

// done removes the bar (nil-safe).
func (b *progressBar) done() {
	if b != nil {
		b.finish()
	}
}
