package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/pgcluster"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
	"despacho/migrations"
	"despacho/schedule"
)

// runBenchDispatch implements `despacho bench dispatch`: on a fresh database it serves the
// real API, creates technicians, books visits one by one for one day through the API
// (slots, then book, as an agent on the phone would), optimises the day, checks that every
// promised window is kept and no technician's visits overlap, and prints the figures.
func runBenchDispatch(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("bench dispatch", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	nTech := fs.Int("technicians", 50, "technicians")
	nVisits := fs.Int("visits", 400, "visits booked one by one")
	limit := fs.Duration("optimize", 8*time.Second, "time limit of the day's optimisation")
	seed := fs.Uint64("seed", 1, "random seed of the data and the customers' choices")
	conns := fs.Int("conns", 16, "database connections of the server")
	keep := fs.Bool("keep", false, "keep the bench database afterwards")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the booking phase to this file")
	if err := parseFlags(fs, args, e.stdout, "bench dispatch [flags]", `Books visits through the real API for a generated town (slots, then book), optimises the
day and checks that every promise holds; prints latency percentiles and the travel saved.
Without DATABASE_URL it uses a private cluster under .data/bench-dispatch.`); err != nil {
		return err
	}
	if fs.NArg() > 0 || *nTech < 1 || *nVisits < 1 || *limit <= 0 || *conns < 2 {
		return usagef("bench dispatch: want --technicians N --visits N --optimize D --seed N")
	}
	quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// A fresh database: on DATABASE_URL's server, or on a private cluster of the bench's own.
	admin := e.getenv("DATABASE_URL")
	if admin == "" {
		dir := e.getenv("DATA_DIR")
		if dir == "" {
			dir = ".data"
		}
		c, err := pgcluster.New(filepath.Join(dir, "bench-dispatch", "postgres"), pgcluster.Options{Logger: quiet})
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			return usageError{err.Error()}
		}
		if err != nil {
			return err
		}
		if err := c.Start(ctx); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = c.Stop(sctx)
		}()
		admin = c.DSN("postgres")
	} else if err := postgres.CheckDSN(admin); err != nil {
		return usageError{err.Error()}
	}
	name := "bench_dispatch_" + randomTag()
	if err := ensureDatabase(ctx, admin, name); err != nil {
		return err
	}
	if !*keep {
		defer func() {
			adm, err := postgres.Open(admin, 1)
			if err == nil {
				_, _ = adm.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				adm.Close()
			}
		}()
	}
	u, err := url.Parse(admin)
	if err != nil {
		return usageError{err.Error()}
	}
	u.Path = "/" + name
	db, err := postgres.Open(u.String(), *conns)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := migrations.Apply(ctx, db); err != nil {
		return err
	}
	slaCfg, err := businessSLA(e)
	if err != nil {
		return err
	}
	api := web.New(web.Config{DB: db, Log: quiet, SLA: slaCfg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	c := &benchClient{ctx: ctx, base: "http://" + ln.Addr().String(), http: &http.Client{Timeout: 2 * time.Minute}}

	// Staff, signed in through the API.
	users := postgres.NewUsers(db)
	tokens := map[dispatch.Role]string{}
	for _, role := range []dispatch.Role{dispatch.RoleDispatcher, dispatch.RoleAgent} {
		pw := "bench-password-" + randomTag()
		usr, err := dispatch.NewUser(string(role)+"@bench.invalid", "Bench "+string(role), role, pw)
		if err != nil {
			return err
		}
		if err := users.Create(ctx, usr); err != nil {
			return err
		}
		var out struct{ Token string }
		if err := c.call("POST", "/api/login", "", map[string]string{"email": usr.Email, "password": pw}, 200, &out); err != nil {
			return err
		}
		tokens[role] = out.Token
	}
	disp, agent := tokens[dispatch.RoleDispatcher], tokens[dispatch.RoleAgent]

	// The day: the next Monday to Saturday after today, in business time.
	cfg := planning.Config{Zone: slaCfg.Calendar.Location()}.WithDefaults()
	day := cfg.NextDay(cfg.Day(time.Now()))
	for day.Weekday() == time.Sunday {
		day = cfg.NextDay(day)
	}
	dayStr := day.Format(time.DateOnly)
	rng := rand.New(rand.NewPCG(*seed, 7))
	// Mexico City, roughly 25 × 25 km.
	point := func() (float64, float64) { return 19.30 + rng.Float64()*0.25, -99.25 + rng.Float64()*0.25 }

	for i := range *nTech {
		lat, lon := point()
		skills := []string{"fiber"}
		if i%2 == 0 {
			skills = append(skills, "wireless")
		}
		var shifts []map[string]any
		for wd := 1; wd <= 6; wd++ {
			shifts = append(shifts, map[string]any{"weekday": wd, "start": "08:00", "end": "18:00"})
		}
		body := map[string]any{"name": fmt.Sprintf("Técnico %02d", i+1), "phone": fmt.Sprintf("55 1000 %04d", i),
			"skills": skills, "home": map[string]float64{"lat": lat, "lon": lon}, "shifts": shifts}
		if err := c.call("POST", "/api/technicians", disp, body, 201, nil); err != nil {
			return err
		}
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var slotLat, bookLat []time.Duration
	booked, unbookable, retried := 0, 0, 0
	windows := map[int64]dispatch.Span{}
	for i := range *nVisits {
		lat, lon := point()
		var rep struct{ Folio string }
		if err := c.call("POST", "/api/tickets", agent, map[string]any{
			"channel": "phone", "kind": "fault", "subject": "Sin servicio", "description": "Bench",
			"customer": map[string]any{"name": fmt.Sprintf("Cliente %d", i), "phone": fmt.Sprintf("55 2000 %04d", i)},
			"address":  map[string]any{"line": fmt.Sprintf("Calle %d, CDMX", i), "lat": lat, "lon": lon},
		}, 201, &rep); err != nil {
			return err
		}
		skills := []string{"fiber"}
		if i%4 == 0 {
			skills = []string{"wireless"}
		}
		var v struct{ ID int64 }
		if err := c.call("POST", "/api/tickets/"+rep.Folio+"/visits", agent,
			map[string]any{"duration_min": 30 + 15*rng.IntN(2), "skills": skills}, 201, &v); err != nil {
			return err
		}
		for attempt := 0; ; attempt++ {
			var ss struct{ Slots []dispatch.Span }
			t0 := time.Now()
			if err := c.call("GET", fmt.Sprintf("/api/visits/%d/slots?from=%s&days=1", v.ID, dayStr), agent, nil, 200, &ss); err != nil {
				return err
			}
			slotLat = append(slotLat, time.Since(t0))
			if len(ss.Slots) == 0 {
				unbookable++
				break
			}
			w := ss.Slots[rng.IntN(len(ss.Slots))] // the customer's choice
			t0 = time.Now()
			status, err := c.status("POST", fmt.Sprintf("/api/visits/%d/book", v.ID), agent, w)
			bookLat = append(bookLat, time.Since(t0))
			if err != nil {
				return err
			}
			if status == 200 {
				booked++
				windows[v.ID] = w
				break
			}
			if status != 409 || attempt == 2 {
				return fmt.Errorf("book visit %d: status %d", v.ID, status)
			}
			retried++
		}
	}

	var opt postgres.OptimizeResult
	t0 := time.Now()
	if err := c.call("POST", "/api/plans/"+dayStr+"/optimize", disp, map[string]any{"time_limit_s": limit.Seconds()}, 200, &opt); err != nil {
		return err
	}
	optTime := time.Since(t0)

	// Checks on what the database holds now.
	visits := postgres.NewVisits(db, nil, nil, cfg)
	vs, err := visits.Day(ctx, day)
	if err != nil {
		return err
	}
	broken, overlaps, off := 0, 0, 0
	byTech := map[int64][]*dispatch.Visit{}
	for _, v := range vs {
		w, ok := windows[v.ID]
		if !ok {
			continue
		}
		if v.Window == nil || !v.Window.Start.Equal(w.Start) || v.TechnicianID == 0 {
			off++
			continue
		}
		if v.PlannedStart.Before(w.Start) || v.PlannedStart.After(w.End) {
			broken++
		}
		byTech[v.TechnicianID] = append(byTech[v.TechnicianID], v)
	}
	travel := schedule.Haversine{}
	for _, route := range byTech {
		slices.SortFunc(route, func(a, b *dispatch.Visit) int { return a.PlannedStart.Compare(b.PlannedStart) })
		for i := 1; i < len(route); i++ {
			a, b := route[i-1], route[i]
			sec, _ := travel.Leg(schedule.Location{Lat: a.Lat, Lon: a.Lon}, schedule.Location{Lat: b.Lat, Lon: b.Lon})
			if a.PlannedEnd.Add(time.Duration(sec*float64(time.Second)) - time.Second).After(b.PlannedStart) {
				overlaps++
			}
		}
	}
	pct := func(all []time.Duration, p float64) float64 {
		s := slices.Clone(all)
		slices.Sort(s)
		return ms(s[min(len(s)-1, int(p*float64(len(s))))])
	}
	gain := 0.0
	if opt.MetersBefore > 0 {
		gain = 100 * (opt.MetersBefore - opt.MetersAfter) / opt.MetersBefore
	}
	fmt.Fprintf(e.stdout, "bench dispatch: %d technicians, %d visits for %s, optimise limit %s, seed %d\n", *nTech, *nVisits, dayStr, *limit, *seed)
	fmt.Fprintf(e.stdout, "  booked        %d (%d had no window left, %d retried after 409)\n", booked, unbookable, retried)
	fmt.Fprintf(e.stdout, "  slots         p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms   (%d calls)\n",
		pct(slotLat, .5), pct(slotLat, .9), pct(slotLat, .99), pct(slotLat, 1), len(slotLat))
	fmt.Fprintf(e.stdout, "  book          p50 %.1f ms   p90 %.1f ms   p99 %.1f ms   max %.1f ms   (%d calls)\n",
		pct(bookLat, .5), pct(bookLat, .9), pct(bookLat, .99), pct(bookLat, 1), len(bookLat))
	fmt.Fprintf(e.stdout, "  optimise day  %.2f s, %d visits moved, %d changed technician\n", optTime.Seconds(), opt.Moved, len(opt.Changed))
	fmt.Fprintf(e.stdout, "  travel        %.1f km in booking order → %.1f km optimised (%.1f %% less)\n", opt.MetersBefore/1000, opt.MetersAfter/1000, gain)
	fmt.Fprintf(e.stdout, "  checks        %d windows broken, %d overlaps (incl. travel), %d booked visits off the plan\n", broken, overlaps, off)
	if broken > 0 || overlaps > 0 || off > 0 {
		return fmt.Errorf("bench dispatch: the plan breaks promises (%d) or overlaps (%d) or dropped visits (%d)", broken, overlaps, off)
	}
	return nil
}

type benchClient struct {
	ctx  context.Context
	base string
	http *http.Client
}

// status sends a request and returns the answer's status, discarding the body.
func (c *benchClient) status(method, path, token string, body any) (int, error) {
	code, _, err := c.do(method, path, token, body)
	return code, err
}

// call sends a request, fails unless the answer has status want, and decodes it into out.
func (c *benchClient) call(method, path, token string, body any, want int, out any) error {
	code, b, err := c.do(method, path, token, body)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("%s %s: %d %s", method, path, code, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *benchClient) do(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
