package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/live"
	"despacho/dispatch/web"
)

// liveServer runs a live hub with opts on db (the caller is found as serve finds him,
// unless opts says otherwise) behind a real server made with cfg and the hub's handlers,
// as serve wires them, and waits until the hub is ready. Both stop when the test ends.
func liveServer(t *testing.T, db *bun.DB, opts live.Options, cfg web.Config) (*live.Hub, *httptest.Server) {
	t.Helper()
	if opts.UserOf == nil {
		opts.UserOf = func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) }
	}
	hub := live.New(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	cfg.DB = db
	cfg.Live = &web.LiveHandlers{WS: http.HandlerFunc(hub.ServeWS), Public: http.HandlerFunc(hub.ServePublic), Position: hub.Position}
	ts := httptest.NewServer(web.New(cfg))
	t.Cleanup(func() { cancel(); <-done; ts.Close() })
	waitUntil(t, "live hub ready", hub.Ready)
	return hub, ts
}
