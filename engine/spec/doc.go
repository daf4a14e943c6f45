// Package spec loads pipeline YAML into a Pipeline. It parses into
// yaml.Node so every element keeps its file:line:col, resolves
// ${env:NAME} and ${file:PATH} references (secrets), looks each step's
// component up in the registry, checks its config against the component's
// Spec (unknown keys with did-you-mean, wrong types, enum values, missing
// required keys), applies defaults and compiles expression fields against
// the schema known at that point. All problems are returned at once as a
// diag.List.
package spec
