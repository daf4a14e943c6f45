// Command kontor-plugin-crash is a test plugin: example.vat_split that kills
// its own process (SIGKILL) on the second batch.
package main

import (
	"context"
	"syscall"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

type crash struct {
	sdk.Transform
}

func (c *crash) Process(ctx context.Context, in, out *record.Batch) error {
	// the second batch of the host (records 1001..2000): the host may
	// split its batches into chunks, so count records, not calls
	if len(in.Records) > 0 && in.Records[0].Origin.Index > 1000 {
		syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
	}
	return c.Transform.Process(ctx, in, out)
}

func main() {
	p := vat.Plugin()
	p.Name = "crash"
	c := &p.Components[0]
	newT := c.NewTransform
	c.NewTransform = func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
		t, err := newT(ctx, cfg, env)
		return &crash{Transform: t}, err
	}
	sdk.Serve(p)
}
