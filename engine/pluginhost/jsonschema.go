package pluginhost

import "github.com/kontor-etl/kontor/engine/spec"

// JSONSchema returns the JSON Schema of the pipeline file format with the
// config of every registered component (built-in and external alike), for
// editor completion (`kontor schema`). The format is defined once, by
// spec.JSONSchema, next to the loader that enforces it.
func (r *Registry) JSONSchema() ([]byte, error) { return spec.JSONSchema(r) }
