// Package pluginrpc is the host side of Kontor's external plugin protocol:
// it turns a connection to a plugin process (served by sdk.Serve) back into
// an sdk.Plugin whose component constructors build remote adapters, so the
// engine uses an external plugin exactly like a built-in.
//
// Plugin authors do not import this package; engine/pluginhost (discovery,
// process start, checksums, timeouts) and plugins/sdk/sdktest (in-process
// round trips) do.
//
// Every call carries a deadline (Remote.Timeout, per batch) and the
// caller's cancellation. A transport failure (the process died, hung past
// the deadline or sent a batch that does not decode) marks the Remote
// broken: the error names the plugin, the operation and the batch number,
// OnFailure runs once (the host kills the process) and every later call
// fails at once with the same error. Component errors (the plugin's own
// error values) are passed through as errors of that component.
//
// Remote transforms are pipelined: Process sends its batch and returns the
// results of the one before, so host and plugin work on two cores at once;
// they are always sdk.Flushers, and Flush returns what is still in flight
// (see transform.go).
package pluginrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/plugins/sdk"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// DefaultTimeout is the default deadline of one call (one batch).
const DefaultTimeout = 60 * time.Second

// ChunkSize is how many input bytes a file source gets per chunk.
const ChunkSize = 256 << 10

// ClientPlugin is the go-plugin plugin on the host side (it only dispenses
// a *Remote). Use it in plugin.ClientConfig.VersionedPlugins under
// pluginv1.Version / pluginv1.PluginName.
type ClientPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

// GRPCServer implements plugin.GRPCPlugin; the host side does not serve.
func (ClientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host side does not serve the plugin protocol")
}

// GRPCClient implements plugin.GRPCPlugin.
func (ClientPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Remote{c: pb.NewPluginClient(conn), broker: broker}, nil
}

// Remote is a connection to one plugin. Set Name, Timeout and OnFailure
// before first use.
type Remote struct {
	c      pb.PluginClient
	broker *plugin.GRPCBroker

	// Name is the plugin name used in error messages.
	Name string
	// Timeout is the deadline of one call (default DefaultTimeout).
	Timeout time.Duration
	// OnFailure runs once after the first transport failure (the host
	// kills the plugin process there). It may be nil.
	OnFailure func()
	// Exited reports whether the plugin process has ended (nil: unknown).
	Exited func() bool

	mu      sync.Mutex
	broken  error
	hostID  uint32
	hostErr error
	hostOne sync.Once
	envs    sync.Map // env id -> sdk.Env
	envSeq  atomic.Uint64
}

// NewRemote wraps an existing connection (tests).
func NewRemote(conn grpc.ClientConnInterface, broker *plugin.GRPCBroker) *Remote {
	return &Remote{c: pb.NewPluginClient(conn), broker: broker}
}

func (r *Remote) timeout() time.Duration {
	if r.Timeout <= 0 {
		return DefaultTimeout
	}
	return r.Timeout
}

func (r *Remote) name() string {
	if r.Name == "" {
		return "plugin"
	}
	return "plugin " + r.Name
}

// Broken returns the transport failure that ended the plugin, or nil.
func (r *Remote) Broken() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.broken
}

// fail records a transport failure and runs OnFailure once.
func (r *Remote) fail(err error) error {
	r.mu.Lock()
	first := r.broken == nil
	if first {
		r.broken = err
	} else {
		err = r.broken
	}
	r.mu.Unlock()
	if first && r.OnFailure != nil {
		r.OnFailure()
	}
	return err
}

// call runs one RPC with the per-call deadline and classifies its error.
// op names the operation ("Process of batch 17") for messages.
func (r *Remote) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if err := r.Broken(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	err := f(cctx)
	if err == nil {
		return nil
	}
	return r.classify(ctx, cctx.Err() != nil && ctx.Err() == nil, op, err)
}

