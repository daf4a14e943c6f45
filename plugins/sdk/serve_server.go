package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// server is the plugin side: it serves one Plugin over the Plugin service.
type server struct {
	pb.UnimplementedPluginServer
	p      Plugin
	broker *plugin.GRPCBroker
	logger *slog.Logger

	mu    sync.Mutex
	next  uint64
	insts map[uint64]*instance
	host  pb.HostClient // dialed on first use
	hostC *grpc.ClientConn
}

func newServer(p Plugin, broker *plugin.GRPCBroker, logger *slog.Logger) *server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &server{p: p, broker: broker, logger: logger, insts: map[uint64]*instance{}}
}

// instance is one constructed component (or an opened input/output).
type instance struct {
	mu        sync.Mutex // one call at a time per instance
	comp      string
	source    Source
	decoder   Decoder
	transform Transform
	sink      Sink
	encoder   Encoder
	env       Env

	feed   *feeder       // input bytes of a source opened on a decoder
	out    *bytes.Buffer // output bytes of a sink created by an encoder
	enc    pb.Encoder
	dec    pb.Decoder
	in     record.Batch
	res    record.Batch
	cancel context.CancelFunc
	closed bool // Close ran: a batch still queued on a stream is not processed
}

func (s *server) add(in *instance) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	s.insts[s.next] = in
	return s.next
}

func (s *server) get(h uint64) (*instance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.insts[h]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown handle %d", h)
	}
	return in, nil
}

// compErr turns a component error into a gRPC status the host reports as
// the component's own error (not a transport failure).
func compErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && status.Code(err) != codes.Unknown {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Aborted, err.Error())
}

func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	d, err := describePlugin(s.p)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return d, nil
}

func (s *server) component(name string) (Component, error) {
	c, ok := s.p.Component(name)
	if !ok {
		return c, status.Errorf(codes.NotFound, "plugin %s has no component %q", s.p.Name, name)
	}
	return c, nil
}

func (s *server) Schema(_ context.Context, req *pb.SchemaRequest) (*pb.SchemaResponse, error) {
	c, err := s.component(req.Component)
	if err != nil {
		return nil, err
	}
	cfg, err := parseWireConfig(req.ConfigYaml)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	var out *record.Schema
	switch {
	case c.Schema != nil:
		out, err = c.Schema(cfg)
	case c.OutputSchema != nil:
		in, serr := pb.SchemaFromPB(req.Input)
		if serr != nil {
			return nil, status.Error(codes.InvalidArgument, serr.Error())
		}
		// The host sends the kinds of the expressions it compiled
		// (unknown ones are missing: record.KindNull).
		kinds := req.ExprKinds
		out, err = c.OutputSchema(cfg, in, func(path string) record.Kind {
			if k, ok := record.ParseKind(kinds[path]); ok {
				return k
			}
			return record.KindNull
		})
	}
	fes, msg := fieldErrorsToPB(err)
	return &pb.SchemaResponse{Schema: pb.SchemaToPB(out), FieldErrors: fes, Error: msg}, nil
}

func (s *server) env(e *pb.Env) Env {
	env := Env{
		Step: e.GetStep(), Pipeline: e.GetPipeline(), Dir: e.GetDir(), DryRun: e.GetDryRun(),
		BatchSize: int(e.GetBatchSize()), Now: pb.TimeFromPB(e.GetNow()), Since: pb.TimeFromPB(e.GetSince()),
		Logger: s.logger.With("step", e.GetStep()),
		State:  &MemState{},
	}
	if env.BatchSize <= 0 {
		env.BatchSize = 1000
	}
	if id := e.GetHostBrokerId(); id != 0 && s.broker != nil {
		hs := &hostState{s: s, brokerID: id, envID: e.GetEnvId()}
		env.State = hs
		env.Expressions = hs.expression
		min := slog.LevelInfo
		if e.LogLevel != nil {
			min = slog.Level(e.GetLogLevel())
		}
		// The step attribute is added by the host's logger.
		env.Logger = slog.New(&hostLog{h: hs, min: min, fallback: env.Logger.Handler()})
	} else {
		env.Expressions = func(string) Evaluator { return nil }
	}
	return env
}

