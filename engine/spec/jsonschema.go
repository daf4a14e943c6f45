package spec

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/kontor-etl/kontor/plugins/sdk"
)

// JSONSchema returns a JSON Schema (draft 2020-12) of the pipeline file
// format including the config of every component in reg, for editor
// completion and validation (`kontor schema`). Steps are a oneOf over the
// components of their section, told apart by the `type` const. Values that
// use ${env:...} interpolation in non-string fields are not covered.
func JSONSchema(reg Registry) ([]byte, error) {
	type obj = map[string]any
	defs := obj{}
	sections := map[sdk.Kind][]any{}
	names := append([]string(nil), reg.Names()...)
	sort.Strings(names)
	for _, n := range names {
		c, _, ok := reg.Lookup(n)
		if !ok {
			continue
		}
		defs["component:"+n] = componentSchema(n, c)
		sections[c.Kind] = append(sections[c.Kind], obj{"$ref": "#/$defs/component:" + n})
	}
	for kind, def := range map[sdk.Kind]string{sdk.KindSource: "source", sdk.KindTransform: "transform", sdk.KindSink: "sink"} {
		refs := sections[kind]
		if len(refs) == 0 {
			refs = []any{obj{"type": "object", "required": []string{"type"}}}
		}
		defs[def] = obj{"oneOf": refs}
	}
	root := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://kontor-etl.github.io/schema/pipeline.json",
		"title":                "Kontor pipeline",
		"description":          "A Kontor ETL pipeline: one source, transforms in order, one or more sinks.",
		"type":                 "object",
		"required":             []string{"version", "source", "sinks"},
		"additionalProperties": false,
		"properties": obj{
			"version":     obj{"const": Current, "description": "Version of the pipeline format; only 1 is known."},
			"name":        obj{"type": "string", "description": "Name of the pipeline; default: the file name without extension."},
			"description": obj{"type": "string", "description": "What the pipeline does."},
			"batch_size":  obj{"type": "integer", "minimum": 1, "default": DefaultBatchSize, "description": "Records per batch."},
			"source":      obj{"$ref": "#/$defs/source"},
			"transforms":  obj{"type": "array", "items": obj{"$ref": "#/$defs/transform"}, "description": "Transforms, applied in order."},
			"sinks":       obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/sink"}, "description": "Sinks; each gets every record (or those matching its when condition)."},
			"rejects": obj{"type": "object", "additionalProperties": false, "description": "Where rejected records go.",
				"properties": obj{
					"path":    obj{"type": "string", "description": "Rejects file; default: <first file sink path without .age>.rejects.csv, plus .age when encrypted."},
					"encrypt": rejectsEncryptSchema,
				}},
			"on_error": obj{"type": "object", "additionalProperties": false, "description": "Error policy.",
				"properties": obj{
					"policy":      obj{"enum": []string{"fail", "reject"}, "default": "reject", "description": "fail aborts at the first reject; reject continues and ends WARNING."},
					"max_rejects": obj{"type": "integer", "minimum": 0, "default": 0, "description": "Abort when more records are rejected; 0 means no limit."},
				}},
			"state": obj{"type": "object", "additionalProperties": false, "description": "Incremental runs.",
				"properties": obj{
					"incremental": obj{"type": "boolean", "default": false, "description": "Only process what is new since the last successful run."},
					"overlap":     obj{"type": "string", "pattern": durationPattern, "description": "How far the window reaches back before the watermark, e.g. 10m."},
				}},
			"schedule": obj{"type": "string", "description": "Cron expression (5 fields) or @hourly/@daily/@every <duration>."},
			"notify":   notifySchema,
		},
		"$defs": defs,
	}
	return json.MarshalIndent(root, "", "  ")
}

const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

