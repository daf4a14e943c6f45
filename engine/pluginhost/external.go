package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/protobuf/proto"

	"github.com/kontor-etl/kontor/plugins/sdk"
	"github.com/kontor-etl/kontor/plugins/sdk/pluginrpc"
	pb "github.com/kontor-etl/kontor/plugins/sdk/proto/v1"
)

// External plugins.
//
// An external plugin is an executable named kontor-plugin-<name> built with
// sdk.Serve. The host finds it in a plugin directory (Discover) or at the
// path a pipeline names (`plugins:`), checks its sha256 against the pin
// when one is given (a mismatch is refused before the binary starts: a
// *PinError, exit code 2), asks it to describe itself (cached per binary
// sha256 in ExternalOptions.CacheDir, so lint, describe and JSON Schema work
// without starting it again) and registers the described components like
// built-ins. The process starts only when a component is constructed, with a
// clean environment plus the variables the pipeline lists (`env:`), and is
// killed by Host.Close.
//
// Isolation: every call has a deadline (CallTimeout, per batch); a plugin
// that crashes, hangs or returns a malformed batch makes the call fail with
// a message naming the plugin, the operation and the batch, the process is
// killed, and the run ends ERROR (nothing committed, state unchanged).

// Default timeouts of external plugins.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultCallTimeout  = pluginrpc.DefaultTimeout
)

// PluginPrefix is the file name prefix of external plugin executables.
const PluginPrefix = "kontor-plugin-"

// ExternalOptions configures a Host.
type ExternalOptions struct {
	// StartTimeout bounds starting a plugin process and its handshake
	// (default DefaultStartTimeout, 10 s).
	StartTimeout time.Duration
	// CallTimeout bounds each call, i.e. each batch (default
	// DefaultCallTimeout, 60 s).
	CallTimeout time.Duration
	// CacheDir holds describe results per binary sha256. "" disables the
	// cache; DefaultCacheDir() is the usual choice.
	CacheDir string
	// Logger receives the plugins' logs (with attribute plugin=<name>) and
	// the host's messages about them. nil: discarded.
	Logger *slog.Logger
	// LookupEnv resolves the names a plugin reference passes (`env: [NAME]`);
	// default os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// DefaultCacheDir returns <user cache dir>/kontor/plugins, or "" when the
// user has no cache directory.
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "kontor", "plugins")
}

// DefaultPluginDirs returns the plugin directories searched when none is
// given: ./plugins next to the pipeline (pipelineDir "" skips it) and
// ~/.kontor/plugins.
func DefaultPluginDirs(pipelineDir string) []string {
	var ds []string
	if pipelineDir != "" {
		ds = append(ds, filepath.Join(pipelineDir, "plugins"))
	}
	if h, err := os.UserHomeDir(); err == nil {
		ds = append(ds, filepath.Join(h, ".kontor", "plugins"))
	}
	return ds
}

// PluginRef names one external plugin binary.
type PluginRef struct {
	// Name is the plugin name; the binary must describe itself with it.
	// "" takes it from the file name (kontor-plugin-<name>).
	Name string
	// Path of the executable.
	Path string
	// SHA256 pins the binary (hex); "" accepts any content.
	SHA256 string
	// Env lists environment variables passed to the plugin: "NAME" (the
	// host's value, if set) or "NAME=VALUE". Nothing else is passed.
	Env []string
	// CallTimeout overrides ExternalOptions.CallTimeout for this plugin.
	CallTimeout time.Duration
}

// PinError is a plugin binary whose sha256 differs from its pin. It is a
// configuration error (exit code 2): the binary was not started.
type PinError struct {
	Plugin, Path, Want, Got string
}

func (e *PinError) Error() string {
	return fmt.Sprintf("plugin %s (%s): sha256 %s does not match the pinned %s; refusing to start it", e.Plugin, e.Path, e.Got, e.Want)
}

