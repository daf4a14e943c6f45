package sdk

import "github.com/kontor-etl/kontor/engine/record"

// BatchRecycler is an optional interface of a Source (including the
// Source a Decoder opens). When the engine has completely finished with a
// batch that Next returned — every record was written, filtered out or
// rejected, and no step keeps a reference to the records or their Values
// slices — it may hand the batch back with Recycle, so that a later Next
// reuses its memory (the Records array and the Values the source
// allocated) instead of allocating anew. The engine recycles only when
// every later step has declared that it keeps nothing (the core
// transforms, sinks implementing RecordRetainer), and copies the rejected
// records it keeps for reports. Strings inside values are never reused:
// a source must not recycle the bytes its strings point to.
//
// Recycle is called from the goroutine that calls Next, never
// concurrently with it, at most once per batch, and never after Close.
type BatchRecycler interface {
	Recycle(b *record.Batch)
}

// RecordRetainer is an optional interface of a Sink. RetainsRecords
// reports whether Write keeps references to the records of the batch or
// to their Values slices after it returns (values copied out — strings,
// decimals — do not count). A sink that does not implement it is assumed
// to keep them, which stops the engine from recycling batches (see
// BatchRecycler).
type RecordRetainer interface {
	RetainsRecords() bool
}
