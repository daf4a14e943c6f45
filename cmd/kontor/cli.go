package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/kontor-etl/kontor/engine/diag"
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
  kontor run PIPELINE [--dry-run] [--report FILE] [--state-dir DIR] [--since TIME] [--wait DURATION] [--log-format text|json] [-q] [--cpuprofile FILE]
  kontor lint [--format text|json] [--strict] FILES_OR_DIRS...
  kontor test [--update] [-v] DIRS_OR_FILES...
  kontor plugins list [--json]
  kontor plugins describe NAME
  kontor schema
  kontor history PIPELINE [--json] [--limit N] [--state-dir DIR]
  kontor rejects PIPELINE RUN_ID [--json] [--state-dir DIR]
  kontor serve [--addr HOST:PORT] [--state-dir DIR] [--pipelines DIR] [--token TOKEN] [--allow-trigger] [--base-url URL] [--log-format text|json]
  kontor schedule [--schedule FILE] [--tz ZONE] [--catch-up once|none] [--stop-timeout DURATION] [--metrics-addr HOST:PORT] [--token TOKEN] [--base-url URL] [--state-dir DIR] [--log-format text|json] [PIPELINES_OR_DIRS...]
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

A DURATION is a number with a unit: 30s, 5m, 1h30m.

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
		return help(ctx, rest, stdout, stderr)
	case "-version", "--version":
		name = "version"
	}
	if c, ok := findCommand(name); ok {
		return c.run(ctx, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "kontor: %s\n\n%s", unknownCommand(name), usage)
	return exitUsage
}

// help is `kontor help [COMMAND]`: the general usage, or the usage and
// flags of one command, on stdout (so it can be paged). An unknown command
// is a usage error (exit 2).
func help(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "help"):
		fmt.Fprint(stdout, usage)
		return exitOK
	case len(args) > 1:
		fmt.Fprintf(stderr, "kontor help: want one command, got %d arguments %q\n", len(args), args)
		return exitUsage
	}
	c, ok := findCommand(args[0])
	if !ok {
		var names []string
		for _, c := range commands() {
			names = append(names, c.name)
		}
		fmt.Fprintf(stderr, "kontor help: %s; the commands are %s and help\n", unknownCommand(args[0]), strings.Join(names, ", "))
		return exitUsage
	}
	// -h makes the command print its usage and flags and return at once.
	return c.run(ctx, []string{"-h"}, stdout, stdout)
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// unknownCommand is the message for an unknown command name, with a
// did-you-mean when one is close.
func unknownCommand(name string) string {
	names := []string{"help"}
	for _, c := range commands() {
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	// Command names are short: also take two edits ("lnit", "rnu").
	s := diag.Suggest(name, names)
	for _, c := range names {
		if d := diag.Levenshtein(name, c); s == "" && d <= 2 && d < len(name)-1 {
			s = c
		}
	}
	if s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
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

// durationValue is a time.Duration flag whose parse error says what is
// expected: flag.Duration only says "parse error", and "--wait 10" (no
// unit) is the common mistake. Its usage text must name the argument in
// backquotes (`DURATION`), as flag.PrintDefaults cannot tell its type.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("a duration needs a unit: %ss or %sm, for example", s, s)
		}
		return fmt.Errorf("want a duration such as 30s, 5m or 1h30m")
	}
	if v < 0 {
		return fmt.Errorf("a duration must not be negative")
	}
	*d = durationValue(v)
	return nil
}

// durationVar defines a duration flag with a helpful parse error (see
// durationValue); usage must contain `DURATION`.
func durationVar(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

// durationFlag is durationVar returning a new variable.
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	durationVar(fs, p, name, value, usage)
	return p
}
