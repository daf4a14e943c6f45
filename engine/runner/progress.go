package runner

import (
	"io"
	"os"
	"sync/atomic"
	"time"
)

// Progress is what Options.Progress receives while a run reads its input.
type Progress struct {
	// Records is the number of records the source produced so far
	// (including the ones it rejected).
	Records int64
	// Bytes is how many input bytes were read so far (file sources; 0
	// for other sources).
	Bytes int64
	// Size is the total size of the input files in bytes, -1 when
	// unknown (sources that are not files). With Bytes it gives a
	// fraction done and an ETA.
	Size int64
	// File is the input file being read ("" for other sources).
	File string
	// Elapsed is the time since the run started reading.
	Elapsed time.Duration
	// Done is true for the last call, after the source is exhausted.
	Done bool
}

// progress tracks what the source has read, for Options.Progress.
type progress struct {
	bytes atomic.Int64
	size  int64 // -1 unknown; 0 not computed yet
	start time.Time
	file  string
}

// countingReader counts the bytes read from r into n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// progressReader wraps the input file for byte counting when a progress
// callback is set.
func (x *execution) progressReader(r io.Reader, name string) io.Reader {
	if x.opts.Progress == nil {
		return r
	}
	x.prog.file = name
	return countingReader{r: r, n: &x.prog.bytes}
}

// reportProgress calls Options.Progress (from the source goroutine).
func (x *execution) reportProgress(done bool) {
	if x.opts.Progress == nil {
		return
	}
	p := &x.prog
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if p.size == 0 {
		p.size = -1
		if x.src != nil && len(x.src.files) > 0 {
			var sum int64
			for _, f := range x.src.files {
				fi, err := os.Stat(f)
				if err != nil {
					sum = -1
					break
				}
				sum += fi.Size()
			}
			p.size = sum
		}
	}
	rt := x.src
	x.opts.Progress(Progress{
		Records: rt.stats.out + rt.stats.rejected,
		Bytes:   p.bytes.Load(),
		Size:    p.size,
		File:    p.file,
		Elapsed: time.Since(p.start),
		Done:    done,
	})
}
