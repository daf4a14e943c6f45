package staging

import (
	"sort"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// withStringFields returns in plus a string field for each name it does not
// have yet (existing fields keep their place). It is the output schema of
// lookup and reconcile, at lint time and at run time alike.
func withStringFields(in *record.Schema, names []string) (*record.Schema, error) {
	fields := in.Fields()
	for _, t := range names {
		if in.Index(t) < 0 {
			fields = append(fields, record.Field{Name: t, Kind: record.KindString})
		}
	}
	return record.NewSchema(fields...)
}

// staticSchema adapts a config → added-field-names function into
// sdk.Component.OutputSchema, so steps after lookup/reconcile are checked
// at lint time against the fields these transforms add.
func staticSchema(added func(cfg sdk.Config) []string) func(sdk.Config, *record.Schema, func(string) record.Kind) (*record.Schema, error) {
	return func(cfg sdk.Config, in *record.Schema, _ func(string) record.Kind) (*record.Schema, error) {
		if in == nil {
			return nil, nil
		}
		return withStringFields(in, added(cfg))
	}
}

// selectKeys returns the sorted keys of a config's `select` map.
func selectKeys(cfg sdk.Config) []string {
	m, _ := cfg["select"].(map[string]any)
	return sortedKeys(m)
}
