// Command kontor runs, checks and tests Kontor ETL pipelines.
//
// See `kontor help` and README.md. Exit codes: 0 OK, 1 ERROR, 2 invalid
// pipeline/config/usage, 3 WARNING (committed with rejects), 4 lock held.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
