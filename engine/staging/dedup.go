package staging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"regexp"
	"strings"

	"github.com/kontor-etl/kontor/engine/record"
	"github.com/kontor-etl/kontor/engine/state"
	"github.com/kontor-etl/kontor/plugins/sdk"
)

// DedupConfig configures the dedup transform.
type DedupConfig struct {
	// Key lists the expressions that form the business key.
	Key []string `yaml:"key"`
	// Scope is run (default) or ledger.
	Scope string `yaml:"scope"`
	// Ledger is the ledger scope name (default: the pipeline name).
	Ledger string `yaml:"ledger"`
	// OnChange: reject (default), update or ignore.
	OnChange string `yaml:"on_change"`
	// HashFields are the fields of the content hash (default: all).
	HashFields []string `yaml:"hash_fields"`
}

func dedupComponent() sdk.Component {
	return sdk.Component{
		Name:    "dedup",
		Kind:    sdk.KindTransform,
		Summary: "Drops duplicate records within a run or, with the export ledger, across runs.",
		Description: "Computes a business key per record from `key`.\n\n" +
			"- `scope: run`: the first record of a key wins; later ones are rejected with reason `duplicate of <origin>`.\n" +
			"- `scope: ledger`: additionally, keys that an earlier committed run exported are skipped. Skipped " +
			"records are filtered, not rejected (the run stays OK), and counted in the log. A key exported before " +
			"with a different content hash is handled by `on_change`: `reject` (default) rejects it, `update` " +
			"exports it again and stores the new hash, `ignore` filters it like an unchanged one (counted separately " +
			"in the log, never dropped silently).\n\n" +
			"Ledger entries are written in the same commit as the run and only for records that no later step or sink " +
			"rejected. Within the run, keys are kept as 128-bit fingerprints in memory. With `scope: ledger`, records are " +
			"held back in chunks of 50,000 and each chunk's keys are looked up in the ledger with one query, so memory " +
			"does not grow with the ledger; the passed records of a chunk leave together (and the rest at the end).",
		Spec: sdk.Spec{Fields: []sdk.Field{
			{Name: "key", Type: sdk.TypeList, Elem: sdk.TypeString, Required: true, Expr: sdk.ExprValue, Min: sdk.Int64(1),
				Example: []any{"abo_nr", "period"}, Description: "Expressions whose values together form the business key."},
			{Name: "scope", Type: sdk.TypeEnum, Enum: []string{"run", "ledger"}, Default: "run",
				Description: "Where duplicates are looked for: within this run, or also in the export ledger of earlier runs."},
			{Name: "ledger", Type: sdk.TypeString, Pattern: `[a-z][a-z0-9_]*`, Example: "abo_debits",
				Description: "Name of the ledger scope with scope ledger; pipelines sharing a name share the ledger (default: the pipeline name)."},
			{Name: "on_change", Type: sdk.TypeEnum, Enum: []string{"reject", "update", "ignore"}, Default: "reject",
				Description: "What to do with a key exported before whose content hash changed (scope ledger only)."},
			{Name: "hash_fields", Type: sdk.TypeList, Elem: sdk.TypeString, Example: []any{"amount", "iban"},
				Description: "Fields that make up the content hash (default: all fields)."},
		}},
		Examples:     []string{"type: dedup\nkey: [abo_nr, period]\nscope: ledger\non_change: reject\n"},
		NewTransform: newDedup,
	}
}

type fp [2]uint64

// DedupChunk is how many candidate records dedup with scope ledger holds
// back before it looks their keys up in the ledger with one query (and
// then passes them on in one batch). Memory stays bounded by the chunk,
// not by the size of the ledger.
var DedupChunk = 50000

// held is a record waiting for its ledger lookup.
type held struct {
	r         record.Record
	key, hash string
}

