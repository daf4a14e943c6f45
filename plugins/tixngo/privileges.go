package tixngo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/httpclient"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// PrivilegesConfig is the configuration of tixngo.privileges.
type PrivilegesConfig struct {
	Conn `yaml:",inline"`
	// Path of the instance call (default "organizer/privileges", GUESS).
	Path string `yaml:"path"`
	// DefinitionsPath of the definition calls (default
	// "organizer/privileges/definitions", GUESS).
	DefinitionsPath string `yaml:"definitions_path"`
	// Definition is created if missing before the first instance is sent.
	Definition map[string]any    `yaml:"definition"`
	BatchSize  int               `yaml:"batch_size"`
	Simulation bool              `yaml:"simulation"`
	Fields     map[string]string `yaml:"fields"`
	Constants  map[string]any    `yaml:"constants"`
}

var privilegeDefaults = [][2]string{
	{"privilegeId", "privilege_id"},
	{"definitionId", "definition_id"},
	{"barcode", "barcode"},
	{"holder.firstName", "first_name"},
	{"holder.lastName", "last_name"},
	{"holder.email", "email"},
	{"validFrom", "valid_from"},
	{"validTo", "valid_to"},
	{"purchaseDetails.fileId", "file_id"},
	{"purchaseDetails.price", "price"},
	{"purchaseDetails.currency", "currency"},
}

var privilegeRules = []tixngoapi.FieldRule{
	{Path: "privilegeId", MaxLen: 256, Required: true},
	{Path: "definitionId", MaxLen: 256, Required: true},
	{Path: "barcode", MaxLen: 512, Required: true},
	{Path: "holder.firstName", MaxLen: 50},
	{Path: "holder.lastName", MaxLen: 100},
	{Path: "holder.email", MaxLen: 256},
	{Path: "validFrom", Kind: "datetime"},
	{Path: "validTo", Kind: "datetime"},
	{Path: "purchaseDetails.price", Kind: "number"},
	{Path: "purchaseDetails.currency", MaxLen: 20},
}

func privilegesSpec() sdk.Spec {
	s := sdk.Spec{Fields: connFields()}
	return s.With(append([]sdk.Field{
		{Name: "path", Type: sdk.TypeString, Default: "organizer/privileges",
			Description: "Path of the privilege instance call, relative to the API base (not public: confirm with TIXnGO).", Example: "organizer/privileges"},
		{Name: "definitions_path", Type: sdk.TypeString, Default: "organizer/privileges/definitions",
			Description: "Path of the privilege definition calls (GET {path}/{id}, POST {path}), relative to the API base.", Example: "organizer/privileges/definitions"},
		{Name: "definition", Type: sdk.TypeMap, Elem: sdk.TypeAny,
			Description: "The privilege definition (membership or season card) as JSON fields; it needs an id, is created if missing before the first instance is sent, and its id is the definitionId of records without one.",
			Example:     map[string]any{"id": "ABO-2025", "name": "Theater-Abo 2025/26", "type": "SEASON_CARD"}},
		{Name: "batch_size", Type: sdk.TypeInt, Default: 1000, Min: sdk.Int64(1), Max: sdk.Int64(10000),
			Description: "Most privileges per call.", Example: 1000},
		{Name: "simulation", Type: sdk.TypeBool, Default: false,
			Description: "Build, check and log every call without sending anything.", Example: true},
	}, mappingFields(privilegeDefaults)...)...)
}

func newPrivileges(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Sink, error) {
	var c PrivilegesConfig
	if err := decode(cfg, &c); err != nil {
		return nil, err
	}
	consts := map[string]any{}
	defID := ""
	if c.Definition != nil {
		defID, _ = c.Definition["id"].(string)
		if defID == "" {
			return nil, sdk.FieldError{Path: "definition.id", Message: "the definition needs an id"}
		}
		consts["definitionId"] = defID
	}
	for k, v := range c.Constants {
		consts[k] = v
	}
	s, err := newItemSink(env, c.Conn, c.Path, "privileges", "privileges", c.BatchSize, c.Simulation,
		privilegeDefaults, c.Fields, consts, privilegeRules, nil, "privilegeId")
	if err != nil {
		return nil, err
	}
	if c.Definition != nil {
		body, err := json.Marshal(c.Definition)
		if err != nil {
			return nil, sdk.FieldError{Path: "definition", Message: err.Error()}
		}
		s.before = func(ctx context.Context) error {
			return ensureDefinition(ctx, s.client, c.DefinitionsPath, defID, body)
		}
	}
	return s, nil
}

// ensureDefinition creates the privilege definition if it does not exist.
func ensureDefinition(ctx context.Context, cl *httpclient.Client, path, id string, body []byte) error {
	_, err := cl.Do(ctx, httpclient.Request{Path: path + "/" + url.PathEscape(id)})
	if err == nil {
		return nil
	}
	if !httpclient.IsStatus(err, 404) {
		return fmt.Errorf("looking up privilege definition %q: %w", id, err)
	}
	_, err = cl.Do(ctx, httpclient.Request{Method: "POST", Path: path, Body: body, Idempotent: true})
	if err != nil && !httpclient.IsStatus(err, 409) {
		return fmt.Errorf("creating privilege definition %q: %w", id, err)
	}
	return nil
}
