package pluginrpc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
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
	render := func(res *record.Batch) error {
		for _, r := range res.Records {
			out.WriteString(r.Origin.String() + " " + r.String() + "\n")
		}
		for _, rj := range res.Rejects {
			out.WriteString("reject " + rj.Record.Origin.String() + " " + rj.Field + ": " + rj.Reason + "\n")
		}
		return nil
	}
	for lo := 0; lo < len(in.Records); lo += batch {
		b := &record.Batch{Records: append([]record.Record(nil), in.Records[lo:min(lo+batch, len(in.Records))]...)}
		res := &record.Batch{}
		if err := tr.Process(context.Background(), b, res); err != nil {
			t.Fatal(err)
		}
		render(res)
	}
	if f, ok := tr.(sdk.Flusher); ok { // the remote transform holds the last batch back
		if err := f.Flush(context.Background(), render); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

// served serves p over TCP with the given methods answering UNIMPLEMENTED
// (as a plugin built with an older SDK would) and counts the calls per
// method.
func served(t *testing.T, p sdk.Plugin, refuse ...string) (sdk.Plugin, *Remote, map[string]int) {
	t.Helper()
	attempts := map[string]int{}
	var mu sync.Mutex
	refused := func(m string) bool {
		mu.Lock()
		attempts[m]++
		mu.Unlock()
		for _, r := range refuse {
			if m == r {
				return true
			}
		}
		return false
	}
	unimpl := func(m string) error {
		return status.Errorf(codes.Unimplemented, "unknown method %s for service kontor.plugin.v1.Plugin", m[strings.LastIndex(m, "/")+1:])
	}
	rp, r, _ := serveWith(t, p,
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if refused(info.FullMethod) {
				return unimpl(info.FullMethod)
			}
			return h(srv, ss)
		}),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if refused(info.FullMethod) {
				return nil, unimpl(info.FullMethod)
			}
			return h(ctx, req)
		}))
	return rp, r, attempts
}

// serveWith serves p over TCP with the given server options and returns
// the plugin as the host sees it, its Remote and the server.
func serveWith(t *testing.T, p sdk.Plugin, opts ...grpc.ServerOption) (sdk.Plugin, *Remote, *grpc.Server) {
	t.Helper()
	gp := sdk.PluginSet(p, nil)[pb.PluginName].(plugin.GRPCPlugin)
	s := grpc.NewServer(opts...)
	if err := gp.GRPCServer(nil, s); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := NewRemote(conn, nil)
	d, err := r.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.Name = p.Name
	rp, err := PluginFromDescribe(d, func(context.Context) (*Remote, error) { return r, nil })
	if err != nil {
		t.Fatal(err)
	}
	return rp, r, s
}

// TestProcessPaths: ProcessStream (batches of more than 2000 records in
// chunks) and unary Process (plugins without ProcessStream) give exactly
// the in-process results.
func TestProcessPaths(t *testing.T) {
	in := vatInput(9000)
	for _, tc := range []struct {
		name   string
		refuse []string
	}{
		{"stream", nil},
		{"unary", []string{pb.Plugin_ProcessStream_FullMethodName}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote, r, attempts := served(t, vat.Plugin(), tc.refuse...)
			for _, batch := range []int{4500, 1000, 97} {
				got := runVAT(t, remote, in, batch)
				if want := runVAT(t, vat.Plugin(), in, batch); got != want || len(want) < 9000*20 {
					t.Errorf("batch size %d: out of process differs from in process", batch)
				}
			}
			for _, m := range tc.refuse {
				if attempts[m] != 3 { // once per transform, then never again
					t.Errorf("%s tried %d times, want 3", m, attempts[m])
				}
			}
			if r.Broken() != nil {
				t.Errorf("broken: %v", r.Broken())
			}
			if tc.name == "stream" && (attempts[pb.Plugin_ProcessStream_FullMethodName] != 3 || attempts[pb.Plugin_Process_FullMethodName] != 0) {
				t.Errorf("calls %v: want one stream per transform and no unary Process", attempts)
			}
		})
	}
	// through go-plugin's own connection
	remote, _ := Loopback(t, vat.Plugin())
	if got, want := runVAT(t, remote, in, 1000), runVAT(t, vat.Plugin(), in, 1000); got != want {
		t.Error("loopback differs from in process")
	}
}