type dedup struct {
	cfg   DedupConfig
	env   sdk.Env
	keys  []sdk.Evaluator
	seed1 maphash.Seed
	seed2 maphash.Seed
	scope string
	chunk int

	seen    map[fp]int32    // run scope: key -> index of the first origin in origins
	origins []record.Origin // first origin of each key

	run      state.Run
	hold     []held
	keyBuf   []string
	pendKeys []string
	pendHash []string
	pendOrig []record.Origin

	unchanged, ignored int64
	kb                 strings.Builder
	hbuf               []byte
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type fieldEval string

func (f fieldEval) Eval(r record.Record) (record.Value, error) {
	v, ok := r.Get(string(f))
	if !ok {
		return record.Null, fmt.Errorf("no field %s", string(f))
	}
	return v, nil
}
func (f fieldEval) Source() string { return string(f) }

func newDedup(ctx context.Context, cfg sdk.Config, env sdk.Env) (sdk.Transform, error) {
	c := DedupConfig{Scope: "run", OnChange: "reject"}
	if err := cfg.Decode(&c); err != nil {
		return nil, err
	}
	var errs sdk.FieldErrors
	if len(c.Key) == 0 {
		errs.Add("key", "at least one key expression is required")
	}
	if c.Scope != "run" && c.Scope != "ledger" {
		errs.Add("scope", "must be run or ledger, not %q", c.Scope)
	}
	if c.OnChange != "reject" && c.OnChange != "update" && c.OnChange != "ignore" {
		errs.Add("on_change", "must be reject, update or ignore, not %q", c.OnChange)
	}
	d := &dedup{cfg: c, env: env, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), seen: map[fp]int32{}, chunk: max(DedupChunk, 1)}
	for i, src := range c.Key {
		var ev sdk.Evaluator
		if env.Expressions != nil {
			ev = env.Expressions(fmt.Sprintf("key[%d]", i))
		}
		if ev == nil {
			if !identRE.MatchString(src) {
				errs.Add(fmt.Sprintf("key[%d]", i), "expression %q was not compiled by the host", src)
				continue
			}
			ev = fieldEval(src)
		}
		d.keys = append(d.keys, ev)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	d.scope = c.Ledger
	if d.scope == "" {
		d.scope = env.Pipeline
	}
	return d, nil
}

// keyText renders the key values joined by "|" ('|' and '\' escaped).
func (d *dedup) keyText(r record.Record) (string, string, error) {
	d.kb.Reset()
	for i, ev := range d.keys {
		v, err := ev.Eval(r)
		if err != nil {
			return "", d.cfg.Key[i], err
		}
		if i > 0 {
			d.kb.WriteByte('|')
		}
		s := v.String()
		if strings.ContainsAny(s, `|\`) {
			s = strings.NewReplacer(`\`, `\\`, `|`, `\|`).Replace(s)
		}
		d.kb.WriteString(s)
	}
	return d.kb.String(), "", nil
}

func (d *dedup) fingerprint(s string) fp {
	return fp{maphash.String(d.seed1, s), maphash.String(d.seed2, s)}
}

// contentHash is the hex sha256 (first 16 bytes) of the hashed fields:
// names and canonical values, decimals without trailing zeros.
func (d *dedup) contentHash(r record.Record) string {
	b := d.hbuf[:0]
	add := func(name string, v record.Value) {
		b = append(b, name...)
		b = append(b, 0x1f, byte(v.Kind()))
		if v.Kind() == record.KindDecimal {
			b = append(b, trimZeros(v.Decimal().String())...)
		} else {
			b = append(b, v.String()...)
		}
		b = append(b, 0x1e)
	}
	if len(d.cfg.HashFields) > 0 {
		for _, f := range d.cfg.HashFields {
			add(f, r.Value(f))
		}
	} else {
		for i, v := range r.Values {
			add(r.Schema.Field(i).Name, v)
		}
	}
	d.hbuf = b
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func trimZeros(s string) string {
	if strings.IndexByte(s, '.') < 0 {
		return s
	}
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func (d *dedup) Process(ctx context.Context, in, out *record.Batch) error {
	out.Rejects = append(out.Rejects, in.Rejects...)
	ledger := d.cfg.Scope == "ledger"
	if ledger && d.run == nil {
		run, ok := d.env.State.(state.Run)
		if sr, isStep := d.env.State.(interface{ StateRun() state.Run }); !ok && isStep {
			// The runner hands transforms a per-step view of the run
			// (runner.stepState); its StateRun gives the run itself.
			run, ok = sr.StateRun(), true
		}
		if !ok {
			return fmt.Errorf("dedup with scope ledger needs the run state (got %T)", d.env.State)
		}
		d.run = run
	}
	for _, r := range in.Records {
		key, field, err := d.keyText(r)
		if err != nil {
			out.Reject(r, d.env.Step, field, "evaluating key: "+err.Error())
			continue
		}
		f := d.fingerprint(key)
		if first, dup := d.seen[f]; dup {
			out.Reject(r, d.env.Step, "", "duplicate of "+d.origins[first].String())
			continue
		}
		d.seen[f] = int32(len(d.origins))
		d.origins = append(d.origins, r.Origin)
		if !ledger {
			out.Records = append(out.Records, r)
			continue
		}
		d.hold = append(d.hold, held{r: r, key: key, hash: d.contentHash(r)})
		if len(d.hold) >= d.chunk {
			if err := d.resolve(ctx, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush implements sdk.Flusher: it looks up the records still held back
// (scope ledger) and emits those that pass.
func (d *dedup) Flush(ctx context.Context, emit func(*record.Batch) error) error {
	if len(d.hold) == 0 {
		return nil
	}
	var b record.Batch
	if err := d.resolve(ctx, &b); err != nil {
		return err
	}
	size := d.env.BatchSize
	if size <= 0 {
		size = 1000
	}
	for i := 0; i < len(b.Records) || i == 0; i += size {
		part := &record.Batch{Records: b.Records[i:min(i+size, len(b.Records))]}
		if i == 0 {
			part.Rejects = b.Rejects
		}
		if err := emit(part); err != nil {
			return err
		}
	}
	return nil
}

// resolve looks up the held records' keys in the ledger (one query for
// the whole chunk) and passes the new and (with on_change update) changed
// ones to out.
func (d *dedup) resolve(ctx context.Context, out *record.Batch) error {
	d.keyBuf = d.keyBuf[:0]
	for _, h := range d.hold {
		d.keyBuf = append(d.keyBuf, h.key)
	}
	stored, err := d.run.LedgerLookup(ctx, d.scope, d.keyBuf)
	if err != nil {
		return err
	}
	if len(stored) != len(d.hold) {
		return fmt.Errorf("ledger lookup returned %d hashes for %d keys", len(stored), len(d.hold))
	}
	for i, c := range d.hold {
		switch {
		case stored[i] == "":
		case stored[i] == c.hash:
			d.unchanged++
			continue
		case d.cfg.OnChange == "ignore":
			d.ignored++
			continue
		case d.cfg.OnChange == "reject":
			out.Reject(c.r, d.env.Step, "", fmt.Sprintf("key %s was exported by an earlier run with different content", c.key))
			continue
		}
		out.Records = append(out.Records, c.r)
		d.pendKeys = append(d.pendKeys, c.key)
		d.pendHash = append(d.pendHash, c.hash)
		d.pendOrig = append(d.pendOrig, record.Origin{File: c.r.Origin.File, Index: c.r.Origin.Index})
	}
	clear(d.hold)
	d.hold = d.hold[:0]
	clear(d.keyBuf)
	return nil
}

// BeforePrepare implements state.CommitHook: it adds ledger entries for
// the passed records that no later step or sink rejected.
func (d *dedup) BeforePrepare(ctx context.Context, run state.Run, rejectedAfter func(record.Origin) bool) error {
	if d.cfg.Scope != "ledger" {
		return nil
	}
	const chunk = 10000
	entries := make([]state.LedgerEntry, 0, min(chunk, len(d.pendKeys)))
	for i, k := range d.pendKeys {
		if rejectedAfter != nil && rejectedAfter(d.pendOrig[i]) {
			continue
		}
		entries = append(entries, state.LedgerEntry{Key: k, Hash: d.pendHash[i]})
		if len(entries) == chunk {
			if err := run.LedgerAdd(ctx, d.scope, entries); err != nil {
				return err
			}
			entries = entries[:0]
		}
	}
	if len(entries) > 0 {
		return run.LedgerAdd(ctx, d.scope, entries)
	}
	return nil
}

// Stats returns how many records were skipped as already exported
// unchanged, and how many changed ones were ignored (on_change: ignore).
func (d *dedup) Stats() (unchanged, ignored int64) { return d.unchanged, d.ignored }

func (d *dedup) Close() error {
	if d.unchanged > 0 || d.ignored > 0 {
		d.env.Logger.Info("dedup skipped records already exported", "ledger", d.scope,
			"unchanged", d.unchanged, "changed_ignored", d.ignored)
	}
	d.seen, d.origins, d.hold = nil, nil, nil
	return nil
}
