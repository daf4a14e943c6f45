package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/runner"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// lintPlaceholder stands in for ${env:NAME} values that are not set when
// linting, so pipelines can be checked without their secrets.
const lintPlaceholder = "kontor-lint-placeholder"

func cmdLint(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("lint", "[flags] FILES_OR_DIRS...", stderr)
	format := fs.String("format", "text", "output format: text (file:line:col: severity: message, with the source line) or json")
	strict := fs.Bool("strict", false, "treat warnings (deprecated keys, ...) as errors")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageErr(fs, "want at least one pipeline file or directory")
	}
	if *format != "text" && *format != "json" {
		return usageErr(fs, "--format: want text or json, got %q", *format)
	}
	files, err := pipelineFiles(pos)
	if err != nil {
		fmt.Fprintf(stderr, "kontor lint: %v\n", err)
		return exitUsage
	}
	var all diag.List
	failed := exitOK // worst exit code of a file whose plugins could not be loaded
	var failedFiles int
	var regErr strings.Builder
	reg, closePlugins, code := plugins.registryFor(ctx, files, nil, &regErr)
	if reg != nil {
		stderr.Write([]byte(regErr.String()))
		defer closePlugins()
		for _, f := range files {
			all = append(all, lintFile(f, reg, *strict)...)
		}
	} else if len(files) == 1 {
		stderr.Write([]byte(regErr.String()))
		return code
	} else {
		// One file's plugins (not found, pin mismatch, broken binary) must
		// not hide the problems of the others: lint file by file.
		for _, f := range files {
			var ferr strings.Builder
			freg, fclose, fcode := plugins.registryFor(ctx, []string{f}, nil, &ferr)
			stderr.Write([]byte(ferr.String()))
			if freg == nil {
				failedFiles++
				if failed != exitError {
					failed = fcode
				}
				continue
			}
			all = append(all, lintFile(f, freg, *strict)...)
			fclose()
		}
	}
	all.Sort()
	hasErr := all.HasErrors() || (*strict && len(all) > 0) || failed != exitOK
	if *format == "json" {
		if err := all.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "kontor lint: %v\n", err)
			return exitError
		}
	} else {
		all.WriteText(stdout)
		errs, warns := failedFiles, 0 // a file whose plugins failed counts as one error
		for _, d := range all {
			switch d.Severity {
			case diag.Error:
				errs++
			case diag.Warning:
				warns++
			}
		}
		fmt.Fprintf(stderr, "%s checked: %s, %s\n", plural(int64(len(files)), "file"), plural(int64(errs), "error"), plural(int64(warns), "warning"))
	}
	if failed == exitError {
		return exitError
	}
	if hasErr {
		return exitUsage
	}
	return exitOK
}

// lintFile loads one pipeline and adds the runner's own static checks
// (output path templates).
func lintFile(file string, reg spec.Registry, strict bool) diag.List {
	src, err := os.ReadFile(file)
	if err != nil {
		return diag.List{diag.Errorf(diag.Pos{File: file}, "io", "%v", err)}
	}
	env := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		return lintPlaceholder, true
	}
	opts := loadOptions(time.Now)
	opts.Env, opts.Strict = env, strict
	p, ds := spec.Load(file, src, reg, opts)
	if p != nil {
		for _, s := range p.Sinks {
			if s.Component.IO != sdk.IOFile || s.Path == "" {
				continue
			}
			if err := runner.CheckPathTemplate(s.Path); err != nil {
				ds.Errorf(s.PosOf("path"), "path-template", "%s: %v", s.ID, err)
			}
		}
		if p.Rejects.Path != "" {
			if err := runner.CheckPathTemplate(p.Rejects.Path); err != nil {
				ds.Errorf(p.Rejects.Pos, "path-template", "rejects: %v", err)
			}
		}
	}
	return withSnippets(ds, file, src)
}

// looksLikePipeline reports whether a YAML file found in a directory is a
// pipeline: its top level is a mapping with one of the keys version,
// source, transforms or sinks. Other YAML files next to pipelines (layout
// definitions, lookup tables) are skipped; a file named explicitly is
// always linted.
func looksLikePipeline(path string) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		return true // let lint report it
	}
	var top map[string]any
	if err := yaml.Unmarshal(src, &top); err != nil {
		return true // a broken pipeline must be reported, not skipped
	}
	for _, k := range []string{"version", "source", "transforms", "sinks"} {
		if _, ok := top[k]; ok {
			return true
		}
	}
	return false
}

// pipelineFiles expands directories into the pipeline files they hold
// (*.yaml and *.yml, not *_test.yaml; hidden and testdata directories are
// skipped). Files named explicitly are taken as they are.
func pipelineFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			ext := filepath.Ext(p)
			if (ext == ".yaml" || ext == ".yml") && !strings.HasSuffix(strings.TrimSuffix(p, ext), "_test") && looksLikePipeline(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("no pipeline files (*.yaml) in %s", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}
