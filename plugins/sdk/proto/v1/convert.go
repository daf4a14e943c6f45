package pluginv1

import (
	"fmt"
	"time"

	"google.golang.org/grpc"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/record"
)

// Handshake values shared by sdk.Serve and the host (go-plugin
// HandshakeConfig): a binary started without them exits with a hint that it
// is a Kontor plugin, not a program to run by hand.
const (
	MagicCookieKey   = "KONTOR_PLUGIN"
	MagicCookieValue = "5f1c7a0e-kontor-plugin-v1"
	// PluginName is the go-plugin plugin name both sides dispense.
	PluginName = "kontor"
	// Version is the protocol version served (go-plugin VersionedPlugins key).
	Version = 1
)

// YAMLText encodes a plain value (spec defaults, examples, configs) as YAML
// text; YAML keeps ints as ints where JSON would make them floats. nil is "".
func YAMLText(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// YAMLValue decodes YAMLText; "" is nil.
func YAMLValue(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// ConfigText encodes a component config for the wire.
func ConfigText(c map[string]any) (string, error) {
	if c == nil {
		return "", nil
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding config: %w", err)
	}
	return string(b), nil
}

// ParseConfigText decodes ConfigText.
func ParseConfigText(s string) (map[string]any, error) {
	m := map[string]any{}
	if s == "" {
		return m, nil
	}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// TimeToPB encodes an instant with its zone.
func TimeToPB(t time.Time) *Time {
	if t.IsZero() {
		return &Time{IsZero: true}
	}
	name, off := t.Zone()
	if loc := t.Location(); loc != time.Local {
		name = loc.String()
	}
	return &Time{UnixNano: t.UnixNano(), Zone: name, OffsetSeconds: int32(off)}
}

// TimeFromPB decodes an instant.
func TimeFromPB(t *Time) time.Time {
	if t == nil || t.IsZero {
		return time.Time{}
	}
	var d Decoder
	d.zones = map[zoneKey]*time.Location{}
	return time.Unix(0, t.UnixNano).In(d.zone(t.Zone, int(t.OffsetSeconds), t.UnixNano))
}

// SchemaToPB encodes a record schema (nil: unknown).
func SchemaToPB(s *record.Schema) *RecordSchema {
	if s == nil {
		return &RecordSchema{}
	}
	out := &RecordSchema{Known: true}
	for _, f := range s.Fields() {
		out.Fields = append(out.Fields, &SchemaField{Name: f.Name, Kind: f.Kind.String()})
	}
	return out
}

// SchemaFromPB decodes a record schema (nil when unknown).
func SchemaFromPB(s *RecordSchema) (*record.Schema, error) {
	if s == nil || !s.Known {
		return nil, nil
	}
	fs := make([]record.Field, len(s.Fields))
	for i, f := range s.Fields {
		k, ok := record.ParseKind(f.Kind)
		if !ok {
			return nil, fmt.Errorf("field %q: unknown kind %q", f.Name, f.Kind)
		}
		fs[i] = record.Field{Name: f.Name, Kind: k}
	}
	return record.NewSchema(fs...)
}

// MaxMessageSize bounds one gRPC message (a batch, an output chunk). A
// batch of 1000 records with long text fields easily exceeds gRPC's 4 MiB
// default.
const MaxMessageSize = 256 << 20

// window is the HTTP/2 flow-control window: larger than a typical batch,
// so a batch is sent without waiting for window updates.
const window = 4 << 20

// ServerOptions are the gRPC options of the plugin side.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window)}
}

// DialOptions are the gRPC options of the host side.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window)}
}
