// Command kontor-plugin-example is Kontor's example external plugin. It
// serves the components of package vat (example.vat_split) over the plugin
// protocol; kontor starts it, it is not run by hand.
//
// Build it with `make plugins` (into bin/plugins/) or
//
//	go build -o bin/plugins/kontor-plugin-example ./plugins/example
//
// and see docs/plugin-authors.md.
package main

import (
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func main() { sdk.Serve(vat.Plugin()) }
