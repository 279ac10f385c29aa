package pages_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// signal stands between the browser and the server as the phone's signal does: while it is
// down, every request (the page's and its service worker's alike, which DevTools' offline
// mode of a page does not reach) gets its connection closed without an answer.
type signal struct {
	down  atomic.Bool
	proxy *httputil.ReverseProxy
}

func (s *signal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	s.proxy.ServeHTTP(w, r)
}

// behindSignal returns the URL of a signal in front of the server at base.
func behindSignal(t testing.TB, base string) (*signal, string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	s := &signal{proxy: httputil.NewSingleHostReverseProxy(u)}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

// TestBrowserTechReopensOffline: a technician who reloads /tech (or opens it again) without
// signal got the browser's "no connection" page, and with it neither his route nor his steps
// waiting to be sent. The page's worker keeps the page and its files: it opens, shows the
// route and the waiting step, and sends it once the signal is back. Nothing of the API is
// kept by the worker, and signing out drops the page it kept.
func TestBrowserTechReopensOffline(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal al recargar")
	sig, base := behindSignal(t, e.URL)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, base, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	// The worker has taken the page, with it kept.
	pollTrue(t, ctx, `!!navigator.serviceWorker.controller`)
	kept := func(want bool) {
		t.Helper()
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__kept = undefined; caches.keys().then((ks) => Promise.all(ks.map((k) => caches.open(k).then((c) => c.keys())))).then((rs) => { window.__kept = rs.flat().map((r) => new URL(r.url).pathname); })`))
		pollTrue(t, ctx, `Array.isArray(window.__kept) && window.__kept.includes('/tech') === `+strconv.FormatBool(want))
	}
	kept(true)

	sig.down.Store(true)
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	// He reloads with no signal.
	do(t, ctx, chromedp.Navigate(base+"/tech"))
	waitText(t, ctx, "#route", folio)
	waitText(t, ctx, "#route .badge", "En camino")
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	shot(t, ctx, "tech-reopened-offline-360")
	var v struct{ Status string }
	call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	if v.Status != "booked" {
		t.Fatalf("visit = %s while the signal is down, want booked", v.Status)
	}

	// The signal is back (the page hears of it as a phone does): the step goes.
	sig.down.Store(false)
	do(t, ctx, offline(true), offline(false))
	deadline := time.Now().Add(30 * time.Second)
	for v.Status != "en_route" {
		if time.Now().After(deadline) {
			t.Fatalf("visit = %s after the signal returned, want en_route", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	}
	pollTrue(t, ctx, techQueue+`.length === 0`)

	// Only the page and its static files are kept: no answer of the API.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__kept = undefined; caches.keys().then((ks) => Promise.all(ks.map((k) => caches.open(k).then((c) => c.keys())))).then((rs) => { window.__kept = rs.flat().map((r) => new URL(r.url).pathname); })`))
	pollTrue(t, ctx, `Array.isArray(window.__kept)`)
	paths, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__kept`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if p != "/tech" && !strings.HasPrefix(p, "/static/") {
			t.Errorf("the worker keeps %s; want only /tech and static files", p)
		}
	}

	// Signed out, the page kept (it names him) goes once /tech sends the browser to sign in.
	pollTrue(t, ctx, `document.readyState === 'complete' && !!document.getElementById('signout')`)
	do(t, ctx, chromedp.Click(chromedp.ID("signout")))
	pollTrue(t, ctx, `location.pathname === '/login'`)
	do(t, ctx, chromedp.Navigate(base+"/tech"))
	pollTrue(t, ctx, `location.pathname === '/login'`)
	kept(false)
}
