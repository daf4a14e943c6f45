package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kontor-etl/kontor/engine/navigator"
	"github.com/kontor-etl/kontor/engine/notify"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
	"github.com/kontor-etl/kontor/engine/state/statepool"
)

// cmdServe runs the navigator (engine/navigator) until SIGINT/SIGTERM.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "[flags]", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`; any host but a loopback address needs --token")
	stateDir := fs.String("state-dir", duckstate.DefaultDir, "`DIR`ectory of the state databases (one DuckDB file per pipeline)")
	pipelines := fs.String("pipelines", "", "`DIR` with the pipeline files (for the graph, schedules and run now)")
	token := fs.String("token", "", "access `TOKEN` required on every request, or ${env:NAME} (default: $KONTOR_TOKEN)")
	allowTrigger := fs.Bool("allow-trigger", false, "add a \"run now\" button that runs a pipeline in this process (needs --pipelines)")
	baseURL := fs.String("base-url", baseURLDefault(), "`URL` of this navigator as users reach it, for links in notifications of triggered runs (default: $KONTOR_BASE_URL)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageErr(fs, "unexpected arguments %q", pos)
	}
	logger, err := newLogger(stderr, *logFormat, slog.LevelInfo)
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	tok := *token
	if tok == "" {
		tok = os.Getenv("KONTOR_TOKEN")
	}
	if tok, err = resolveSecret(tok); err != nil {
		return usageErr(fs, "--token: %v", err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usageErr(fs, "--addr: %v", err)
	}
	if !isLoopback(host) && tok == "" {
		return usageErr(fs, "--addr %s is reachable from other machines: set --token (or KONTOR_TOKEN)", *addr)
	}
	if *allowTrigger && *pipelines == "" {
		return usageErr(fs, "--allow-trigger needs --pipelines")
	}
	pool := statepool.New(*stateDir)
	defer pool.Close()
	opts := navigator.Options{Pool: pool, PipelinesDir: *pipelines, Token: tok, Logger: logger, Context: ctx}
	if *allowTrigger {
		ex := &executor{pool: pool, plugins: plugins, log: logger, stderr: stderr, baseURL: *baseURL, notifier: &notify.Notifier{Logger: logger}}
		opts.AllowTrigger = true
		opts.Trigger = func(ctx context.Context, file string) navigator.TriggerResult {
			rep := ex.run(ctx, file)
			return navigator.TriggerResult{RunID: rep.RunID, Status: rep.Status, Error: rep.Error}
		}
	}
	nav, err := navigator.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "kontor serve: %v\n", err)
		return exitError
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "kontor serve: %v\n", err)
		return exitError
	}
	srv := &http.Server{Handler: nav.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("navigator listening", "url", "http://"+ln.Addr().String(), "state_dir", *stateDir, "pipelines", *pipelines,
		"auth", tok != "", "run_now", *allowTrigger)
	fmt.Fprintf(stdout, "kontor navigator on http://%s\n", ln.Addr())
	return serveUntil(ctx, srv, ln, logger, stderr)
}

// serveUntil serves until ctx is done, then shuts down gracefully.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, logger *slog.Logger, stderr io.Writer) int {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "kontor serve: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("shutting down the HTTP server", "err", err)
	}
	return exitOK
}

// isLoopback reports whether host (from --addr) only listens locally.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
