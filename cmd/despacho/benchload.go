package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/pgcluster"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// loadConfig is what `despacho bench load` runs.
type loadConfig struct {
	Duration      time.Duration
	Dispatchers   int           // websocket clients of dispatchers
	Technicians   int           // technicians posting positions
	PositionEvery time.Duration // each technician's period
	Reports       float64       // new reports per second, spread over four channels
	Bookings      float64       // visits created, offered and booked per second
	// URL is a running server to load; empty starts the real `serve` in this process on
	// DSN with a fake Twilio.
	URL string
	// DSN is the database the server uses: the load client creates its users and sessions
	// there (no password hashing in the measured path). Required with URL.
	DSN string
	// TwilioToken is the server's TWILIO_AUTH_TOKEN, to sign inbound texts and status
	// callbacks; without it (with URL) the SMS channel is left out.
	TwilioToken string
	// PublicURL is the server's PUBLIC_BASE_URL, which Twilio signatures cover; default URL.
	PublicURL string
	// Separate starts `despacho serve` as a child process (ServeCommand) instead of in this
	// process, so that its heap and goroutines are its own, not the load client's.
	Separate bool
	// ServeCommand returns the command that runs `despacho serve` with env added to the
	// environment; nil runs this executable's serve.
	ServeCommand func(env []string) *exec.Cmd
	// SMSRate is the SMS_RATE of a server the bench starts (segments per second).
	SMSRate float64
	// DebugURL is the server's DEBUG_ADDR listener (pprof): with it, each memory reading
	// follows a forced collection, so the heap is what is live, not garbage not yet
	// collected. Set by the bench for a server it starts as a child.
	DebugURL string
	// ProfileDir, when set, receives the server's heap profiles and goroutine dumps at the
	// start and the end (heap-start.txt, heap-end.txt, goroutines-start.txt,
	// goroutines-end.txt; needs DebugURL): `go tool pprof -base` shows growth.
	ProfileDir string
	// Sample is how often the server's memory is read during the load (the start and the
	// end are always read).
	Sample time.Duration
	// DrainWait bounds the wait, after the load, for the texts still queued to be sent.
	DrainWait time.Duration
	Log       io.Writer // progress lines; nil discards
}

// memSample is one reading of the server's /metrics.
type memSample struct {
	At         time.Duration // since the load started (negative: before)
	HeapAlloc  float64       // bytes of live objects (after a forced GC when GC)
	HeapInuse  float64       // bytes in in-use spans
	Plans      float64       // of HeapAlloc, an estimate of what the schedule package's plans hold (from the heap profile)
	RSS        float64       // resident set size of the server process
	Goroutines float64
	Jobs       float64 // timed jobs running in the server (despacho_jobs_running)
	Cache      float64 // the plan cache's estimate of its bytes (despacho_plan_cache_bytes)
	GC         bool    // read after a forced collection
}

// loadResult is what a run measured.
type loadResult struct {
	Endpoints      []endpointStats
	Errors         int64
	ErrorSamples   []string
	Conflicts      int64 // bookings refused with 409 (another booking took the window first)
	NoSlot         int64 // visits for which the plan offered no window
	WSMessages     int64 // event messages received by all dispatchers
	WSClients      int
	SMSSent        int // messages the fake Twilio accepted (not with URL: no fake Twilio)
	SMSDuplicates  int // of those, repeated (same number and text)
	SMSOutboxSent  int // outbox rows this run created that ended sent
	SMSSegments    int // segments of the texts the fake Twilio accepted
	SMSQueued      int // outbox rows this run created that came due and were not withdrawn
	SMSLater       int // of this run's rows, still waiting for their time (day-before reminders)
	SMSWithdrawn   int // of this run's rows, cancelled or skipped instead of sent (a re-booking cancels the old reminder)
	SMSLeft        int // texts due but not yet sent when the load stopped
	SMSDrain       time.Duration
	SMSStuck       int // texts due but still unsent after DrainWait
	StartHeap      float64
	WarmHeap       float64 // at the first reading during the load, once caches and pools have filled
	EndHeap        float64
	JobsWait       time.Duration // how long the end reading waited for the server's running jobs
	StartGoroutine float64
	EndGoroutine   float64
	Samples        []memSample
	ServerWarnings int      // warning and error lines the child server logged
	ServerLogs     []string // the first of them
	Elapsed        time.Duration
}

type endpointStats struct {
	Name     string
	N        int
	P50, P99 time.Duration
}

