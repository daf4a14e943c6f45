// Command kontor-plugin-chatty is a test plugin: chatty.pass passes records
// through and logs its secret config field token (through Env.Logger and
// raw to stderr), so tests can check the host redacts what plugins log;
// a record whose first value is "crash" ends the process.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

type pass struct{ env sdk.Env }

func (p *pass) Process(_ context.Context, in, out *record.Batch) error {
	for _, r := range in.Records {
		if len(r.Values) > 0 && r.Values[0].String() == "crash" {
			os.Exit(3)
		}
	}
	out.Records = append(out.Records, in.Records...)
	return nil
}

func (p *pass) Close() error { return nil }

func main() {
	sdk.Serve(sdk.Plugin{Name: "chatty", Version: "0.1.0", Description: "Test plugin that logs its secret.", Components: []sdk.Component{{
		Name: "pass", Kind: sdk.KindTransform, Summary: "Passes records through and logs its token.",
		Spec: sdk.Spec{Fields: []sdk.Field{{Name: "token", Type: sdk.TypeString, Secret: true, Description: "API token."}}},
		NewTransform: func(_ context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
			tok, _ := cfg["token"].(string)
			env.Logger.Info("connecting with token "+tok, "token", tok, "attempt", 1)
			fmt.Fprintf(os.Stderr, "raw stderr line: token=%s\n", tok)
			return &pass{env: env}, nil
		},
	}}})
}
