package runner

import (
	"context"
	"log/slog"
	"sort"
	"strings"
)

// redactor replaces secret values by "***".
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) redactor {
	ss := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 {
		return redactor{}
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(ss, func(i, j int) bool { return len(ss[i]) > len(ss[j]) })
	pairs := make([]string, 0, 2*len(ss))
	for _, s := range ss {
		pairs = append(pairs, s, "***")
	}
	return redactor{strings.NewReplacer(pairs...)}
}

// S redacts s.
func (r redactor) S(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// redactHandler wraps a slog.Handler and redacts the message and every
// string-valued attribute.
type redactHandler struct {
	h   slog.Handler
	red redactor
}

func redactLogger(l *slog.Logger, red redactor) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	if red.r == nil {
		return l
	}
	return slog.New(&redactHandler{h: l.Handler(), red: red})
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.h.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.red.S(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, out)
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.red.S(v.String()))
	case slog.KindGroup:
		g := v.Group()
		as := make([]any, len(g))
		for i, x := range g {
			as[i] = h.attr(x)
		}
		return slog.Group(a.Key, as...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.red.S(err.Error()))
		}
		return slog.String(a.Key, h.red.S(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &redactHandler{h: h.h.WithAttrs(red), red: h.red}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{h: h.h.WithGroup(name), red: h.red}
}