// runBenchLoad implements `despacho bench load`: a mixed load for --duration against the real
// server — dispatchers on websockets, technicians posting positions, reports arriving by the
// staff API, the public form, e-mail intake and inbound SMS, bookings (slots then book) and
// the SMS outbox against a fake Twilio — then prints p50/p99 per endpoint, the error count,
// the texts queued, sent, doubled and left when the load stopped (and how long they took to
// drain), and the server's live heap, resident size and goroutines at the start, every
// --sample and the end. The server is a `serve` child process (--separate, default), one in
// this process, or a running one (--url).
func runBenchLoad(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := loadConfig{Log: e.stderr}
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Minute, "how long to hold the load")
	fs.IntVar(&cfg.Dispatchers, "dispatchers", 50, "dispatchers on websockets")
	fs.IntVar(&cfg.Technicians, "technicians", 200, "technicians posting their position")
	fs.DurationVar(&cfg.PositionEvery, "position-every", 15*time.Second, "each technician's position period")
	fs.Float64Var(&cfg.Reports, "reports", 20, "new reports per second over all channels")
	fs.Float64Var(&cfg.Bookings, "bookings", 2, "visits booked per second (create, slots, book)")
	fs.StringVar(&cfg.URL, "url", "", "load a running server (with DATABASE_URL its database) instead of one started here")
	fs.BoolVar(&cfg.Separate, "separate", true, "start serve as a child process (false: in this process, memory shared with the client)")
	fs.Float64Var(&cfg.SMSRate, "sms-rate", 50, "SMS_RATE of the server the bench starts (segments per second)")
	fs.StringVar(&cfg.DebugURL, "debug-url", "", "with --url: the server's DEBUG_ADDR listener, to read the heap after a collection")
	fs.StringVar(&cfg.ProfileDir, "profile-dir", "", "write the server's heap profiles at the start and the end here")
	fs.DurationVar(&cfg.Sample, "sample", time.Minute, "read the server's memory this often during the load")
	fs.DurationVar(&cfg.DrainWait, "drain-wait", 2*time.Minute, "after the load, wait at most this long for queued texts to be sent")
	if err := parseFlags(fs, args, e.stdout, "bench load [flags]", `Runs a mixed load against the real server for --duration: dispatchers on websockets,
technicians posting positions, reports by every channel, bookings and the SMS flow against
a fake Twilio. Prints p50/p99 per endpoint, errors, the texts queued, sent and doubled, and
the server's memory and goroutines over time.`); err != nil {
		return err
	}
	if fs.NArg() > 0 || cfg.Duration <= 0 || cfg.Dispatchers < 0 || cfg.Technicians < 0 || cfg.PositionEvery <= 0 || cfg.Reports < 0 || cfg.Bookings < 0 ||
		cfg.SMSRate < 0 || cfg.Sample <= 0 || cfg.DrainWait < 0 {
		return usagef("bench load: want --duration D --dispatchers N --technicians N --position-every D --reports R --bookings R --sms-rate R --sample D --drain-wait D [--url U [--debug-url U]] [--separate=false] [--profile-dir DIR]")
	}
	if cfg.DebugURL != "" && cfg.URL == "" {
		return usagef("bench load --debug-url: only with --url (a server the bench starts gets its own)")
	}
	if cfg.ProfileDir != "" && cfg.URL != "" && cfg.DebugURL == "" {
		return usagef("bench load --profile-dir: with --url it needs --debug-url")
	}
	if cfg.ProfileDir != "" && cfg.URL == "" && !cfg.Separate {
		return usagef("bench load --profile-dir: needs the server in its own process (--separate)")
	}
	cfg.DSN = e.getenv("DATABASE_URL")
	cfg.TwilioToken = e.getenv("TWILIO_AUTH_TOKEN")
	cfg.PublicURL = strings.TrimRight(e.getenv("PUBLIC_BASE_URL"), "/")
	if cfg.URL != "" && cfg.DSN == "" {
		return usagef("bench load --url: set DATABASE_URL to the server's database (the client creates its users there)")
	}
	if cfg.URL == "" && cfg.DSN == "" {
		// Like bench tickets: a private cluster under DATA_DIR (default .data/bench), and a
		// fresh database for this run, dropped at the end.
		dataDir := e.getenv("DATA_DIR")
		if dataDir == "" {
			dataDir = ".data/bench"
		}
		quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		c, err := pgcluster.New(filepath.Join(dataDir, "postgres"), pgcluster.Options{Logger: quiet})
		if err != nil {
			return err
		}
		if err := c.Start(ctx); err != nil {
			return err
		}
		defer func() { _ = c.Stop(context.WithoutCancel(ctx)) }()
		name := "load_" + randomHexN(6)
		adm, err := postgres.Open(c.DSN("postgres"), 1)
		if err != nil {
			return err
		}
		defer adm.Close()
		if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return err
		}
		defer adm.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
		cfg.DSN = c.DSN(name)
	}
	res, err := benchLoad(ctx, cfg)
	if res != nil {
		printLoad(e.stdout, cfg, res)
	}
	return err
}

