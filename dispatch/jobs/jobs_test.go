package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/jobs"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJobRunsOnOneInstance starts two schedulers on one database with the same job: only
// the leader runs it; when the leader stops, the other takes over.
func TestJobRunsOnOneInstance(t *testing.T) {
	db := dispatchtest.DB(t)
	var runs [2]atomic.Int64
	var scheds [2]*jobs.Scheduler
	for i := range scheds {
		s, err := jobs.New(jobs.Config{DB: db, LeaderKey: 4242, StopTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Every("count", 100*time.Millisecond, func(ctx context.Context) error {
			runs[i].Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		scheds[i] = s
	}
	scheds[0].Start()
	waitFor(t, "the first scheduler to lead", func() bool { return runs[0].Load() > 0 })
	scheds[1].Start()
	waitFor(t, "ten more ticks", func() bool { return runs[0].Load() > 10 })
	if got := runs[1].Load(); got != 0 {
		t.Errorf("follower ran the job %d times, want 0 while the leader lives", got)
	}
	if err := scheds[0].Shutdown(); err != nil {
		t.Fatal(err)
	}
	led := runs[0].Load()
	waitFor(t, "the follower to take over", func() bool { return runs[1].Load() > 3 })
	if got := runs[0].Load(); got != led {
		t.Errorf("stopped scheduler ran %d more times", got-led)
	}
	if err := scheds[1].Shutdown(); err != nil {
		t.Fatal(err)
	}
}

// TestPanickingJobIsContained: a panic is logged, the process and the next ticks go on.
func TestPanickingJobIsContained(t *testing.T) {
	db := dispatchtest.DB(t)
	s, err := jobs.New(jobs.Config{DB: db, LeaderKey: 4343})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	if err := s.Every("boom", 50*time.Millisecond, func(ctx context.Context) error {
		n.Add(1)
		panic("boom")
	}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	waitFor(t, "three panicking runs", func() bool { return n.Load() >= 3 })
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
}

// TestLeadTakenAtStart: of two schedulers started on one database, exactly one leads from
// the start, before any tick.
func TestLeadTakenAtStart(t *testing.T) {
	db := dispatchtest.DB(t)
	var scheds [2]*jobs.Scheduler
	for i := range scheds {
		s, err := jobs.New(jobs.Config{DB: db, LeaderKey: 4343, StopTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Every("hourly", time.Hour, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		s.Start()
		scheds[i] = s
	}
	if !scheds[0].Leader() || scheds[1].Leader() {
		t.Errorf("leaders = %v, %v; want the first only", scheds[0].Leader(), scheds[1].Leader())
	}
	for _, s := range scheds {
		if err := s.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJobMetrics: a running job shows in despacho_jobs_running until it returns, and each
// run is counted by result.
func TestJobMetrics(t *testing.T) {
	db := dispatchtest.DB(t)
	reg := prometheus.NewRegistry()
	s, err := jobs.New(jobs.Config{DB: db, LeaderKey: 4444, StopTimeout: 5 * time.Second, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var runs atomic.Int64
	if err := s.Every("slow", 50*time.Millisecond, func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			<-release
			return nil
		}
		return errors.New("second run fails")
	}); err != nil {
		t.Fatal(err)
	}
	metric := func(name string, labels ...string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		next:
			for _, m := range mf.GetMetric() {
				for i := 0; i+1 < len(labels); i += 2 {
					found := false
					for _, lp := range m.GetLabel() {
						found = found || (lp.GetName() == labels[i] && lp.GetValue() == labels[i+1])
					}
					if !found {
						continue next
					}
				}
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	s.Start()
	defer s.Shutdown() //nolint:errcheck
	waitFor(t, "the job running", func() bool { return s.Running() == 1 })
	if got := metric("despacho_jobs_running"); got != 1 {
		t.Fatalf("despacho_jobs_running = %v while the job runs, want 1", got)
	}
	close(release)
	waitFor(t, "an ok run and a failed one", func() bool {
		return metric("despacho_job_runs_total", "job", "slow", "result", "ok") == 1 &&
			metric("despacho_job_runs_total", "job", "slow", "result", "error") >= 1
	})
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if got := metric("despacho_jobs_running"); got != 0 {
		t.Fatalf("despacho_jobs_running = %v after shutdown, want 0", got)
	}
}

// TestEveryFromStartRunsAtStart: an hourly job added with EveryFromStart runs as soon as the
// scheduler starts, on the leader only; one added with Every waits its hour. Hourly upkeep
// (the idempotency purge) used to wait for its first hour, so an instance restarted more
// often than hourly (a deploy every half hour) never ran it.
func TestEveryFromStartRunsAtStart(t *testing.T) {
	db := dispatchtest.DB(t)
	var scheds []*jobs.Scheduler
	var atStart, later [2]atomic.Int64
	for i := range 2 {
		s, err := jobs.New(jobs.Config{DB: db, LeaderKey: 4545})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EveryFromStart("purge", time.Hour, func(context.Context) error { atStart[i].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := s.Every("hourly", time.Hour, func(context.Context) error { later[i].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		s.Start()
		scheds = append(scheds, s)
	}
	waitFor(t, "the first run of the purge", func() bool { return atStart[0].Load()+atStart[1].Load() > 0 })
	time.Sleep(500 * time.Millisecond)
	for _, s := range scheds {
		if err := s.Shutdown(); err != nil {
			t.Fatal(err)
		}
	}
	if n := atStart[0].Load() + atStart[1].Load(); n != 1 {
		t.Errorf("purge ran %d times at start on two instances, want once (on the leader)", n)
	}
	if n := later[0].Load() + later[1].Load(); n != 0 {
		t.Errorf("the hourly job added with Every ran %d times at start, want 0", n)
	}
}
