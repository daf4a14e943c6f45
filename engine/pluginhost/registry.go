// Package pluginhost holds the registry of plugins a kontor binary knows:
// the built-ins it links (plugins/all, the engine's core transforms) and,
// later, external plugins served over go-plugin. Registration is explicit
// (NewRegistry, Add); there is no global state, so tests build isolated
// registries.
//
// Component names: a component of plugin "csv" named "read" is addressed in
// YAML as "csv.read". Components of a plugin with Name "" (the engine's core
// transforms: filter, map, validate, dedup, ...) are addressed unqualified.
package pluginhost

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Registry maps component type names to components. The zero value is not
// usable; call NewRegistry. A Registry is not safe for concurrent Add; Lookup
// and the other read methods are safe once registration is done.
type Registry struct {
	plugins []sdk.Plugin
	byName  map[string]int // plugin name -> index in plugins
	types   map[string]entry
}

type entry struct {
	comp   sdk.Component
	plugin string
}

// NewRegistry builds a registry from plugins, in order. Two plugins with the
// same name, two components with the same type name, or names that are not
// snake_case are an error.
func NewRegistry(plugins ...sdk.Plugin) (*Registry, error) {
	r := &Registry{byName: map[string]int{}, types: map[string]entry{}}
	for _, p := range plugins {
		if err := r.Add(p); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers one more plugin (the seam for external plugins). On error
// the registry is unchanged.
func (r *Registry) Add(p sdk.Plugin) error {
	if p.Name != "" && !nameRE.MatchString(p.Name) {
		return fmt.Errorf("plugin name %q: must match %s", p.Name, nameRE)
	}
	if _, dup := r.byName[p.Name]; dup {
		if p.Name == "" {
			// Several unnamed (core) plugins may be registered, e.g. the
			// core transforms and the staging transforms; their component
			// names must still be unique (checked below).
		} else {
			return fmt.Errorf("duplicate plugin %q", p.Name)
		}
	}
	added := map[string]entry{}
	for _, c := range p.Components {
		if !nameRE.MatchString(c.Name) {
			return fmt.Errorf("plugin %q: component name %q: must match %s", p.Name, c.Name, nameRE)
		}
		typ := TypeName(p.Name, c.Name)
		if _, dup := r.types[typ]; dup {
			return fmt.Errorf("duplicate component %q", typ)
		}
		if _, dup := added[typ]; dup {
			return fmt.Errorf("duplicate component %q", typ)
		}
		if err := checkConstructor(c); err != nil {
			return fmt.Errorf("component %q: %w", typ, err)
		}
		added[typ] = entry{comp: c, plugin: p.Name}
	}
	for k, v := range added {
		r.types[k] = v
	}
	if _, ok := r.byName[p.Name]; !ok {
		r.byName[p.Name] = len(r.plugins)
	}
	r.plugins = append(r.plugins, p)
	return nil
}

// checkConstructor verifies that the constructor matching Kind and IO is set.
func checkConstructor(c sdk.Component) error {
	var ok bool
	switch c.Kind {
	case sdk.KindSource:
		if c.IO == sdk.IOFile {
			ok = c.NewDecoder != nil
		} else {
			ok = c.NewSource != nil
		}
	case sdk.KindTransform:
		ok = c.NewTransform != nil
	case sdk.KindSink:
		if c.IO == sdk.IOFile {
			ok = c.NewEncoder != nil
		} else {
			ok = c.NewSink != nil
		}
	default:
		return fmt.Errorf("unknown kind %q", c.Kind)
	}
	if !ok {
		return fmt.Errorf("no constructor for kind %q with io %q", c.Kind, c.IO)
	}
	return nil
}

// TypeName returns the YAML type of component comp of plugin plugin:
// "plugin.comp", or "comp" for the unnamed core plugin.
func TypeName(plugin, comp string) string {
	if plugin == "" {
		return comp
	}
	return plugin + "." + comp
}

// Lookup returns the component registered as typ ("csv.read", "filter")
// and the name of its plugin. It implements spec.Registry.
func (r *Registry) Lookup(typ string) (sdk.Component, string, bool) {
	e, ok := r.types[typ]
	return e.comp, e.plugin, ok
}

// Names returns all component type names, sorted. It implements
// spec.Registry (for did-you-mean suggestions).
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.types))
	for k := range r.types {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Plugins returns the registered plugins in registration order.
func (r *Registry) Plugins() []sdk.Plugin { return append([]sdk.Plugin(nil), r.plugins...) }

// Entry is one row of List.
type Entry struct {
	Type    string   `json:"type"`
	Kind    sdk.Kind `json:"kind"`
	Plugin  string   `json:"plugin"`
	Version string   `json:"version,omitempty"`
	Summary string   `json:"summary"`
}

// List returns every component, sorted by kind (sources, transforms,
// sinks), then type name.
func (r *Registry) List() []Entry {
	out := make([]Entry, 0, len(r.types))
	for _, p := range r.plugins {
		for _, c := range p.Components {
			out = append(out, Entry{Type: TypeName(p.Name, c.Name), Kind: c.Kind, Plugin: p.Name, Version: p.Version, Summary: c.Summary})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if ki, kj := kindOrder(out[i].Kind), kindOrder(out[j].Kind); ki != kj {
			return ki < kj
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func kindOrder(k sdk.Kind) int {
	switch k {
	case sdk.KindSource:
		return 0
	case sdk.KindTransform:
		return 1
	case sdk.KindSink:
		return 2
	}
	return 3
}
