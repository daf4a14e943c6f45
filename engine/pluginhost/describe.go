package pluginhost

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// EngineFields returns the keys the engine itself reads from a step of
// component c (they sit beside the component's own options in the YAML):
// type and name for every step, path for file components, when for sinks.
func EngineFields(c sdk.Component) []sdk.Field {
	fs := []sdk.Field{
		{Name: "type", Type: sdk.TypeString, Required: true,
			Description: "Component type, \"<plugin>.<component>\" or a core transform name.", Example: "csv.read"},
		{Name: "name", Type: sdk.TypeString,
			Description: "Step name used in reports, rejects and logs; defaults to \"<section>[i]\".", Example: "export_abos"},
	}
	if c.IO == sdk.IOFile {
		switch c.Kind {
		case sdk.KindSource:
			fs = append(fs, sdk.Field{Name: "path", Type: sdk.TypeString, Required: true,
				Description: "Glob of the input files relative to the pipeline file; matches are read in name order and no match is an error.",
				Example:     "in/abos_*.csv"})
		case sdk.KindSink:
			fs = append(fs, sdk.Field{Name: "path", Type: sdk.TypeString, Required: true,
				Description: "Output file name relative to the pipeline file; {date} (YYYYMMDD), {time} (HHMMSS), {run} (run id) and {name} (pipeline name) are replaced; written to a temporary file and renamed into place only when the run succeeds.",
				Example:     "out/abos_{date}.csv"})
		}
	}
	if c.Kind == sdk.KindSink {
		fs = append(fs, sdk.Field{Name: "when", Type: sdk.TypeString, Expr: sdk.ExprBool,
			Description: "Routing condition; only records for which it is true reach this sink (default: every record).",
			Example:     "status == \"matched\""})
	}
	return fs
}

// Describe renders the reference of component typ as markdown (readable
// as plain text too): summary, description, engine keys, options with type,
// required, default, enum, description and example (nested options
// indented), and the examples. An unknown name is an error with a
// did-you-mean hint.
func (r *Registry) Describe(typ string) (string, error) {
	e, ok := r.types[typ]
	if !ok {
		msg := fmt.Sprintf("unknown component %q", typ)
		if s := suggest(typ, r.Names()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return "", fmt.Errorf("%s", msg)
	}
	c := e.comp
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", typ)
	kind := string(c.Kind)
	if c.IO == sdk.IOFile {
		kind = "file " + kind
	}
	plugin := "core"
	if e.plugin != "" {
		plugin = "plugin " + e.plugin
	}
	if idx, ok := r.byName[e.plugin]; ok && r.plugins[idx].Version != "" {
		plugin += " " + r.plugins[idx].Version
	}
	fmt.Fprintf(&b, "%s · %s\n\n", kind, plugin)
	if c.Summary != "" {
		fmt.Fprintf(&b, "%s\n\n", c.Summary)
	}
	if d := strings.TrimSpace(c.Description); d != "" {
		fmt.Fprintf(&b, "%s\n\n", d)
	}
	b.WriteString("## Engine keys\n\n")
	writeFields(&b, EngineFields(c), 0)
	b.WriteString("\n## Options\n\n")
	if len(c.Spec.Fields) == 0 {
		b.WriteString("This component has no options.\n")
	} else {
		writeFields(&b, c.Spec.Fields, 0)
	}
	if len(c.Examples) > 0 {
		b.WriteString("\n## Examples\n")
		for _, ex := range c.Examples {
			fmt.Fprintf(&b, "\n```yaml\n%s\n```\n", strings.TrimRight(ex, "\n"))
		}
	}
	return b.String(), nil
}

func writeFields(b *strings.Builder, fs []sdk.Field, depth int) {
	indent := strings.Repeat("  ", depth)
	for _, f := range fs {
		fmt.Fprintf(b, "%s- **%s** (%s)", indent, f.Name, typeText(f))
		var notes []string
		if f.Required {
			notes = append(notes, "required")
		}
		if f.Default != nil {
			notes = append(notes, "default "+valueText(f.Default))
		}
		if len(notes) > 0 {
			b.WriteString(", " + strings.Join(notes, ", "))
		}
		b.WriteString(": ")
		b.WriteString(f.Description)
		if len(f.Enum) > 0 {
			q := make([]string, len(f.Enum))
			for i, v := range f.Enum {
				q[i] = valueText(v) // quotes "" and " " so they stay visible
			}
			b.WriteString(" One of " + strings.Join(q, ", ") + ".")
		}
		if f.Pattern != "" {
			b.WriteString(" Must match `" + f.Pattern + "`.")
		}
		if f.Min != nil || f.Max != nil {
			b.WriteString(" " + boundsText(f) + ".")
		}
		if f.Secret {
			b.WriteString(" Secret: redacted in logs and reports; use ${env:NAME} or ${file:PATH}.")
		}
		if f.Deprecated != "" {
			b.WriteString(" Deprecated: " + strings.TrimSuffix(f.Deprecated, ".") + ".") // a sentence; lint shows the message as is
		}
		if f.Example != nil {
			b.WriteString(" Example: " + valueText(f.Example) + ".")
		}
		b.WriteByte('\n')
		if len(f.Children) > 0 {
			writeFields(b, f.Children, depth+1)
		}
	}
}

func typeText(f sdk.Field) string {
	t := string(f.Type)
	switch f.Type {
	case sdk.TypeList:
		switch {
		case len(f.Children) > 0:
			t = "list of objects"
		case f.Elem != "":
			t = "list of " + string(f.Elem)
		}
	case sdk.TypeMap:
		if f.Elem != "" {
			t = "map of " + string(f.Elem)
		}
	}
	switch f.Expr {
	case sdk.ExprBool:
		t += ", boolean expression"
	case sdk.ExprValue:
		t += ", expression"
	}
	return t
}

func boundsText(f sdk.Field) string {
	what := "Value"
	if f.Type == sdk.TypeList {
		what = "Length"
	}
	switch {
	case f.Min != nil && f.Max != nil:
		return fmt.Sprintf("%s %d to %d", what, *f.Min, *f.Max)
	case f.Min != nil:
		return fmt.Sprintf("%s at least %d", what, *f.Min)
	default:
		return fmt.Sprintf("%s at most %d", what, *f.Max)
	}
}

// valueText renders a default or example: scalars inline in backticks,
// lists and maps as flow YAML.
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		if strings.TrimSpace(x) == "" { // "", " ", "\t": invisible in backquotes
			return "`" + strconv.Quote(x) + "`"
		}
		if strings.Contains(x, "\n") {
			return "`" + strings.ReplaceAll(x, "\n", "\\n") + "`"
		}
		return "`" + x + "`"
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return fmt.Sprintf("`%v`", v)
	}
	setFlow(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return fmt.Sprintf("`%v`", v)
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}

func setFlow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
	}
	for _, c := range n.Content {
		setFlow(c)
	}
}

// suggest returns the closest name to s: a unique name whose component part
// equals s ("read" -> "csv.read"), else diag.Suggest.
func suggest(s string, names []string) string {
	var suffix []string
	for _, n := range names {
		if strings.HasSuffix(n, "."+s) {
			suffix = append(suffix, n)
		}
	}
	if len(suffix) == 1 {
		return suffix[0]
	}
	return diag.Suggest(s, names)
}
