// Command kontor-plugin-hang is a test plugin: example.vat_split that never
// answers the second batch.
package main

import (
	"context"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

type hang struct {
	sdk.Transform
}

func (h *hang) Process(ctx context.Context, in, out *record.Batch) error {
	// the second batch of the host (records 1001..2000): the host may
	// split its batches into chunks, so count records, not calls
	if len(in.Records) > 0 && in.Records[0].Origin.Index > 1000 {
		select {} // ignores cancellation on purpose
	}
	return h.Transform.Process(ctx, in, out)
}

func main() {
	p := vat.Plugin()
	p.Name = "hang"
	c := &p.Components[0]
	newT := c.NewTransform
	c.NewTransform = func(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
		t, err := newT(ctx, cfg, env)
		return &hang{Transform: t}, err
	}
	sdk.Serve(p)
}
