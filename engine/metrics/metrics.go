// Package metrics writes Prometheus metrics in the text exposition format
// (version 0.0.4) for `kontor serve` and `kontor schedule` (/metrics).
//
// The format is written by hand instead of using
// github.com/prometheus/client_golang: the metrics are derived from the
// run history in the state stores at scrape time (so they are the same
// whichever process ran the pipeline, and survive restarts), which needs
// no registry, and the format is a few lines of text. That keeps a large
// dependency tree (client_golang, protobuf model, procfs) out of the
// binary.
//
// Metrics from the run history (see AddRuns), per pipeline (dry runs are
// not counted):
//
//	kontor_runs_total{pipeline,status}                    counter
//	kontor_step_records_in_total{pipeline,step}           counter
//	kontor_step_records_out_total{pipeline,step}          counter
//	kontor_step_records_rejected_total{pipeline,step}     counter
//	kontor_run_duration_seconds{pipeline}                 histogram (finished runs)
//	kontor_last_run_timestamp_seconds{pipeline}           gauge (start of the newest run)
//	kontor_last_run_status{pipeline,status}               gauge (1 for the newest run's status)
//	kontor_last_success_timestamp_seconds{pipeline}       gauge (end of the newest OK/WARNING run)
//	kontor_running{pipeline}                              gauge (1 while a run is RUNNING/COMMITTING)
package metrics

import (
	"bufio"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/kontor-etl/kontor/engine/state"
)

// ContentType is the Content-Type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// DurationBuckets are the upper bounds (seconds) of the run duration
// histogram: 1 s to 4 h.
var DurationBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}

// Set collects metric families for one scrape. The zero value is empty
// and ready to use. Not safe for concurrent use.
type Set struct {
	fams map[string]*family
}

type family struct {
	name, help, typ string
	samples         map[string]*sample // by suffix + labels
}

type sample struct {
	suffix string
	labels string // rendered {a="b",...}
	value  float64
}

func (s *Set) family(name, help, typ string) *family {
	if s.fams == nil {
		s.fams = map[string]*family{}
	}
	f, ok := s.fams[name]
	if !ok {
		f = &family{name: name, help: help, typ: typ, samples: map[string]*sample{}}
		s.fams[name] = f
	}
	return f
}

// add adds v to the sample (suffix, labels) of a family.
func (f *family) add(suffix string, labels []string, v float64, set bool) {
	l := renderLabels(labels)
	k := suffix + l
	sm, ok := f.samples[k]
	if !ok {
		sm = &sample{suffix: suffix, labels: l}
		f.samples[k] = sm
	}
	if set {
		sm.value = v
	} else {
		sm.value += v
	}
}

// Counter adds v to a counter. labels are name/value pairs.
func (s *Set) Counter(name, help string, v float64, labels ...string) {
	s.family(name, help, "counter").add("", labels, v, false)
}

// Gauge sets a gauge. labels are name/value pairs.
func (s *Set) Gauge(name, help string, v float64, labels ...string) {
	s.family(name, help, "gauge").add("", labels, v, true)
}

// Observe adds one observation v to a histogram with the given bucket
// upper bounds (ascending; +Inf is added). labels are name/value pairs.
func (s *Set) Observe(name, help string, buckets []float64, v float64, labels ...string) {
	f := s.family(name, help, "histogram")
	for _, b := range buckets {
		c := 0.0
		if v <= b {
			c = 1
		}
		f.add("_bucket", append(append([]string{}, labels...), "le", formatFloat(b)), c, false)
	}
	f.add("_bucket", append(append([]string{}, labels...), "le", "+Inf"), 1, false)
	f.add("_sum", labels, v, false)
	f.add("_count", labels, 1, false)
}

