package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

func cmdPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("plugins", "list [--json] | describe NAME", stderr)
	asJSON := fs.Bool("json", false, "list as JSON")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		return usageErr(fs, "want a subcommand: list or describe NAME")
	}
	reg, closePlugins, code := plugins.registryFor(ctx, nil, nil, stderr)
	if reg == nil {
		return code
	}
	defer closePlugins()
	switch pos[0] {
	case "list":
		if len(pos) != 1 {
			return usageErr(fs, "list takes no arguments")
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.Encode(reg.List())
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TYPE\tKIND\tPLUGIN\tSUMMARY")
		for _, e := range reg.List() {
			plugin := e.Plugin
			if plugin == "" {
				plugin = "(core)"
			}
			if e.Version != "" {
				plugin += " " + e.Version
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Type, e.Kind, plugin, e.Summary)
		}
		tw.Flush()
		return exitOK
	case "describe":
		if len(pos) != 2 {
			return usageErr(fs, "describe wants one component name, e.g. csv.read")
		}
		text, err := reg.Describe(pos[1])
		if err != nil {
			fmt.Fprintf(stderr, "kontor plugins describe: %v\n", err)
			return exitUsage
		}
		fmt.Fprint(stdout, text)
		return exitOK
	}
	return usageErr(fs, "unknown subcommand %q (want list or describe)", pos[0])
}
