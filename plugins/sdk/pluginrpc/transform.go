package pluginrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// Remote transforms: a pipeline over one long-lived ProcessStream.
//
// Process(N) encodes and sends batch N, then appends the results of batch
// N-1 to out (waiting for them if the plugin is not done yet) and returns
// while the plugin works on batch N. So the host's part of every batch
// (encoding, decoding, and whatever the caller does until the next
// Process: the runner's other stages, the garbage collector) runs on one
// core while the plugin process runs on another, instead of the two
// taking turns. Holding records back is what sdk.Flusher is for: the
// remote transform always implements it, and Flush emits the results
// still in flight (one batch per batch sent) before it forwards the
// plugin's own Flush (when the plugin's transform is a Flusher).
//
//   - Order: results come back in the order the batches went out; the
//     records and rejects of batch N follow those of N-1 exactly as in
//     process, only one call later.
//   - Window: after Process returns, at most pipelineDepth batches are in
//     flight (pipelineDepth+1 while it waits), so memory stays bounded by
//     a few batches on each side.
//   - The first batch of a stream makes a synchronous round trip: it finds
//     plugins without ProcessStream (the unary fallback below) and streams
//     that fail at once before anything is held back. So is a batch of
//     more than pipelineBytes encoded: the batches in flight come back
//     first, then its chunks go out from a goroutine while their results
//     come in, so that unread messages never fill the flow-control windows
//     of both directions at once (a deadlock until the deadline).
//   - Memory: the caller may reuse in once Process returns (the runner
//     recycles source batches and compacts them in place). Process encodes
//     in before it returns and keeps a copy of its records' origins and
//     values in reused buffers, because result batches refer to the
//     request's records (pb.Encoder.EncodeResult): no reference to in or
//     its Values survives the call.
//   - Errors: a failure of batch N (the component's error, a crash, a hang,
//     a malformed result) is returned by the Process or Flush call that
//     waits for batch N (the next call at the latest) and names the plugin
//     and batch N. After an error the stream is gone with what was in
//     flight: every later call returns the same error.
//   - Deadlines: Remote.Timeout bounds each Process call (sending batch N
//     and waiting for N-1) and, in Flush, each wait for one batch; a plugin
//     that does not answer in time is stopped (the Remote breaks). The
//     caller's cancellation ends the stream.
//
// Large batches are split into up to maxChunks chunks of at least minChunk
// records so that the plugin starts on the first while the host encodes
// the next. Smaller chunks cost more than they gain on a busy machine
// (every message wakes goroutines on both sides: measured ~250 ns of host
// CPU per record with 4 chunks of 250 against 1 of 1000), so a batch of
// the default size (1000) travels whole.
const (
	minChunk      = 1000
	maxChunks     = 4
	pipelineDepth = 1
	pipelineBytes = 1 << 20
)

// transform is a remote sdk.Transform and sdk.Flusher.
type transform struct {
	inst *inst
	// the open ProcessStream (nil: open one on the next batch)
	st       pb.Plugin_ProcessStreamClient
	stCancel context.CancelFunc
	answered bool        // st answered a batch: later batches are pipelined
	timedOut atomic.Bool // a deadline on st expired (it cancelled st)
	unary    bool        // the plugin predates ProcessStream: use Process
	senc     pb.Encoder
	codec    grpc.CallOption // the stream's codec (codec.go), kept across streams
	pending  []*flight       // sent, results not received yet; oldest first
	spare    []*flight       // flights to reuse
	err      error           // the error that ended the stream and its flights
}

// flight is a batch sent on the stream whose results have not come back:
// its number (for messages), chunking and a copy of its records (results
// refer to them).
type flight struct {
	batch int64
	n, k  int
	recs  []record.Record
	vals  []record.Value
}

// errUnimplemented: the plugin does not serve ProcessStream.
var errUnimplemented = errors.New("ProcessStream unimplemented")

func opOf(batch int64, comp string) string {
	return fmt.Sprintf("Process of batch %d (%s)", batch, comp)
}

// Process sends in and appends the results of the batch before it (see
// above); the first batch of a stream and large batches come back at once.
func (t *transform) Process(ctx context.Context, in *record.Batch, out *record.Batch) error {
	if t.err != nil {
		return t.err
	}
	i := t.inst
	i.batches++
	if !t.unary {
		err := t.processStream(ctx, in, out)
		if err != errUnimplemented {
			return err
		}
		t.unary = true
	}
	data, err := i.enc.Encode(in)
	if err != nil {
		return fmt.Errorf("encoding batch %d for %s: %w", i.batches, i.r.name(), err)
	}
	var resp *pb.ProcessResponse
	err = i.r.call(ctx, i.op("Process"), func(ctx context.Context) (err error) {
		resp, err = i.r.c.Process(ctx, &pb.ProcessRequest{Handle: i.handle, Batch: data})
		return err
	})
	if err != nil {
		return err
	}
	if err := i.dec.DecodeOwned(resp.Batch, out); err != nil {
		return i.r.malformed(i.op("Process"), err)
	}
	return nil
}

