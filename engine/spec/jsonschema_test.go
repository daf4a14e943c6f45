package spec

import (
	"encoding/json"
	"testing"
)

func TestJSONSchema(t *testing.T) {
	b, err := JSONSchema(testReg())
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", root["$schema"])
	}
	defs := root["$defs"].(map[string]any)
	read := defs["component:csv.read"].(map[string]any)
	props := read["properties"].(map[string]any)
	if props["type"].(map[string]any)["const"] != "csv.read" {
		t.Errorf("type const: %v", props["type"])
	}
	enc := props["encoding"].(map[string]any)
	if enc["default"] != "utf-8" || len(enc["enum"].([]any)) != 5 {
		t.Errorf("encoding: %v", enc)
	}
	cols := props["columns"].(map[string]any)["items"].(map[string]any)
	if cols["required"].([]any)[0] != "name" {
		t.Errorf("columns items: %v", cols)
	}
	if req := read["required"].([]any); len(req) != 2 || req[1] != "path" {
		t.Errorf("required: %v", req)
	}
	set := defs["component:map"].(map[string]any)["properties"].(map[string]any)["set"].(map[string]any)
	if set["type"] != "object" || set["additionalProperties"].(map[string]any)["type"] != "string" {
		t.Errorf("map.set: %v", set)
	}
	sinks := defs["sink"].(map[string]any)["oneOf"].([]any)
	if len(sinks) != 2 {
		t.Errorf("sinks oneOf: %v", sinks)
	}
	if _, ok := defs["component:http.post"].(map[string]any)["properties"].(map[string]any)["when"]; !ok {
		t.Errorf("sink has no when")
	}
}
