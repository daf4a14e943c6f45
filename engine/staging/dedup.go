package staging

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"regexp"
	"strconv"
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
	r    record.Record
	key  string
	hash [16]byte
}

// pendEntry is a passed record's future ledger entry: key, content hash
// and the origin fields rejectedAfter needs.
type pendEntry struct {
	key   string
	hash  [16]byte
	file  string
	index int64
}

type dedup struct {
	cfg   DedupConfig
	env   sdk.Env
	keys  []sdk.Evaluator
	seed1 maphash.Seed
	seed2 maphash.Seed
	scope string
	chunk int

	seen    fpTable               // key fingerprint -> index of the first origin in origins
	origins blocks[record.Origin] // first origin of each key

	run    state.Run
	hold   []held
	keyBuf []string
	pend   blocks[pendEntry]

	unchanged, ignored int64
	kb                 []byte
	hbuf               []byte
	hashSchema         *record.Schema // schema hashIdx was computed for
	hashIdx            []int          // field index per hash_fields entry (-1: absent)
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// fieldEval evaluates a key that is a plain field name. It remembers the
// field's index for the last schema seen (records of a batch share one),
// so a key costs no map lookup per record; it is used by one goroutine.
type fieldEval struct {
	name   string
	schema *record.Schema
	idx    int
}

func (f *fieldEval) Eval(r record.Record) (record.Value, error) {
	if r.Schema != f.schema || f.schema == nil {
		f.schema, f.idx = r.Schema, r.Schema.Index(f.name)
	}
	if f.idx < 0 || f.idx >= len(r.Values) {
		return record.Null, fmt.Errorf("no field %s", f.name)
	}
	return r.Values[f.idx], nil
}
func (f *fieldEval) Source() string { return f.name }

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
	d := &dedup{cfg: c, env: env, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), chunk: max(DedupChunk, 1)}
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
			ev = &fieldEval{name: src}
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
	b := d.kb[:0]
	for i, ev := range d.keys {
		v, err := ev.Eval(r)
		if err != nil {
			return "", d.cfg.Key[i], err
		}
		if i > 0 {
			b = append(b, '|')
		}
		s := v.String()
		if strings.ContainsAny(s, `|\`) {
			s = strings.NewReplacer(`\`, `\\`, `|`, `\|`).Replace(s)
		}
		b = append(b, s...)
	}
	d.kb = b
	return string(b), "", nil
}

func (d *dedup) fingerprint(s string) fp {
	return fp{maphash.String(d.seed1, s), maphash.String(d.seed2, s)}
}

// contentHash is the sha256 (first 16 bytes; stored as hex) of the hashed
// fields: per field its name, 0x1f, the kind byte, the canonical value
// (decimals without trailing zeros) and 0x1e.
func (d *dedup) contentHash(r record.Record) [16]byte {
	b := d.hbuf[:0]
	if len(d.cfg.HashFields) > 0 {
		if r.Schema != d.hashSchema || d.hashIdx == nil {
			d.hashSchema = r.Schema
			d.hashIdx = d.hashIdx[:0]
			for _, f := range d.cfg.HashFields {
				d.hashIdx = append(d.hashIdx, r.Schema.Index(f))
			}
		}
		for i, f := range d.cfg.HashFields {
			v := record.Null
			if j := d.hashIdx[i]; j >= 0 && j < len(r.Values) {
				v = r.Values[j]
			}
			b = appendHashField(b, f, v)
		}
	} else {
		for i, v := range r.Values {
			b = appendHashField(b, r.Schema.Field(i).Name, v)
		}
	}
	d.hbuf = b
	sum := sha256.Sum256(b)
	return [16]byte(sum[:16])
}

// appendHashField appends one field of the content hash input. The bytes
// must never change: they are what earlier runs stored in the ledger.
func appendHashField(b []byte, name string, v record.Value) []byte {
	b = append(b, name...)
	b = append(b, 0x1f, byte(v.Kind()))
	switch v.Kind() {
	case record.KindString:
		b = append(b, v.Str()...)
	case record.KindDecimal:
		n := len(b)
		b = v.Decimal().AppendText(b)
		if bytes.IndexByte(b[n:], '.') >= 0 {
			for len(b) > n && b[len(b)-1] == '0' {
				b = b[:len(b)-1]
			}
			if len(b) > n && b[len(b)-1] == '.' {
				b = b[:len(b)-1]
			}
		}
	case record.KindInt:
		b = strconv.AppendInt(b, v.Int(), 10)
	default:
		b = append(b, v.String()...)
	}
	return append(b, 0x1e)
}

// hashIs reports whether the stored hex hash s is h (no allocation).
func hashIs(s string, h *[16]byte) bool {
	const digits = "0123456789abcdef"
	if len(s) != 32 {
		return false
	}
	for i, c := range h {
		if s[2*i] != digits[c>>4] || s[2*i+1] != digits[c&15] {
			return false
		}
	}
	return true
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
		if first, dup := d.seen.findOrAdd(d.fingerprint(key), int32(d.origins.len())); dup {
			out.Reject(r, d.env.Step, "", "duplicate of "+d.origins.at(int(first)).String())
			continue
		}
		d.origins.add(r.Origin)
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
	for i := range d.hold {
		c := &d.hold[i]
		switch {
		case stored[i] == "":
		case hashIs(stored[i], &c.hash):
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
		d.pend.add(pendEntry{key: c.key, hash: c.hash, file: c.r.Origin.File, index: c.r.Origin.Index})
	}
	clear(d.hold)
	d.hold = d.hold[:0]
	clear(d.keyBuf)
	return nil
}

// BeforePrepare implements state.CommitHook: it adds ledger entries for
// the passed records that no later step or sink rejected, in parts of
// 10,000 whose hex hashes share one allocation.
func (d *dedup) BeforePrepare(ctx context.Context, run state.Run, rejectedAfter func(record.Origin) bool) error {
	if d.cfg.Scope != "ledger" {
		return nil
	}
	const chunk = 10000
	n := d.pend.len()
	entries := make([]state.LedgerEntry, 0, min(chunk, n))
	hexes := make([]byte, 0, 32*min(chunk, n))
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		all := string(hexes)
		for i := range entries {
			entries[i].Hash = all[32*i : 32*i+32]
		}
		err := run.LedgerAdd(ctx, d.scope, entries)
		clear(entries)
		entries, hexes = entries[:0], hexes[:0]
		return err
	}
	for i := 0; i < n; i++ {
		p := d.pend.at(i)
		if rejectedAfter != nil && rejectedAfter(record.Origin{File: p.file, Index: p.index}) {
			continue
		}
		entries = append(entries, state.LedgerEntry{Key: p.key})
		hexes = hex.AppendEncode(hexes, p.hash[:])
		if len(entries) == chunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Stats returns how many records were skipped as already exported
// unchanged, and how many changed ones were ignored (on_change: ignore).
func (d *dedup) Stats() (unchanged, ignored int64) { return d.unchanged, d.ignored }

func (d *dedup) Close() error {
	if d.unchanged > 0 || d.ignored > 0 {
		d.env.Logger.Info("dedup skipped records already exported", "ledger", d.scope,
			"unchanged", d.unchanged, "changed_ignored", d.ignored)
	}
	d.seen, d.origins, d.hold, d.pend = fpTable{}, blocks[record.Origin]{}, nil, blocks[pendEntry]{}
	return nil
}

// fpTable maps key fingerprints to an int32 (the index of the key's first
// origin) by open addressing: one probe sequence per record finds or
// inserts, where a Go map would hash the fingerprint again and probe
// twice (lookup, then insert). The fingerprint is already a random hash,
// so its first word picks the slot. The zero value is an empty table.
type fpTable struct {
	slots []fpSlot // a power of two long, at most 3/4 full
	n     int
}

type fpSlot struct {
	f   fp
	val int32 // value+1; 0: empty slot
}

// findOrAdd returns the value of f and true, or stores val for f and
// returns val and false.
func (t *fpTable) findOrAdd(f fp, val int32) (int32, bool) {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := f[0] & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.val == 0 {
			s.f, s.val = f, val+1
			t.n++
			return val, false
		}
		if s.f == f {
			return s.val - 1, true
		}
	}
}

func (t *fpTable) grow() {
	old := t.slots
	t.slots = make([]fpSlot, max(1024, 2*len(old)))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.val == 0 {
			continue
		}
		i := s.f[0] & mask
		for t.slots[i].val != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// blockSize is the length of one block of a blocks sequence.
const blockSize = 8192

// blocks is an append-only sequence kept in fixed-size blocks: growing it
// never copies what is already stored (a slice of a million origins
// would be copied about twenty times and briefly exist twice).
type blocks[T any] struct {
	b [][]T
	n int
}

func (s *blocks[T]) add(v T) {
	if s.n%blockSize == 0 {
		s.b = append(s.b, make([]T, 0, blockSize))
	}
	last := &s.b[len(s.b)-1]
	*last = append(*last, v)
	s.n++
}

func (s *blocks[T]) at(i int) T { return s.b[i/blockSize][i%blockSize] }

func (s *blocks[T]) len() int { return s.n }