func printLoad(w io.Writer, cfg loadConfig, r *loadResult) {
	fmt.Fprintf(w, "mixed load for %v: %d dispatchers on websockets, %d technicians every %v, %.1f reports/s, %.1f bookings/s\n",
		r.Elapsed.Round(time.Second), cfg.Dispatchers, cfg.Technicians, cfg.PositionEvery, cfg.Reports, cfg.Bookings)
	fmt.Fprintf(w, "%-34s %8s %10s %10s\n", "endpoint", "requests", "p50 ms", "p99 ms")
	for _, s := range r.Endpoints {
		fmt.Fprintf(w, "%-34s %8d %10.1f %10.1f\n", s.Name, s.N, ms(s.P50), ms(s.P99))
	}
	fmt.Fprintf(w, "errors %d; bookings refused (409, window taken) %d; visits without a window %d\n", r.Errors, r.Conflicts, r.NoSlot)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "  error: %s\n", s)
	}
	fmt.Fprintf(w, "websocket messages received %d by %d dispatchers\n", r.WSMessages, r.WSClients)
	fmt.Fprintf(w, "texts queued %d, sent %d (and %d waiting for their time, %d withdrawn)", r.SMSQueued, r.SMSOutboxSent, r.SMSLater, r.SMSWithdrawn)
	if cfg.URL == "" {
		fmt.Fprintf(w, "; the fake Twilio accepted %d (%d segments), doubled %d", r.SMSSent, r.SMSSegments, r.SMSDuplicates)
	}
	fmt.Fprintf(w, "\ntexts due but unsent when the load stopped %d; ", r.SMSLeft)
	if r.SMSStuck > 0 {
		fmt.Fprintf(w, "%d still unsent after %v\n", r.SMSStuck, r.SMSDrain.Round(time.Second))
	} else {
		fmt.Fprintf(w, "all sent %v later\n", r.SMSDrain.Round(10*time.Millisecond))
	}
	where := "in this process (server and client together)"
	if cfg.URL != "" || cfg.Separate {
		where = "its own process"
	}
	fmt.Fprintf(w, "server memory, %s:\n", where)
	fmt.Fprintf(w, "  %8s %10s %10s %10s %10s %10s %10s %10s\n", "at", "heap MiB", "plans MiB", "cache est", "rest MiB", "in use MiB", "RSS MiB", "goroutines")
	for _, m := range r.Samples {
		gc := ""
		if m.GC {
			gc = " after GC"
		}
		fmt.Fprintf(w, "  %8v %10.1f %10.1f %10.1f %10.1f %10.1f %10.1f %10.0f%s\n", m.At.Round(time.Second), m.HeapAlloc/(1<<20),
			m.Plans/(1<<20), m.Cache/(1<<20), (m.HeapAlloc-m.Plans)/(1<<20), m.HeapInuse/(1<<20), m.RSS/(1<<20), m.Goroutines, gc)
	}
	fmt.Fprintf(w, "  (plans: live bytes the schedule package allocated, from the heap profile: the plan cache, one plan per day booked; cache est: the cache's own estimate, bounded to 48 MiB)\n")
	fmt.Fprintf(w, "server heap %.1f MiB at the start (empty caches), %.1f MiB at the first reading under load, %.1f MiB at the end (%+.1f MiB since that reading; the end read after the server's jobs finished, %v later); goroutines %.0f -> %.0f\n",
		r.StartHeap/(1<<20), r.WarmHeap/(1<<20), r.EndHeap/(1<<20), (r.EndHeap-r.WarmHeap)/(1<<20), r.JobsWait.Round(time.Second), r.StartGoroutine, r.EndGoroutine)
	if r.ServerWarnings > 0 {
		fmt.Fprintf(w, "server logged %d warnings or errors:\n", r.ServerWarnings)
		for _, l := range r.ServerLogs {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

// loadRun is one run's shared state.
type loadRun struct {
	cfg    loadConfig
	base   string
	public string
	client *http.Client
	// publicClients send the public form from distinct loopback addresses: the form is
	// rate limited per address (30 a minute), and real customers do not share one.
	publicClients []*http.Client
	publicNext    atomic.Int64

	agent, dispatcher string
	techs             []loadTech

	mu      sync.Mutex
	lat     map[string][]time.Duration
	errs    []string
	nErrs   atomic.Int64
	conflic atomic.Int64
	noSlot  atomic.Int64
	wsMsgs  atomic.Int64
	seq     atomic.Int64

	foliosMu sync.Mutex
	folios   []string // staff reports, for bookings
}

type loadTech struct {
	id    int64
	token string
}

// benchLoad runs the load described by cfg and returns what it measured; an error means the
// run could not be set up or torn down (errors under load are counted, not returned).
func benchLoad(ctx context.Context, cfg loadConfig) (*loadResult, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Sample <= 0 {
		cfg.Sample = time.Minute
	}
	if cfg.DrainWait <= 0 {
		cfg.DrainWait = 2 * time.Minute
	}
	db, err := postgres.Open(cfg.DSN, 4)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	res := &loadResult{WSClients: cfg.Dispatchers}
	var fake *twiliotest.Server
	var child *serveChild
	base := cfg.URL
	if base == "" {
		fake = twiliotest.New()
		defer fake.Close()
		cfg.TwilioToken = fake.AuthToken
		if cfg.Separate {
			child, err = startServeChild(ctx, cfg, fake)
			if err != nil {
				return nil, err
			}
			defer child.stop() //nolint:errcheck // stopped below; this is for early returns
			base, cfg.DebugURL = child.base, child.debug
		} else {
			stop, addr, err := serveInProcessAt(ctx, cfg.DSN, fake, cfg.SMSRate)
			if err != nil {
				return nil, err
			}
			defer stop()
			base = addr
		}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = base
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}
	r := &loadRun{cfg: cfg, base: base, public: cfg.PublicURL, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, lat: map[string][]time.Duration{}}
	for i := range 64 {
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i))}
		r.publicClients = append(r.publicClients, &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: (&net.Dialer{LocalAddr: local}).DialContext, MaxIdleConnsPerHost: 4}})
	}
	if !isLoopback(base) {
		r.publicClients = []*http.Client{r.client}
	}
	if err := r.setup(ctx, db); err != nil {
		return nil, err
	}
	if fake != nil {
		// Twilio reports each message delivered, as it would a little later.
		fake.OnCreate(func(m twiliotest.Message) {
			go func() {
				time.Sleep(200 * time.Millisecond)
				r.twilio(ctx, fake, "twilio.status", "/twilio/status", fake.StatusParams(m, "delivered", 0))
			}()
		})
	}
	// Texts of this run are the outbox rows after this one.
	var firstText int64
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM sms_outbox").Scan(&firstText); err != nil {
		return nil, err
	}

	tr.CloseIdleConnections()
	startMem, err := r.memory(ctx, 0, "start")
	if err != nil {
		return nil, err
	}
	res.Samples = append(res.Samples, startMem)
	res.StartHeap, res.StartGoroutine = startMem.heap(), startMem.Goroutines
	fmt.Fprintf(cfg.Log, "load: %d technicians ready; loading %s for %v; server heap %.1f MiB, %.0f goroutines\n",
		len(r.techs), base, cfg.Duration, res.StartHeap/(1<<20), res.StartGoroutine)

	start := time.Now()
	// loadCtx ends the load: no new request starts after it, but those under way finish
	// (with ctx), so that the end neither cuts requests off nor counts them.
	loadCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	var wsWG sync.WaitGroup
	wsCtx, stopWS := context.WithCancel(ctx)
	defer stopWS()
	for i := range cfg.Dispatchers {
		wsWG.Go(func() { r.dispatcherWS(wsCtx, i) })
	}
	for i, t := range r.techs {
		wg.Go(func() { r.technician(loadCtx, ctx, i, t) })
	}
	if cfg.Reports > 0 {
		wg.Go(func() {
			r.every(loadCtx, cfg.Reports, func(n int64) {
				switch n % 4 {
				case 0:
					r.staffReport(ctx)
				case 1:
					r.publicReport(ctx)
				case 2:
					r.emailReport(ctx)
				default:
					if fake != nil || cfg.TwilioToken != "" {
						r.smsReport(ctx, fake)
					} else {
						r.staffReport(ctx)
					}
				}
			})
		})
	}
	if cfg.Bookings > 0 {
		wg.Go(func() { r.every(loadCtx, cfg.Bookings, func(int64) { r.booking(ctx) }) })
	}
	// The server's memory every Sample while the load runs.
	var samples []memSample
	wg.Go(func() {
		t := time.NewTicker(cfg.Sample)
		defer t.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
			m, err := r.memory(loadCtx, time.Since(start), "")
			if err != nil {
				if loadCtx.Err() == nil {
					r.fail("metrics", err.Error())
				}
				continue
			}
			samples = append(samples, m)
			due, _ := dueTexts(loadCtx, db)
			fmt.Fprintf(cfg.Log, "load: %v: server heap %.1f MiB (plans %.1f, in use %.1f, RSS %.1f), %.0f goroutines; %d texts due and unsent; %d errors\n",
				m.At.Round(time.Second), m.heap()/(1<<20), m.Plans/(1<<20), m.HeapInuse/(1<<20), m.RSS/(1<<20), m.Goroutines, due, r.nErrs.Load())
		}
	})
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Samples = append(res.Samples, samples...)
	if len(samples) > 0 {
		res.WarmHeap = samples[0].heap()
	}
	stopWS()
	wsWG.Wait()

	// The outbox drains: every text due is sent (and only once).
	loadEnd := time.Now()
	if res.SMSLeft, err = dueTexts(ctx, db); err != nil {
		r.fail("sms outbox", err.Error())
	}
	for left := res.SMSLeft; err == nil; {
		res.SMSDrain = time.Since(loadEnd)
		if left == 0 {
			break
		}
		if res.SMSDrain > cfg.DrainWait {
			res.SMSStuck = left
			r.fail("sms outbox", fmt.Sprintf("%d texts still unsent %v after the load", left, cfg.DrainWait))
			break
		}
		time.Sleep(100 * time.Millisecond)
		left, err = dueTexts(ctx, db)
	}
	fmt.Fprintf(cfg.Log, "load: stopped after %v; %d texts were due and unsent, sent within %v\n",
		res.Elapsed.Round(time.Second), res.SMSLeft, res.SMSDrain.Round(10*time.Millisecond))
	if fake != nil {
		seen := map[string]int{}
		for _, m := range fake.Messages() {
			seen[m.To+"\x00"+m.Body]++
			res.SMSSent++
			_, n := notify.Segments(m.Body)
			res.SMSSegments += n
		}
		for _, n := range seen {
			res.SMSDuplicates += n - 1
		}
		time.Sleep(500 * time.Millisecond) // the last status callbacks
	}
	// A booking for tomorrow queues a reminder for this evening, and a re-booking cancels
	// the reminder it replaces: those are not texts the run should have sent by now.
	if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE state NOT IN ('cancelled', 'skipped') AND send_after <= now()),
		count(*) FILTER (WHERE state = 'sent'),
		count(*) FILTER (WHERE state = 'pending' AND send_after > now()),
		count(*) FILTER (WHERE state IN ('cancelled', 'skipped'))
		FROM sms_outbox WHERE id > ?`,
		firstText).Scan(&res.SMSQueued, &res.SMSOutboxSent, &res.SMSLater, &res.SMSWithdrawn); err != nil {
		r.fail("sms outbox", err.Error())
	}
	// Let the server finish what the load left (websocket writers, keep-alive conns, its
	// own to Twilio).
	if fake != nil {
		fake.CloseClientConnections()
	}
	tr.CloseIdleConnections()
	for _, c := range r.publicClients {
		c.CloseIdleConnections()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := r.metrics(ctx)
		tr.CloseIdleConnections()
		if err != nil || m.Goroutines <= res.StartGoroutine || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A job mid-run (the re-plan job searches for up to 40 s) holds its working plans: the
	// end reading waits for it, as it waits for the goroutines above.
	jobsFrom := time.Now()
	for deadline := jobsFrom.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if m, err := r.metrics(ctx); err != nil || m.Jobs == 0 {
			break
		}
	}
	res.JobsWait = time.Since(jobsFrom)
	endMem, err := r.memory(ctx, time.Since(start), "end")
	if err == nil {
		res.Samples = append(res.Samples, endMem)
		res.EndHeap, res.EndGoroutine = endMem.heap(), endMem.Goroutines
	}

	res.Errors = r.nErrs.Load()
	res.ErrorSamples = r.errs
	res.Conflicts, res.NoSlot, res.WSMessages = r.conflic.Load(), r.noSlot.Load(), r.wsMsgs.Load()
	names := make([]string, 0, len(r.lat))
	for k := range r.lat {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		d := r.lat[k]
		slices.Sort(d)
		res.Endpoints = append(res.Endpoints, endpointStats{Name: k, N: len(d), P50: pct(d, 0.50), P99: pct(d, 0.99)})
	}
	if child != nil {
		if serr := child.stop(); serr != nil && err == nil {
			err = fmt.Errorf("serve child: %w", serr)
		}
		res.ServerWarnings, res.ServerLogs = child.logs.result()
	}
	return res, err
}

// dueTexts counts the texts due and not yet sent.
func dueTexts(ctx context.Context, db *bun.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sms_outbox WHERE state IN ('pending', 'sending') AND send_after <= now()").Scan(&n)
	return n, err
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func isLoopback(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// serveVars is the environment of a `serve` the bench starts: on dsn, listening on addr,
// texting through fake at smsRate segments per second.
func serveVars(dsn, addr string, fake *twiliotest.Server, smsRate float64) map[string]string {
	base := "http://" + addr
	return map[string]string{
		"DATABASE_URL": dsn, "HTTP_ADDR": addr, "PUBLIC_BASE_URL": base,
		"TWILIO_ACCOUNT_SID": fake.AccountSID, "TWILIO_AUTH_TOKEN": fake.AuthToken,
		"TWILIO_FROM": "+525500000000", "TWILIO_API_BASE": fake.URL,
		"MAIL_GATEWAY_TOKEN": "",
		"METRICS_TOKEN":      "", // the bench reads the server's /metrics
		"SMS_RATE":           strconv.FormatFloat(smsRate, 'f', -1, 64),
	}
}

// serveInProcess runs the real `serve` on dsn, with texts going to fake at 50 segments a
// second (faster than the mixed load queues them), and returns its base URL and a function
// that stops it.
func serveInProcess(ctx context.Context, dsn string, fake *twiliotest.Server) (stop func(), base string, err error) {
	return serveInProcessAt(ctx, dsn, fake, 50)
}

// serveInProcessAt is serveInProcess sending at smsRate segments a second.
func serveInProcessAt(ctx context.Context, dsn string, fake *twiliotest.Server, smsRate float64) (stop func(), base string, err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	base = "http://" + addr
	vars := serveVars(dsn, addr, fake, smsRate)
	sctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(sctx, []string{"serve"}, env{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(""), stdout: pw, stderr: io.Discard})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	ready := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "/healthz") {
			ready = true
			break
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck
	if !ready {
		cancel()
		return nil, "", fmt.Errorf("serve stopped before listening (exit %d)", <-done)
	}
	return func() {
		cancel()
		<-done
	}, base, nil
}

// serveChild is `despacho serve` running as a child process of the bench.
type serveChild struct {
	cmd         *exec.Cmd
	base, debug string
	logs        *logTally
	done        chan error
	stopOnce    sync.Once
	stopErr     error
	unhook      func() bool
}

// startServeChild starts serve (cfg.ServeCommand, or this executable) on cfg.DSN with texts
// going to fake, a debug listener for heap profiles, and waits until it is ready.
func startServeChild(ctx context.Context, cfg loadConfig, fake *twiliotest.Server) (*serveChild, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	vars := serveVars(cfg.DSN, addr, fake, cfg.SMSRate)
	vars["DEBUG_ADDR"] = debug
	var envList []string
	for k, v := range vars {
		envList = append(envList, k+"="+v)
	}
	slices.Sort(envList)
	var cmd *exec.Cmd
	if cfg.ServeCommand != nil {
		cmd = cfg.ServeCommand(envList)
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(exe, "serve")
		cmd.Env = append(os.Environ(), envList...) // later entries win
	}
	c := &serveChild{cmd: cmd, base: "http://" + addr, debug: "http://" + debug, logs: &logTally{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = nil, c.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	go func() { c.done <- cmd.Wait() }()
	c.unhook = context.AfterFunc(ctx, func() { _ = c.stop() })
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := http.Get(c.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c, nil
			}
		}
		select {
		case werr := <-c.done:
			c.done <- werr
			_, logs := c.logs.result()
			return nil, fmt.Errorf("serve exited before it was ready (%v): %s", werr, strings.Join(logs, "; "))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = c.stop()
			return nil, fmt.Errorf("serve not ready after 90 s: %v", err)
		}
	}
}

// stop interrupts the server as Ctrl-C would, waits up to 30 s for it to drain and exit,
// then kills it; an exit other than a clean one is the error.
func (c *serveChild) stop() error {
	c.stopOnce.Do(func() {
		if c.unhook != nil {
			c.unhook()
		}
		_ = c.cmd.Process.Signal(os.Interrupt)
		select {
		case c.stopErr = <-c.done:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
			c.stopErr = errors.New("did not stop within 30 s of an interrupt; killed")
		}
	})
	return c.stopErr
}

// logTally counts the warning and error lines of the server's JSON log and keeps the
// first few.
type logTally struct {
	mu      sync.Mutex
	partial []byte
	n       int
	first   []string
}

func (l *logTally) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || !strings.HasPrefix(line, "{") {
			l.n++
			if len(l.first) < 5 {
				l.first = append(l.first, truncate([]byte(line), 300))
			}
		}
	}
	return len(p), nil
}

func (l *logTally) result() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, slices.Clone(l.first)
}

// setup creates the load's users and sessions in the database (no password hashing: sign-in
// is not what is measured) and the technicians through the API.
func (r *loadRun) setup(ctx context.Context, db *bun.DB) error {
	tag := randomHexN(4)
	users := postgres.NewUsers(db)
	session := func(email string, role dispatch.Role) (string, int64, error) {
		u := &dispatch.User{Email: email, Name: "Carga " + string(role), Role: role, PasswordHash: "load-test-no-login", Active: true}
		if err := users.Create(ctx, u); err != nil {
			return "", 0, err
		}
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok := base64.RawURLEncoding.EncodeToString(b)
		return tok, u.ID, users.CreateSession(ctx, tok, u.ID, time.Now().Add(24*time.Hour))
	}
	var err error
	if r.agent, _, err = session("agente-"+tag+"@carga.example.mx", dispatch.RoleAgent); err != nil {
		return err
	}
	if r.dispatcher, _, err = session("despacho-"+tag+"@carga.example.mx", dispatch.RoleDispatcher); err != nil {
		return err
	}
	var shifts []string
	for d := range 7 {
		shifts = append(shifts, fmt.Sprintf(`{"weekday":%d,"start":"00:00","end":"24:00"}`, d))
	}
	for i := range r.cfg.Technicians {
		tok, uid, err := session(fmt.Sprintf("tecnico-%s-%d@carga.example.mx", tag, i), dispatch.RoleTechnician)
		if err != nil {
			return err
		}
		lat, lon := 19.30+0.3*mrand.Float64(), -99.25+0.3*mrand.Float64()
		body := fmt.Sprintf(`{"name":"Técnico %s %d","phone":"55 %04d %04d","skills":["fiber","copper"],"home":{"lat":%.5f,"lon":%.5f},"shifts":[%s],"user_id":%d}`,
			tag, i, mrand.IntN(10000), mrand.IntN(10000), lat, lon, strings.Join(shifts, ","), uid)
		var out struct{ ID int64 }
		code, b, err := r.do(ctx, r.client, "", "POST", "/api/technicians", r.dispatcher, "application/json", []byte(body), nil)
		if err != nil || code != 201 || json.Unmarshal(b, &out) != nil {
			return fmt.Errorf("create technician %d: %d %s %v", i, code, b, err)
		}
		r.techs = append(r.techs, loadTech{id: out.ID, token: tok})
	}
	return nil
}

// do sends one request; name (when not empty) records its latency under that endpoint.
func (r *loadRun) do(ctx context.Context, c *http.Client, name, method, path, token, ctype string, body []byte, hdr map[string]string) (int, []byte, error) {
	u := path
	if strings.HasPrefix(path, "/") {
		u = r.base + path
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if name != "" && err == nil {
		d := time.Since(t0)
		r.mu.Lock()
		r.lat[name] = append(r.lat[name], d)
		r.mu.Unlock()
	}
	return res.StatusCode, b, err
}

// call is do for the load: anything but want is an error, unless the run is ending.
func (r *loadRun) call(ctx context.Context, c *http.Client, name, method, path, token, ctype string, body []byte, hdr map[string]string, want ...int) (int, []byte, bool) {
	code, b, err := r.do(ctx, c, name, method, path, token, ctype, body, hdr)
	if ctx.Err() != nil {
		return code, b, false
	}
	if err != nil {
		r.fail(name, err.Error())
		return code, b, false
	}
	if !slices.Contains(want, code) {
		r.fail(name, fmt.Sprintf("%d %s", code, truncate(b, 200)))
		return code, b, false
	}
	return code, b, true
}

func (r *loadRun) fail(name, msg string) {
	r.nErrs.Add(1)
	r.mu.Lock()
	if len(r.errs) < 10 {
		r.errs = append(r.errs, name+": "+msg)
	}
	r.mu.Unlock()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// every calls f (in its own goroutine) rate times a second until ctx ends, and waits for
// the calls in flight.
func (r *loadRun) every(ctx context.Context, rate float64, f func(n int64)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	period := time.Duration(float64(time.Second) / rate)
	t := time.NewTicker(period)
	defer t.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			i := n
			n++
			wg.Go(func() { f(i) })
		}
	}
}

func (r *loadRun) dispatcherWS(ctx context.Context, i int) {
	u := "ws" + strings.TrimPrefix(r.base, "http") + "/ws?" + url.Values{"token": {r.dispatcher}}.Encode()
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	var last int64 = -1
	for ctx.Err() == nil {
		q := u
		if last >= 0 {
			q += "&after=" + strconv.FormatInt(last, 10)
		}
		c, res, err := d.DialContext(ctx, q, nil)
		if err != nil {
			if ctx.Err() == nil {
				r.fail("ws", fmt.Sprintf("dispatcher %d: dial: %v (%v)", i, err, res))
				time.Sleep(time.Second)
			}
			continue
		}
		stop := context.AfterFunc(ctx, func() {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.Close()
		})
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				if ctx.Err() == nil {
					// A cut-off slow client (1013) resumes with after; anything else is an error.
					if !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
						r.fail("ws", fmt.Sprintf("dispatcher %d: %v", i, err))
					}
				}
				break
			}
			var m struct {
				ID   int64  `json:"id"`
				Type string `json:"type"`
			}
			if json.Unmarshal(b, &m) == nil && m.ID > 0 {
				last = m.ID
				r.wsMsgs.Add(1)
			}
			if m.Type == "reload" {
				last = -1
			}
		}
		stop()
		_ = c.Close()
	}
}

// technician posts t's position every PositionEvery until loadCtx ends; each post runs
// with ctx.
func (r *loadRun) technician(loadCtx, ctx context.Context, i int, t loadTech) {
	// Spread the first posts over one period, as phones do.
	first := time.Duration(mrand.Int64N(int64(r.cfg.PositionEvery)))
	timer := time.NewTimer(first)
	defer timer.Stop()
	path := fmt.Sprintf("/api/technicians/%d/position", t.id)
	for {
		select {
		case <-loadCtx.Done():
			return
		case <-timer.C:
		}
		body := fmt.Sprintf(`{"lat":%.5f,"lon":%.5f}`, 19.30+0.3*mrand.Float64(), -99.25+0.3*mrand.Float64())
		r.call(ctx, r.client, "POST position", "POST", path, t.token, "application/json", []byte(body), nil, 200, 204)
		timer.Reset(r.cfg.PositionEvery)
	}
}

func (r *loadRun) phone() string {
	n := r.seq.Add(1)
	return fmt.Sprintf("55%02d%06d", mrand.IntN(100), n%1_000_000)
}

func (r *loadRun) staffReport(ctx context.Context) {
	n := r.seq.Add(1)
	body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente %d","phone":%q},"address":{"line":"Calle %d, CDMX","lat":%.5f,"lon":%.5f},"subject":"Sin servicio","description":"No hay internet"}`,
		n, r.phone(), n, 19.30+0.3*mrand.Float64(), -99.25+0.3*mrand.Float64())
	_, b, ok := r.call(ctx, r.client, "POST /api/tickets", "POST", "/api/tickets", r.agent, "application/json", []byte(body),
		map[string]string{"Idempotency-Key": "load-" + randomHexN(8)}, 201)
	if !ok {
		return
	}
	var out struct{ Folio string }
	if json.Unmarshal(b, &out) == nil && out.Folio != "" {
		r.foliosMu.Lock()
		r.folios = append(r.folios, out.Folio)
		r.foliosMu.Unlock()
	}
}

