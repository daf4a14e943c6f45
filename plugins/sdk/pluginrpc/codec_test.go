package pluginrpc

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"

	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// TestStreamCodec: the hand-written ProcessRequest encoding is the
// protobuf encoding byte for byte (the plugin decodes it with the proto
// codec), other messages pass through, and buffers come back for reuse.
func TestStreamCodec(t *testing.T) {
	c := streamCodec{proto: encoding.GetCodecV2("proto"), free: &bufferList{}}
	big := bytes.Repeat([]byte("batch"), 20000) // above gRPC's pooling threshold
	for _, req := range []*pb.ProcessRequest{{}, {Handle: 1}, {Handle: 1 << 40, Batch: []byte{1, 0}}, {Batch: big}, {Handle: 7, Batch: big}} {
		want, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Errorf("handle %d, %d bytes: encoding differs from proto.Marshal", req.Handle, len(req.Batch))
		}
		var back pb.ProcessRequest
		if err := c.Unmarshal(got, &back); err != nil || back.Handle != req.Handle || !bytes.Equal(back.Batch, req.Batch) {
			t.Errorf("round trip: %v", err)
		}
		got.Free()
	}
	if n := len(c.free.bufs); n == 0 {
		t.Error("no buffer came back to the free list")
	}
	// a freed buffer is reused for the next message of its size
	first, _ := c.Marshal(&pb.ProcessRequest{Handle: 7, Batch: big})
	first.Free()
	l := len(c.free.bufs)
	second, _ := c.Marshal(&pb.ProcessRequest{Handle: 7, Batch: big})
	if len(c.free.bufs) != l-1 {
		t.Errorf("free list %d -> %d: buffer not reused", l, len(c.free.bufs))
	}
	second.Free()
	// the free list stays small
	var held []interface{ Free() }
	for i := 0; i < 10; i++ {
		b, _ := c.Marshal(&pb.ProcessRequest{Batch: big})
		held = append(held, b)
	}
	for _, b := range held {
		b.Free()
	}
	if len(c.free.bufs) > maxFree {
		t.Errorf("free list holds %d buffers, at most %d", len(c.free.bufs), maxFree)
	}
	// other messages go through the proto codec
	resp := &pb.ProcessResponse{Batch: []byte{2, 0}}
	got, err := c.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := proto.Marshal(resp)
	if !bytes.Equal(got.Materialize(), want) {
		t.Error("ProcessResponse encoding differs")
	}
}
