package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
	"despacho/migrations"
	"despacho/notify"
)

// runBenchTickets implements `despacho bench tickets`: it serves the real API on a local
// port over the configured database (DATABASE_URL, else a private cluster under
// DATA_DIR, default .data/bench, so the bench never writes into the dev database) and has
// --clients concurrent clients file reports through HTTP for --duration, then prints the
// sustained rate and the latency percentiles.
func runBenchTickets(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("bench tickets", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	clients := fs.Int("clients", 32, "concurrent HTTP clients")
	duration := fs.Duration("duration", 10*time.Second, "how long to measure (after a 1 s warm-up)")
	conns := fs.Int("conns", 16, "database connections of the server")
	idem := fs.Bool("idempotency", true, "send an Idempotency-Key with every request")
	logRequests := fs.Bool("log", false, "log every request as the server does in production")
	hooks := fs.Bool("hooks", true, "run the event hooks serve runs (SMS outbox, incidents) in every creation")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured part (server and clients) to this file")
	if err := parseFlags(fs, args, e.stdout, "bench tickets [flags]", `Files reports through the real HTTP API with concurrent clients for --duration and prints
the sustained rate, latency percentiles and the CPU each report cost (this process and, on
the private cluster, PostgreSQL). Without DATABASE_URL it uses a private cluster under
.data/bench.`); err != nil {
		return err
	}
	if fs.NArg() > 0 || *clients < 1 || *duration <= 0 || *conns < 1 {
		return usagef("bench tickets: want --clients N --duration D --conns N")
	}
	benchEnv := e
	if e.getenv("DATABASE_URL") == "" && e.getenv("DATA_DIR") == "" {
		benchEnv.getenv = func(k string) string {
			if k == "DATA_DIR" {
				return ".data/bench"
			}
			return e.getenv(k)
		}
	}
	quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, closeDB, err := openDatabase(ctx, benchEnv, quiet, *conns)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	slaCfg, err := businessSLA(e)
	if err != nil {
		return err
	}
	serverLog := quiet
	if *logRequests {
		serverLog = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	cfg := web.Config{DB: db, Log: serverLog, SLA: slaCfg}
	if *hooks {
		// As serve wires them: the SMS outbox (development sender: texts are queued, not
		// sent) and the incident rules run inside every creation's transaction.
		smsCfg, err := notify.ConfigFromEnv(func(string) string { return "" })
		if err != nil {
			return err
		}
		incCfg, err := incidentsConfig(e, slaCfg)
		if err != nil {
			return err
		}
		cfg.Events = postgres.NewEvents()
		cfg.Events.AddBatchHook(notify.NewOutbox(smsCfg, quiet).WithStatements(postgres.NewStatements(db)).HookBatch)
		if cfg.Incidents, err = postgres.NewIncidents(db, cfg.Events, incCfg); err != nil {
			return err
		}
		cfg.Events.AddHook(cfg.Incidents.ReportHook)
	}
	api := web.New(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	// A bench agent, signed in through the API.
	tag := randomTag()
	password := "bench-password-" + tag
	u, err := dispatch.NewUser("bench-"+tag+"@bench.invalid", "Bench agent", dispatch.RoleAgent, password)
	if err != nil {
		return err
	}
	if err := postgres.NewUsers(db).Create(ctx, u); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}}
	lb, _ := json.Marshal(map[string]string{"email": u.Email, "password": password})
	res, err := client.Post(base+"/api/login", "application/json", bytes.NewReader(lb))
	if err != nil {
		return err
	}
	var login struct{ Token string }
	_ = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if login.Token == "" {
		return fmt.Errorf("bench sign-in failed: %s", res.Status)
	}

	kinds := []string{"fault", "fault", "fault", "complaint", "inquiry", "clarification", "other"}
	channels := []string{"phone", "email", "web", "in_person", "sms"}
	var seq atomic.Int64
	var failures atomic.Int64
	var firstErr atomic.Value
	warmEnd := time.Now().Add(time.Second)
	var cpuStart, cpuEnd time.Duration
	// PostgreSQL's CPU too, when it is the private cluster on this machine.
	pgDir := ""
	if e.getenv("DATABASE_URL") == "" {
		pgDir = filepath.Join(benchEnv.getenv("DATA_DIR"), "postgres")
	}
	var pgStart, pgEnd time.Duration
	var pgOK bool
	var profErr error
	profDone := make(chan struct{})
	go func() {
		defer close(profDone)
		time.Sleep(time.Until(warmEnd))
		cpuStart = processCPU()
		if pgDir != "" {
			pgStart, pgOK = clusterCPU(pgDir)
		}
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err != nil {
				profErr = err
			} else {
				defer f.Close()
				if profErr = pprof.StartCPUProfile(f); profErr == nil {
					defer pprof.StopCPUProfile()
				}
			}
		}
		time.Sleep(*duration)
		cpuEnd = processCPU()
		if pgOK {
			pgEnd, pgOK = clusterCPU(pgDir)
		}
	}()
	end := warmEnd.Add(*duration)
	lat := make([][]time.Duration, *clients)
	var wg sync.WaitGroup
	for w := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				now := time.Now()
				if now.After(end) {
					return
				}
				n := seq.Add(1)
				body := fmt.Sprintf(`{"channel":%q,"kind":%q,"customer":{"name":"Cliente %d","phone":"55 %04d %04d","plan_price":399},"address":{"line":"Calle %d #%d, CDMX","lat":19.4%d,"lon":-99.1%d},"subject":"Reporte de prueba","description":"Sin servicio desde la mañana (bench %s/%d)"}`,
					channels[n%int64(len(channels))], kinds[n%int64(len(kinds))], n, 1000+(n/10000)%9000, n%10000, n%50, n%200, n%10, n%10, tag, n)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/tickets", bytes.NewBufferString(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+login.Token)
				if *idem {
					req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%d", tag, n))
				}
				start := time.Now()
				res, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusCreated {
						err = fmt.Errorf("status %s", res.Status)
					}
				}
				d := time.Since(start)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if start.After(warmEnd) && start.Before(end) {
					lat[w] = append(lat[w], d)
				}
			}
		}()
	}
	wg.Wait()
	<-profDone
	if err := ctx.Err(); err != nil {
		return err
	}
	if profErr != nil {
		return fmt.Errorf("bench tickets: cpu profile: %w", profErr)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		if v := firstErr.Load(); v != nil {
			return errors.New("bench tickets: every request failed: " + v.(string))
		}
		return errors.New("bench tickets: no request completed")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	rate := float64(len(all)) / duration.Seconds()
	fmt.Fprintf(e.stdout, "bench tickets: %d clients, %s, idempotency keys %v, db conns %d, hooks %v\n", *clients, *duration, *idem, *conns, *hooks)
	fmt.Fprintf(e.stdout, "  created   %d reports (%d failed)\n", len(all), failures.Load())
	fmt.Fprintf(e.stdout, "  rate      %.0f reports/s\n", rate)
	fmt.Fprintf(e.stdout, "  latency   p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms\n",
		ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(all[len(all)-1]))
	if cpuEnd > cpuStart {
		goCPU := ms(cpuEnd-cpuStart) / float64(len(all))
		if pgOK && pgEnd > pgStart {
			pgCPU := ms(pgEnd-pgStart) / float64(len(all))
			fmt.Fprintf(e.stdout, "  cpu       %.2f ms per report: %.2f ms this process (server and clients) + %.2f ms PostgreSQL; %d cores would sustain %.0f/s if nothing else ran\n",
				goCPU+pgCPU, goCPU, pgCPU, runtime.NumCPU(), float64(runtime.NumCPU())*1000/(goCPU+pgCPU))
		} else {
			fmt.Fprintf(e.stdout, "  cpu       %.2f ms of this process (server and clients) per report; PostgreSQL not counted\n", goCPU)
		}
	}
	if v := firstErr.Load(); v != nil {
		fmt.Fprintf(e.stdout, "  first error: %s\n", v)
	}
	return nil
}

// processCPU is the CPU time (user and system) this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clusterCPU is the CPU time used so far by the PostgreSQL server whose data folder is dir
// (the postmaster and its live backends, with what they reaped), read from /proc; false
// when it cannot be read (not Linux, not this machine's server).
func clusterCPU(dir string) (time.Duration, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0, false
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	const ticks = 100 // USER_HZ: fixed at 100 in Linux's user-space ABI
	var total int64
	found := false
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces, inside parentheses).
		i := bytes.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if pid != pm && ppid != pm {
			continue
		}
		found = found || pid == pm
		for _, k := range f[11:15] { // utime stime cutime cstime
			n, _ := strconv.ParseInt(k, 10, 64)
			total += n
		}
	}
	return time.Duration(total) * time.Second / ticks, found
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func randomTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
