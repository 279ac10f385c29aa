// Package jobs runs the timed jobs of despacho with gocron, so that each job runs once per
// tick however many instances serve on one database: an Elector keeps one instance the
// leader through a PostgreSQL session advisory lock held on one pinned connection (freed by
// PostgreSQL if the process or its connection dies, so another instance takes over).
//
// Due times themselves (holds, reminders, SLA deadlines) live in PostgreSQL; jobs here are
// periodic sweeps that pick what is due, never one gocron job per row.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"
)

// LeaderKey is the advisory lock key of the scheduler leader.
const LeaderKey int64 = 7_413_309_155_010

// ErrNotLeader is what IsLeader answers on an instance that must not run jobs now.
var ErrNotLeader = errors.New("jobs: another instance is the leader")

// Elector is a gocron.Elector backed by a session advisory lock on one pinned connection:
// the instance holding the lock is the leader. It is safe for concurrent use.
type Elector struct {
	db  *bun.DB
	key int64

	mu   sync.Mutex
	conn *bun.Conn
}

// NewElector returns an elector on db competing for the advisory lock key.
func NewElector(db *bun.DB, key int64) *Elector { return &Elector{db: db, key: key} }

// IsLeader implements gocron.Elector: nil when this instance holds (or just took) the lock.
// A lost connection loses the lead; the next call tries to take it again.
func (e *Elector) IsLeader(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if e.conn != nil {
		var held bool
		err := e.conn.QueryRowContext(ctx,
			"SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND ((classid::bigint << 32) | objid::bigint) = ?)",
			e.key).Scan(&held)
		if err == nil && held {
			return nil
		}
		_ = e.conn.Close()
		e.conn = nil
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("jobs: elector connection: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?)", e.key).Scan(&got); err != nil {
		_ = conn.Close()
		return fmt.Errorf("jobs: elector lock: %w", err)
	}
	if !got {
		_ = conn.Close()
		return ErrNotLeader
	}
	e.conn = &conn
	return nil
}

// Close gives up the lead (if held) and releases the pinned connection.
func (e *Elector) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.conn.ExecContext(ctx, "SELECT pg_advisory_unlock(?)", e.key)
	cerr := e.conn.Close()
	e.conn = nil
	return errors.Join(err, cerr)
}

// Config is what a Scheduler needs.
type Config struct {
	DB  *bun.DB
	Log *slog.Logger
	// Zone is the time zone of daily schedules; nil means UTC.
	Zone *time.Location
	// LeaderKey is the advisory lock key; 0 means LeaderKey. Tests use their own.
	LeaderKey int64
	// StopTimeout bounds how long Shutdown waits for running jobs; 0 means 30 s.
	StopTimeout time.Duration
	// Registry, when set, gets the jobs' metrics: despacho_jobs_running (jobs running on
	// this instance now), despacho_job_runs_total by job and result, and
	// despacho_job_duration_seconds by job.
	Registry prometheus.Registerer
}

// Scheduler runs periodic jobs on the elected instance only.
type Scheduler struct {
	s       gocron.Scheduler
	elector *Elector
	log     *slog.Logger

	running  atomic.Int64
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a stopped scheduler. A panicking job is logged, never fatal.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	if cfg.LeaderKey == 0 {
		cfg.LeaderKey = LeaderKey
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	log := cfg.Log
	el := NewElector(cfg.DB, cfg.LeaderKey)
	s, err := gocron.NewScheduler(
		gocron.WithLocation(cfg.Zone),
		gocron.WithStopTimeout(cfg.StopTimeout),
		gocron.WithDistributedElector(el),
		gocron.WithGlobalJobOptions(
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithEventListeners(
				gocron.AfterJobRunsWithPanic(func(_ uuid.UUID, name string, rec any) {
					log.Error("job panicked", "job", name, "panic", fmt.Sprint(rec))
				}),
			),
		),
	)
	if err != nil {
		return nil, err
	}
	sc := &Scheduler{s: s, elector: el, log: log,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "despacho_job_runs_total",
			Help: "Timed job runs on this instance, by job and result (ok, error)."}, []string{"job", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "despacho_job_duration_seconds",
			Help: "How long timed job runs took on this instance.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"job"}),
	}
	if cfg.Registry != nil {
		running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "despacho_jobs_running",
			Help: "Timed jobs running on this instance now."}, func() float64 { return float64(sc.Running()) })
		if err := errors.Join(cfg.Registry.Register(running), cfg.Registry.Register(sc.runs), cfg.Registry.Register(sc.duration)); err != nil {
			return nil, fmt.Errorf("jobs: metrics: %w", err)
		}
	}
	return sc, nil
}

// Running is how many jobs are running on this instance now.
func (s *Scheduler) Running() int { return int(s.running.Load()) }

// Every adds job fn under a unique name, run every d (first run after d). fn gets a context
// that Shutdown cancels; its error is logged.
func (s *Scheduler) Every(name string, d time.Duration, fn func(ctx context.Context) error) error {
	return s.every(name, d, fn)
}

// EveryFromStart is Every with a first run at Start, on the leader: for a long period
// (hourly upkeep), which an instance restarted more often than that would otherwise never
// reach.
func (s *Scheduler) EveryFromStart(name string, d time.Duration, fn func(ctx context.Context) error) error {
	return s.every(name, d, fn, gocron.WithStartAt(gocron.WithStartImmediately()))
}

func (s *Scheduler) every(name string, d time.Duration, fn func(ctx context.Context) error, opts ...gocron.JobOption) error {
	_, err := s.s.NewJob(gocron.DurationJob(d), gocron.NewTask(func(ctx context.Context) {
		s.running.Add(1)
		defer s.running.Add(-1)
		start := time.Now()
		err := fn(ctx)
		took := time.Since(start)
		s.duration.WithLabelValues(name).Observe(took.Seconds())
		if err != nil && ctx.Err() == nil {
			s.runs.WithLabelValues(name, "error").Inc()
			s.log.Error("job failed", "job", name, "err", err, "duration", took)
			return
		}
		s.runs.WithLabelValues(name, "ok").Inc()
		s.log.Debug("job done", "job", name, "duration", took)
	}), append(opts, gocron.WithName(name))...)
	return err
}

// Start starts running the jobs. It first tries to take the lead, so that from the start
// exactly one of several instances is the leader (gocron would only elect at the first
// tick); a failure here is retried at every tick.
func (s *Scheduler) Start() {
	if err := s.elector.IsLeader(context.Background()); err != nil && !errors.Is(err, ErrNotLeader) {
		s.log.Warn("jobs: cannot take the lead yet; will retry at the next tick", "err", err)
	}
	s.s.Start()
}

// Leader reports whether this instance held the lead when it last checked.
func (s *Scheduler) Leader() bool {
	s.elector.mu.Lock()
	defer s.elector.mu.Unlock()
	return s.elector.conn != nil
}

// Shutdown stops the jobs, waits for running ones (up to the stop timeout) and gives up the
// lead. It is final.
func (s *Scheduler) Shutdown() error {
	err := s.s.Shutdown()
	return errors.Join(err, s.elector.Close())
}
