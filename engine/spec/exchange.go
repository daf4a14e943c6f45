package spec

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/diag"
)

// Exchange is the `exchange:` engine key of a file component: file
// exchange through shared directories (drop folders), the transport of
// partners that hand files over by directory (PepperShop's caller with
// status files, municipal data centres, SFTP drop boxes mounted locally).
// The runner implements it with plugins/sdk/dropfolder.
//
// On a file source the `path:` glob names the inbox (its directory, which
// must not contain wildcards) and the pattern (its base name):
//
//	source:
//	  type: csv.read
//	  path: in/orders_*.csv
//	  exchange:
//	    settle: 5s            # a file counts as complete once size and mtime kept still this long (default 2s)
//	    marker: .ok           # or: complete only once NAME.ok exists beside it (the writer creates it last)
//	    processing: in/processing   # defaults: <inbox>/processing, <inbox>/done, <inbox>/error
//	    done: in/done
//	    error: in/error
//	    on_error: requeue     # what a failed run does with its files: requeue (default) or error
//	    on_empty: ok          # a run that finds no complete file: ok (default), warning or error
//	    max_attempts: 3       # with requeue: after this many failed runs a file goes to error/ (default 0: never)
//	    before: {command: [bin/check-upload]}            # may veto a file (non-zero exit / non-2xx)
//	    after: {webhook: {url: "https://erp.example/hook"}, timeout: 30s}
//
// A run claims the complete files atomically (rename into processing/, so
// two runs never take one file), reads them, and when the run commits
// moves them to done/ with NAME.ok. When the run fails (ERROR) its files
// go back to the inbox with NAME.err beside them (reason and attempt count)
// and the next run takes them again (on_error: requeue), or they go to
// error/ with NAME.err (on_error: error; move a file back into the inbox to
// process it again). A file still being written is never taken.
//
// A run that finds no complete file in the inbox (nothing arrived, or
// files still being written or waiting for their marker) reads nothing and
// ends as on_empty says: ok (the default), warning or error. An inbox is
// polled, usually on a schedule, and is empty most of the time: that is
// its normal state, not a failure, so by default such a run ends OK
// without a notification instead of ERROR on every poll. Use warning (exit
// 3; notify on: [warning]) or error (exit 1, the behaviour of a plain
// glob) when a delivery is expected at every run, e.g. a daily file.
// With ok or warning the run builds no component and writes nothing: no
// output file (not even an empty one, which could replace an earlier
// run's file of the same name in the outbox), no outbox marker or hook,
// no rejects file; the report has zero records and the message
// "inbox <dir>: no files matching <pattern>". Its state changes nothing
// that could skip data later: it records no claims, ledger entries or
// counters, and although the run is committed OK/WARNING, it does not move
// the watermark of an incremental pipeline (the next run's Env.Since is
// that of the last run which read files). When ready files existed but
// the before hook vetoed every one, the run ends ERROR whatever on_empty
// says (a refusal needs attention). A plain `path:` glob without exchange
// that matches nothing always ends ERROR. A dry run reads the complete
// files in place and moves nothing. Files a crashed run left in processing/ are moved to done/ when
// that run committed and back to the inbox otherwise.
//
// On a file sink the output directory is the outbox: after the run
// committed (the file itself is always published atomically), marker
// writes NAME+marker beside it for the partner's pick-up, and the hooks run
// around the publication (before may veto: the run fails and publishes
// nothing):
//
//	sinks:
//	  - type: csv.write
//	    path: out/outbox/set_artikel_inp.csv
//	    exchange: {marker: .ok, after: {command: [bin/notify-shop]}}
type Exchange struct {
	Settle     time.Duration // 0: the default (2s)
	Marker     string
	Processing string // as written, relative to the pipeline dir ("" = default)
	Done       string
	Error      string
	OnError    string // "requeue" (default) or "error"
	// OnEmpty is how a run ends that finds no complete file in the inbox:
	// "ok" (default; "" means ok too), "warning" or "error".
	OnEmpty     string
	MaxAttempts int
	Before      *ExchangeHook
	After       *ExchangeHook
	Pos         diag.Pos
}

