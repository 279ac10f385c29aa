package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"despacho/dispatch/postgres"
	"despacho/notify"
)

// Example_wiring shows how serve wires the package (compiled, not run).
func Example_wiring() {
	cfg, err := notify.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // names the variable; exit code 2
		os.Exit(2)
	}
	db, err := postgres.Open(os.Getenv("DATABASE_URL"), 20)
	if err != nil {
		panic(err)
	}
	log := slog.Default()

	// Texts are queued by the event log's hook, in the transaction of each change.
	events := postgres.NewEvents()
	events.AddHook(notify.NewOutbox(cfg, log).Hook)

	// Twilio with credentials, the development outbox without.
	var sender notify.Sender = notify.Dev{Log: log}
	if !cfg.Dev() {
		sender = notify.NewTwilio(cfg, 10*time.Second)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	worker := notify.NewWorker(db, sender, notify.WorkerOptions{
		Rate: cfg.Rate, Events: events, Log: log, Metrics: notify.NewMetrics(prometheus.DefaultRegisterer),
	})
	go worker.Run(ctx) // returns when ctx ends; wait for it before closing db

	// Webhooks (anyone: the signature is the check), the admins' template API and the
	// development outbox page.
	var reports notify.Reports // an adapter over the reports store
	wh := notify.NewWebhooks(db, cfg, reports, events, log)
	th := notify.TemplateHandlers{Store: notify.NewTemplates(db, cfg.Location)}
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.StatusPath, wh.Status())
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	mux.Handle("GET /dev/sms", notify.DevPage(db, cfg))
	_ = th // web.Server.Handle("GET", "/api/sms/templates", web.Staff(admin), "…", th.List), Get, Put
}