func componentSchema(name string, c sdk.Component) map[string]any {
	props := map[string]any{
		"type": map[string]any{"const": name, "description": c.Summary},
		"name": map[string]any{"type": "string", "pattern": stepNameRE.String(), "description": "Step name, unique in the pipeline."},
	}
	required := []string{"type"}
	if c.IO == sdk.IOFile {
		desc := "Glob of the input files, relative to the pipeline file."
		if c.Kind == sdk.KindSink {
			desc = "Output file name (template), relative to the pipeline file."
		}
		props["path"] = map[string]any{"type": "string", "minLength": 1, "description": desc}
		props["exchange"] = exchangeSchema(c.Kind == sdk.KindSource)
		required = append(required, "path")
	}
	if c.Kind == sdk.KindSink {
		props["when"] = map[string]any{"type": "string", "description": "Routing condition (bool expression); the sink gets only matching records."}
		if c.IO == sdk.IOFile {
			props["encrypt"] = encryptSchema
		}
	}
	for _, f := range c.Spec.Fields {
		if _, engine := props[f.Name]; engine && (f.Name != "path" && f.Name != "exchange" || c.IO == sdk.IOFile) {
			continue
		}
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	desc := c.Summary
	if c.Description != "" {
		desc = c.Description
	}
	return map[string]any{
		"type": "object", "title": name, "description": desc,
		"properties": props, "required": required, "additionalProperties": false,
	}
}

func fieldSchema(f sdk.Field) map[string]any {
	s := map[string]any{}
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
		s["description"] = strings.TrimSpace(f.Description + " Deprecated: " + f.Deprecated)
	}
	if f.Expr != sdk.ExprNone && f.Type != sdk.TypeMap && f.Type != sdk.TypeList {
		s["type"] = "string"
		s["description"] = strings.TrimSpace(f.Description + " (" + string(f.Expr) + " expression)")
		return s
	}
	switch f.Type {
	case sdk.TypeString:
		s["type"] = "string"
		if f.Pattern != "" && !strings.Contains(f.Pattern, "(?") {
			s["pattern"] = "^(?:" + f.Pattern + ")$"
		}
	case sdk.TypeInt:
		s["type"] = "integer"
		if f.Min != nil {
			s["minimum"] = *f.Min
		}
		if f.Max != nil {
			s["maximum"] = *f.Max
		}
	case sdk.TypeBool:
		s["type"] = "boolean"
	case sdk.TypeDecimal:
		s["type"] = []string{"string", "number"}
	case sdk.TypeDuration:
		s["type"] = "string"
		s["pattern"] = durationPattern
	case sdk.TypeEnum:
		s["enum"] = f.Enum
	case sdk.TypeList:
		s["type"] = "array"
		if len(f.Children) > 0 {
			s["items"] = objectSchema(f.Children)
		} else {
			s["items"] = fieldSchema(sdk.Field{Type: elemType(f), Expr: f.Expr})
		}
		if f.Min != nil {
			s["minItems"] = *f.Min
		}
		if f.Max != nil {
			s["maxItems"] = *f.Max
		}
	case sdk.TypeObject:
		for k, v := range objectSchema(f.Children) {
			s[k] = v
		}
	case sdk.TypeMap:
		s["type"] = "object"
		s["additionalProperties"] = fieldSchema(sdk.Field{Type: elemType(f), Expr: f.Expr})
	}
	return s
}

func elemType(f sdk.Field) sdk.Type {
	if f.Elem == "" {
		return sdk.TypeAny
	}
	return f.Elem
}

func objectSchema(fields []sdk.Field) map[string]any {
	props := map[string]any{}
	var required []string
	for _, c := range fields {
		props[c.Name] = fieldSchema(c)
		if c.Required {
			required = append(required, c.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// rejectsEncryptSchema is `rejects.encrypt`: the block of a file sink's
// encrypt:, inherited from the first file sink when the path is the default.
var rejectsEncryptSchema = map[string]any{
	"type": "object", "additionalProperties": false,
	"description": "Encrypt the rejects file with age to these recipients (default: the encryption of the first file sink when path is the default; otherwise plaintext).",
	"properties":  encryptSchema["properties"],
}
