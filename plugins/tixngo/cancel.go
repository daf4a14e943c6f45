package tixngo

import (
	"context"

	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/tixngo/tixngoapi"
)

// CancelConfig is the configuration of tixngo.cancel.
type CancelConfig struct {
	Conn `yaml:",inline"`
	// Path of the deletion call (default "organizer/tickets/delete", GUESS).
	Path       string `yaml:"path"`
	BatchSize  int    `yaml:"batch_size"`
	Simulation bool   `yaml:"simulation"`
	// ShowDeleted is the showDeletedTicket value when the record has none.
	ShowDeleted bool `yaml:"show_deleted"`
	// Reason is the deletionReason when the record has none.
	Reason    string            `yaml:"reason"`
	Fields    map[string]string `yaml:"fields"`
	Constants map[string]any    `yaml:"constants"`
}

var cancelDefaults = [][2]string{
	{"ticketId", "ticket_id"},
	{"deletionReason", "deletion_reason"},
	{"showDeletedTicket", "show_deleted"},
}

var cancelRules = []tixngoapi.FieldRule{
	{Path: "ticketId", MaxLen: 256, Required: true},
	{Path: "showDeletedTicket", Kind: "bool"},
	{Path: "deletionReason", MaxLen: 256},
}

func cancelSpec() sdk.Spec {
	s := sdk.Spec{Fields: connFields()}
	return s.With(append([]sdk.Field{
		{Name: "path", Type: sdk.TypeString, Default: "organizer/tickets/delete",
			Description: "Path of the invalidation call, relative to the API base (not public: confirm with TIXnGO).", Example: "organizer/tickets/delete"},
		{Name: "batch_size", Type: sdk.TypeInt, Default: 1000, Min: sdk.Int64(1), Max: sdk.Int64(10000),
			Description: "Most tickets per call.", Example: 1000},
		{Name: "simulation", Type: sdk.TypeBool, Default: false,
			Description: "Build, check and log every call without sending anything.", Example: true},
		{Name: "show_deleted", Type: sdk.TypeBool, Default: false,
			Description: "Value of showDeletedTicket when the record's show_deleted field is null: whether the spectator still sees the ticket under deleted items.", Example: true},
		{Name: "reason", Type: sdk.TypeString, Default: "",
			Description: "Value of deletionReason when the record's deletion_reason field is null (V4 knows e.g. RESALE_PENDING, RESOLD).", Example: "CANCELLED"},
	}, mappingFields(cancelDefaults)...)...)
}

func newCancel(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Sink, error) {
	var c CancelConfig
	if err := decode(cfg, &c); err != nil {
		return nil, err
	}
	consts := map[string]any{"showDeletedTicket": c.ShowDeleted}
	if c.Reason != "" {
		consts["deletionReason"] = c.Reason
	}
	for k, v := range c.Constants {
		consts[k] = v
	}
	return newItemSink(env, c.Conn, c.Path, "tickets", "cancel", c.BatchSize, c.Simulation,
		cancelDefaults, c.Fields, consts, cancelRules, nil, "ticketId")
}

// ControlConfig is the configuration of tixngo.control.
type ControlConfig struct {
	Conn       `yaml:",inline"`
	Path       string            `yaml:"path"`
	BatchSize  int               `yaml:"batch_size"`
	Simulation bool              `yaml:"simulation"`
	Fields     map[string]string `yaml:"fields"`
	Constants  map[string]any    `yaml:"constants"`
}

var controlDefaults = [][2]string{
	{"ticketId", "ticket_id"},
	{"controlTime", "control_time"},
}

var controlRules = []tixngoapi.FieldRule{
	{Path: "ticketId", MaxLen: 256, Required: true},
	{Path: "controlTime", Kind: "datetime"},
}

func controlSpec() sdk.Spec {
	s := sdk.Spec{Fields: connFields()}
	return s.With(append([]sdk.Field{
		{Name: "path", Type: sdk.TypeString, Default: "organizer/tickets/control",
			Description: "Path of the push-controlled call, relative to the API base (not public: confirm with TIXnGO).", Example: "organizer/tickets/control"},
		{Name: "batch_size", Type: sdk.TypeInt, Default: 10000, Min: sdk.Int64(1), Max: sdk.Int64(10000),
			Description: "Most tickets per call; S-360 uses 10000 for controlled tickets.", Example: 10000},
		{Name: "simulation", Type: sdk.TypeBool, Default: false,
			Description: "Build, check and log every call without sending anything.", Example: true},
	}, mappingFields(controlDefaults)...)...)
}

func newControl(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Sink, error) {
	var c ControlConfig
	if err := decode(cfg, &c); err != nil {
		return nil, err
	}
	consts := map[string]any{}
	if !env.Now.IsZero() {
		consts["controlTime"] = env.Now.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	for k, v := range c.Constants {
		consts[k] = v
	}
	return newItemSink(env, c.Conn, c.Path, "tickets", "control", c.BatchSize, c.Simulation,
		controlDefaults, c.Fields, consts, controlRules, nil, "ticketId")
}