// classify turns the error of a call into the component's own error, the
// caller's cancellation or a transport failure (which breaks r). timedOut
// tells that the call's own deadline expired.
func (r *Remote) classify(ctx context.Context, timedOut bool, op string, err error) error {
	if ctx.Err() != nil { // the caller gave up (run cancelled): not the plugin's fault
		return ctx.Err()
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Aborted:
		// The component's own error, passed through.
		return remoteError(st.Message())
	case codes.DeadlineExceeded, codes.Canceled:
		if timedOut {
			return r.fail(fmt.Errorf("%s did not answer %s within %s (hung?); stopped it", r.name(), op, r.timeout()))
		}
		return remoteError(st.Message())
	case codes.Unimplemented:
		if strings.Contains(st.Message(), "ProcessStream") {
			return errUnimplemented
		}
	case codes.Unavailable:
		if r.Exited != nil {
			time.Sleep(50 * time.Millisecond) // let the process state catch up
			if r.Exited() {
				return r.fail(fmt.Errorf("%s: the plugin process exited (crashed or killed) during %s", r.name(), op))
			}
		}
		return r.fail(fmt.Errorf("%s: connection lost during %s: %s", r.name(), op, st.Message()))
	}
	return r.fail(fmt.Errorf("%s failed during %s: %s: %s", r.name(), op, st.Code(), st.Message()))
}

// malformed records a batch that did not decode.
func (r *Remote) malformed(op string, err error) error {
	return r.fail(fmt.Errorf("%s returned a malformed batch in %s: %v", r.name(), op, err))
}

// remoteError is an error message that came from the plugin's component.
type remoteError string

func (e remoteError) Error() string { return string(e) }

// Describe asks the plugin for its name, version and components.
func (r *Remote) Describe(ctx context.Context) (*pb.DescribeResponse, error) {
	var d *pb.DescribeResponse
	err := r.call(ctx, "Describe", func(ctx context.Context) (err error) {
		d, err = r.c.Describe(ctx, &pb.DescribeRequest{})
		return err
	})
	return d, err
}

// Connect returns the Remote of a plugin, starting it if needed.
type Connect func(ctx context.Context) (*Remote, error)

// PluginFromDescribe builds the sdk.Plugin of a described plugin: its specs
// are data from d, its constructors connect (connect may start the process
// lazily) and build remote adapters. Descriptions that would break the
// host (unknown kinds, types or expression modes) are an error.
func PluginFromDescribe(d *pb.DescribeResponse, connect Connect) (sdk.Plugin, error) {
	if d.ProtocolVersion != sdk.ProtocolVersion {
		return sdk.Plugin{}, fmt.Errorf("plugin %q speaks protocol version %d, this kontor speaks %d", d.Name, d.ProtocolVersion, sdk.ProtocolVersion)
	}
	p := sdk.Plugin{Name: d.Name, Version: d.Version, Description: d.Description}
	for _, c := range d.Components {
		fs, err := FieldsFromPB(c.Fields)
		if err != nil {
			return sdk.Plugin{}, fmt.Errorf("component %q: %w", c.Name, err)
		}
		comp := sdk.Component{Name: c.Name, Kind: sdk.Kind(c.Kind), IO: sdk.IOMode(c.Io), Summary: c.Summary,
			Description: c.Description, Spec: sdk.Spec{Fields: fs}, Examples: c.Examples}
		name := c.Name
		switch {
		case comp.Kind == sdk.KindSource && comp.IO == sdk.IOFile:
			comp.NewDecoder = ctor(connect, name, func(in *inst) sdk.Decoder { return &decoder{in} })
		case comp.Kind == sdk.KindSource && comp.IO == sdk.IONone:
			comp.NewSource = ctor(connect, name, func(in *inst) sdk.Source { return &source{inst: in} })
		case comp.Kind == sdk.KindTransform && comp.IO == sdk.IONone:
			comp.NewTransform = ctor(connect, name, func(in *inst) sdk.Transform { return &transform{inst: in} })
		case comp.Kind == sdk.KindSink && comp.IO == sdk.IOFile:
			comp.NewEncoder = ctor(connect, name, func(in *inst) sdk.Encoder { return &encoder{in} })
		case comp.Kind == sdk.KindSink && comp.IO == sdk.IONone:
			comp.NewSink = ctor(connect, name, func(in *inst) sdk.Sink { return &sink{inst: in} })
		default:
			return sdk.Plugin{}, fmt.Errorf("component %q: unknown kind %q with io %q", c.Name, c.Kind, c.Io)
		}
		if c.HasSchema {
			comp.Schema = func(cfg sdk.Config) (*record.Schema, error) {
				return schema(connect, name, cfg, nil, nil)
			}
		}
		if c.HasOutputSchema {
			fields := comp.Spec.Fields
			comp.OutputSchema = func(cfg sdk.Config, in *record.Schema, kind func(string) record.Kind) (*record.Schema, error) {
				return schema(connect, name, cfg, in, ExprKinds(fields, cfg, kind))
			}
		}
		p.Components = append(p.Components, comp)
	}
	return p, nil
}

