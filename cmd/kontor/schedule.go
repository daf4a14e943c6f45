package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/kontor-etl/kontor/engine/cron"
	"github.com/kontor-etl/kontor/engine/metrics"
	"github.com/kontor-etl/kontor/engine/notify"
	"github.com/kontor-etl/kontor/engine/scheduler"
	"github.com/kontor-etl/kontor/engine/state/duckstate"
	"github.com/kontor-etl/kontor/engine/state/statepool"
)

// cmdSchedule runs Kontor's scheduler daemon until SIGINT/SIGTERM.
func cmdSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return scheduleMain(ctx, args, stdout, stderr, nil)
}

// scheduleFile is the --schedule FILE format.
//
//	timezone: Europe/Berlin          # optional, overrides --tz
//	jobs:
//	  - pipeline: abo-export.yaml    # relative to this file
//	    cron: "0 6 * * 1-5"          # overrides the pipeline's schedule:
type scheduleFile struct {
	Timezone string `yaml:"timezone"`
	Jobs     []struct {
		Pipeline string `yaml:"pipeline"`
		Cron     string `yaml:"cron"`
	} `yaml:"jobs"`
}

// schedJob is a pipeline file with its cron expression.
type schedJob struct {
	name, file, cron, from string
}

// scheduleMain is cmdSchedule with an injectable clock (tests).
func scheduleMain(ctx context.Context, args []string, stdout, stderr io.Writer, clock scheduler.Clock) int {
	fs := newFlags("schedule", "[flags] [PIPELINES_OR_DIRS...]", stderr)
	schedFile := fs.String("schedule", "", "YAML `FILE` listing jobs (pipeline + cron), in addition to the pipelines' own schedule: keys")
	stateDir := fs.String("state-dir", duckstate.DefaultDir, "`DIR`ectory of the state databases (one DuckDB file per pipeline)")
	tz := fs.String("tz", "Local", "time `ZONE` of the cron fields (IANA name such as Europe/Berlin)")
	catchUp := fs.String("catch-up", scheduler.CatchUpOnce, "missed runs after downtime: once (run once at start if a slot was missed since the last recorded run) or none")
	stopTimeout := durationFlag(fs, "stop-timeout", 5*time.Minute, "on SIGTERM, wait up to `DURATION` for running pipelines to finish before they are cancelled")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "serve Prometheus /metrics on `HOST:PORT` (\"off\" disables; a non-loopback host needs --token)")
	token := fs.String("token", "", "access `TOKEN` for /metrics, or ${env:NAME} (default: $KONTOR_TOKEN)")
	baseURL := fs.String("base-url", baseURLDefault(), "`URL` of the navigator, for links in notifications (default: $KONTOR_BASE_URL)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	plugins := addPluginFlags(fs)
	pos, code, ok := parse(fs, args)
	if !ok {
		return code
	}
	logger, err := newLogger(stderr, *logFormat, slog.LevelInfo)
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	jobs, zone, err := collectJobs(pos, *schedFile)
	if err != nil {
		return usageErr(fs, "%v", err)
	}
	if zone == "" {
		zone = *tz
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return usageErr(fs, "time zone %q: %v", zone, err)
	}
	if len(jobs) == 0 {
		return usageErr(fs, "nothing to schedule: give pipeline files with a schedule: key, or --schedule FILE")
	}
	tok := *token
	if tok == "" {
		tok = os.Getenv("KONTOR_TOKEN")
	}
	if tok, err = resolveSecret(tok); err != nil {
		return usageErr(fs, "--token: %v", err)
	}

	pool := statepool.New(*stateDir)
	defer pool.Close()
	ex := &executor{pool: pool, plugins: plugins, log: logger, stderr: stderr, baseURL: *baseURL, notifier: &notify.Notifier{Logger: logger}}
	var sjobs []scheduler.Job
	for _, j := range jobs {
		c, err := cron.Parse(j.cron)
		if err != nil {
			return usageErr(fs, "%s: invalid schedule %q: %v", j.from, j.cron, err)
		}
		sjobs = append(sjobs, scheduler.Job{
			Name: j.name, Schedule: c,
			Run: func(ctx context.Context) string { return ex.run(ctx, j.file).Status },
			LastRun: func(ctx context.Context) (time.Time, bool, error) {
				st, err := pool.Store(j.name)
				if err != nil {
					return time.Time{}, false, err
				}
				h, err := st.History(ctx, 0)
				if err != nil {
					return time.Time{}, false, err
				}
				for _, r := range h {
					if !r.DryRun {
						return r.Start, true, nil
					}
				}
				return time.Time{}, false, nil
			},
		})
	}
	s, err := scheduler.New(sjobs, scheduler.Options{Clock: clock, Location: loc, CatchUp: *catchUp, StopTimeout: *stopTimeout, Logger: logger})
	if err != nil {
		return usageErr(fs, "%v", err)
	}

	if *metricsAddr != "off" && *metricsAddr != "" {
		host, _, err := net.SplitHostPort(*metricsAddr)
		if err != nil {
			return usageErr(fs, "--metrics-addr: %v", err)
		}
		if !isLoopback(host) && tok == "" {
			return usageErr(fs, "--metrics-addr %s is reachable from other machines: set --token (or KONTOR_TOKEN)", *metricsAddr)
		}
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "kontor schedule: %v\n", err)
			return exitError
		}
		srv := &http.Server{Handler: scheduleMetrics(pool, s, tok, logger), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		logger.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	logger.Info("scheduler started", "jobs", len(sjobs), "tz", loc.String(), "catch_up", *catchUp)
	if err := s.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "kontor schedule: %v\n", err)
		return exitError
	}
	return exitOK
}

