package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kontor-etl/kontor/engine/runner/pipetest"
)

func cmdTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", "[flags] DIRS_OR_FILES...", stderr)
	update := fs.Bool("update", false, "rewrite the expected (want) files from the actual outputs; review the diff")
	verbose := fs.Bool("v", false, "also print the run error of cases that passed")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageErr(fs, "want at least one directory or pipeline file")
	}
	// A test file names its pipeline: "kontor test p_test.yaml" tests p.yaml.
	for i, p := range pos {
		for _, ext := range []string{".yaml", ".yml"} {
			if base, ok := strings.CutSuffix(p, "_test"+ext); ok {
				if _, err := os.Stat(base + ext); err == nil {
					pos[i] = base + ext
				}
			}
		}
	}
	files, _ := pipelineFiles(pos)
	reg, closePlugins, code := plugins.registryFor(ctx, files, nil, stderr)
	if reg == nil {
		return code
	}
	defer closePlugins()
	results, err := pipetest.Run(ctx, pos, pipetest.Options{Registry: reg, LoadOptions: loadOptions, Update: *update, Out: stdout, Verbose: *verbose})
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
