package main

import (
	"context"
	"fmt"
	"io"

	"github.com/kontor-etl/kontor/engine/runner/pipetest"
)

func cmdTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", "[flags] DIRS_OR_FILES...", stderr)
	update := fs.Bool("update", false, "rewrite the expected (want) files from the actual outputs; review the diff")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageErr(fs, "want at least one directory or pipeline file")
	}
	files, _ := pipelineFiles(pos)
	reg, closePlugins, code := plugins.registryFor(ctx, files, nil, stderr)
	if reg == nil {
		return code
	}
	defer closePlugins()
	results, err := pipetest.Run(ctx, pos, pipetest.Options{Registry: reg, LoadOptions: loadOptions, Update: *update, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "kontor test: %v\n", err)
		if len(results) == 0 {
			return exitUsage
		}
		return exitError
	}
	var failed int
	for _, r := range results {
		if !r.OK() {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if failed > 0 {
		return exitError
	}
	return exitOK
}
