package sdk

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// ApplyDefaults returns a copy of cfg with the spec's defaults filled in
// for absent keys, recursively for objects and lists of objects. The host
// does this before calling a constructor; tests of a component can call it
// to build a Config the way the host would.
func ApplyDefaults(spec Spec, cfg Config) Config {
	return Config(applyDefaults(spec.Fields, map[string]any(cfg)))
}

func applyDefaults(fields []Field, m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+len(fields))
	for k, v := range m {
		out[k] = v
	}
	for _, f := range fields {
		v, ok := out[f.Name]
		if !ok || v == nil {
			if f.Default != nil {
				out[f.Name] = f.Default
			}
			continue
		}
		switch f.Type {
		case TypeObject:
			if mm, ok := v.(map[string]any); ok && len(f.Children) > 0 {
				out[f.Name] = applyDefaults(f.Children, mm)
			}
		case TypeList:
			if l, ok := v.([]any); ok && len(f.Children) > 0 {
				nl := make([]any, len(l))
				for i, e := range l {
					if mm, ok := e.(map[string]any); ok {
						nl[i] = applyDefaults(f.Children, mm)
					} else {
						nl[i] = e
					}
				}
				out[f.Name] = nl
			}
		}
	}
	return out
}

// ParseConfig parses YAML text into a Config and applies the spec's
// defaults. It does not validate types (the host does); it is meant for
// component tests and examples.
func ParseConfig(spec Spec, yamlText string) (Config, error) {
	var m map[string]any
	if err := yaml.Unmarshal([]byte(yamlText), &m); err != nil {
		return nil, fmt.Errorf("parsing config: %w", err)
	}
	return ApplyDefaults(spec, Config(m)), nil
}
