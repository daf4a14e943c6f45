// Package staging holds the transforms that need a database: dedup,
// lookup, reconcile and sql. It is (with engine/state/duckstate) the only
// place that imports DuckDB.
//
// Each step that needs one gets its own temporary DuckDB database (a file
// under the system temp directory, created lazily on the first batch and
// removed at Close), loaded with the DuckDB Appender, never one INSERT per
// record. dedup needs no DuckDB at all: it keeps compact Go hash sets.
//
// The components are engine built-ins: Plugin has Name "", so YAML writes
// `type: dedup`, `type: lookup`, `type: reconcile`, `type: sql`.
package staging

import "github.com/kontor-etl/kontor/plugins/sdk"

// Plugin returns the staging transforms.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "",
		Version:     "1.0.0",
		Description: "Staging transforms backed by an embedded DuckDB: dedup, lookup, reconcile and sql.",
		Components:  []sdk.Component{dedupComponent(), lookupComponent(), reconcileComponent(), sqlComponent()},
	}
}
