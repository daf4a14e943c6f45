// Package staging holds the transforms that need a database: dedup,
// lookup, reconcile and sql. It is (with engine/state/duckstate) the only
// place that imports DuckDB.
//
// Each step that needs one gets its own temporary DuckDB database (in
// memory, spilling to a directory under the system temp directory beyond
// MemoryLimit; created lazily on the first batch and removed at Close), loaded with the DuckDB Appender, never one INSERT per
// record. dedup needs no staging database: within a run it keeps 128-bit
// key fingerprints in a Go map; with scope ledger it holds records back in
// chunks (DedupChunk) and looks each chunk's keys up in the state store's
// ledger with one query (state.Run.LedgerLookup; duckstate appends the
// keys to a temporary table and joins).
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
