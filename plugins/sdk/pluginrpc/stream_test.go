package pluginrpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/example/vat"
	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

func vatInput(n int) *record.Batch {
	s := record.MustSchema(record.Field{Name: "id", Kind: record.KindInt}, record.Field{Name: "amount", Kind: record.KindDecimal},
		record.Field{Name: "show", Kind: record.KindString})
	in := &record.Batch{}
	for i := 0; i < n; i++ {
		amount := record.Dec(record.MustDecimal(fmt.Sprintf("%d.%02d", i*7%5000, i%100)))
		if i%997 == 5 {
			amount = record.String("n/a") // a reject
		}
		in.Records = append(in.Records, record.Record{Schema: s, Values: []record.Value{record.Int(int64(i)), amount, record.String(fmt.Sprintf("show %d", i%3))},
			Origin: record.Origin{File: "in.csv", Line: i + 2, Col: 1, Index: int64(i + 1)}})
	}
	return in
}

// runVAT runs example.vat_split of p over batches of in and renders the
// results (records, rejects, origins).
func runVAT(t *testing.T, p sdk.Plugin, in *record.Batch, batch int) string {
	t.Helper()
	c, _ := p.Component("vat_split")
	tr, err := c.NewTransform(context.Background(), sdk.ApplyDefaults(c.Spec, sdk.Config{"gross": "amount"}),
		sdk.Env{Step: "vat", Logger: slog.New(slog.DiscardHandler), State: &sdk.MemState{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var out strings.Builder
	for lo := 0; lo < len(in.Records); lo += batch {
		b := &record.Batch{Records: append([]record.Record(nil), in.Records[lo:min(lo+batch, len(in.Records))]...)}
		res := &record.Batch{}
		if err := tr.Process(context.Background(), b, res); err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			out.WriteString(r.Origin.String() + " " + r.String() + "\n")
		}
		for _, rj := range res.Rejects {
			out.WriteString("reject " + rj.Record.Origin.String() + " " + rj.Field + ": " + rj.Reason + "\n")
		}
	}
	return out.String()
}

// TestProcessStreamChunks: large batches split into chunks, the result
// encoding that refers to the request, and small batches give exactly the
// in-process results.
func TestProcessStreamChunks(t *testing.T) {
	in := vatInput(9000)
	remote, _ := Loopback(t, vat.Plugin())
	for _, batch := range []int{4500, 1000, 97} {
		got := runVAT(t, remote, in, batch)
		if want := runVAT(t, vat.Plugin(), in, batch); got != want || len(want) < 9000*20 {
			t.Errorf("batch size %d: out of process differs from in process", batch)
		}
	}
}

// TestProcessFallbackUnary: a plugin built before ProcessStream existed
// (UNIMPLEMENTED) is driven with unary Process calls.
func TestProcessFallbackUnary(t *testing.T) {
	gp := sdk.PluginSet(vat.Plugin(), nil)[pb.PluginName].(plugin.GRPCPlugin)
	var streams int
	s := grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if info.FullMethod == pb.Plugin_ProcessStream_FullMethodName {
			streams++
			return status.Error(codes.Unimplemented, "unknown method ProcessStream for service kontor.plugin.v1.Plugin")
		}
		return h(srv, ss)
	}))
	if err := gp.GRPCServer(nil, s); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	defer s.Stop()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := NewRemote(conn, nil)
	d, err := r.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := PluginFromDescribe(d, func(context.Context) (*Remote, error) { return r, nil })
	if err != nil {
		t.Fatal(err)
	}
	in := vatInput(3000)
	if got, want := runVAT(t, p, in, 1000), runVAT(t, vat.Plugin(), in, 1000); got != want {
		t.Error("unary fallback differs from in process")
	}
	if streams != 1 || r.Broken() != nil {
		t.Errorf("%d stream attempts (want 1, then unary), broken: %v", streams, r.Broken())
	}
}
