package pluginrpc

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// both serves on one side and dispenses on the other, for in-process
// round trips where go-plugin uses one plugin map for both ends.
type both struct {
	plugin.NetRPCUnsupportedPlugin
	srv plugin.GRPCPlugin
	cli ClientPlugin
}

func (b *both) GRPCServer(br *plugin.GRPCBroker, s *grpc.Server) error {
	return b.srv.GRPCServer(br, s)
}

func (b *both) GRPCClient(ctx context.Context, br *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return b.cli.GRPCClient(ctx, br, c)
}

// Loopback serves p over the real gRPC protocol inside this process
// (plugin.TestPluginGRPCConn) and returns the plugin as the host sees it:
// specs from Describe, constructors that build remote adapters. Conformance
// tests run the same cases through p and through Loopback(p) and compare.
// The connection is closed when the test ends.
func Loopback(tb testing.TB, p sdk.Plugin) (sdk.Plugin, *Remote) {
	tb.Helper()
	srv, ok := sdk.PluginSet(p, nil)[pb.PluginName].(plugin.GRPCPlugin)
	if !ok {
		tb.Fatal("sdk.PluginSet has no gRPC plugin")
	}
	client, server := plugin.TestPluginGRPCConn(tb, false, plugin.PluginSet{pb.PluginName: &both{srv: srv}})
	// client.Close asks the server to shut down (go-plugin's controller
	// stops it); stopping it here as well would race with that.
	_ = server
	tb.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(pb.PluginName)
	if err != nil {
		tb.Fatalf("dispense: %v", err)
	}
	r := raw.(*Remote)
	r.Name = p.Name
	d, err := r.Describe(context.Background())
	if err != nil {
		tb.Fatalf("describe: %v", err)
	}
	rp, err := PluginFromDescribe(d, func(context.Context) (*Remote, error) { return r, nil })
	if err != nil {
		tb.Fatal(fmt.Errorf("plugin from describe: %w", err))
	}
	return rp, r
}
