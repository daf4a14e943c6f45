#!/bin/sh
# Regenerates kontor.pb.go and kontor_grpc.pb.go from kontor.proto
# (`make generate` runs it through go:generate). Needs protoc (Debian:
# apt-get install protobuf-compiler); the Go plugins are installed at pinned
# versions through the Go module proxy into a temporary GOBIN.
set -eu
cd "$(dirname "$0")"
if ! command -v protoc >/dev/null 2>&1; then
  echo "generate.sh: protoc not found (apt-get install protobuf-compiler)" >&2
  exit 1
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" GOFLAGS=-mod=mod go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
GOBIN="$bin" GOFLAGS=-mod=mod go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
PATH="$bin:$PATH" protoc --proto_path=. \
  --go_out=paths=source_relative:. --go-grpc_out=paths=source_relative:. kontor.proto