func (r *loadRun) publicReport(ctx context.Context) {
	c := r.publicClients[int(r.publicNext.Add(1))%len(r.publicClients)]
	body := fmt.Sprintf(`{"customer":{"name":"Cliente web","phone":%q},"address":{"line":"Calle 9, CDMX"},"kind":"fault","description":"Internet intermitente"}`, r.phone())
	_, b, ok := r.call(ctx, c, "POST /public/reports", "POST", "/public/reports", "", "application/json", []byte(body), nil, 201)
	if !ok {
		return
	}
	var out struct {
		Folio string `json:"folio"`
		Code  string `json:"access_code"`
	}
	if json.Unmarshal(b, &out) == nil && out.Code != "" {
		r.call(ctx, c, "GET /public/reports/{folio}", "GET", "/public/reports/"+out.Folio+"?code="+out.Code, "", "", nil, nil, 200)
	}
}

func (r *loadRun) emailReport(ctx context.Context) {
	n := r.seq.Add(1)
	msg := fmt.Sprintf("From: \"Cliente %d\" <cliente%d-%s@example.mx>\r\nTo: soporte@isp.example\r\nSubject: Sin internet\r\nMessage-ID: <load-%s@example.mx>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNo tengo internet desde la mañana. Mi teléfono es %s.\r\n",
		n, n, randomHexN(3), randomHexN(8), r.phone())
	r.call(ctx, r.client, "POST /api/intake/email", "POST", "/api/intake/email", r.agent, "message/rfc822", []byte(msg), nil, 200, 201)
}

