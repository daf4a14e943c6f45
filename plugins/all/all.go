// Package all is the explicit list of Kontor's built-in plugins. Only
// cmd/ imports it; there is no init() registration anywhere.
package all

import (
	"github.com/kontor-etl/kontor/plugins/csv"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// Builtins returns the built-in plugins in a fixed order.
func Builtins() []sdk.Plugin {
	return []sdk.Plugin{
		csv.Plugin(),
	}
}
