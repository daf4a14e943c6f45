// Package pluginv1 is version 1 of Kontor's external plugin protocol: the
// gRPC services in kontor.proto (generated code committed beside it;
// regenerate with `make generate`), the compact batch format records travel
// in (codec.go) and small conversions both sides share (convert.go).
//
// Plugin authors do not use this package: they implement plugins/sdk and
// call sdk.Serve. The host side is plugins/sdk/pluginrpc.
package pluginv1

//go:generate sh generate.sh
