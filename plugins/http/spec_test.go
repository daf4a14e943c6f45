package http

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

var snake = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// yamlKeys returns the yaml keys of a config struct, following inline embeds.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if strings.Contains(tag, "inline") {
			out = append(out, yamlKeys(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(tag, ","); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

func checkFields(t *testing.T, where string, fs []sdk.Field) {
	for _, f := range fs {
		if !snake.MatchString(f.Name) {
			t.Errorf("%s.%s: name not snake_case", where, f.Name)
		}
		if !strings.HasSuffix(f.Description, ".") || len(f.Description) < 10 || f.Description[0] < 'A' || f.Description[0] > 'Z' {
			t.Errorf("%s.%s: description must be a full sentence: %q", where, f.Name, f.Description)
		}
		if f.Type == "" {
			t.Errorf("%s.%s: no type", where, f.Name)
		}
		checkFields(t, where+"."+f.Name, f.Children)
	}
}

func TestSpecConventionsAndConfigAgreement(t *testing.T) {
	structs := map[string]any{"json_read": ReadConfig{}, "json_write": WriteConfig{}}
	p := Plugin()
	if !snake.MatchString(p.Name) {
		t.Fatal(p.Name)
	}
	for _, c := range p.Components {
		checkFields(t, c.Name, c.Spec.Fields)
		keys := yamlKeys(reflect.TypeOf(structs[c.Name]))
		spec := map[string]bool{}
		for _, n := range c.Spec.Names() {
			spec[n] = true
		}
		for _, k := range keys {
			if !spec[k] {
				t.Errorf("%s: config key %q not in the spec", c.Name, k)
			}
			delete(spec, k)
		}
		for k := range spec {
			t.Errorf("%s: spec field %q not in the config struct", c.Name, k)
		}
		// The defaults decode into the struct.
		cfg := sdk.ApplyDefaults(c.Spec, sdk.Config{"url": "http://127.0.0.1:1/v3"})
		v := reflect.New(reflect.TypeOf(structs[c.Name])).Interface()
		if err := cfg.Decode(v); err != nil {
			t.Errorf("%s: defaults do not decode: %v", c.Name, err)
		}
		if c.Summary == "" || !strings.HasSuffix(c.Summary, ".") {
			t.Errorf("%s: summary %q", c.Name, c.Summary)
		}
	}
	for _, f := range writeSpec().Fields {
		if f.Name == "api_key" && !f.Secret {
			t.Error("api_key must be Secret")
		}
	}
}