func (s *server) Open(ctx context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	if req.Parent != 0 {
		return s.openChild(ctx, req)
	}
	c, err := s.component(req.Component)
	if err != nil {
		return nil, err
	}
	cfg, err := parseWireConfig(req.ConfigYaml)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	in := &instance{comp: c.Name, env: s.env(req.Env)}
	var cerr error
	switch {
	case c.Kind == KindSource && c.IO == IOFile && c.NewDecoder != nil:
		in.decoder, cerr = c.NewDecoder(ctx, cfg, in.env)
	case c.Kind == KindSource && c.NewSource != nil:
		in.source, cerr = c.NewSource(ctx, cfg, in.env)
	case c.Kind == KindTransform && c.NewTransform != nil:
		in.transform, cerr = c.NewTransform(ctx, cfg, in.env)
	case c.Kind == KindSink && c.IO == IOFile && c.NewEncoder != nil:
		in.encoder, cerr = c.NewEncoder(ctx, cfg, in.env)
	case c.Kind == KindSink && c.NewSink != nil:
		in.sink, cerr = c.NewSink(ctx, cfg, in.env)
	default:
		return nil, status.Errorf(codes.FailedPrecondition, "component %q has no constructor for kind %q io %q", c.Name, c.Kind, c.IO)
	}
	if cerr != nil {
		fes, msg := fieldErrorsToPB(cerr)
		return &pb.OpenResponse{FieldErrors: fes, Error: msg}, nil
	}
	_, flusher := in.transform.(Flusher)
	return &pb.OpenResponse{Handle: s.add(in), Flusher: flusher}, nil
}

// openChild opens an input on a decoder or creates an output on an encoder.
func (s *server) openChild(ctx context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	parent, err := s.get(req.Parent)
	if err != nil {
		return nil, err
	}
	switch {
	case parent.decoder != nil:
		// The decoder reads the input as the host streams it: it runs in
		// its own goroutine, Next hands it chunks and collects batches.
		rctx, cancel := context.WithCancel(context.Background())
		in := &instance{comp: parent.comp, env: parent.env, cancel: cancel}
		in.feed = newFeeder()
		go in.feed.run(rctx, parent.decoder, Input{Name: req.Name, R: in.feed, Size: req.Size})
		return &pb.OpenResponse{Handle: s.add(in)}, nil
	case parent.encoder != nil:
		in := &instance{comp: parent.comp, env: parent.env, out: &bytes.Buffer{}}
		sink, cerr := parent.encoder.Create(ctx, Output{Name: req.Name, W: in.out, Temp: func() (TempFile, error) { return &memFile{}, nil }})
		if cerr != nil {
			fes, msg := fieldErrorsToPB(cerr)
			return &pb.OpenResponse{FieldErrors: fes, Error: msg}, nil
		}
		in.sink = sink
		return &pb.OpenResponse{Handle: s.add(in)}, nil
	}
	return nil, status.Errorf(codes.FailedPrecondition, "handle %d is not a decoder or encoder", req.Parent)
}

func (s *server) Next(ctx context.Context, req *pb.NextRequest) (*pb.NextResponse, error) {
	in, err := s.get(req.Handle)
	if err != nil {
		return nil, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var b *record.Batch
	switch {
	case in.feed != nil:
		res, needInput, err := in.feed.next(ctx, req.Chunk, req.InputEof)
		if err != nil {
			return nil, compErr(err)
		}
		if needInput {
			return &pb.NextResponse{NeedInput: true}, nil
		}
		if res.err == io.EOF {
			return &pb.NextResponse{Eof: true}, nil
		}
		if res.err != nil {
			return nil, compErr(res.err)
		}
		b = res.batch
	case in.source != nil:
		b, err = in.source.Next(ctx)
		if err == io.EOF {
			return &pb.NextResponse{Eof: true}, nil
		}
		if err != nil {
			return nil, compErr(err)
		}
	default:
		return nil, status.Errorf(codes.FailedPrecondition, "handle %d is not a source", req.Handle)
	}
	data, err := in.enc.Encode(b)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding batch: %v", err)
	}
	return &pb.NextResponse{Batch: data}, nil
}

func (s *server) Process(ctx context.Context, req *pb.ProcessRequest) (*pb.ProcessResponse, error) {
	in, err := s.get(req.Handle)
	if err != nil {
		return nil, err
	}
	if in.transform == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "handle %d is not a transform", req.Handle)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	// The records slice is reused (nothing refers to it once the answer is
	// encoded); the values are new per batch, a transform may keep records.
	in.in.Reset()
	if err := in.dec.DecodeOwned(req.Batch, &in.in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "host sent a bad batch: %v", err)
	}
	in.res.Reset()
	if err := in.transform.Process(ctx, &in.in, &in.res); err != nil {
		return nil, compErr(err)
	}
	data, err := in.enc.Encode(&in.res)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding batch: %v", err)
	}
	return &pb.ProcessResponse{Batch: data}, nil
}

