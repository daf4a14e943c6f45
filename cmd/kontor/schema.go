package main

import (
	"context"
	"fmt"
	"io"
)

func cmdSchema(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("schema", "", stderr)
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageErr(fs, "takes no arguments")
	}
	reg, closePlugins, code := plugins.registryFor(ctx, nil, nil, stderr)
	if reg == nil {
		return code
	}
	defer closePlugins()
	b, err := reg.JSONSchema()
	if err != nil {
		fmt.Fprintf(stderr, "kontor schema: %v\n", err)
		return exitError
	}
	stdout.Write(append(b, '\n'))
	return exitOK
}
