package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/pluginhost"
	"github.com/kontor-etl/kontor/engine/spec"
	"github.com/kontor-etl/kontor/engine/staging"
	"github.com/kontor-etl/kontor/engine/transform"
	"github.com/kontor-etl/kontor/plugins/all"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Exit codes (DESIGN.md).
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitWarning = 3
	exitLocked  = 4
)

// version is set with -ldflags "-X main.version=v1.2.3"; otherwise the
// module version or VCS revision from the build info is used.
var version = ""

const usage = `kontor — ETL pipelines for box offices, subscriptions and municipal finance

Usage:
  kontor run PIPELINE [--dry-run] [--report FILE] [--state-dir DIR] [--since TIME] [--wait DURATION] [--log-format text|json]
  kontor lint [--format text|json] [--strict] FILES_OR_DIRS...
  kontor test [--update] [-v] DIRS_OR_FILES...
  kontor plugins list [--json]
  kontor plugins describe NAME
  kontor schema
  kontor history PIPELINE [--json] [--limit N] [--state-dir DIR]
  kontor rejects PIPELINE RUN_ID [--json] [--state-dir DIR]
  kontor serve [--addr HOST:PORT] [--state-dir DIR] [--pipelines DIR] [--token TOKEN] [--allow-trigger]
  kontor schedule [--schedule FILE] [--tz ZONE] [--catch-up once|none] [--state-dir DIR] [PIPELINES_OR_DIRS...]
  kontor keygen [-o FILE]
  kontor version
  kontor help [COMMAND]

External plugins (run, lint, test, plugins, schema, serve, schedule):
  --plugin-dir DIR                  search DIR for plugin executables kontor-plugin-<name>; repeatable
                                    (default: ./plugins next to the pipeline and ~/.kontor/plugins;
                                    the directories in $KONTOR_PLUGIN_DIR are always searched first)
  --plugin-timeout DURATION         deadline of each call (batch) to a plugin (default 1m0s)
  --plugin-start-timeout DURATION   deadline for starting a plugin (default 10s)
  --plugin-no-cache                 always start plugins to describe them (no describe cache)
  A pipeline pins its plugins with a top-level plugins: list (name, path, sha256, env, timeout).
  See docs/plugin-authors.md.

Exit codes:
  0  OK: all records processed, nothing rejected
  1  ERROR: the run failed; nothing committed, state unchanged
  2  invalid pipeline, config or command line (nothing ran)
  3  WARNING: committed, but some records were rejected (see the run report)
  4  not run: the same pipeline is already running (lock held)
`

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "run a pipeline", cmdRun},
		{"lint", "check pipeline files and report every problem with file:line:col", cmdLint},
		{"test", "run pipeline tests (<name>_test.yaml next to <name>.yaml)", cmdTest},
		{"plugins", "list plugins or describe a component's options", cmdPlugins},
		{"schema", "print the JSON Schema of pipeline files", cmdSchema},
		{"history", "list the runs of a pipeline", cmdHistory},
		{"rejects", "list the rejects of a run", cmdRejects},
		{"serve", "web navigator over the run history, rejects and pipelines (and /metrics)", cmdServe},
		{"schedule", "run pipelines on their cron schedules (built-in scheduler daemon)", cmdSchedule},
		{"keygen", "create an age identity for encrypted outputs and print its recipient", cmdKeygen},
		{"version", "print the version", cmdVersion},
	}
}

// run is the whole CLI: it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			for _, c := range commands() {
				if c.name == rest[0] {
					return c.run(ctx, []string{"-h"}, stdout, stderr)
				}
			}
		}
		fmt.Fprint(stdout, usage)
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, rest, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "kontor: unknown command %q\n\n%s", name, usage)
	return exitUsage
}

// builtins is the plugin list of this binary: the core transforms, the
// staging transforms and the format plugins.
func builtins() []sdk.Plugin {
	return append([]sdk.Plugin{transform.Plugin(), staging.Plugin()}, all.Builtins()...)
}

func registry() (*pluginhost.Registry, error) {
	return pluginhost.NewRegistry(builtins()...)
}

// newFlags returns a FlagSet for a subcommand that writes its usage to w.
func newFlags(name, args string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "Usage: kontor %s %s\n", name, args)
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintln(w, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses flags that may come before or after the positional
// arguments ("kontor run p.yaml --dry-run"). "--" ends flag parsing.
// It returns the positional arguments, or ok=false (usage printed, or -h).
func parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, 0, true
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), 0, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func usageErr(fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(fs.Output(), "kontor %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return exitUsage
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			} else {
				var rev, dirty string
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						rev = s.Value
					case "vcs.modified":
						if s.Value == "true" {
							dirty = "-dirty"
						}
					}
				}
				if rev != "" {
					v = "devel+" + rev[:min(12, len(rev))] + dirty
				}
			}
		}
	}
	return v
}

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", stderr)
	if _, code, ok := parse(fs, args); !ok {
		return code
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	fmt.Fprintf(stdout, "kontor %s (%s, plugin protocol %d)\n", versionString(), goVersion, sdk.ProtocolVersion)
	return exitOK
}

// plural returns "n word" with an s when n != 1.
func plural(n int64, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "s") {
		return fmt.Sprintf("%d %ses", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// loadOptions are the spec.LoadOptions of every command: the clock now
// (fixed to the run start, so today() and {date} agree). The expression
// function library is the loader's default.
func loadOptions(now func() time.Time) spec.LoadOptions {
	return spec.LoadOptions{Now: now}
}