func (r *loadRun) smsReport(ctx context.Context, fake *twiliotest.Server) {
	sid := "SM" + randomHexN(16)
	form := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "From": {"+52" + r.phone()}, "To": {"+525500000000"},
		"Body": {"sin internet desde ayer"}, "NumMedia": {"0"}, "NumSegments": {"1"}, "ApiVersion": {"2010-04-01"}, "SmsStatus": {"received"},
	}
	if fake != nil {
		form.Set("AccountSid", fake.AccountSID)
	}
	r.twilio(ctx, fake, "POST /twilio/inbound", "/twilio/inbound", form)
}

// twilio posts a signed webhook as Twilio would.
func (r *loadRun) twilio(ctx context.Context, _ *twiliotest.Server, name, path string, form url.Values) {
	body := []byte(form.Encode())
	sig := twiliotest.Signature(r.cfg.TwilioToken, r.public+path, form)
	r.call(ctx, r.client, name, "POST", path, "", "application/x-www-form-urlencoded", body, map[string]string{"X-Twilio-Signature": sig}, 200, 204)
}

func (r *loadRun) booking(ctx context.Context) {
	r.foliosMu.Lock()
	var folio string
	if len(r.folios) > 0 {
		folio = r.folios[len(r.folios)-1]
		r.folios = r.folios[:len(r.folios)-1]
	}
	r.foliosMu.Unlock()
	if folio == "" {
		r.staffReport(ctx)
		return
	}
	body := fmt.Sprintf(`{"duration_min":45,"skills":["fiber"],"lat":%.5f,"lon":%.5f}`, 19.30+0.3*mrand.Float64(), -99.25+0.3*mrand.Float64())
	_, b, ok := r.call(ctx, r.client, "POST /api/tickets/{folio}/visits", "POST", "/api/tickets/"+folio+"/visits", r.agent, "application/json", []byte(body), nil, 201)
	var v struct{ ID int64 }
	if !ok || json.Unmarshal(b, &v) != nil {
		return
	}
	from := time.Now().In(mexicoCity).Format("2006-01-02")
	_, b, ok = r.call(ctx, r.client, "GET /api/visits/{id}/slots", "GET", fmt.Sprintf("/api/visits/%d/slots?from=%s&days=3", v.ID, from), r.agent, "", nil, nil, 200)
	var s struct {
		Slots []struct{ Start, End time.Time }
	}
	if !ok || json.Unmarshal(b, &s) != nil {
		return
	}
	if len(s.Slots) == 0 {
		r.noSlot.Add(1)
		return
	}
	w := s.Slots[mrand.IntN(min(3, len(s.Slots)))]
	win := fmt.Sprintf(`{"start":%q,"end":%q}`, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	code, _, _ := r.call(ctx, r.client, "POST /api/visits/{id}/book", "POST", fmt.Sprintf("/api/visits/%d/book", v.ID), r.agent, "application/json", []byte(win), nil, 200, 409)
	if code == 409 {
		r.conflic.Add(1)
	}
}

var mexicoCity = func() *time.Location {
	l, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		return time.UTC
	}
	return l
}()

