package sdk

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/kontor-etl/kontor/engine/record"
)

// feeder runs a decoder on an input the host streams in chunks. The decoder
// runs in its own goroutine and reads from the feeder (an io.Reader); Next
// calls hand it the chunks the host sends and return either the next batch
// or "need input" when the decoder is blocked waiting for bytes.
type feeder struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   [][]byte
	eof     bool
	closed  bool
	starved chan struct{} // signalled (under mu) when Read waits for bytes
	results chan result
	done    chan struct{}
}

type result struct {
	batch *record.Batch
	err   error // io.EOF after the last batch
}

func newFeeder() *feeder {
	f := &feeder{starved: make(chan struct{}, 1), results: make(chan result), done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	return f
}

var errFeederClosed = errors.New("input closed")

// Read implements io.Reader for the decoder.
func (f *feeder) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.queue) == 0 && !f.eof && !f.closed {
		select {
		case f.starved <- struct{}{}:
		default:
		}
		f.cond.Wait()
	}
	if f.closed {
		return 0, errFeederClosed
	}
	if len(f.queue) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.queue[0])
	if n == len(f.queue[0]) {
		f.queue[0] = nil
		f.queue = f.queue[1:]
	} else {
		f.queue[0] = f.queue[0][n:]
	}
	return n, nil
}

// run opens the input on the decoder and produces batches until EOF or an
// error, each handed to a Next call.
func (f *feeder) run(ctx context.Context, dec Decoder, in Input) {
	defer close(f.done)
	send := func(r result) bool {
		select {
		case f.results <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	src, err := dec.Open(ctx, in)
	if err != nil {
		send(result{err: err})
		return
	}
	defer src.Close()
	for {
		b, err := src.Next(ctx)
		if err != nil {
			send(result{err: err})
			return
		}
		if !send(result{batch: b}) {
			return
		}
	}
}

// next gives the decoder chunk (and the end of input) and waits for a batch,
// the end, or the decoder asking for more bytes.
func (f *feeder) next(ctx context.Context, chunk []byte, eof bool) (result, bool, error) {
	f.mu.Lock()
	if len(chunk) > 0 || eof {
		select { // a signal from before this chunk is stale
		case <-f.starved:
		default:
		}
	}
	if len(chunk) > 0 {
		f.queue = append(f.queue, chunk)
	}
	if eof {
		f.eof = true
	}
	f.cond.Broadcast()
	f.mu.Unlock()
	select {
	case r := <-f.results:
		return r, false, nil
	case <-f.starved:
		return result{}, true, nil
	case <-f.done:
		// The decoder goroutine ended without a result (cancelled).
		select {
		case r := <-f.results:
			return r, false, nil
		default:
		}
		return result{err: io.EOF}, false, nil
	case <-ctx.Done():
		return result{}, false, ctx.Err()
	}
}

// close stops the decoder goroutine (it sees a read error or cancellation).
func (f *feeder) close() error {
	f.mu.Lock()
	f.closed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	return nil
}

// memFile is the in-memory scratch file plugins get for Output.Temp
// (plugins never touch the filesystem).
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Read(p []byte) (int, error) {
	if m.off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[m.off:])
	m.off += int64(n)
	return n, nil
}

func (m *memFile) Write(p []byte) (int, error) {
	end := m.off + int64(len(p))
	if end > int64(len(m.b)) {
		if end > int64(cap(m.b)) {
			nb := make([]byte, end, max(end, 2*int64(cap(m.b))))
			copy(nb, m.b)
			m.b = nb
		}
		m.b = m.b[:end]
	}
	copy(m.b[m.off:], p)
	m.off = end
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = m.off + off
	case io.SeekEnd:
		abs = int64(len(m.b)) + off
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("seek: negative position")
	}
	m.off = abs
	return abs, nil
}

func (m *memFile) Close() error { m.b = nil; return nil }