// scheduleMetrics serves /metrics: run history metrics of every job's
// pipeline plus the scheduler's own.
func scheduleMetrics(pool *statepool.Pool, s *scheduler.Scheduler, token string, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && !bearerOK(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kontor"`)
			http.Error(w, "401 unauthorized", http.StatusUnauthorized)
			return
		}
		var set metrics.Set
		for _, st := range s.Status() {
			store, err := pool.Store(st.Name)
			if err == nil {
				h, herr := store.History(r.Context(), 0)
				if herr == nil {
					metrics.AddRuns(&set, st.Name, h)
				} else {
					logger.Error("metrics: reading history", "pipeline", st.Name, "err", herr)
				}
			}
			addSchedulerMetrics(&set, st)
		}
		w.Header().Set("Content-Type", metrics.ContentType)
		set.WriteTo(w)
	})
	return mux
}

func addSchedulerMetrics(set *metrics.Set, st scheduler.JobStatus) {
	set.Counter("kontor_schedule_runs_started_total", "Runs the scheduler started since it began.", float64(st.Runs), "pipeline", st.Name)
	set.Counter("kontor_schedule_skipped_total", "Due runs skipped because the previous run still ran.", float64(st.Skipped), "pipeline", st.Name)
	if !st.Next.IsZero() {
		set.Gauge("kontor_schedule_next_run_timestamp_seconds", "When the pipeline is next due (Unix seconds).", float64(st.Next.Unix()), "pipeline", st.Name)
	}
}

// collectJobs reads the schedules of the pipeline files (and the yaml
// files in directories) given as arguments and of the schedule file.
func collectJobs(paths []string, schedFile string) ([]schedJob, string, error) {
	byName := map[string]schedJob{}
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, "", err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() && path != p && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			n := d.Name()
			if !d.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) && !strings.HasSuffix(strings.TrimSuffix(n, filepath.Ext(n)), "_test") {
				files = append(files, path)
			}
			return nil
		})
	}
	for _, f := range files {
		name, sched, err := pipelineSchedule(f)
		if err != nil {
			return nil, "", err
		}
		if sched == "" {
			continue
		}
		if prev, dup := byName[name]; dup {
			return nil, "", fmt.Errorf("pipeline %s is in %s and %s", name, prev.file, f)
		}
		byName[name] = schedJob{name: name, file: f, cron: sched, from: f}
	}
	var zone string
	if schedFile != "" {
		data, err := os.ReadFile(schedFile)
		if err != nil {
			return nil, "", err
		}
		var sf scheduleFile
		dec := yaml.NewDecoder(strings.NewReader(string(data)))
		dec.KnownFields(true)
		if err := dec.Decode(&sf); err != nil {
			return nil, "", fmt.Errorf("%s: %v", schedFile, err)
		}
		zone = sf.Timezone
		for i, j := range sf.Jobs {
			if j.Pipeline == "" || j.Cron == "" {
				return nil, "", fmt.Errorf("%s: jobs[%d] needs pipeline and cron", schedFile, i)
			}
			file := j.Pipeline
			if !filepath.IsAbs(file) {
				file = filepath.Join(filepath.Dir(schedFile), file)
			}
			name, _, err := pipelineSchedule(file)
			if err != nil {
				return nil, "", fmt.Errorf("%s: jobs[%d]: %v", schedFile, i, err)
			}
			byName[name] = schedJob{name: name, file: file, cron: j.Cron, from: fmt.Sprintf("%s: jobs[%d]", schedFile, i)}
		}
	}
	out := make([]schedJob, 0, len(byName))
	for _, j := range byName {
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].name < out[b].name })
	return out, zone, nil
}

// pipelineSchedule reads a pipeline file's name and schedule: key (the
// full load happens at each run).
func pipelineSchedule(file string) (name, sched string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", "", err
	}
	var top struct {
		Name     string `yaml:"name"`
		Schedule string `yaml:"schedule"`
	}
	if err := yaml.Unmarshal(data, &top); err != nil {
		return "", "", fmt.Errorf("%s: %v", file, err)
	}
	name = top.Name
	if name == "" {
		base := filepath.Base(file)
		name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return name, top.Schedule, nil
}

// bearerOK checks an Authorization: Bearer token in constant time.
func bearerOK(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && constantTimeEqual(got, token)
}