// ExchangeHook is a `before:`/`after:` of an exchange: a command (argv, no
// shell; the event in KONTOR_PHASE, KONTOR_FILE, KONTOR_PATH, KONTOR_STATUS,
// KONTOR_REASON) or a webhook (JSON POST of the event), exactly one.
type ExchangeHook struct {
	Command []string
	Webhook *Webhook
	Timeout time.Duration // default 1m
	Pos     diag.Pos
}

var (
	exchangeSourceKeys = []string{"settle", "marker", "processing", "done", "error", "on_error", "on_empty", "max_attempts", "before", "after"}
	// OnEmptyValues are the values of exchange.on_empty.
	OnEmptyValues    = []string{"ok", "warning", "error"}
	exchangeSinkKeys = []string{"marker", "before", "after"}
)

// exchange checks a file component's `exchange:` mapping.
func (l *loader) exchange(s *Step, v *yaml.Node, section string) {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "exchange must be a mapping (%s), got %s", strings.Join(exchangeKeys(section), ", "), kindName(v))
		return
	}
	e := &Exchange{Pos: l.posOf(v), OnError: "requeue", OnEmpty: "ok"}
	allowed := exchangeKeys(section)
	for _, kv := range l.pairs(v) {
		k := kv.key.Value
		if !contains(allowed, k) {
			if section == "sinks" && contains(exchangeSourceKeys, k) {
				l.diags.Errorf(l.posOf(kv.key), "unknown-key", "exchange.%s is only allowed on a source (a sink's exchange takes %s)", k, strings.Join(exchangeSinkKeys, ", "))
				continue
			}
			l.unknownKey(kv.key, "in exchange", allowed)
			continue
		}
		switch k {
		case "settle":
			if d, ok := l.duration(kv.val, "exchange.settle"); ok {
				e.Settle = d
			}
		case "marker":
			if m, ok := l.stringValue(kv.val, "exchange.marker"); ok {
				if m == "" || strings.ContainsAny(m, `/\`) {
					l.diags.Errorf(l.posOf(kv.val), "value", "exchange.marker: want a file name suffix such as .ok, got %q", m)
					continue
				}
				e.Marker = m
			}
		case "processing", "done", "error":
			if d, ok := l.stringValue(kv.val, "exchange."+k); ok {
				if strings.TrimSpace(d) == "" {
					l.diags.Errorf(l.posOf(kv.val), "value", "exchange.%s must not be empty", k)
					continue
				}
				*map[string]*string{"processing": &e.Processing, "done": &e.Done, "error": &e.Error}[k] = d
			}
		case "on_error":
			if m, ok := l.stringValue(kv.val, "exchange.on_error"); ok {
				if m != "requeue" && m != "error" {
					l.diags.Errorf(l.posOf(kv.val), "enum", "exchange.on_error: invalid value %q: expected requeue or error", m)
					continue
				}
				e.OnError = m
			}
		case "on_empty":
			if m, ok := l.stringValue(kv.val, "exchange.on_empty"); ok {
				if !contains(OnEmptyValues, m) {
					d := diag.Errorf(l.posOf(kv.val), "enum", "exchange.on_empty: invalid value %q: expected ok, warning or error", m)
					if sug := suggest(strings.ToLower(m), OnEmptyValues); sug != "" {
						d.Hint = fmt.Sprintf("did you mean %q?", sug)
					}
					l.diags.Add(d)
					continue
				}
				e.OnEmpty = m
			}
		case "max_attempts":
			if n, ok := l.intValue(kv.val, "exchange.max_attempts"); ok {
				if n < 0 {
					l.diags.Errorf(l.posOf(kv.val), "value", "exchange.max_attempts must be >= 0 (0: requeue without limit), got %d", n)
					continue
				}
				e.MaxAttempts = int(n)
			}
		case "before":
			e.Before = l.exchangeHook(kv.val, "exchange.before")
		case "after":
			e.After = l.exchangeHook(kv.val, "exchange.after")
		}
	}
	if section == "source" {
		dir := filepath.Dir(s.Path)
		if s.Path != "" && strings.ContainsAny(dir, "*?[") {
			l.diags.Errorf(s.PosOf("#path"), "value", "path: with exchange the directory part (%s) is the inbox and must not contain wildcards", dir)
		}
	}
	s.Exchange = e
}

func exchangeKeys(section string) []string {
	if section == "sinks" {
		return exchangeSinkKeys
	}
	return exchangeSourceKeys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *loader) duration(v *yaml.Node, key string) (time.Duration, bool) {
	s, ok := l.stringValue(v, key)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		l.diags.Errorf(l.posOf(v), "type", "%s: expected a duration such as 5s or 1m, got %q", key, s)
		return 0, false
	}
	return d, true
}

func (l *loader) exchangeHook(v *yaml.Node, key string) *ExchangeHook {
	if v.Kind != yaml.MappingNode {
		l.diags.Errorf(l.posOf(v), "type", "%s must be a mapping (command or webhook, timeout), got %s", key, kindName(v))
		return nil
	}
	h := &ExchangeHook{Pos: l.posOf(v)}
	for _, kv := range l.pairs(v) {
		switch kv.key.Value {
		case "command":
			if kv.val.Kind != yaml.SequenceNode {
				l.diags.Errorf(l.posOf(kv.val), "type", "%s.command: expected a list (program and arguments, no shell), got %s", key, kindName(kv.val))
				continue
			}
			for _, n := range l.stringList(kv.val, key+".command") {
				if a, ok := l.stringValue(n, key+".command"); ok {
					h.Command = append(h.Command, a)
				}
			}
			if len(h.Command) == 0 {
				l.diags.Errorf(l.posOf(kv.val), "value", "%s.command must name a program", key)
			}
		case "webhook":
			h.Webhook = l.webhookAt(kv.val, key+".webhook")
		case "timeout":
			if d, ok := l.duration(kv.val, key+".timeout"); ok {
				h.Timeout = d
			}
		default:
			l.unknownKey(kv.key, "in "+key, []string{"command", "webhook", "timeout"})
		}
	}
	if (len(h.Command) > 0) == (h.Webhook != nil) {
		l.diags.Errorf(h.Pos, "value", "%s needs exactly one of command and webhook", key)
	}
	return h
}

// exchangeSchema is the JSON Schema of `exchange:` on a file source or sink.
func exchangeSchema(source bool) map[string]any {
	hook := map[string]any{
		"type": "object", "additionalProperties": false,
		"description": "Hook: a command (argv, no shell) or a webhook (JSON POST of the event); a before hook may veto.",
		"properties": map[string]any{
			"command": map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1},
			"webhook": map[string]any{"type": "object", "additionalProperties": false, "required": []string{"url"}, "properties": map[string]any{
				"url": map[string]any{"type": "string"}, "headers": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}},
			"timeout": map[string]any{"type": "string", "pattern": durationPattern, "default": "1m"},
		},
	}
	props := map[string]any{
		"marker": map[string]any{"type": "string", "description": "Status marker suffix (e.g. .ok): on a source a file is complete once NAME+marker exists; on a sink it is written after the output."},
		"before": hook,
		"after":  hook,
	}
	desc := "Deliver the output into its directory as an outbox: marker and hooks after the atomic publication."
	if source {
		desc = "Drop-folder inbox (the path's directory): claim complete files atomically, move them to done/ on commit, requeue or error/ on failure."
		props["settle"] = map[string]any{"type": "string", "pattern": durationPattern, "default": "2s", "description": "How long size and mtime must stay unchanged (without marker)."}
		props["processing"] = map[string]any{"type": "string", "description": "Directory of claimed files; default <inbox>/processing."}
		props["done"] = map[string]any{"type": "string", "description": "Directory of processed files (with NAME.ok); default <inbox>/done."}
		props["error"] = map[string]any{"type": "string", "description": "Directory of failed files (with NAME.err); default <inbox>/error."}
		props["on_error"] = map[string]any{"enum": []string{"requeue", "error"}, "default": "requeue", "description": "What a failed run does with its files."}
		props["on_empty"] = map[string]any{"enum": OnEmptyValues, "default": "ok", "description": "How a run ends that finds no complete file in the inbox (ok and warning: zero records, nothing written, watermark kept)."}
		props["max_attempts"] = map[string]any{"type": "integer", "minimum": 0, "default": 0, "description": "With requeue: failed runs after which a file goes to error/ (0: never)."}
	}
	return map[string]any{"type": "object", "additionalProperties": false, "description": desc, "properties": props}
}
