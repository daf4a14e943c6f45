package main

import (
	"context"
	"fmt"
	"io"
)

func cmdSchema(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("schema", "", stderr)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageErr(fs, "takes no arguments")
	}
	reg, err := registry()
	if err != nil {
		fmt.Fprintf(stderr, "kontor schema: %v\n", err)
		return exitError
	}
	b, err := reg.JSONSchema()
	if err != nil {
		fmt.Fprintf(stderr, "kontor schema: %v\n", err)
		return exitError
	}
	stdout.Write(append(b, '\n'))
	return exitOK
}
