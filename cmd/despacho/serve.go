package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
	"despacho/dispatch/web"
	"despacho/migrations"
)

// runServe runs the service until ctx ends, then drains HTTP, stops jobs, closes the
// database and stops the private cluster, in that order.
func runServe(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	demo := fs.Bool("demo", false, "load the demo data (idempotent) before serving")
	if err := fs.Parse(args); err != nil {
		return usagef("serve: %v", err)
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
	publicURL := strings.TrimRight(e.getenv("PUBLIC_BASE_URL"), "/")
	slaCfg, err := businessSLA(e)
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
	events := postgres.NewEvents()
	api := web.New(web.Config{DB: db, Log: log, PublicBaseURL: publicURL, Registry: reg, Gatherer: reg,
		Events: events, SLA: slaCfg, MailGatewayToken: e.getenv("MAIL_GATEWAY_TOKEN")})

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("HTTP_ADDR %q: %v", addr, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := publicURL
	if base == "" {
		base = "http://" + displayAddr(ln.Addr())
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", base)
	fmt.Fprintf(e.stdout, "despacho is running:\n  API        %s/api/openapi.json\n  health     %s/healthz\n  metrics    %s/metrics\n", base, base, base)

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

// businessSLA builds the business calendar in TZ_BUSINESS (default America/Mexico_City;
// Mexico's weekly hours and federal holidays) and the default SLA policies. An unknown zone
// is a usage error.
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