var metricLine = regexp.MustCompile(`(?m)^(go_memstats_heap_alloc_bytes|go_memstats_heap_inuse_bytes|process_resident_memory_bytes|go_goroutines|despacho_jobs_running|despacho_plan_cache_bytes) ([0-9.e+]+)$`)

// heap is the figure compared from start to end: live bytes after a forced collection,
// else the bytes in in-use spans (which include garbage not yet collected).
func (m memSample) heap() float64 {
	if m.GC {
		return m.HeapAlloc
	}
	return m.HeapInuse
}

// metrics reads the server's heap, resident size and goroutines from /metrics.
func (r *loadRun) metrics(ctx context.Context) (memSample, error) {
	var m memSample
	code, b, err := r.do(ctx, r.client, "", "GET", "/metrics", "", "", nil, nil)
	if err != nil || code != 200 {
		return m, fmt.Errorf("GET /metrics: %d %v", code, err)
	}
	found := map[string]bool{}
	for _, f := range metricLine.FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(f[2], 64)
		switch f[1] {
		case "go_goroutines":
			m.Goroutines = v
		case "go_memstats_heap_alloc_bytes":
			m.HeapAlloc = v
		case "go_memstats_heap_inuse_bytes":
			m.HeapInuse = v
		case "process_resident_memory_bytes":
			m.RSS = v
		case "despacho_jobs_running":
			m.Jobs = v
		case "despacho_plan_cache_bytes":
			m.Cache = v
		}
		found[f[1]] = true
	}
	if !found["go_goroutines"] || !found["go_memstats_heap_inuse_bytes"] || !found["go_memstats_heap_alloc_bytes"] {
		return m, errors.New("GET /metrics: no go_memstats_heap_alloc_bytes, go_memstats_heap_inuse_bytes or go_goroutines")
	}
	return m, nil
}

