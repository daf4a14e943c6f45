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
	opts := pipetest.Options{LoadOptions: loadOptions, Update: *update, Out: stdout, Verbose: *verbose}
	var regErr strings.Builder
	reg, closePlugins, code := plugins.registryFor(ctx, files, nil, &regErr)
	var results []pipetest.Result
	pluginCode := exitOK // exit code of pipelines whose plugins could not be loaded
	if reg != nil {
		stderr.Write([]byte(regErr.String()))
		defer closePlugins()
		opts.Registry = reg
		var err error
		if results, err = pipetest.Run(ctx, pos, opts); err != nil {
			fmt.Fprintf(stderr, "kontor test: %v\n", err)
			if len(results) == 0 {
				return exitUsage
			}
			return exitError
		}
	} else {
		// One pipeline's plugins (not found, pin mismatch, broken binary)
		// must not keep the other pipelines from being tested: test them
		// one by one, each with its own plugins. A pipeline whose plugins
		// cannot be loaded is a failed test, named with the error, so the
		// summary line does not claim that everything passed.
		tested, err := pipetest.Find(pos...)
		if err != nil || len(tested) == 0 {
			stderr.Write([]byte(regErr.String()))
			return code
		}
		for _, f := range tested {
			freg, fclose, fcode := reg, func() {}, code
			ferr := regErr.String()
			if len(tested) > 1 { // with one pipeline, the first attempt was its own
				var b strings.Builder
				freg, fclose, fcode = plugins.registryFor(ctx, []string{f}, nil, &b)
				ferr = b.String()
			}
			if freg == nil {
				results = append(results, pluginFailure(stdout, f, ferr))
				if pluginCode != exitError {
					pluginCode = fcode
				}
				continue
			}
			stderr.Write([]byte(ferr)) // warnings (skipped discovered plugins)
			opts.Registry = freg
			rs, err := pipetest.Run(ctx, []string{f}, opts)
			fclose()
			if err != nil {
				fmt.Fprintf(stderr, "kontor test: %v\n", err)
				pluginCode = exitError
			}
			results = append(results, rs...)
		}
	}
	var failed int
	for _, r := range results {
		if !r.OK() {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if pluginCode != exitOK {
		return pluginCode
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}

// pluginFailure prints and returns the failed result of a pipeline whose
// plugins could not be loaded (its cases did not run); msg is what
// registryFor printed.
func pluginFailure(out io.Writer, pipeline, msg string) pipetest.Result {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = "(no details)"
	}
	r := pipetest.Result{Pipeline: pipeline, Case: "not run: its plugins could not be loaded", Failures: []string{msg}}
	fmt.Fprintf(out, "FAIL %s: %s\n", r.Pipeline, r.Case)
	for _, m := range r.Failures {
		fmt.Fprintf(out, "    %s\n", strings.ReplaceAll(m, "\n", "\n    "))
	}
	return r
}
