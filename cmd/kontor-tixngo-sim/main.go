// Command kontor-tixngo-sim serves a simulated TIXnGO organizer API on
// loopback for trying and testing tixngo pipelines without a partner
// account. It prints the API base URL (use it as the sink's api_url) on
// stdout and serves until interrupted. See package tixngosim for the
// endpoints and the /_sim control API (stats, faults, transitions).
//
//	kontor-tixngo-sim -addr 127.0.0.1:0 -api-key secret -rate-limit 60
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kontor-etl/kontor/plugins/tixngo/tixngosim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kontor-tixngo-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback recommended; port 0 picks a free one)")
	key := fs.String("api-key", os.Getenv("TIXNGO_SIM_API_KEY"), "API key callers must send (Basic password or key header); empty disables auth")
	keyHeader := fs.String("key-header", "X-Api-Key", "header that may carry the API key")
	prefix := fs.String("prefix", "/v3/organizer", "API path prefix")
	rateLimit := fs.Int("rate-limit", 0, "lock the caller out for good after more than this many calls in one rate window (0: off)")
	rateWindow := fs.Duration("rate-window", time.Minute, "window of -rate-limit and of the max-rate counter")
	deletion := fs.Duration("deletion-delay", 0, "how long tickets stay DELETION_PENDING")
	latency := fs.Duration("latency", 0, "delay of every answer")
	maxBatch := fs.Int("max-batch", 10000, "most tickets per call")
	faults := fs.String("faults", "", `fault script as JSON, e.g. {"random":{"rate":0.2,"statuses":[429,503],"retryAfter":"1"}}`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if host, _, ok := strings.Cut(*addr, ":"); ok && host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
		fmt.Fprintf(stderr, "warning: listening on %s, not loopback\n", *addr)
	}
	s := tixngosim.New(tixngosim.Options{APIKey: *key, KeyHeader: *keyHeader, Prefix: *prefix, RateLimit: *rateLimit,
		RateWindow: *rateWindow, DeletionDelay: *deletion, Latency: *latency, MaxBatch: *maxBatch})
	if *faults != "" {
		var script tixngosim.FaultScript
		if err := json.Unmarshal([]byte(*faults), &script); err != nil {
			fmt.Fprintf(stderr, "-faults: %v\n", err)
			return 2
		}
		s.SetFaults(script)
	}
	base, shutdown, err := s.Start(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "listen: %v\n", err)
		return 1
	}
	defer shutdown()
	fmt.Fprintln(stdout, base)
	<-ctx.Done()
	return 0
}