// Flush emits the results still in flight, then what the plugin's own
// transform holds back (if it is a Flusher). It may be called more than
// once (the stream stays open); the plugin's Flush is forwarded each time.
func (t *transform) Flush(ctx context.Context, emit func(*record.Batch) error) error {
	if t.err != nil {
		return t.err
	}
	for len(t.pending) > 0 {
		if err := ctx.Err(); err != nil {
			return t.abort(err)
		}
		f := t.pending[0]
		b := &record.Batch{Records: make([]record.Record, 0, f.n)}
		// the deadline covers the wait, not the emit (later stages may
		// run in this goroutine)
		stop := t.arm(ctx)
		err := t.receive(ctx, b)
		stop()
		if err != nil {
			return err
		}
		if err := emit(b); err != nil {
			return err
		}
	}
	if t.inst.flusher {
		return t.flushPlugin(ctx, emit)
	}
	return nil
}

func (t *transform) Close() error {
	t.dropStream()
	_, err := t.inst.close(context.Background())
	return err
}

// dropStream cancels the open stream and forgets what was in flight; the
// next batch opens a new stream.
func (t *transform) dropStream() {
	if t.st != nil {
		t.stCancel()
		t.st, t.stCancel = nil, nil
	}
	for _, f := range t.pending {
		t.spare = append(t.spare, f)
	}
	clear(t.pending)
	t.pending = t.pending[:0]
}

// abort ends the stream after err and makes err the answer to every later
// call (the batches in flight are lost), except when the plugin merely
// lacks ProcessStream.
func (t *transform) abort(err error) error {
	t.dropStream()
	if err != errUnimplemented {
		t.err = err
	}
	return err
}

func (t *transform) openStream(ctx context.Context) error {
	i := t.inst
	sctx, cancel := context.WithCancel(context.Background())
	if t.codec == nil {
		t.codec = newStreamCodec()
	}
	st, err := i.r.c.ProcessStream(sctx, t.codec)
	if err != nil {
		cancel()
		return t.abort(i.r.classify(ctx, false, i.op("Process"), err))
	}
	t.st, t.stCancel, t.answered = st, cancel, false
	t.timedOut.Store(false)
	return nil
}

// arm starts the deadline of one call on the open stream and ties the
// stream to ctx; stop ends both. An expired deadline cancels the stream
// and is remembered (a late expiry shows on the next call).
func (t *transform) arm(ctx context.Context) (stop func()) {
	cancel := t.stCancel
	timer := time.AfterFunc(t.inst.r.timeout(), func() { t.timedOut.Store(true); cancel() })
	stopCtx := context.AfterFunc(ctx, cancel)
	return func() {
		timer.Stop()
		stopCtx()
	}
}

// recvErr classifies an error of Recv on the stream during op.
func (t *transform) recvErr(ctx context.Context, op string, err error) error {
	i := t.inst
	if err == io.EOF {
		return i.r.fail(fmt.Errorf("%s ended the stream in %s early", i.r.name(), op))
	}
	return i.r.classify(ctx, t.timedOut.Load(), op, err)
}

// encodeChunk encodes chunk c of k of in (n records); the rejects travel
// with the first. The result is valid until the next encode.
func (t *transform) encodeChunk(in *record.Batch, n, k, c int) ([]byte, error) {
	chunk := record.Batch{Records: in.Records[c*n/k : (c+1)*n/k]}
	if c == 0 {
		chunk.Rejects = in.Rejects
	}
	data, err := t.senc.Encode(&chunk)
	if err != nil {
		return nil, fmt.Errorf("encoding batch %d for %s: %w", t.inst.batches, t.inst.r.name(), err)
	}
	return data, nil
}

func (t *transform) processStream(ctx context.Context, in *record.Batch, out *record.Batch) error {
	i := t.inst
	if err := i.r.Broken(); err != nil {
		return t.abort(err)
	}
	if err := ctx.Err(); err != nil {
		return t.abort(err)
	}
	if t.st == nil {
		if err := t.openStream(ctx); err != nil {
			return err
		}
	}
	stop := t.arm(ctx)
	defer stop()

	n := len(in.Records)
	k := min(maxChunks, max(1, n/minChunk))
	data, err := t.encodeChunk(in, n, k, 0)
	if err != nil {
		return t.abort(err)
	}
	if !t.answered || len(data)*k > pipelineBytes {
		for len(t.pending) > 0 {
			if err := t.receive(ctx, out); err != nil {
				return err
			}
		}
		return t.roundTrip(ctx, in, out, n, k, data)
	}
	t.pending = append(t.pending, t.newFlight(in, n, k))
	var sendErr error
	for c := 0; ; c++ {
		if sendErr = t.st.Send(&pb.ProcessRequest{Handle: i.handle, Batch: data}); sendErr != nil || c+1 == k {
			break // the reason of a failed send comes from Recv
		}
		if data, err = t.encodeChunk(in, n, k, c+1); err != nil {
			return t.abort(err)
		}
	}
	keep := pipelineDepth
	if sendErr != nil {
		keep = 0
	}
	for len(t.pending) > keep {
		if err := t.receive(ctx, out); err != nil {
			return err
		}
	}
	if sendErr != nil { // every result came back, yet the send failed
		return t.abort(i.r.fail(fmt.Errorf("%s: sending %s failed: %v", i.r.name(), i.op("Process"), sendErr)))
	}
	return nil
}

