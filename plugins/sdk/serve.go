package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// Handshake is the go-plugin handshake of Kontor plugins (magic cookie
// KONTOR_PLUGIN). Plugin authors never need it; the host uses the same
// values.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  pb.Version,
	MagicCookieKey:   pb.MagicCookieKey,
	MagicCookieValue: pb.MagicCookieValue,
}

// Serve runs p as an external plugin: call it from main() of a binary named
// kontor-plugin-<name> and nothing else.
//
//	func main() { sdk.Serve(vat.Plugin()) }
//
// The host (kontor) starts the binary, asks it to describe its components
// and then streams record batches to and from it over gRPC (hashicorp/
// go-plugin). Components behave exactly as when linked into kontor, with
// three differences: they never touch the filesystem (file sources get the
// input bytes streamed by the host, file sinks' output is streamed back and
// committed by the host, Output.Temp is in memory); Env.State and
// Env.Expressions call back to the host (use EvalBatch to evaluate over a
// batch in one round trip); Env.Logger writes to the step's logger on the
// host, which redacts secrets (so does what the process prints to stdout
// or stderr while a component is open). The process runs with GOGC=400 and
// GOMAXPROCS=1 unless its environment sets them (see GCPercent, MaxProcs).
//
// Started by hand (without the host's handshake), Serve prints a short
// explanation and exits with status 1. Serve returns only then.
func Serve(p Plugin) {
	if os.Getenv(pb.MagicCookieKey) != pb.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is a Kontor plugin (%s %s): it is started by kontor, not by hand.\n"+
			"Put it into a plugin directory (./plugins next to the pipeline or ~/.kontor/plugins) and run\n"+
			"  kontor plugins describe %s.<component>\n", os.Args[0], p.Name, p.Version, p.Name)
		os.Exit(1)
	}
	if os.Getenv("GOGC") == "" {
		// A plugin's live heap is a few batches; the default GOGC=100
		// would collect every ~4 MB, i.e. every few batches.
		debug.SetGCPercent(GCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(MaxProcs)
	}
	plugin.Serve(ServeConfig(p, NewPluginLogger(os.Stderr)))
}

// GCPercent is the garbage collector target Serve sets in a plugin process
// unless the plugin's environment sets GOGC (pass it with `env: [GOGC=..]`
// in the pipeline's plugins entry): 400, i.e. a collection per ~16 MB
// allocated instead of ~4 MB, for ~12 MB more memory.
const GCPercent = 400

// MaxProcs is the GOMAXPROCS Serve sets in a plugin process unless its
// environment sets GOMAXPROCS (`env: [GOMAXPROCS=4]` in the pipeline's
// plugins entry): 1. A component is called for one batch at a time; with
// more Ps the Go scheduler wakes idle threads for every message, which
// cost ~12% more CPU per record in the VATSplit benchmark. Raise it for a
// plugin whose components use goroutines for heavy parallel work, or that
// serves several steps of a pipeline at once.
const MaxProcs = 1

// ServeConfig returns the go-plugin server configuration Serve uses; tests
// that run a plugin in process use it with plugin.TestPluginGRPCConn (see
// sdktest). logger receives the components' logs when there is no host to
// send them to (Host.Log) or it cannot be reached (nil: discarded).
func ServeConfig(p Plugin, logger *slog.Logger) *plugin.ServeConfig {
	return &plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pb.Version: {pb.PluginName: &grpcPlugin{p: p, logger: logger}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return plugin.DefaultGRPCServer(append(opts, pb.ServerOptions()...))
		},
	}
}

// PluginSet returns the go-plugin plugin set that serves p (for
// plugin.TestPluginGRPCConn in sdktest).
func PluginSet(p Plugin, logger *slog.Logger) plugin.PluginSet {
	return plugin.PluginSet{pb.PluginName: &grpcPlugin{p: p, logger: logger}}
}

// NewPluginLogger returns a slog logger that writes hclog JSON lines to w
// (the plugin's stderr), which go-plugin on the host side parses and
// forwards with their level and attributes.
func NewPluginLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}

// grpcPlugin is the go-plugin plugin on the plugin side: it only serves.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	p      Plugin
	logger *slog.Logger
}

func (g *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, newServer(g.p, broker, g.logger))
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("the plugin side has no client")
}

// describePlugin turns p into its Describe answer (the spec as data; the
// constructors stay behind).
func describePlugin(p Plugin) (*pb.DescribeResponse, error) {
	out := &pb.DescribeResponse{ProtocolVersion: ProtocolVersion, Name: p.Name, Version: p.Version, Description: p.Description}
	for _, c := range p.Components {
		fs, err := fieldsToPB(c.Spec.Fields)
		if err != nil {
			return nil, fmt.Errorf("component %q: %w", c.Name, err)
		}
		out.Components = append(out.Components, &pb.Component{
			Name: c.Name, Kind: string(c.Kind), Io: string(c.IO), Summary: c.Summary, Description: c.Description,
			Fields: fs, Examples: c.Examples, HasSchema: c.Schema != nil, HasOutputSchema: c.OutputSchema != nil,
		})
	}
	return out, nil
}

func fieldsToPB(fs []Field) ([]*pb.Field, error) {
	out := make([]*pb.Field, 0, len(fs))
	for _, f := range fs {
		def, err := pb.YAMLText(f.Default)
		if err != nil {
			return nil, fmt.Errorf("field %q: default: %w", f.Name, err)
		}
		ex, err := pb.YAMLText(f.Example)
		if err != nil {
			return nil, fmt.Errorf("field %q: example: %w", f.Name, err)
		}
		ch, err := fieldsToPB(f.Children)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		out = append(out, &pb.Field{
			Name: f.Name, Type: string(f.Type), Required: f.Required, DefaultYaml: def, Enum: f.Enum,
			Pattern: f.Pattern, Min: f.Min, Max: f.Max, Description: f.Description, ExampleYaml: ex,
			Expr: string(f.Expr), Secret: f.Secret, Deprecated: f.Deprecated, Elem: string(f.Elem), Children: ch,
		})
	}
	return out, nil
}

func parseWireConfig(s string) (Config, error) {
	m, err := pb.ParseConfigText(s)
	return Config(m), err
}

// fieldErrorsToPB encodes a constructor error: field errors keep their
// paths (the host maps them to YAML positions), others travel as text.
func fieldErrorsToPB(err error) ([]*pb.FieldError, string) {
	if err == nil {
		return nil, ""
	}
	if fes, ok := AsFieldErrors(err); ok {
		out := make([]*pb.FieldError, len(fes))
		for i, fe := range fes {
			out[i] = &pb.FieldError{Path: fe.Path, Message: fe.Message}
		}
		return out, ""
	}
	return nil, err.Error()
}
