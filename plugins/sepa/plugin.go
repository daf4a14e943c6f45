package sepa

import "github.com/kontor-etl/kontor/plugins/sdk"

// Plugin returns the sepa plugin: sepa.pain008, sepa.pain001 and sepa.camt.
func Plugin() sdk.Plugin {
	return sdk.Plugin{
		Name:        "sepa",
		Version:     "0.1.0",
		Description: "SEPA direct debit and credit transfer files (pain.008, pain.001) and bank statements (camt.052/053/054).",
		Components: []sdk.Component{
			Pain008Component(),
			Pain001Component(),
			CamtComponent(),
		},
	}
}
