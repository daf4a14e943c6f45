package csv

import "github.com/kontor-etl/kontor/plugins/sdk"

// Version is the version of the csv plugin.
const Version = "1.0.0"

// Plugin returns the csv plugin with its components csv.read and csv.write.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "csv",
		Version:     Version,
		Description: "Reads and writes delimited text files such as CSV and German semicolon exports.",
		Components:  []sdk.Component{readComponent(), writeComponent()},
	}
}
