// Command kontor-plugin-example is Kontor's example external plugin. It
// serves example.vat_split (package vat) and example.ticket_fixed (package
// tickets) over the plugin protocol; kontor starts it, it is not run by
// hand.
//
// Build it with `make plugins` (into bin/plugins/) or
//
//	go build -o bin/plugins/kontor-plugin-example ./plugins/example
//
// and see docs/plugin-authors.md.
package main

import (
	"github.com/kontor-etl/kontor/plugins/example/tickets"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

func main() { sdk.Serve(plugin()) }

// plugin is the example plugin: vat.Plugin() plus the ticket reader.
func plugin() sdk.Plugin {
	p := vat.Plugin()
	p.Description = "Example external plugin: VAT split of gross amounts; a ticket vendor's fixed-width settlement files."
	p.Components = append(p.Components, tickets.FixedComponent())
	return p
}
