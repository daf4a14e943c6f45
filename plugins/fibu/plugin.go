package fibu

import "github.com/kontor-etl/kontor/plugins/sdk"

// Plugin returns the fibu plugin: DATEV EXTF reader and writer and the configurable XML sink.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "fibu",
		Version:     "0.1.0",
		Description: "Exports and imports for financial accounting: DATEV EXTF (Buchungsstapel, Debitoren/Kreditoren) and settlement XML.",
		Components:  []sdk.Component{ExtfReader(), ExtfWriter(), XMLWriter()},
	}
}
