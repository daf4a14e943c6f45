package tixngo

import (
	"testing"

	"github.com/kontor-etl/kontor/plugins/sdk/sdktest"
)

// The spec follows the conventions (names, sentences, valid defaults) and
// each config struct has exactly the spec's keys; both checks come from the
// SDK's conformance kit that every plugin author uses.
func TestSpecConventionsAndConfigAgreement(t *testing.T) {
	p := Plugin()
	sdktest.LintPlugin(t, p)
	structs := map[string]any{"inject": InjectConfig{}, "cancel": CancelConfig{}, "control": ControlConfig{},
		"privileges": PrivilegesConfig{}, "status": StatusConfig{}}
	for _, c := range p.Components {
		sdktest.CheckConfig(t, c.Spec, structs[c.Name])
	}
	for _, f := range injectSpec().Fields {
		if f.Name == "api_key" && !f.Secret {
			t.Error("api_key must be Secret")
		}
	}
}
