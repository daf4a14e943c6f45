package pluginhost

import (
	"encoding/json"
	"sort"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

// SchemaID is the $id of the pipeline JSON Schema.
const SchemaID = "https://github.com/kontor-etl/kontor/pipeline.schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of pipeline files for
// the components in the registry, for editor completion and validation
// (e.g. the YAML language server's `# yaml-language-server: $schema=`).
// Each step is a oneOf over the components of its kind, told apart by
// `type`; every component's options come from its Spec with descriptions,
// defaults, enums and examples. Patterns are not included (Go regexp
// syntax is not ECMA 262); kontor lint checks them.
func (r *Registry) JSONSchema() ([]byte, error) {
	defs := map[string]any{}
	refs := map[sdk.Kind][]any{}
	for _, typ := range r.Names() {
		e := r.types[typ]
		defs[typ] = componentSchema(typ, e.comp)
		refs[e.comp.Kind] = append(refs[e.comp.Kind], map[string]any{"$ref": "#/$defs/" + jsonPointerEscape(typ)})
	}
	for _, k := range []sdk.Kind{sdk.KindSource, sdk.KindTransform, sdk.KindSink} {
		if refs[k] == nil {
			refs[k] = []any{}
		}
	}
	defs["source"] = map[string]any{"oneOf": refs[sdk.KindSource]}
	defs["transform"] = map[string]any{"oneOf": refs[sdk.KindTransform]}
	defs["sink"] = map[string]any{"oneOf": refs[sdk.KindSink]}
	s := map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID,
		"title":                "Kontor pipeline",
		"type":                 "object",
		"required":             []string{"source", "sinks"},
		"additionalProperties": false,
		"properties": map[string]any{
			"version":     map[string]any{"type": "integer", "const": 1, "description": "Pipeline format version; currently 1."},
			"name":        map[string]any{"type": "string", "description": "Pipeline name used for state, locks and reports; defaults to the file name without extension."},
			"description": map[string]any{"type": "string", "description": "What the pipeline does, for people."},
			"batch_size":  map[string]any{"type": "integer", "minimum": 1, "default": 1000, "description": "Records per batch moving through the pipeline."},
			"schedule":    map[string]any{"type": "string", "description": "Cron expression for a scheduler.", "examples": []any{"*/5 * * * *"}},
			"source":      map[string]any{"$ref": "#/$defs/source"},
			"transforms":  map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/transform"}, "description": "Transforms applied in order."},
			"sinks":       map[string]any{"type": "array", "minItems": 1, "items": map[string]any{"$ref": "#/$defs/sink"}, "description": "Where records go; each may have a when condition."},
			"rejects": map[string]any{"type": "object", "additionalProperties": false, "description": "Where rejected records are written.",
				"properties": map[string]any{"path": map[string]any{"type": "string", "description": "Reject CSV path (template like sink paths); default: the first file sink's path plus .rejects.csv."}}},
			"on_error": map[string]any{"type": "object", "additionalProperties": false, "description": "What a rejected record means for the run.",
				"properties": map[string]any{
					"policy":      map[string]any{"enum": []any{"reject", "fail"}, "default": "reject", "description": "reject: continue and end WARNING; fail: abort at the first reject."},
					"max_rejects": map[string]any{"type": "integer", "minimum": 0, "default": 0, "description": "Abort (ERROR) when more records are rejected; 0 means no limit."},
				}},
			"state": map[string]any{"type": "object", "additionalProperties": false, "description": "Incremental runs.",
				"properties": map[string]any{
					"incremental": map[string]any{"type": "boolean", "default": false, "description": "Give components the start of the last successful run as the window start."},
					"overlap":     map[string]any{"type": "string", "description": "Duration subtracted from the watermark to re-read the edge.", "examples": []any{"10m"}},
				}},
		},
		"$defs": defs,
	}
	return json.MarshalIndent(s, "", "  ")
}

func jsonPointerEscape(s string) string {
	// "~" and "/" never occur in component names (snake_case and ".").
	return s
}

func componentSchema(typ string, c sdk.Component) map[string]any {
	props := map[string]any{}
	var required []string
	for _, f := range EngineFields(c) {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	props["type"] = map[string]any{"const": typ, "description": c.Summary}
	for _, f := range c.Spec.Fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	sort.Strings(required)
	out := map[string]any{
		"type": "object", "title": typ, "properties": props,
		"required": required, "additionalProperties": false,
	}
	if c.Summary != "" {
		out["description"] = c.Summary
	}
	return out
}

func scalarSchema(t sdk.Type) map[string]any {
	switch t {
	case sdk.TypeString:
		return map[string]any{"type": "string"}
	case sdk.TypeInt:
		return map[string]any{"type": "integer"}
	case sdk.TypeBool:
		return map[string]any{"type": "boolean"}
	case sdk.TypeDecimal:
		return map[string]any{"type": []any{"string", "number"}}
	case sdk.TypeDuration:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
	}
	return map[string]any{}
}

func fieldSchema(f sdk.Field) map[string]any {
	var s map[string]any
	switch f.Type {
	case sdk.TypeEnum:
		vals := make([]any, len(f.Enum))
		for i, v := range f.Enum {
			vals[i] = v
		}
		s = map[string]any{"enum": vals}
	case sdk.TypeList:
		var items map[string]any
		if len(f.Children) > 0 {
			items = objectSchema(f.Children)
		} else {
			items = scalarSchema(f.Elem)
		}
		s = map[string]any{"type": "array", "items": items}
		if f.Min != nil {
			s["minItems"] = *f.Min
		}
		if f.Max != nil {
			s["maxItems"] = *f.Max
		}
	case sdk.TypeObject:
		s = objectSchema(f.Children)
	case sdk.TypeMap:
		s = map[string]any{"type": "object", "additionalProperties": scalarSchema(f.Elem)}
	default:
		s = scalarSchema(f.Type)
		if f.Type == sdk.TypeInt {
			if f.Min != nil {
				s["minimum"] = *f.Min
			}
			if f.Max != nil {
				s["maximum"] = *f.Max
			}
		}
	}
	if f.Expr == sdk.ExprValue && f.Type != sdk.TypeMap && f.Type != sdk.TypeList {
		delete(s, "type") // an expression may also be a literal of any kind
	}
	if f.Description != "" {
		s["description"] = f.Description
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	if f.Example != nil {
		s["examples"] = []any{f.Example}
	}
	if f.Deprecated != "" {
		s["deprecated"] = true
	}
	return s
}

func objectSchema(fs []sdk.Field) map[string]any {
	props := map[string]any{}
	var required []string
	for _, c := range fs {
		props[c.Name] = fieldSchema(c)
		if c.Required {
			required = append(required, c.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}
