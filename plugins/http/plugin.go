// Package http is the generic REST/JSON plugin for partners without a
// dedicated plugin: http.json_read pages through a JSON API into records,
// http.json_write sends records as JSON (per batch or per record, with
// optional read-modify-write upserts for APIs that replace the whole
// object on update, such as Hypersoft's SetCustomer). Both use the shared
// connection options of plugins/sdk/httpclient (auth, TLS, retries, exact
// rate limit, redacted payload dumps).
//
// YAML names them http.json_read and http.json_write: component names are
// unique within a plugin, so the source and the sink cannot both be called
// "json".
package http

import (
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Plugin returns the http plugin.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "http",
		Version:     "0.1.0",
		Description: "Reads records from and writes records to REST APIs that speak JSON.",
		Components: []sdk.Component{
			{Name: "json_read", Kind: sdk.KindSource, IO: sdk.IONone,
				Summary:     "Reads records from a paginated JSON API, only what changed since the last run.",
				Description: readDescription, Spec: readSpec(), NewSource: newRead, Schema: readSchema,
				Examples: []string{readExample}},
			{Name: "json_write", Kind: sdk.KindSink, IO: sdk.IONone,
				Summary:     "Sends records as JSON to an API, per batch or per record, optionally as read-modify-write upserts.",
				Description: writeDescription, Spec: writeSpec(), NewSink: newWrite,
				Examples: []string{writeExample}},
		},
	}
}
