package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/engine/pluginhost"
)

// External plugins: every command that builds a registry (run, lint,
// test, plugins, schema) also registers the external plugins it finds:
//
//   - executables named kontor-plugin-<name> in the plugin directories:
//     the --plugin-dir flags (repeatable), else ./plugins next to each
//     pipeline and ~/.kontor/plugins; the directories in $KONTOR_PLUGIN_DIR
//     (separated by the OS path list separator) are always searched first;
//   - the plugins a pipeline lists at its top level (`plugins:` with name,
//     optional path, sha256 pin, env and timeout; see pluginhost.PipelineRef).
//
// A pinned binary whose sha256 differs is refused before it starts (exit
// 2). Plugin processes are started on first use and killed when the
// command ends.

// pluginFlags are the plugin options shared by the commands.
type pluginFlags struct {
	cmd          string // the command, for the prefix of error messages ("kontor run: ...")
	dirs         stringList
	timeout      time.Duration
	startTimeout time.Duration
	noCache      bool
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, string(os.PathListSeparator)) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func addPluginFlags(fs *flag.FlagSet) *pluginFlags {
	pf := &pluginFlags{cmd: fs.Name()}
	fs.Var(&pf.dirs, "plugin-dir", "search `DIR` for external plugins (kontor-plugin-<name>); repeatable (default: ./plugins next to the pipeline and ~/.kontor/plugins)")
	durationVar(fs, &pf.timeout, "plugin-timeout", pluginhost.DefaultCallTimeout, "deadline (`DURATION`) of each call (batch) to an external plugin")
	durationVar(fs, &pf.startTimeout, "plugin-start-timeout", pluginhost.DefaultStartTimeout, "deadline (`DURATION`) for starting an external plugin")
	fs.BoolVar(&pf.noCache, "plugin-no-cache", false, "do not use the describe cache of external plugins (always start them to describe)")
	return pf
}

// searchDirs returns the plugin directories for the given pipeline files.
func (pf *pluginFlags) searchDirs(pipelines []string) []string {
	var dirs []string
	if env := os.Getenv("KONTOR_PLUGIN_DIR"); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	if len(pf.dirs) > 0 {
		return append(dirs, pf.dirs...)
	}
	seen := map[string]bool{}
	if len(pipelines) == 0 {
		pipelines = []string{filepath.Join(".", "pipeline")}
	}
	for _, p := range pipelines {
		for _, d := range pluginhost.DefaultPluginDirs(filepath.Dir(p)) {
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

// registryFor builds the registry of built-ins plus external plugins for
// the given pipeline files. It returns nil and an exit code when it cannot
// (problems are printed to stderr); otherwise close kills the plugin
// processes and must be called when the command ends.
func (pf *pluginFlags) registryFor(ctx context.Context, pipelines []string, logger *slog.Logger, stderr io.Writer) (reg *pluginhost.Registry, close func(), code int) {
	prefix := "kontor" // error messages start with the command: "kontor run: ..."
	if pf != nil && pf.cmd != "" {
		prefix += " " + pf.cmd
	}
	reg, err := registry()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return nil, nil, exitError
	}
	if pf == nil {
		pf = &pluginFlags{}
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	opts := pluginhost.ExternalOptions{StartTimeout: pf.startTimeout, CallTimeout: pf.timeout, Logger: logger}
	if !pf.noCache {
		opts.CacheDir = pluginhost.DefaultCacheDir()
	}
	host := pluginhost.NewHost(opts)
	dirs := pf.searchDirs(pipelines)
	found, err := pluginhost.Discover(dirs...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		host.Close()
		return nil, nil, exitError
	}
	// The pipelines' own plugin lists win over discovery (pins, env, path).
	var ds diag.List
	named := map[string]pluginhost.PluginRef{}
	var order []string
	for _, p := range pipelines {
		src, err := os.ReadFile(p)
		if err != nil {
			continue // the loader reports it
		}
		refs, pds := pluginhost.PipelinePlugins(p, src)
		ds = append(ds, pds...)
		resolved, rds := pluginhost.Resolve(refs, found, dirs)
		ds = append(ds, rds...)
		for _, r := range resolved {
			if prev, ok := named[r.Name]; ok && (prev.Path != r.Path || prev.SHA256 != r.SHA256) {
				ds.Add(diag.Errorf(diag.Pos{File: p}, "plugin", "plugin %q is listed with different paths or pins by the pipelines given; check them one at a time", r.Name))
				continue
			}
			if _, ok := named[r.Name]; !ok {
				order = append(order, r.Name)
			}
			named[r.Name] = r
		}
	}
	if ds.HasErrors() {
		ds.Sort()
		ds.WriteText(stderr)
		host.Close()
		return nil, nil, exitUsage
	}
	code = exitOK
	for _, name := range order {
		if err := host.LoadAll(ctx, reg, []pluginhost.PluginRef{named[name]}); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
			var pe *pluginhost.PinError
			if errors.As(err, &pe) {
				code = exitUsage
			} else if code == exitOK {
				code = exitError
			}
		}
	}
	if code != exitOK {
		host.Close()
		return nil, nil, code
	}
	// Discovered plugins the pipelines did not list: a broken one is a
	// warning (its components stay unknown), not the end of the command.
	for _, f := range found {
		if _, ok := named[f.Name]; ok {
			continue
		}
		if err := host.LoadAll(ctx, reg, []pluginhost.PluginRef{f}); err != nil {
			logger.Warn("skipping external plugin", "path", f.Path, "err", err)
		}
	}
	return reg, host.Close, exitOK
}