// ProcessStream serves a stream of batches (chunks) for transforms in
// three overlapping stages: receive and decode the next chunk, run the
// transform on the current one, encode and send the previous result. The
// transform itself still sees one chunk at a time, in order.
func (s *server) ProcessStream(stream pb.Plugin_ProcessStreamServer) error {
	ctx := stream.Context()
	// chunk is one decoded request; its records and values are reused for
	// a later request once its result is sent, when the transform keeps no
	// reference to its input (InPlace, like the runner's core transforms).
	type chunk struct {
		b     *record.Batch
		block []record.Value
	}
	type item struct {
		in  *instance
		c   *chunk
		err error
	}
	decoded := make(chan item, 1)
	recycle := make(chan *chunk, 3)
	go func() { // stage 1
		defer close(decoded)
		var dec pb.Decoder
		for {
			req, err := stream.Recv()
			if err == io.EOF {
				return
			}
			var it item
			if err == nil {
				it.in, err = s.get(req.Handle)
			}
			if err == nil && it.in.transform == nil {
				err = status.Errorf(codes.FailedPrecondition, "handle %d is not a transform", req.Handle)
			}
			if err == nil {
				select {
				case it.c = <-recycle:
					it.c.b.Reset()
				default:
					it.c = &chunk{b: &record.Batch{}}
				}
				var derr error
				if it.c.block, derr = dec.DecodeReuse(req.Batch, it.c.b, it.c.block); derr != nil {
					err = status.Errorf(codes.InvalidArgument, "host sent a bad batch: %v", derr)
				}
			}
			it.err = err
			select {
			case decoded <- it:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	type result struct {
		req   *chunk
		out   *record.Batch
		reuse bool
	}
	results := make(chan result, 1)
	free := make(chan *record.Batch, 2)
	stop := make(chan struct{}) // closed when sending failed
	var sendErr error
	sent := make(chan struct{})
	go func() { // stage 3
		defer close(sent)
		var enc pb.Encoder
		for res := range results {
			if sendErr != nil {
				continue
			}
			data, err := enc.EncodeResult(res.out, res.req.b)
			if err != nil {
				sendErr = status.Errorf(codes.Internal, "encoding batch: %v", err)
			} else if err := stream.Send(&pb.ProcessResponse{Batch: data}); err != nil {
				sendErr = err
			}
			if sendErr != nil {
				close(stop)
				continue
			}
			res.out.Reset()
			select {
			case free <- res.out:
			default:
			}
			if res.reuse {
				select {
				case recycle <- res.req:
				default:
				}
			}
		}
	}()

	var err error
loop:
	for it := range decoded { // stage 2
		if it.err != nil {
			err = it.err
			break
		}
		var out *record.Batch
		select {
		case out = <-free:
		default:
			out = &record.Batch{Records: make([]record.Record, 0, len(it.c.b.Records))}
		}
		it.in.mu.Lock()
		var perr error
		if it.in.closed { // the host gave up on the stream and closed the transform
			perr = status.Error(codes.FailedPrecondition, "transform closed")
		} else {
			perr = it.in.transform.Process(ctx, it.c.b, out)
		}
		it.in.mu.Unlock()
		if perr != nil {
			err = compErr(perr)
			break
		}
		select {
		case results <- result{req: it.c, out: out, reuse: inPlace(it.in.transform)}:
		case <-stop:
			break loop
		}
	}
	close(results)
	<-sent
	if err == nil {
		err = sendErr
	}
	return err
}

// inPlace reports whether t declares (InPlace() true, the convention of
// the runner's core transforms) that it keeps no reference to its input
// batch after Process returns: the plugin then reuses the memory of
// decoded input batches.
func inPlace(t Transform) bool {
	p, ok := t.(interface{ InPlace() bool })
	return ok && p.InPlace()
}

func (s *server) Flush(req *pb.FlushRequest, stream pb.Plugin_FlushServer) error {
	in, err := s.get(req.Handle)
	if err != nil {
		return err
	}
	f, ok := in.transform.(Flusher)
	if !ok {
		return nil
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	err = f.Flush(stream.Context(), func(b *record.Batch) error {
		data, err := in.enc.Encode(b)
		if err != nil {
			return status.Errorf(codes.Internal, "encoding batch: %v", err)
		}
		return stream.Send(&pb.FlushResponse{Batch: data})
	})
	return compErr(err)
}

func (s *server) Write(ctx context.Context, req *pb.WriteRequest) (*pb.WriteResponse, error) {
	in, err := s.get(req.Handle)
	if err != nil {
		return nil, err
	}
	if in.sink == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "handle %d is not a sink", req.Handle)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.in = record.Batch{}
	if err := in.dec.DecodeOwned(req.Batch, &in.in); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "host sent a bad batch: %v", err)
	}
	rejects, err := in.sink.Write(ctx, &in.in)
	if err != nil {
		return nil, compErr(err)
	}
	resp := &pb.WriteResponse{}
	if len(rejects) > 0 {
		data, err := in.enc.Encode(&record.Batch{Rejects: rejects})
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encoding rejects: %v", err)
		}
		resp.Rejects = bytes.Clone(data)
	}
	if in.out != nil && in.out.Len() > 0 {
		resp.Output = bytes.Clone(in.out.Bytes())
		in.out.Reset()
	}
	return resp, nil
}

