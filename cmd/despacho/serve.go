package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/jobs"
	"despacho/dispatch/live"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
	"despacho/dispatch/web"
	"despacho/migrations"
	"despacho/notify"
)

// runServe runs the service until ctx ends, then drains HTTP, stops jobs, closes the
// database and stops the private cluster, in that order.
func runServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "load the demo data (idempotent) before serving")
	if err := parseFlags(fs, args, e.stdout, "serve [--demo]", serveAbout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	addr := e.getenv("HTTP_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return usagef("HTTP_ADDR %q: want host:port or :port", addr)
	}
	debugAddr := e.getenv("DEBUG_ADDR")
	if _, _, err := net.SplitHostPort(debugAddr); debugAddr != "" && err != nil {
		return usagef("DEBUG_ADDR %q: want host:port such as 127.0.0.1:6060", debugAddr)
	}
	publicURL := strings.TrimRight(e.getenv("PUBLIC_BASE_URL"), "/")
	var support string
	if v := e.getenv("SUPPORT_PHONE"); v != "" {
		var err error
		if support, err = dispatch.NormalizePhone("SUPPORT_PHONE", v); err != nil {
			return usagef("SUPPORT_PHONE %q: want a phone number such as 800 123 4567 or +52 55 1234 5678", v)
		}
	}
	metricsToken := e.getenv("METRICS_TOKEN")
	if n := len(metricsToken); n > 0 && n < minMetricsToken {
		return usagef("METRICS_TOKEN: %d characters; want at least %d (a random string, e.g. openssl rand -hex 16)", n, minMetricsToken)
	}
	proxies, err := trustedProxies(e.getenv("TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	slaCfg, err := businessSLA(e)
	if err != nil {
		return err
	}
	smsCfg, err := notify.ConfigFromEnv(e.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	incCfg, err := incidentsConfig(e, slaCfg)
	if err != nil {
		return err
	}
	log := newLogger(e)

	db, closeDB, err := openDatabase(ctx, e, log, 40)
	if err != nil {
		return err
	}
	defer closeDB()
	applied, err := migrations.Apply(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "names", applied)
	}
	if *demo {
		if err := loadDemo(ctx, db, e); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.DB, "despacho"))
	// One event log writer for every store: its hooks queue texts and attach fault reports
	// to open incidents inside the transaction of each change.
	events := postgres.NewEvents()
	events.AddBatchHook(notify.NewOutbox(smsCfg, log).WithStatements(postgres.NewStatements(db)).HookBatch)
	reports := postgres.NewReports(db, events, slaCfg)
	// Incidents measure the reports they resolve and reopen by the stored SLA policies and
	// business calendar, read through this reports store.
	incCfg.Reports = reports
	incidents, err := postgres.NewIncidents(db, events, incCfg)
	if err != nil {
		return usagef("%v", err)
	}
	events.AddHook(incidents.ReportHook)
	techs := postgres.NewTechnicians(db, events)
	visits := postgres.NewVisits(db, events, reports, planning.Config{Zone: slaCfg.Calendar.Location()})
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "despacho_plan_cache_days", Help: "Day plans cached for slots and bookings."},
			func() float64 { d, _ := visits.PlanCache(); return float64(d) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "despacho_plan_cache_bytes", Help: "Estimated bytes the cached day plans hold."},
			func() float64 { _, b := visits.PlanCache(); return float64(b) }))

	var sender notify.Sender = notify.Dev{Log: log}
	if !smsCfg.Dev() {
		sender = notify.NewTwilio(smsCfg, 10*time.Second)
	} else {
		log.Info("no Twilio credentials: texts go to the development outbox at /dev/sms")
	}
	worker := notify.NewWorker(db, sender, notify.WorkerOptions{Rate: smsCfg.Rate, Events: events, Log: log, Metrics: notify.NewMetrics(reg)})
	webhooks := notify.NewWebhooks(db, smsCfg, smsReplies{reports: reports, events: events, incidents: incidents}, events, log)
	templates := notify.TemplateHandlers{Store: notify.NewTemplates(db, smsCfg.Location), ActorID: func(ctx context.Context) int64 {
		if u := web.Actor(ctx); u != nil {
			return u.ID
		}
		return 0
	}}

	// The hub rechecks open websockets' sessions with the API's own authentication; api is
	// built below, before the hub serves anything.
	var api *web.Server
	hub := live.New(db, live.Options{
		UserOf: func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) },
		Recheck: func(ctx context.Context, r *http.Request) (*dispatch.User, error) {
			return api.Reauthenticate(ctx, r)
		},
		WriteError:     func(w http.ResponseWriter, r *http.Request, err error) { web.WriteError(w, r, log, err) },
		AllowedOrigins: nonEmpty(publicURL),
		Registry:       reg,
		Log:            log,
		TechnicianOf:   techs.IDByUser,
		FolioAccess:    reports.IDForCode,
		Folios: func(ctx context.Context, ids []int64) (map[int64]string, error) {
			var rows []struct {
				ID    int64
				Folio string
			}
			if err := db.NewRaw("SELECT id, folio FROM reports WHERE id IN (?)", bun.In(ids)).Scan(ctx, &rows); err != nil {
				return nil, postgres.Wrap(err)
			}
			m := make(map[int64]string, len(rows))
			for _, r := range rows {
				m[r.ID] = r.Folio
			}
			return m, nil
		},
	})

	api = web.New(web.Config{DB: db, Log: log, PublicBaseURL: publicURL, Registry: reg, Gatherer: reg,
		Events: events, SLA: slaCfg, MailGatewayToken: e.getenv("MAIL_GATEWAY_TOKEN"), SupportPhone: support, MetricsToken: metricsToken,
		Incidents: incidents, Reports: reports, Visits: visits, TrustedProxies: proxies,
		Live: &web.LiveHandlers{WS: http.HandlerFunc(hub.ServeWS), Public: http.HandlerFunc(hub.ServePublic), Position: hub.Position},
		SMS: &web.SMSHandlers{Status: webhooks.Status(), Inbound: webhooks.Inbound(), DevPage: notify.DevPage(db, smsCfg),
			ListTemplates: templates.List, GetTemplate: templates.Get, PutTemplate: templates.Put},
	})

	// Timed jobs run on one instance at a time (an advisory-lock elector).
	sched, err := jobs.New(jobs.Config{DB: db, Log: log, Zone: slaCfg.Calendar.Location(), Registry: reg})
	if err != nil {
		return err
	}
	for _, j := range []struct {
		name  string
		every time.Duration
		fn    func(context.Context) error
		// now runs it at start too: hourly upkeep that an instance restarted more often
		// than hourly (deploys) would otherwise never run.
		now bool
	}{
		{"sla.mark", time.Minute, func(ctx context.Context) error { _, _, err := reports.MarkSLA(ctx, time.Now()); return err }, false},
		{"incidents.sweep", time.Minute, func(ctx context.Context) error { _, _, err := incidents.Sweep(ctx, time.Now()); return err }, false},
		{"visits.missed", time.Minute, func(ctx context.Context) error { _, err := visits.MarkMissedWindows(ctx, time.Now()); return err }, false},
		{"plans.replan", jobs.ReplanEvery, jobs.Replan(visits, time.Now, 20*time.Second), false},
		{"idempotency.purge", time.Hour, func(ctx context.Context) error {
			_, err := postgres.PurgeIdempotencyKeys(ctx, db, "", time.Now().Add(-24*time.Hour))
			return err
		}, true},
		{"sms.redact_codes", time.Hour, func(ctx context.Context) error {
			_, err := notify.RedactAccessCodes(ctx, db, time.Now().Add(-24*time.Hour))
			return err
		}, true},
	} {
		add := sched.Every
		if j.now {
			add = sched.EveryFromStart
		}
		if err := add(j.name, j.every, j.fn); err != nil {
			return err
		}
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{"live hub": hub.Run, "sms worker": worker.Run} {
		wg.Go(func() {
			if err := run(bg); err != nil {
				log.Error(name+" stopped", "err", err)
			}
		})
	}
	defer func() {
		// Reverse order: jobs, background workers, then (deferred earlier) the database.
		if err := sched.Shutdown(); err != nil {
			log.Error("jobs shutdown", "err", err)
		}
		hub.Close()
		stopBG()
		wg.Wait()
	}()
	sched.Start()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("HTTP_ADDR %q: %v", addr, err)
	}
	if debugAddr != "" {
		dln, err := net.Listen("tcp", debugAddr)
		if err != nil {
			ln.Close()
			return usagef("DEBUG_ADDR %q: %v", debugAddr, err)
		}
		dsrv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second}
		go dsrv.Serve(dln) //nolint:errcheck // ends with Close
		defer dsrv.Close()
		log.Info("debug listener (pprof)", "addr", dln.Addr().String())
	}
	srv := publicServer(api)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := publicURL
	if base == "" {
		base = "http://" + displayAddr(ln.Addr())
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", base)
	metricsNote := ""
	if metricsToken != "" {
		metricsNote = " (Authorization: Bearer METRICS_TOKEN)"
	}
	fmt.Fprintf(e.stdout, "despacho is running:\n  board      %[1]s/board\n  desk       %[1]s/desk\n  technician %[1]s/tech\n  report     %[1]s/reporte\n  sms outbox %[1]s/dev/sms\n  API        %[1]s/api/openapi.json\n  health     %[1]s/healthz\n  metrics    %[1]s/metrics%[2]s\n", base, metricsNote)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http shutdown", "err", err)
	}
	return nil
}