// WriteTo writes the families in the text format, sorted by name and
// labels, so the output is deterministic.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	names := make([]string, 0, len(s.fams))
	for n := range s.fams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := s.fams[n]
		bw.WriteString("# HELP " + f.name + " " + escapeHelp(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + f.typ + "\n")
		ss := make([]*sample, 0, len(f.samples))
		for _, sm := range f.samples {
			ss = append(ss, sm)
		}
		sort.Slice(ss, func(i, j int) bool { return sampleLess(ss[i], ss[j]) })
		for _, sm := range ss {
			bw.WriteString(f.name + sm.suffix + sm.labels + " " + formatFloat(sm.value) + "\n")
		}
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// sampleLess orders samples by labels, then suffix (_bucket, _count,
// _sum), with histogram buckets in numeric le order.
func sampleLess(a, b *sample) bool {
	ak, ale := splitLE(a.labels)
	bk, ble := splitLE(b.labels)
	if ak != bk {
		return ak < bk
	}
	if a.suffix != b.suffix {
		return a.suffix < b.suffix
	}
	return ale < ble
}

func splitLE(labels string) (string, float64) {
	i := strings.Index(labels, `le="`)
	if i < 0 {
		return labels, 0
	}
	j := strings.IndexByte(labels[i+4:], '"')
	v := labels[i+4 : i+4+j]
	f := math.Inf(1)
	if v != "+Inf" {
		f, _ = strconv.ParseFloat(v, 64)
	}
	return labels[:i] + labels[i+4+j:], f
}

func renderLabels(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	if math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// AddRuns adds the metrics derived from a pipeline's run history (any
// order) to s. Call it once per pipeline; it also emits the families for
// a pipeline without runs so dashboards see it.
func AddRuns(s *Set, pipeline string, runs []state.RunRecord) {
	var newest *state.RunRecord
	var lastSuccess *state.RunRecord
	running := 0.0
	s.Counter("kontor_runs_total", "Runs recorded in the state store, by final status.", 0, "pipeline", pipeline, "status", "OK")
	s.Counter("kontor_runs_total", "Runs recorded in the state store, by final status.", 0, "pipeline", pipeline, "status", "WARNING")
	s.Counter("kontor_runs_total", "Runs recorded in the state store, by final status.", 0, "pipeline", pipeline, "status", "ERROR")
	for i := range runs {
		r := &runs[i]
		if r.DryRun {
			continue
		}
		if newest == nil || r.Start.After(newest.Start) {
			newest = r
		}
		switch r.Status {
		case state.StatusRunning, state.StatusCommitting:
			running = 1
			continue
		case state.StatusOK, state.StatusWarning:
			if lastSuccess == nil || r.End.After(lastSuccess.End) {
				lastSuccess = r
			}
		}
		s.Counter("kontor_runs_total", "Runs recorded in the state store, by final status.", 1, "pipeline", pipeline, "status", string(r.Status))
		if !r.End.IsZero() {
			s.Observe("kontor_run_duration_seconds", "Duration of finished runs in seconds.", DurationBuckets,
				r.End.Sub(r.Start).Seconds(), "pipeline", pipeline)
		}
		if r.Status == state.StatusError {
			continue // nothing was committed: records of a failed run are not counted
		}
		for _, c := range r.Counts {
			s.Counter("kontor_step_records_in_total", "Records that entered a step, over committed runs.", float64(c.In), "pipeline", pipeline, "step", c.Step)
			s.Counter("kontor_step_records_out_total", "Records that left a step, over committed runs.", float64(c.Out), "pipeline", pipeline, "step", c.Step)
			s.Counter("kontor_step_records_rejected_total", "Records a step rejected, over committed runs.", float64(c.Rejected), "pipeline", pipeline, "step", c.Step)
		}
	}
	s.Gauge("kontor_running", "1 while a run of the pipeline is in progress.", running, "pipeline", pipeline)
	if newest != nil {
		s.Gauge("kontor_last_run_timestamp_seconds", "Start of the newest run (Unix seconds).", unix(newest.Start), "pipeline", pipeline)
		for _, st := range []state.Status{state.StatusOK, state.StatusWarning, state.StatusError, state.StatusRunning, state.StatusCommitting} {
			v := 0.0
			if newest.Status == st {
				v = 1
			}
			s.Gauge("kontor_last_run_status", "1 for the status of the newest run, 0 for the others.", v, "pipeline", pipeline, "status", string(st))
		}
	}
	if lastSuccess != nil {
		s.Gauge("kontor_last_success_timestamp_seconds", "End of the newest run that ended OK or WARNING (Unix seconds).", unix(lastSuccess.End), "pipeline", pipeline)
	}
}

func unix(t interface{ UnixMilli() int64 }) float64 { return float64(t.UnixMilli()) / 1000 }