// ExprKinds returns the static result kinds the host knows (kind, e.g.
// the loader's compiled expressions) of the expression fields of cfg, by
// config path as the loader names them: "key", "segments[2].expr" (lists of
// objects), "keys[0]" (lists of expressions), "set.total" (maps of
// expressions), "opts.when" (objects). Unknown kinds are left out.
func ExprKinds(fields []sdk.Field, cfg sdk.Config, kind func(string) record.Kind) map[string]string {
	if kind == nil {
		return nil
	}
	out := map[string]string{}
	exprKinds(fields, map[string]any(cfg), "", kind, out)
	return out
}

func exprKinds(fields []sdk.Field, cfg map[string]any, prefix string, kind func(string) record.Kind, out map[string]string) {
	add := func(path string) {
		if k := kind(path); k != record.KindNull {
			out[path] = k.String()
		}
	}
	for _, f := range fields {
		v, ok := cfg[f.Name]
		if !ok || v == nil {
			continue
		}
		path := prefix + f.Name
		switch {
		case f.Type == sdk.TypeList:
			l, _ := v.([]any)
			for i, e := range l {
				p := fmt.Sprintf("%s[%d]", path, i)
				if m, ok := e.(map[string]any); ok && len(f.Children) > 0 {
					exprKinds(f.Children, m, p+".", kind, out)
				} else if f.Expr != sdk.ExprNone {
					add(p)
				}
			}
		case f.Type == sdk.TypeMap && f.Expr != sdk.ExprNone:
			m, _ := v.(map[string]any)
			for k := range m {
				add(path + "." + k)
			}
		case f.Type == sdk.TypeObject && len(f.Children) > 0:
			if m, ok := v.(map[string]any); ok {
				exprKinds(f.Children, m, path+".", kind, out)
			}
		case f.Expr != sdk.ExprNone:
			add(path)
		}
	}
}

