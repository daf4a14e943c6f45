package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	// flagLineRE finds the flags in the output of flag.PrintDefaults.
	flagLineRE = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9-]*)`)
	// flagRefRE finds -name and --name in a usage summary line.
	flagRefRE = regexp.MustCompile(`(?:^|[\s\[|])--?([A-Za-z0-9][A-Za-z0-9-]*)`)
)

// summaryLines returns the "kontor CMD ..." lines of text by command.
func summaryLines(text string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		if f := strings.Fields(trimmed); len(f) >= 2 && f[0] == "kontor" && len(l)-len(trimmed) <= 2 {
			out[f[1]] += " " + strings.Join(f[2:], " ")
		}
	}
	return out
}

// readmeCLIReference returns the "## CLI reference" section of README.md.
func readmeCLIReference(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## CLI reference")
	if i < 0 {
		t.Fatal("README.md has no ## CLI reference section")
	}
	s = s[i+1:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// TestHelpListsEveryFlag keeps the usage summary of `kontor help` and the
// README's CLI reference in step with the commands' flag sets: every flag
// of every command (as `kontor help COMMAND` lists it) appears on that
// command's summary line, or, for the shared external-plugin flags, in the
// plugin flag section; and every flag a summary line names exists.
// Regression: run's -q/--cpuprofile, serve's --base-url/--log-format and
// five schedule flags were missing from `kontor help`.
func TestHelpListsEveryFlag(t *testing.T) {
	pfs := flag.NewFlagSet("x", flag.ContinueOnError)
	pfs.SetOutput(io.Discard)
	addPluginFlags(pfs)
	shared := map[string]bool{}
	pfs.VisitAll(func(f *flag.Flag) { shared[f.Name] = true })

	code, usageText, _ := runCLI(t, "help")
	if code != 0 {
		t.Fatalf("kontor help: exit %d", code)
	}
	readme := readmeCLIReference(t)
	docs := []struct{ name, text string }{{"kontor help", usageText}, {"README.md CLI reference", readme}}
	_, pluginSection, _ := strings.Cut(usageText, "External plugins (")
	pluginCommands, _, _ := strings.Cut(pluginSection, ")")

	for _, c := range commands() {
		code, out, errs := runCLI(t, "help", c.name)
		if code != 0 || errs != "" {
			t.Fatalf("kontor help %s: exit %d\n%s", c.name, code, errs)
		}
		var flags []string
		for _, m := range flagLineRE.FindAllStringSubmatch(out, -1) {
			flags = append(flags, m[1])
		}
		usesPlugins := false
		for _, f := range flags {
			usesPlugins = usesPlugins || shared[f]
		}
		if usesPlugins && !strings.Contains(pluginCommands, c.name) {
			t.Errorf("kontor help: %s takes the external-plugin flags but is not in \"External plugins (%s)\"", c.name, pluginCommands)
		}
		for _, doc := range docs {
			line, ok := summaryLines(doc.text)[c.name]
			if !ok {
				t.Errorf("%s has no summary line for kontor %s", doc.name, c.name)
				continue
			}
			named := map[string]bool{}
			for _, m := range flagRefRE.FindAllStringSubmatch(line, -1) {
				named[m[1]] = true
			}
			for _, f := range flags {
				switch {
				case shared[f]:
					if !strings.Contains(doc.text, "--"+f) {
						t.Errorf("%s does not mention the external-plugin flag --%s", doc.name, f)
					}
				case !named[f]:
					t.Errorf("%s: the summary of kontor %s lacks %s", doc.name, c.name, dashed(f))
				}
			}
			for f := range named {
				if !strings.Contains(out, "  -"+f+" ") && !strings.Contains(out, "  -"+f+"\n") && !strings.Contains(out, "  -"+f+"\t") {
					t.Errorf("%s: the summary of kontor %s names %s, which it does not have", doc.name, c.name, dashed(f))
				}
			}
		}
	}
}

// dashed spells a flag as the summaries do: -q, --state-dir.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
