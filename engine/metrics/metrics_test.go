package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/kontor-etl/kontor/engine/state"
)

func TestAddRunsExposition(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	runs := []state.RunRecord{
		{ID: "3", Status: state.StatusError, Start: t0.Add(2 * time.Hour), End: t0.Add(2*time.Hour + 2*time.Second),
			Counts: []state.StepCount{{Step: "source", Out: 99}}},
		{ID: "2", Status: state.StatusWarning, Start: t0.Add(time.Hour), End: t0.Add(time.Hour + 20*time.Second),
			Counts: []state.StepCount{{Step: "source", Out: 10, Rejected: 1}, {Step: "sinks[0]", In: 10, Out: 10}}},
		{ID: "1", Status: state.StatusOK, Start: t0, End: t0.Add(3 * time.Second),
			Counts: []state.StepCount{{Step: "source", Out: 5}, {Step: "sinks[0]", In: 5, Out: 5}}},
		{ID: "0", Status: state.StatusOK, DryRun: true, Start: t0, End: t0.Add(time.Second),
			Counts: []state.StepCount{{Step: "source", Out: 1000}}},
	}
	var s Set
	AddRuns(&s, `abo "export"`, runs)
	var b strings.Builder
	if _, err := s.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"# TYPE kontor_runs_total counter\n",
		`kontor_runs_total{pipeline="abo \"export\"",status="ERROR"} 1` + "\n",
		`kontor_runs_total{pipeline="abo \"export\"",status="OK"} 1` + "\n",
		`kontor_step_records_out_total{pipeline="abo \"export\"",step="source"} 15` + "\n",
		`kontor_step_records_rejected_total{pipeline="abo \"export\"",step="source"} 1` + "\n",
		`kontor_step_records_in_total{pipeline="abo \"export\"",step="sinks[0]"} 15` + "\n",
		"# TYPE kontor_run_duration_seconds histogram\n",
		`kontor_run_duration_seconds_bucket{pipeline="abo \"export\"",le="1"} 0` + "\n" +
			`kontor_run_duration_seconds_bucket{pipeline="abo \"export\"",le="5"} 2` + "\n" +
			`kontor_run_duration_seconds_bucket{pipeline="abo \"export\"",le="15"} 2` + "\n" +
			`kontor_run_duration_seconds_bucket{pipeline="abo \"export\"",le="30"} 3` + "\n",
		`kontor_run_duration_seconds_bucket{pipeline="abo \"export\"",le="+Inf"} 3` + "\n" +
			`kontor_run_duration_seconds_count{pipeline="abo \"export\""} 3` + "\n" +
			`kontor_run_duration_seconds_sum{pipeline="abo \"export\""} 25` + "\n",
		`kontor_last_success_timestamp_seconds{pipeline="abo \"export\""} 1795431620` + "\n",
		`kontor_last_run_status{pipeline="abo \"export\"",status="ERROR"} 1` + "\n",
		`kontor_last_run_status{pipeline="abo \"export\"",status="OK"} 0` + "\n",
		`kontor_running{pipeline="abo \"export\""} 0` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing\n%s\nin\n%s", want, got)
		}
	}
	// Every sample line is "name{labels} value" and every family has HELP and TYPE.
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i < 0 || !strings.HasPrefix(line, "kontor_") {
			t.Errorf("bad line %q", line)
		}
	}
}
