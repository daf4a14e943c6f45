// Package xml is the generic XML sink: xml.write writes any records as XML
// with a configurable element layout (root element with namespaces and
// attributes, one element per record, element paths and attributes filled
// from fields or constants, an optional summary element). It is the writer
// of fibu.xml (plugins/sdk/xmlout) without the settlement framing, for
// partners that take XML files: a website CMS's event import, a data
// centre's exchange format.
package xml

import "github.com/kontor-etl/kontor/plugins/sdk"

// Plugin returns the xml plugin (component write).
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "xml",
		Version:     "0.1.0",
		Description: "Writes records as XML files with a configurable element layout.",
		Components:  []sdk.Component{Writer()},
	}
}