// memory reads the server's memory at, after a forced collection where the bench can
// cause one: through the debug listener's heap profile (gc=1), saved as profile in
// ProfileDir when both are set, or runtime.GC when the server shares this process.
func (r *loadRun) memory(ctx context.Context, at time.Duration, profile string) (memSample, error) {
	gc, plans := false, 0.0
	switch {
	case r.cfg.DebugURL != "":
		debug := strings.TrimRight(r.cfg.DebugURL, "/") + "/debug/pprof/"
		code, b, err := r.do(ctx, r.client, "", "GET", debug+"heap?gc=1&debug=1", "", "", nil, nil)
		if err != nil || code != 200 {
			return memSample{}, fmt.Errorf("GET %sheap: %d %v", debug, code, err)
		}
		plans = heapUnder(b, "despacho/schedule.")
		if profile != "" && r.cfg.ProfileDir != "" {
			code, g, err := r.do(ctx, r.client, "", "GET", debug+"goroutine?debug=1", "", "", nil, nil)
			if err != nil || code != 200 {
				return memSample{}, fmt.Errorf("GET %sgoroutine: %d %v", debug, code, err)
			}
			for name, data := range map[string][]byte{"heap-" + profile + ".txt": b, "goroutines-" + profile + ".txt": g} {
				if err := os.WriteFile(filepath.Join(r.cfg.ProfileDir, name), data, 0o644); err != nil {
					return memSample{}, err
				}
			}
		}
		gc = true
	case r.cfg.URL == "" && !r.cfg.Separate:
		runtime.GC()
		gc = true
	}
	m, err := r.metrics(ctx)
	m.At, m.GC, m.Plans = at, gc, plans
	return m, err
}

