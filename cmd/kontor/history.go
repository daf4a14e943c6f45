package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
)

// pipelineName resolves a pipeline argument: a pipeline file (its `name:`,
// else the file name without extension) or a plain pipeline name.
func pipelineName(arg string) (string, error) {
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		src, err := os.ReadFile(arg)
		if err != nil {
			return "", err
		}
		var top struct {
			Name string `yaml:"name"`
		}
		_ = yaml.Unmarshal(src, &top)
		if top.Name != "" {
			return top.Name, nil
		}
		return strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)), nil
	}
	if strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") {
		return "", fmt.Errorf("pipeline file %s not found", arg)
	}
	return arg, nil
}

func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("history", "PIPELINE [flags]", stderr)
	asJSON := fs.Bool("json", false, "print the runs as JSON")
	limit := fs.Int("limit", 20, "show at most `N` runs, newest first (0: all)")
	stateDir := fs.String("state-dir", duckstate.DefaultDir, "`DIR`ectory of the state databases")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return usageErr(fs, "want one pipeline (file or name)")
	}
	name, err := pipelineName(pos[0])
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	if _, err := os.Stat(filepath.Join(*stateDir, name+".duckdb")); err != nil {
		fmt.Fprintf(stderr, "kontor history: no state for pipeline %q in %s (it has not run yet)\n", name, *stateDir)
		return exitError
	}
	st, err := duckstate.Open(*stateDir, name)
	if err != nil {
		fmt.Fprintf(stderr, "kontor history: %v\n", err)
		return exitError
	}
	defer st.Close()
	runs, err := st.History(ctx, *limit)
	if err != nil {
		fmt.Fprintf(stderr, "kontor history: %v\n", err)
		return exitError
	}
	if *asJSON {
		if runs == nil {
			runs = []state.RunRecord{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(runs)
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATUS\tSTART\tDURATION\tREJECTED\tOUTPUTS\tNOTE")
	for _, r := range runs {
		status := string(r.Status)
		if r.DryRun {
			status += " (dry)"
		}
		dur := "-"
		if !r.End.IsZero() {
			dur = r.End.Sub(r.Start).Round(10e6).String()
		}
		var outs []string
		for _, o := range r.Outputs {
			outs = append(outs, fmt.Sprintf("%s (%d)", o.Path, o.Rows))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, status, r.Start.Local().Format("2006-01-02 15:04:05"), dur, r.Rejected, strings.Join(outs, ", "), oneLine(note(r)))
	}
	tw.Flush()
	return exitOK
}

// note is the NOTE column of a run: its error (ERROR runs) and its
// message (why a committed run did no work, e.g. "inbox in: no files
// matching *.txt"), whichever it has, both separated by "; ".
func note(r state.RunRecord) string {
	switch {
	case r.Error == "":
		return r.Message
	case r.Message == "":
		return r.Error
	}
	return r.Error + "; " + r.Message
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func cmdRejects(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("rejects", "PIPELINE RUN_ID [flags]", stderr)
	asJSON := fs.Bool("json", false, "print the rejects as JSON")
	stateDir := fs.String("state-dir", duckstate.DefaultDir, "`DIR`ectory of the state databases")
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return usageErr(fs, "want a pipeline (file or name) and a run id")
	}
	name, err := pipelineName(pos[0])
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	if _, err := os.Stat(filepath.Join(*stateDir, name+".duckdb")); err != nil {
		fmt.Fprintf(stderr, "kontor rejects: no state for pipeline %q in %s\n", name, *stateDir)
		return exitError
	}
	st, err := duckstate.Open(*stateDir, name)
	if err != nil {
		fmt.Fprintf(stderr, "kontor rejects: %v\n", err)
		return exitError
	}
	defer st.Close()
	if _, err := st.GetRun(ctx, pos[1]); err != nil {
		fmt.Fprintf(stderr, "kontor rejects: %v\n", err)
		return exitError
	}
	rs, err := st.Rejects(ctx, pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "kontor rejects: %v\n", err)
		return exitError
	}
	if *asJSON {
		if rs == nil {
			rs = []state.RejectRecord{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rs)
		return exitOK
	}
	for _, r := range rs {
		field := ""
		if r.Field != "" {
			field = r.Field + ": "
		}
		fmt.Fprintf(stdout, "%s: %s: %s%s\n", r.Origin, r.Step, field, r.Reason)
	}
	return exitOK
}