// Discover returns the plugin executables (kontor-plugin-<name>) in dirs,
// sorted by name; the first directory wins when a name appears twice.
// Missing directories are skipped.
func Discover(dirs ...string) ([]PluginRef, error) {
	seen := map[string]bool{}
	var out []PluginRef
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plugin directory: %w", err)
		}
		for _, e := range ents {
			name, ok := strings.CutPrefix(e.Name(), PluginPrefix)
			if !ok {
				continue
			}
			name = strings.TrimSuffix(name, ".exe")
			if !nameRE.MatchString(name) || seen[name] {
				continue
			}
			p := filepath.Join(d, e.Name())
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
				continue
			}
			seen[name] = true
			out = append(out, PluginRef{Name: name, Path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Host starts and stops external plugin processes. Close kills them all.
type Host struct {
	opts ExternalOptions

	mu      sync.Mutex
	clients []*plugin.Client
	procs   []*exec.Cmd
	closed  bool
}

// pids returns the process ids of the plugins started so far (tests).
func (h *Host) pids() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, c := range h.procs {
		if c.Process != nil {
			out = append(out, c.Process.Pid)
		}
	}
	return out
}

// NewHost returns a Host.
func NewHost(opts ExternalOptions) *Host {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	return &Host{opts: opts}
}

// Close kills every plugin process this host started (idempotent).
func (h *Host) Close() {
	h.mu.Lock()
	cs := h.clients
	h.clients, h.procs = nil, nil
	h.closed = true
	h.mu.Unlock()
	for _, c := range cs {
		c.Kill()
	}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Load checks ref's binary, describes it (from the cache or by starting it)
// and returns the plugin as the registry sees it. The process is started
// (again) only when a component is constructed.
func (h *Host) Load(ctx context.Context, ref PluginRef) (sdk.Plugin, error) {
	label := ref.Name
	if label == "" {
		label = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(ref.Path), PluginPrefix), ".exe")
	}
	sum, err := fileSHA256(ref.Path)
	if err != nil {
		return sdk.Plugin{}, fmt.Errorf("plugin %s: %w", label, err)
	}
	if ref.SHA256 != "" && !strings.EqualFold(ref.SHA256, sum) {
		return sdk.Plugin{}, &PinError{Plugin: label, Path: ref.Path, Want: strings.ToLower(ref.SHA256), Got: sum}
	}
	l := &launcher{h: h, ref: ref, label: label, sum: sum}
	d, err := h.cachedDescribe(sum)
	if err != nil {
		h.opts.Logger.Warn("ignoring unreadable plugin describe cache", "plugin", label, "err", err)
	}
	if d == nil {
		r, err := l.connect(ctx)
		if err != nil {
			return sdk.Plugin{}, err
		}
		if d, err = r.Describe(ctx); err != nil {
			return sdk.Plugin{}, fmt.Errorf("plugin %s: describe: %w", label, err)
		}
		h.storeDescribe(sum, d)
	}
	if ref.Name != "" && d.Name != ref.Name {
		return sdk.Plugin{}, fmt.Errorf("plugin %s (%s) describes itself as %q", ref.Name, ref.Path, d.Name)
	}
	l.label = d.Name
	p, err := pluginrpc.PluginFromDescribe(d, l.connect)
	if err != nil {
		return sdk.Plugin{}, fmt.Errorf("plugin %s: %w", d.Name, err)
	}
	return p, nil
}

