package pluginhost

import (
	"path/filepath"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
)

// PipelineRef is one entry of a pipeline's top-level `plugins:` list:
//
//	plugins:
//	  - name: vat                                  # required: the plugin name
//	    path: ./bin/kontor-plugin-vat              # optional; default: found in the plugin directories
//	    sha256: 3f9a...                            # optional pin (64 hex digits); a mismatch is refused (exit 2)
//	    env: [VAT_API_TOKEN, "MODE=strict"]        # optional: variables passed to the plugin (nothing else is)
//	    timeout: 30s                               # optional: per-batch deadline (default 60s)
type PipelineRef struct {
	PluginRef
	Pos diag.Pos // of the list entry
}

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(=.*)?$`)

// PipelinePlugins reads the `plugins:` list of the pipeline file (src is
// its content). Relative paths are resolved against the file's directory.
// Problems are positioned diagnostics; a file that is not YAML yields no
// refs and no diagnostics (the loader reports it).
func PipelinePlugins(file string, src []byte) ([]PipelineRef, diag.List) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil || len(root.Content) == 0 {
		return nil, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return nil, nil
	}
	pos := func(n *yaml.Node) diag.Pos { return diag.Pos{File: file, Line: n.Line, Col: n.Column} }
	var ds diag.List
	var out []PipelineRef
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != "plugins" {
			continue
		}
		list := doc.Content[i+1]
		if list.Kind != yaml.SequenceNode {
			ds.Add(diag.Errorf(pos(list), "type", "plugins must be a list of {name, path, sha256, env, timeout}"))
			continue
		}
		seen := map[string]bool{}
		for _, e := range list.Content {
			if e.Kind != yaml.MappingNode {
				ds.Add(diag.Errorf(pos(e), "type", "plugins entry must be a mapping with a name"))
				continue
			}
			ref := PipelineRef{Pos: pos(e)}
			for j := 0; j+1 < len(e.Content); j += 2 {
				k, v := e.Content[j], e.Content[j+1]
				scalar := func() (string, bool) {
					if v.Kind != yaml.ScalarNode {
						ds.Add(diag.Errorf(pos(v), "type", "plugins: %s must be a string", k.Value))
						return "", false
					}
					return v.Value, true
				}
				switch k.Value {
				case "name":
					if s, ok := scalar(); ok {
						if !nameRE.MatchString(s) {
							ds.Add(diag.Errorf(pos(v), "value", "plugins: name %q must match %s", s, nameRE))
						}
						ref.Name = s
					}
				case "path":
					if s, ok := scalar(); ok {
						if !filepath.IsAbs(s) {
							s = filepath.Join(filepath.Dir(file), s)
						}
						ref.Path = s
					}
				case "sha256":
					if s, ok := scalar(); ok {
						if !sha256RE.MatchString(s) {
							ds.Add(diag.Errorf(pos(v), "value", "plugins: sha256 must be 64 hex digits, got %q", s))
						}
						ref.SHA256 = s
					}
				case "timeout":
					if s, ok := scalar(); ok {
						d, err := time.ParseDuration(s)
						if err != nil || d <= 0 {
							ds.Add(diag.Errorf(pos(v), "value", "plugins: timeout must be a positive duration such as 30s, got %q", s))
						}
						ref.CallTimeout = d
					}
				case "env":
					if v.Kind != yaml.SequenceNode {
						ds.Add(diag.Errorf(pos(v), "type", "plugins: env must be a list of NAME or NAME=VALUE"))
						continue
					}
					for _, ev := range v.Content {
						if ev.Kind != yaml.ScalarNode || !envRE.MatchString(ev.Value) {
							ds.Add(diag.Errorf(pos(ev), "value", "plugins: env entry must be NAME or NAME=VALUE, got %q", ev.Value))
							continue
						}
						ref.Env = append(ref.Env, ev.Value)
					}
				default:
					d := diag.Errorf(pos(k), "unknown-key", "unknown key %q in plugins entry", k.Value)
					if s := suggest(k.Value, []string{"name", "path", "sha256", "env", "timeout"}); s != "" {
						d = diag.Errorf(pos(k), "unknown-key", "unknown key %q in plugins entry (did you mean %q?)", k.Value, s)
					}
					ds.Add(d)
				}
			}
			if ref.Name == "" {
				ds.Add(diag.Errorf(ref.Pos, "missing-key", "plugins entry: missing required key \"name\""))
				continue
			}
			if seen[ref.Name] {
				ds.Add(diag.Errorf(ref.Pos, "duplicate", "plugin %q listed twice", ref.Name))
				continue
			}
			seen[ref.Name] = true
			out = append(out, ref)
		}
	}
	return out, ds
}

// Resolve fills in the path of refs without one from the discovered
// plugins; a plugin that is nowhere to be found is an error naming the
// directories searched.
func Resolve(refs []PipelineRef, found []PluginRef, dirs []string) ([]PluginRef, diag.List) {
	var ds diag.List
	var out []PluginRef
	for _, r := range refs {
		if r.Path == "" {
			for _, f := range found {
				if f.Name == r.Name {
					r.Path = f.Path
					break
				}
			}
			if r.Path == "" {
				ds.Add(diag.Errorf(r.Pos, "plugin", "plugin %q not found: no %s%s in %v (give path: or --plugin-dir)", r.Name, PluginPrefix, r.Name, dirs))
				continue
			}
		}
		out = append(out, r.PluginRef)
	}
	return out, ds
}