// minMetricsToken is the shortest METRICS_TOKEN serve accepts: /metrics is on the public
// address, and a short token is guessed.
const minMetricsToken = 16

// businessSLA builds the business calendar in TZ_BUSINESS (default America/Mexico_City;
// Mexico's weekly hours and federal holidays) and the default SLA policies. Both seed what
// the database stores for admins to edit (the calendar's zone and statutory holidays stay
// the configured ones). An unknown zone is a usage error.
func businessSLA(e env) (dispatch.SLA, error) {
	zone := e.getenv("TZ_BUSINESS")
	if zone == "" {
		zone = sla.DefaultZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return dispatch.SLA{}, usagef("TZ_BUSINESS %q: not a known time zone (e.g. America/Mexico_City)", zone)
	}
	cal, err := sla.NewCalendar(sla.Config{Location: loc, Week: sla.DefaultWeek(), Yearly: sla.MexicanHolidays})
	if err != nil {
		return dispatch.SLA{}, err
	}
	return dispatch.SLA{Calendar: cal, Policies: sla.DefaultPolicies()}, nil
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// incidentsConfig reads COMPENSATION_BONUS_PERCENT (default and minimum 20, NOM-184),
// INCIDENT_RULE_REPORTS and INCIDENT_RULE_WINDOW (default 5 fault reports in 30m).
func incidentsConfig(e env, s dispatch.SLA) (postgres.IncidentsConfig, error) {
	cfg := postgres.IncidentsConfig{SLA: s, Rule: dispatch.DefaultIncidentRule}
	if v := e.getenv("COMPENSATION_BONUS_PERCENT"); v != "" {
		bp, err := dispatch.ParseBonus(v)
		if err != nil {
			return cfg, usagef("COMPENSATION_BONUS_PERCENT %q: a percentage of at least 20", v)
		}
		cfg.Compensation.BonusBP = bp
	}
	if v := e.getenv("INCIDENT_RULE_REPORTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			return cfg, usagef("INCIDENT_RULE_REPORTS %q: a whole number of at least 2", v)
		}
		cfg.Rule.Threshold = n
	}
	if v := e.getenv("INCIDENT_RULE_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, usagef("INCIDENT_RULE_WINDOW %q: a duration such as 30m", v)
		}
		cfg.Rule.Window = d
	}
	if v := e.getenv("INCIDENT_TEXT_ACCESS_POINT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, usagef("INCIDENT_TEXT_ACCESS_POINT %q: true or false", v)
		}
		cfg.TextAccessPoint = b
	}
	if v := e.getenv("INCIDENT_ESTIMATE_CHANGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, usagef("INCIDENT_ESTIMATE_CHANGE %q: a duration such as 30m", v)
		}
		cfg.EstimateChange = d
	}
	return cfg, nil
}

// trustedProxies parses TRUSTED_PROXIES: comma-separated networks (10.0.0.0/8) or single
// addresses of the load balancers whose X-Forwarded-For is believed.
func trustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, usagef("TRUSTED_PROXIES %q: want networks such as 10.0.0.0/8 or addresses, comma-separated", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// maxHeaderBytes bounds a request's headers on the public listener. Ours are small (a
// session cookie, a bearer token, an Idempotency-Key); Go's default of 1 MiB let every
// connection make the server hold a megabyte before any handler or limit ran.
const maxHeaderBytes = 64 << 10

// publicServer is the HTTP server of the public listener: headers within 10 s and
// maxHeaderBytes (431 beyond), idle connections closed after 2 minutes; bodies are paced
// by the handler's middleware.
func publicServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: maxHeaderBytes}
}