func (h *Host) cachedDescribe(sum string) (*pb.DescribeResponse, error) {
	if h.opts.CacheDir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(h.opts.CacheDir, sum+".describe.pb"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &pb.DescribeResponse{}
	if err := proto.Unmarshal(b, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (h *Host) storeDescribe(sum string, d *pb.DescribeResponse) {
	if h.opts.CacheDir == "" {
		return
	}
	b, err := proto.Marshal(d)
	if err == nil {
		err = os.MkdirAll(h.opts.CacheDir, 0o755)
	}
	if err == nil {
		tmp := filepath.Join(h.opts.CacheDir, fmt.Sprintf(".%s.%d.tmp", sum, os.Getpid()))
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, filepath.Join(h.opts.CacheDir, sum+".describe.pb"))
		}
	}
	if err != nil {
		h.opts.Logger.Warn("cannot cache plugin description", "err", err)
	}
}

// launcher starts one plugin process on first use.
type launcher struct {
	h     *Host
	ref   PluginRef
	label string
	sum   string

	mu     sync.Mutex
	remote *pluginrpc.Remote
	err    error
}

func (l *launcher) env() []string {
	env := []string{}
	for _, e := range l.ref.Env {
		if strings.Contains(e, "=") {
			env = append(env, e)
		} else if v, ok := l.h.opts.LookupEnv(e); ok {
			env = append(env, e+"="+v)
		}
	}
	return env
}

func (l *launcher) connect(ctx context.Context) (*pluginrpc.Remote, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.remote != nil && l.remote.Broken() != nil {
		// The process crashed, hung or misbehaved and was stopped: the
		// next component (the next case of `kontor test`, the next run of
		// a long-lived host) gets a fresh process.
		l.h.opts.Logger.Debug("restarting plugin after a failure", "plugin", l.label)
		l.remote = nil
	}
	if l.remote != nil || l.err != nil {
		return l.remote, l.err
	}
	l.remote, l.err = l.start(ctx)
	return l.remote, l.err
}

func (l *launcher) start(ctx context.Context) (*pluginrpc.Remote, error) {
	h := l.h
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("plugin %s: host is closed", l.label)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sum, _ := hex.DecodeString(l.sum)
	cmd := exec.Command(l.ref.Path)
	cmd.Env = l.env()
	logger := h.opts.Logger.With("plugin", l.label)
	var remote atomic.Pointer[pluginrpc.Remote]
	route := func() *slog.Logger {
		if r := remote.Load(); r != nil {
			return r.EnvLogger()
		}
		return nil
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{pb.Version: {pb.PluginName: pluginrpc.ClientPlugin{}}},
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  pb.DialOptions(),
		// The binary is checked again right before exec, so it cannot be
		// swapped after the describe (or its cached answer) was accepted.
		SecureConfig: &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		StartTimeout: h.opts.StartTimeout,
		Logger:       newHCLogger(logger, route),
		Stderr:       io.Discard,
		SyncStdout:   &lineLog{l: logger, route: route, stream: "stdout"},
		SyncStderr:   &lineLog{l: logger, route: route, stream: "stderr"},
	})
	fail := func(err error) (*pluginrpc.Remote, error) {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, &PinError{Plugin: l.label, Path: l.ref.Path, Want: l.sum, Got: "(changed since it was checked)"}
		}
		return nil, fmt.Errorf("plugin %s (%s): starting: %w", l.label, l.ref.Path, err)
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(err)
	}
	raw, err := rpc.Dispense(pb.PluginName)
	if err != nil {
		return fail(err)
	}
	r, ok := raw.(*pluginrpc.Remote)
	if !ok {
		return fail(fmt.Errorf("unexpected client type %T", raw))
	}
	r.Name = l.label
	r.Timeout = h.opts.CallTimeout
	if l.ref.CallTimeout > 0 {
		r.Timeout = l.ref.CallTimeout
	}
	r.Exited = client.Exited
	remote.Store(r)
	r.OnFailure = func() {
		logger.Error("stopping plugin after a failure", "err", r.Broken())
		go client.Kill()
	}
	h.mu.Lock()
	h.clients = append(h.clients, client)
	h.procs = append(h.procs, cmd)
	h.mu.Unlock()
	return r, nil
}

// LoadAll loads refs and adds them to reg. Errors are collected per plugin;
// a *PinError among them means exit code 2.
func (h *Host) LoadAll(ctx context.Context, reg *Registry, refs []PluginRef) error {
	var errs []error
	for _, ref := range refs {
		p, err := h.Load(ctx, ref)
		if err == nil {
			err = reg.Add(p)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