func schema(connect Connect, comp string, cfg sdk.Config, in *record.Schema, kinds map[string]string) (*record.Schema, error) {
	ctx := context.Background()
	r, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	text, err := pb.ConfigText(cfg)
	if err != nil {
		return nil, err
	}
	var resp *pb.SchemaResponse
	err = r.call(ctx, "Schema of "+comp, func(ctx context.Context) (err error) {
		resp, err = r.c.Schema(ctx, &pb.SchemaRequest{Component: comp, ConfigYaml: text, Input: pb.SchemaToPB(in), ExprKinds: kinds})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := fieldErrorsFromPB(resp.FieldErrors, resp.Error); err != nil {
		return nil, err
	}
	s, err := pb.SchemaFromPB(resp.Schema)
	if err != nil {
		return nil, r.fail(fmt.Errorf("%s returned a bad schema: %v", r.name(), err))
	}
	return s, nil
}

// inst is one remote component instance.
type inst struct {
	r       *Remote
	comp    string
	handle  uint64
	flusher bool
	envID   uint64
	batches int64 // calls so far, for messages
	enc     pb.Encoder
	dec     pb.Decoder
	closed  bool
}

func (i *inst) op(what string) string {
	return fmt.Sprintf("%s of batch %d (%s)", what, i.batches, i.comp)
}

// ctor returns a component constructor that opens the remote component
// name and wraps the instance as the sdk interface T.
func ctor[T any](connect Connect, name string, wrap func(*inst) T) func(context.Context, sdk.Config, sdk.Env) (T, error) {
	return func(ctx context.Context, cfg sdk.Config, env sdk.Env) (T, error) {
		in, err := open(ctx, connect, name, cfg, env)
		if err != nil {
			var zero T
			return zero, err
		}
		return wrap(in), nil
	}
}

func open(ctx context.Context, connect Connect, comp string, cfg sdk.Config, env sdk.Env) (*inst, error) {
	r, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	text, err := pb.ConfigText(cfg)
	if err != nil {
		return nil, err
	}
	envID := r.envSeq.Add(1)
	r.envs.Store(envID, env)
	penv := &pb.Env{EnvId: envID, Step: env.Step, Pipeline: env.Pipeline, Dir: env.Dir, DryRun: env.DryRun,
		BatchSize: int64(env.BatchSize), Now: pb.TimeToPB(env.Now), Since: pb.TimeToPB(env.Since), HostBrokerId: r.hostService()}
	lv := logLevel(env.Logger)
	penv.LogLevel = &lv
	var resp *pb.OpenResponse
	err = r.call(ctx, "Open of "+comp, func(ctx context.Context) (err error) {
		resp, err = r.c.Open(ctx, &pb.OpenRequest{Component: comp, ConfigYaml: text, Env: penv})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := fieldErrorsFromPB(resp.FieldErrors, resp.Error); err != nil {
		return nil, err
	}
	return &inst{r: r, comp: comp, handle: resp.Handle, flusher: resp.Flusher, envID: envID}, nil
}

// child opens an input on a decoder or creates an output on an encoder.
func (i *inst) child(ctx context.Context, name string, size int64) (*inst, error) {
	var resp *pb.OpenResponse
	err := i.r.call(ctx, "Open of "+name, func(ctx context.Context) (err error) {
		resp, err = i.r.c.Open(ctx, &pb.OpenRequest{Parent: i.handle, Name: name, Size: size})
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := fieldErrorsFromPB(resp.FieldErrors, resp.Error); err != nil {
		return nil, err
	}
	return &inst{r: i.r, comp: i.comp, handle: resp.Handle, envID: i.envID}, nil
}

func (i *inst) close(ctx context.Context) ([]byte, error) {
	if i.closed {
		return nil, nil
	}
	i.closed = true
	defer i.r.envs.Delete(i.envID)
	if i.r.Broken() != nil {
		return nil, nil // the process is gone; the run already failed
	}
	var resp *pb.CloseResponse
	err := i.r.call(ctx, "Close of "+i.comp, func(ctx context.Context) (err error) {
		resp, err = i.r.c.Close(ctx, &pb.CloseRequest{Handle: i.handle})
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp.Output, nil
}

// source is a remote sdk.Source.
type source struct {
	inst *inst
	r    io.Reader // input of a file source; nil otherwise
	buf  []byte
	done bool // input fully sent
}

func (s *source) Next(ctx context.Context) (*record.Batch, error) {
	i := s.inst
	i.batches++
	var chunk []byte
	var eof bool
	for {
		var resp *pb.NextResponse
		err := i.r.call(ctx, i.op("Next"), func(ctx context.Context) (err error) {
			resp, err = i.r.c.Next(ctx, &pb.NextRequest{Handle: i.handle, Chunk: chunk, InputEof: eof})
			return err
		})
		if err != nil {
			return nil, err
		}
		switch {
		case resp.Eof:
			return nil, io.EOF
		case resp.NeedInput:
			if s.r == nil || s.done {
				return nil, i.r.fail(fmt.Errorf("%s asked for more input in %s after the end of the input", i.r.name(), i.op("Next")))
			}
			if s.buf == nil {
				s.buf = make([]byte, ChunkSize)
			}
			n, rerr := io.ReadFull(s.r, s.buf)
			chunk = s.buf[:n]
			switch {
			case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
				eof, s.done = true, true
			case rerr != nil:
				return nil, fmt.Errorf("reading input: %w", rerr)
			}
			continue
		}
		b := &record.Batch{}
		if err := i.dec.DecodeOwned(resp.Batch, b); err != nil {
			return nil, i.r.malformed(i.op("Next"), err)
		}
		return b, nil
	}
}

func (s *source) Close() error {
	_, err := s.inst.close(context.Background())
	return err
}

// decoder is a remote sdk.Decoder.
type decoder struct{ inst *inst }

func (d *decoder) Open(ctx context.Context, in sdk.Input) (sdk.Source, error) {
	c, err := d.inst.child(ctx, in.Name, in.Size)
	if err != nil {
		return nil, err
	}
	return &source{inst: c, r: in.R}, nil
}

// sink is a remote sdk.Sink; w receives a file sink's output.
type sink struct {
	inst *inst
	w    io.Writer
	rej  record.Batch
}

func (s *sink) Write(ctx context.Context, b *record.Batch) ([]record.Reject, error) {
	i := s.inst
	i.batches++
	data, err := i.enc.Encode(b)
	if err != nil {
		return nil, fmt.Errorf("encoding batch %d for %s: %w", i.batches, i.r.name(), err)
	}
	var resp *pb.WriteResponse
	err = i.r.call(ctx, i.op("Write"), func(ctx context.Context) (err error) {
		resp, err = i.r.c.Write(ctx, &pb.WriteRequest{Handle: i.handle, Batch: data})
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(resp.Output) > 0 {
		if s.w == nil {
			return nil, i.r.fail(fmt.Errorf("%s sent file output from a sink without a file", i.r.name()))
		}
		if _, err := s.w.Write(resp.Output); err != nil {
			return nil, fmt.Errorf("writing output: %w", err)
		}
	}
	if len(resp.Rejects) == 0 {
		return nil, nil
	}
	s.rej = record.Batch{}
	if err := i.dec.Decode(resp.Rejects, &s.rej); err != nil {
		return nil, i.r.malformed(i.op("Write"), err)
	}
	return s.rej.Rejects, nil
}

func (s *sink) Close(ctx context.Context) error {
	out, err := s.inst.close(ctx)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		if s.w == nil {
			return s.inst.r.fail(fmt.Errorf("%s sent file output from a sink without a file", s.inst.r.name()))
		}
		if _, err := s.w.Write(out); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}

// encoder is a remote sdk.Encoder.
type encoder struct{ inst *inst }

func (e *encoder) Create(ctx context.Context, out sdk.Output) (sdk.Sink, error) {
	c, err := e.inst.child(ctx, out.Name, -1)
	if err != nil {
		return nil, err
	}
	return &sink{inst: c, w: out.W}, nil
}

// fieldErrorsFromPB decodes constructor errors (nil when there are none).
func fieldErrorsFromPB(fes []*pb.FieldError, msg string) error {
	if len(fes) > 0 {
		out := make(sdk.FieldErrors, len(fes))
		for i, fe := range fes {
			out[i] = sdk.FieldError{Path: fe.Path, Message: fe.Message}
		}
		return out
	}
	if msg != "" {
		return remoteError(msg)
	}
	return nil
}

// FieldsFromPB converts spec fields back; it checks what the host relies on
// (types, expression modes) so a plugin describing nonsense is refused.
func FieldsFromPB(fs []*pb.Field) ([]sdk.Field, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	out := make([]sdk.Field, 0, len(fs))
	for _, f := range fs {
		switch sdk.Type(f.Type) {
		case sdk.TypeString, sdk.TypeInt, sdk.TypeBool, sdk.TypeDecimal, sdk.TypeDuration, sdk.TypeEnum,
			sdk.TypeList, sdk.TypeObject, sdk.TypeMap, sdk.TypeAny:
		default:
			return nil, fmt.Errorf("field %q: unknown type %q", f.Name, f.Type)
		}
		switch sdk.ExprMode(f.Expr) {
		case sdk.ExprNone, sdk.ExprBool, sdk.ExprValue:
		default:
			return nil, fmt.Errorf("field %q: unknown expr mode %q", f.Name, f.Expr)
		}
		def, err := pb.YAMLValue(f.DefaultYaml)
		if err != nil {
			return nil, fmt.Errorf("field %q: default: %w", f.Name, err)
		}
		ex, err := pb.YAMLValue(f.ExampleYaml)
		if err != nil {
			return nil, fmt.Errorf("field %q: example: %w", f.Name, err)
		}
		ch, err := FieldsFromPB(f.Children)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		out = append(out, sdk.Field{
			Name: f.Name, Type: sdk.Type(f.Type), Required: f.Required, Default: def, Enum: f.Enum,
			Pattern: f.Pattern, Min: f.Min, Max: f.Max, Description: f.Description, Example: ex,
			Expr: sdk.ExprMode(f.Expr), Secret: f.Secret, Deprecated: f.Deprecated, Elem: sdk.Type(f.Elem), Children: ch,
		})
	}
	return out, nil
}
