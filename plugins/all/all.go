// Package all lists Kontor's built-in plugins. It is the one place that
// names them; cmd/kontor passes Builtins() to the plugin host. There is no
// init() registration: add a plugin by adding one line here.
package all

import (
	"github.com/kontor-etl/kontor/plugins/csv"
	"github.com/kontor-etl/kontor/plugins/fibu"
	"github.com/kontor-etl/kontor/plugins/http"
	"github.com/kontor-etl/kontor/plugins/kassenzeichen"
	"github.com/kontor-etl/kontor/plugins/layout"
	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sepa"
	"github.com/kontor-etl/kontor/plugins/tixngo"
	"github.com/kontor-etl/kontor/plugins/xml"
)

// Builtins returns the built-in plugins in a fixed order.
func Builtins() []sdk.Plugin {
	return []sdk.Plugin{
		csv.Plugin(),
		sepa.Plugin(),
		fibu.Plugin(),
		kassenzeichen.Plugin(),
		layout.Plugin(),
		tixngo.Plugin(),
		http.Plugin(),
		xml.Plugin(),
	}
}
