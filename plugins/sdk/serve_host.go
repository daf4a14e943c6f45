package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// hostLog is the slog handler of Env.Logger in a plugin process: every
// line goes to the step's logger on the host (Host.Log), which redacts
// secrets, so a component can never leak a secret into the host's log by
// logging it. Lines below the host's level are not sent. When the host
// cannot be reached the line goes to the plugin's stderr logger instead.
type hostLog struct {
	h        *hostState
	min      slog.Level
	attrs    []*pb.LogAttr // from With, flattened
	group    string        // prefix of later attribute keys ("g.")
	fallback slog.Handler
}

func (l *hostLog) Enabled(_ context.Context, level slog.Level) bool { return level >= l.min }

func (l *hostLog) Handle(ctx context.Context, r slog.Record) error {
	req := &pb.LogRequest{EnvId: l.h.envID, Level: int32(r.Level), Message: r.Message, Time: pb.TimeToPB(r.Time),
		Attrs: append([]*pb.LogAttr(nil), l.attrs...)}
	r.Attrs(func(a slog.Attr) bool {
		req.Attrs = appendLogAttr(req.Attrs, l.group, a)
		return true
	})
	c, err := l.h.client()
	if err == nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		_, err = c.Log(cctx, req)
		cancel()
	}
	if err != nil && l.fallback != nil {
		return l.fallback.Handle(ctx, r)
	}
	return nil
}

func (l *hostLog) WithAttrs(as []slog.Attr) slog.Handler {
	n := *l
	n.attrs = append([]*pb.LogAttr(nil), l.attrs...)
	for _, a := range as {
		n.attrs = appendLogAttr(n.attrs, l.group, a)
	}
	if l.fallback != nil {
		n.fallback = l.fallback.WithAttrs(as)
	}
	return &n
}

func (l *hostLog) WithGroup(name string) slog.Handler {
	if name == "" {
		return l
	}
	n := *l
	n.group = l.group + name + "."
	if l.fallback != nil {
		n.fallback = l.fallback.WithGroup(name)
	}
	return &n
}

// appendLogAttr flattens a (groups become "g.key") into the wire form.
func appendLogAttr(out []*pb.LogAttr, prefix string, a slog.Attr) []*pb.LogAttr {
	v := a.Value.Resolve()
	key := prefix + a.Key
	switch v.Kind() {
	case slog.KindGroup:
		p := prefix
		if a.Key != "" {
			p = key + "."
		}
		for _, g := range v.Group() {
			out = appendLogAttr(out, p, g)
		}
		return out
	case slog.KindInt64:
		return append(out, &pb.LogAttr{Key: key, Kind: 1, Num: v.Int64()})
	case slog.KindUint64:
		return append(out, &pb.LogAttr{Key: key, Kind: 1, Num: int64(v.Uint64())})
	case slog.KindBool:
		n := int64(0)
		if v.Bool() {
			n = 1
		}
		return append(out, &pb.LogAttr{Key: key, Kind: 2, Num: n})
	case slog.KindFloat64:
		return append(out, &pb.LogAttr{Key: key, Kind: 3, F: v.Float64()})
	case slog.KindDuration:
		return append(out, &pb.LogAttr{Key: key, Kind: 4, Num: int64(v.Duration())})
	case slog.KindTime:
		return append(out, &pb.LogAttr{Key: key, Kind: 5, Num: v.Time().UnixNano()})
	}
	if a.Key == "" && v.Kind() == slog.KindAny && v.Any() == nil {
		return out
	}
	return append(out, &pb.LogAttr{Key: key, Str: v.String()})
}

// LogAttrsFromPB turns the attributes of a Host.Log request back into slog
// attributes (for the host side).
func LogAttrsFromPB(as []*pb.LogAttr) []slog.Attr {
	out := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		switch a.Kind {
		case 1:
			out = append(out, slog.Int64(a.Key, a.Num))
		case 2:
			out = append(out, slog.Bool(a.Key, a.Num != 0))
		case 3:
			out = append(out, slog.Float64(a.Key, a.F))
		case 4:
			out = append(out, slog.Duration(a.Key, time.Duration(a.Num)))
		case 5:
			out = append(out, slog.Time(a.Key, time.Unix(0, a.Num)))
		default:
			out = append(out, slog.String(a.Key, a.Str))
		}
	}
	return out
}

// EvalBatch implements BatchEvaluator: one round trip to the host for the
// whole slice.
func (e *remoteEval) EvalBatch(rs []record.Record, vals []record.Value, errs []error) error {
	if len(vals) != len(rs) || len(errs) != len(rs) {
		return fmt.Errorf("EvalBatch: %d records but %d values and %d errors", len(rs), len(vals), len(errs))
	}
	if len(rs) == 0 {
		return nil
	}
	data, err := e.enc.Encode(&record.Batch{Records: rs})
	if err != nil {
		return err
	}
	resp, err := e.c.EvalBatch(context.Background(), &pb.EvalBatchRequest{EnvId: e.envID, Path: e.path, Batch: data})
	if err != nil {
		return fmt.Errorf("evaluating %s: %s", e.path, status.Convert(err).Message())
	}
	var b record.Batch
	if err := e.dec.DecodeOwned(resp.Values, &b); err != nil || len(b.Records) != len(rs) {
		return fmt.Errorf("evaluating %s: bad answer from the host", e.path)
	}
	for i, r := range b.Records {
		if len(r.Values) != 1 {
			return fmt.Errorf("evaluating %s: bad answer from the host", e.path)
		}
		vals[i], errs[i] = r.Values[0], nil
		if msg, ok := resp.Errors[uint32(i)]; ok {
			vals[i], errs[i] = record.Null, errors.New(msg)
		}
	}
	return nil
}
