package pluginrpc

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// hostService starts the Host service on the broker once and returns its
// broker id (0 when there is no broker: State and expressions then stay
// local to the plugin).
func (r *Remote) hostService() uint32 {
	if r.broker == nil {
		return 0
	}
	r.hostOne.Do(func() {
		id := r.broker.NextId()
		r.hostID = id
		go r.broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(opts...)
			pb.RegisterHostServer(s, &hostServer{r: r})
			return s
		})
	})
	return r.hostID
}

// hostServer gives plugin components the Env.State and Env.Expressions of
// the step that built them (by env id).
type hostServer struct {
	pb.UnimplementedHostServer
	r *Remote
}

func (h *hostServer) env(id uint64) (sdk.Env, error) {
	v, ok := h.r.envs.Load(id)
	if !ok {
		return sdk.Env{}, status.Errorf(codes.NotFound, "unknown env %d (component closed?)", id)
	}
	return v.(sdk.Env), nil
}

func hostErr(err error) error { return status.Error(codes.Aborted, err.Error()) }

func (h *hostServer) Reserve(ctx context.Context, req *pb.ReserveRequest) (*pb.ReserveResponse, error) {
	env, err := h.env(req.EnvId)
	if err != nil {
		return nil, err
	}
	if req.N < 1 {
		return nil, status.Errorf(codes.InvalidArgument, "reserve %d numbers: want at least 1", req.N)
	}
	first, err := env.State.Reserve(ctx, req.Counter, req.N)
	if err != nil {
		return nil, hostErr(err)
	}
	return &pb.ReserveResponse{First: first}, nil
}

func (h *hostServer) GetState(ctx context.Context, req *pb.GetStateRequest) (*pb.GetStateResponse, error) {
	env, err := h.env(req.EnvId)
	if err != nil {
		return nil, err
	}
	v, ok, err := env.State.Get(ctx, req.Key)
	if err != nil {
		return nil, hostErr(err)
	}
	return &pb.GetStateResponse{Value: v, Found: ok}, nil
}

func (h *hostServer) PutState(ctx context.Context, req *pb.PutStateRequest) (*pb.PutStateResponse, error) {
	env, err := h.env(req.EnvId)
	if err != nil {
		return nil, err
	}
	if err := env.State.Put(ctx, req.Key, req.Value); err != nil {
		return nil, hostErr(err)
	}
	return &pb.PutStateResponse{}, nil
}

func (h *hostServer) evaluator(req interface {
	GetEnvId() uint64
	GetPath() string
}) (sdk.Evaluator, error) {
	env, err := h.env(req.GetEnvId())
	if err != nil {
		return nil, err
	}
	if env.Expressions == nil {
		return nil, nil
	}
	return env.Expressions(req.GetPath()), nil
}

func (h *hostServer) Expression(_ context.Context, req *pb.ExpressionRequest) (*pb.ExpressionResponse, error) {
	ev, err := h.evaluator(req)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return &pb.ExpressionResponse{}, nil
	}
	return &pb.ExpressionResponse{Found: true, Source: ev.Source()}, nil
}

func (h *hostServer) Eval(_ context.Context, req *pb.EvalRequest) (*pb.EvalResponse, error) {
	ev, err := h.evaluator(req)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, status.Errorf(codes.NotFound, "no expression at %q", req.Path)
	}
	var dec pb.Decoder
	var b record.Batch
	if err := dec.Decode(req.Batch, &b); err != nil || len(b.Records) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "eval wants one record: %v", err)
	}
	v, err := ev.Eval(b.Records[0])
	if err != nil {
		return &pb.EvalResponse{Error: err.Error()}, nil
	}
	var enc pb.Encoder
	data, err := enc.Encode(&record.Batch{Records: []record.Record{{Schema: valueSchema, Values: []record.Value{v}}}})
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("encoding value: %v", err))
	}
	return &pb.EvalResponse{Value: data}, nil
}

var valueSchema = record.MustSchema(record.Field{Name: "value"})

func (h *hostServer) EvalBatch(_ context.Context, req *pb.EvalBatchRequest) (*pb.EvalBatchResponse, error) {
	ev, err := h.evaluator(req)
	if err != nil {
		return nil, err
	}
	if ev == nil {
		return nil, status.Errorf(codes.NotFound, "no expression at %q", req.Path)
	}
	var dec pb.Decoder
	var b record.Batch
	if err := dec.DecodeOwned(req.Batch, &b); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "eval batch: %v", err)
	}
	n := len(b.Records)
	vals := make([]record.Value, n)
	errs := make([]error, n)
	if err := sdk.EvalBatch(ev, b.Records, vals, errs); err != nil {
		return nil, hostErr(err)
	}
	out := record.Batch{Records: make([]record.Record, n)}
	resp := &pb.EvalBatchResponse{}
	for i := range vals {
		out.Records[i] = record.Record{Schema: valueSchema, Values: vals[i : i+1 : i+1]}
		if errs[i] != nil {
			if resp.Errors == nil {
				resp.Errors = map[uint32]string{}
			}
			resp.Errors[uint32(i)] = errs[i].Error()
		}
	}
	var enc pb.Encoder
	data, err := enc.Encode(&out)
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("encoding values: %v", err))
	}
	resp.Values = data
	return resp, nil
}

// Log writes a component's log line to its step's logger (the runner's,
// which redacts secrets), tagged with the plugin's name.
func (h *hostServer) Log(ctx context.Context, req *pb.LogRequest) (*pb.LogResponse, error) {
	env, err := h.env(req.EnvId)
	if err != nil {
		return nil, err
	}
	if env.Logger == nil {
		return &pb.LogResponse{}, nil
	}
	attrs := append([]slog.Attr{slog.String("plugin", h.r.Name)}, sdk.LogAttrsFromPB(req.Attrs)...)
	env.Logger.LogAttrs(context.WithoutCancel(ctx), slog.Level(req.Level), req.Message, attrs...)
	return &pb.LogResponse{}, nil
}

// logLevel is the lowest level l writes (info when l is nil).
func logLevel(l *slog.Logger) int32 {
	if l == nil {
		return int32(slog.LevelInfo)
	}
	for _, lv := range []slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if l.Enabled(context.Background(), lv) {
			return int32(lv)
		}
	}
	return int32(slog.LevelError + 4)
}

// EnvLogger returns the logger of the most recently built component of
// this plugin that is still open, with attribute plugin=<name>, or nil.
// The host routes the plugin process's own stderr lines through it, so
// they are redacted like the components' log lines.
func (r *Remote) EnvLogger() *slog.Logger {
	var best uint64
	var l *slog.Logger
	r.envs.Range(func(k, v any) bool {
		if id := k.(uint64); id > best && v.(sdk.Env).Logger != nil {
			best, l = id, v.(sdk.Env).Logger
		}
		return true
	})
	if l == nil {
		return nil
	}
	return l.With("plugin", r.Name)
}
