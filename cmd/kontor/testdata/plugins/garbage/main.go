// Command kontor-plugin-garbage is a test plugin that speaks the protocol
// but answers Process with bytes that are not a batch.
package main

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

type server struct {
	pb.UnimplementedPluginServer
}

func (server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	return &pb.DescribeResponse{ProtocolVersion: 1, Name: "garbage", Version: "0.0.1", Components: []*pb.Component{{
		Name: "mangle", Kind: "transform", Summary: "Returns garbage.",
	}}}, nil
}

func (server) Open(context.Context, *pb.OpenRequest) (*pb.OpenResponse, error) {
	return &pb.OpenResponse{Handle: 1}, nil
}

func (server) Process(context.Context, *pb.ProcessRequest) (*pb.ProcessResponse, error) {
	// version 1, one schema of 1 field, then a record count far beyond the data
	return &pb.ProcessResponse{Batch: []byte{1, 0, 0, 0xff, 0xff, 0x03}}, nil
}

func (server) Close(context.Context, *pb.CloseRequest) (*pb.CloseResponse, error) {
	return &pb.CloseResponse{}, nil
}

type grpcPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, server{})
	return nil
}

func (grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("no client")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{1: {"kontor": grpcPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