// heapUnder estimates, from a heap profile in its text form (debug=1), the live bytes
// allocated by functions whose names begin with prefix (anywhere in the stack), scaling each
// sampled record up as pprof does.
func heapUnder(profile []byte, prefix string) float64 {
	lines := strings.Split(string(profile), "\n")
	if len(lines) == 0 {
		return 0
	}
	// "heap profile: 10: 12320 [26: 24916976] @ heap/1048576": the number is twice the
	// sampling rate.
	rate := 512 * 1024.0
	if i := strings.LastIndex(lines[0], "@ heap/"); i >= 0 {
		if v, err := strconv.ParseFloat(strings.TrimSpace(lines[0][i+len("@ heap/"):]), 64); err == nil && v > 1 {
			rate = v / 2
		}
	}
	var total, bytes float64
	match := false
	flush := func() {
		if match {
			total += bytes
		}
		match, bytes = false, 0
	}
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "#\t"):
			if f := strings.Fields(l); len(f) >= 3 && strings.HasPrefix(f[2], prefix) {
				match = true
			}
		case strings.Contains(l, " @ ") && !strings.HasPrefix(l, "#"):
			flush()
			var objs, size float64
			if _, err := fmt.Sscanf(l, "%g: %g", &objs, &size); err == nil && objs > 0 && size > 0 {
				bytes = size / (1 - math.Exp(-size/objs/rate))
			}
		}
	}
	flush()
	return total
}

func randomHexN(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
