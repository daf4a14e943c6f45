package sdk

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Config is a component's validated configuration: the YAML mapping with
// defaults applied and ${env:...}/${file:...} references resolved, as plain
// data (map[string]any, []any, string, int, bool). Expression fields hold
// their source text; the compiled form comes from Env.Expressions.
type Config map[string]any

// Decode fills v (a pointer to a struct with `yaml:"..."` tags) from the
// config. Keep the struct next to the Spec; sdktest checks that they agree.
func (c Config) Decode(v any) error {
	b, err := yaml.Marshal(map[string]any(c))
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding config: %w", err)
	}
	return nil
}

// String returns the value of a string key, "" if absent.
func (c Config) String(key string) string { s, _ := c[key].(string); return s }