// newFlight records batch in (n records in k chunks) as sent: a copy of
// its records and their values, in the buffers of an earlier flight.
func (t *transform) newFlight(in *record.Batch, n, k int) *flight {
	var f *flight
	if l := len(t.spare); l > 0 {
		f, t.spare = t.spare[l-1], t.spare[:l-1]
	} else {
		f = &flight{}
	}
	f.batch, f.n, f.k = t.inst.batches, n, k
	if old := len(f.recs); old > n {
		clear(f.recs[n:old]) // no stale references
	}
	f.recs = append(f.recs[:0], in.Records...)
	nv := 0
	for j := range f.recs {
		nv += len(f.recs[j].Values)
	}
	if old := len(f.vals); cap(f.vals) < nv {
		f.vals = make([]record.Value, nv)
	} else {
		f.vals = f.vals[:nv]
		if old > nv {
			clear(f.vals[nv:old:old]) // no stale references
		}
	}
	off := 0
	for j := range f.recs {
		v := f.recs[j].Values
		copy(f.vals[off:], v)
		f.recs[j].Values = f.vals[off : off+len(v) : off+len(v)]
		off += len(v)
	}
	return f
}

// receive appends the results of the oldest flight to out.
func (t *transform) receive(ctx context.Context, out *record.Batch) error {
	i := t.inst
	f := t.pending[0]
	for c := 0; c < f.k; c++ {
		resp, err := t.st.Recv()
		if err != nil {
			return t.abort(t.recvErr(ctx, opOf(f.batch, i.comp), err))
		}
		req := record.Batch{Records: f.recs[c*f.n/f.k : (c+1)*f.n/f.k]}
		if err := i.dec.DecodeResult(resp.Batch, &req, out); err != nil {
			return t.abort(i.r.malformed(opOf(f.batch, i.comp), err))
		}
	}
	copy(t.pending, t.pending[1:])
	t.pending[len(t.pending)-1] = nil
	t.pending = t.pending[:len(t.pending)-1]
	t.spare = append(t.spare, f)
	return nil
}

// roundTrip sends in (n records in k chunks, the first encoded as first)
// and appends its results to out before it returns. With several chunks
// a goroutine sends while this one receives.
func (t *transform) roundTrip(ctx context.Context, in, out *record.Batch, n, k int, first []byte) error {
	i := t.inst
	st, cancel := t.st, t.stCancel
	var encErr error
	sent := make(chan error, 1)
	send := func() {
		data := first
		var err error
		for c := 0; c < k; c++ {
			if c > 0 {
				if data, encErr = t.encodeChunk(in, n, k, c); encErr != nil {
					cancel()
					break
				}
			}
			if err = st.Send(&pb.ProcessRequest{Handle: i.handle, Batch: data}); err != nil {
				break // the reason comes from Recv
			}
		}
		sent <- err
	}
	if k == 1 {
		send() // nothing to overlap with: no goroutine to wake
	} else {
		go send()
	}
	var err error
	for c := 0; c < k && err == nil; c++ {
		var resp *pb.ProcessResponse
		if resp, err = st.Recv(); err != nil {
			break
		}
		req := record.Batch{Records: in.Records[c*n/k : (c+1)*n/k]}
		if derr := i.dec.DecodeResult(resp.Batch, &req, out); derr != nil {
			cancel()
			<-sent
			return t.abort(i.r.malformed(i.op("Process"), derr))
		}
	}
	if err != nil {
		cancel()
	}
	<-sent
	switch {
	case err == nil:
		t.answered = true
		return nil
	case encErr != nil:
		return t.abort(encErr)
	}
	return t.abort(t.recvErr(ctx, i.op("Process"), err))
}

// flushPlugin forwards Flush to a plugin transform that is a Flusher.
func (t *transform) flushPlugin(ctx context.Context, emit func(*record.Batch) error) error {
	i := t.inst
	if err := i.r.Broken(); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := i.r.c.Flush(sctx, &pb.FlushRequest{Handle: i.handle})
	if err != nil {
		return i.r.call(ctx, "Flush of "+i.comp, func(context.Context) error { return err })
	}
	for {
		i.batches++
		var resp *pb.FlushResponse
		var done bool
		err := i.r.call(ctx, i.op("Flush"), func(cctx context.Context) error {
			// the deadline applies per message: it cancels the stream
			stop := context.AfterFunc(cctx, cancel)
			defer stop()
			var err error
			resp, err = stream.Recv()
			if err == io.EOF {
				done = true
				return nil
			}
			if err != nil && cctx.Err() != nil {
				return status.Error(codes.DeadlineExceeded, "flush message deadline")
			}
			return err
		})
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		b := &record.Batch{}
		if err := i.dec.DecodeOwned(resp.Batch, b); err != nil {
			return i.r.malformed(i.op("Flush"), err)
		}
		if err := emit(b); err != nil {
			return err
		}
	}
}