func (s *server) Close(ctx context.Context, req *pb.CloseRequest) (*pb.CloseResponse, error) {
	in, err := s.get(req.Handle)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.insts, req.Handle)
	s.mu.Unlock()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	switch {
	case in.feed != nil:
		err = in.feed.close()
		in.cancel()
	case in.source != nil:
		err = in.source.Close()
	case in.transform != nil:
		err = in.transform.Close()
	case in.sink != nil:
		err = in.sink.Close(ctx)
	}
	if err != nil {
		return nil, compErr(err)
	}
	resp := &pb.CloseResponse{}
	if in.out != nil && in.out.Len() > 0 {
		resp.Output = bytes.Clone(in.out.Bytes())
		in.out.Reset()
	}
	return resp, nil
}

// hostState reaches the host's State and expressions over the broker.
type hostState struct {
	s        *server
	brokerID uint32
	envID    uint64
}

func (h *hostState) client() (pb.HostClient, error) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if h.s.host != nil {
		return h.s.host, nil
	}
	conn, err := h.s.broker.Dial(h.brokerID)
	if err != nil {
		return nil, fmt.Errorf("connecting to the host: %w", err)
	}
	h.s.hostC = conn
	h.s.host = pb.NewHostClient(conn)
	return h.s.host, nil
}

func (h *hostState) Reserve(ctx context.Context, counter string, n int64) (int64, error) {
	c, err := h.client()
	if err != nil {
		return 0, err
	}
	r, err := c.Reserve(ctx, &pb.ReserveRequest{EnvId: h.envID, Counter: counter, N: n})
	if err != nil {
		return 0, fmt.Errorf("reserving %s: %s", counter, status.Convert(err).Message())
	}
	return r.First, nil
}

func (h *hostState) Get(ctx context.Context, key string) (string, bool, error) {
	c, err := h.client()
	if err != nil {
		return "", false, err
	}
	r, err := c.GetState(ctx, &pb.GetStateRequest{EnvId: h.envID, Key: key})
	if err != nil {
		return "", false, fmt.Errorf("reading state %s: %s", key, status.Convert(err).Message())
	}
	return r.Value, r.Found, nil
}

func (h *hostState) Put(ctx context.Context, key, value string) error {
	c, err := h.client()
	if err != nil {
		return err
	}
	if _, err := c.PutState(ctx, &pb.PutStateRequest{EnvId: h.envID, Key: key, Value: value}); err != nil {
		return fmt.Errorf("writing state %s: %s", key, status.Convert(err).Message())
	}
	return nil
}

// expression implements Env.Expressions: nil when the step has no compiled
// expression at path; otherwise an Evaluator that asks the host per record.
func (h *hostState) expression(path string) Evaluator {
	c, err := h.client()
	if err != nil {
		return nil
	}
	r, err := c.Expression(context.Background(), &pb.ExpressionRequest{EnvId: h.envID, Path: path})
	if err != nil || !r.Found {
		return nil
	}
	return &remoteEval{c: c, envID: h.envID, path: path, src: r.Source}
}

// remoteEval evaluates a host-side compiled expression: Eval is one round
// trip per record, EvalBatch (BatchEvaluator, used by sdk.EvalBatch) one
// per batch.
type remoteEval struct {
	c     pb.HostClient
	envID uint64
	path  string
	src   string
	enc   pb.Encoder
	dec   pb.Decoder
}

func (e *remoteEval) Source() string { return e.src }

func (e *remoteEval) Eval(r record.Record) (record.Value, error) {
	data, err := e.enc.Encode(&record.Batch{Records: []record.Record{r}})
	if err != nil {
		return record.Null, err
	}
	resp, err := e.c.Eval(context.Background(), &pb.EvalRequest{EnvId: e.envID, Path: e.path, Batch: data})
	if err != nil {
		return record.Null, fmt.Errorf("evaluating %s: %s", e.path, status.Convert(err).Message())
	}
	if resp.Error != "" {
		return record.Null, errors.New(resp.Error)
	}
	var b record.Batch
	if err := e.dec.Decode(resp.Value, &b); err != nil || len(b.Records) != 1 || len(b.Records[0].Values) != 1 {
		return record.Null, fmt.Errorf("evaluating %s: bad answer from the host", e.path)
	}
	return b.Records[0].Values[0], nil
}
