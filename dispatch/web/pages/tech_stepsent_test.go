package pages_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// holdRoutes holds every request for the technician's route from now on (at stage: before
// it reaches the server, or with the server's answer), as a slow connection does, until the
// returned function lets them go; from then on they pass.
func holdRoutes(t testing.TB, ctx context.Context, stage fetch.RequestStage) (release func()) {
	t.Helper()
	var mu sync.Mutex
	var held []fetch.RequestID
	released := false
	err := chromedp.Listen(ctx, func(ev any) {
		p, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !released {
			held = append(held, p.RequestID)
			return
		}
		go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: p.RequestID})
			return err
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/technicians/*/route", RequestStage: stage}}})
		return err
	}))
	return func() {
		mu.Lock()
		ids := held
		held, released = nil, true
		mu.Unlock()
		do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, id := range ids {
				if _, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: id}); err != nil {
					return err
				}
			}
			_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
			return err
		}))
	}
}

// TestBrowserTechSentStepStays: once his step is sent, the stop keeps showing it while the
// route is fetched again. The page showed the stop as it was before the step (the queue,
// which overlaid the step, was emptied; the route it had was older), so for as long as the
// route took over 3G, "Completada" went back to "En el domicilio", "En camino" to
// "Agendada", with the buttons of the step he had just taken.
func TestBrowserTechSentStepStays(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	release := holdRoutes(t, ctx, fetch.RequestStageRequest)
	defer release()
	for _, s := range []struct{ button, status, badge, next string }{
		{"En camino", "en_route", "En camino", "Llegué"},
		{"Llegué", "on_site", "En el domicilio", "Completar"},
	} {
		clickStep(t, ctx, s.button)
		waitStatus(t, e, tok, id, s.status)
		// Sent: the queue is empty, and the route asked for again is held on its way.
		pollTrue(t, ctx, techQueue+`.length === 0`)
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.querySelector('#route .badge').textContent,
			...[...document.querySelectorAll('#route .steps button')].map((b) => b.textContent.trim())]`))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 2 || got[0] != s.badge || got[1] != s.next {
			t.Fatalf("after %q was sent, while the route reloads: badge and buttons %q, want %q then %q first", s.button, got, s.badge, s.next)
		}
	}
}

// TestBrowserTechStaleRouteIgnored: a route the server answered before his last step, and
// that reaches the phone after it (3G, a reload started by the previous step), does not
// put the stop back where it was: it is asked for again.
func TestBrowserTechStaleRouteIgnored(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	// Only the first reload is slow: the server's answer to it (en route) waits on the way.
	var mu sync.Mutex
	var stale *fetch.RequestID
	err := chromedp.Listen(ctx, func(ev any) {
		p, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if stale == nil {
			stale = &p.RequestID
			return
		}
		go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: p.RequestID})
			return err
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/technicians/*/route", RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
	clickStep(t, ctx, "En camino")
	waitStatus(t, e, tok, id, "en_route")
	pollTrue(t, ctx, techQueue+`.length === 0`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		held := stale != nil
		mu.Unlock()
		if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not fetch its route again after the step")
		}
	}
	clickStep(t, ctx, "Llegué")
	waitStatus(t, e, tok, id, "on_site")
	pollTrue(t, ctx, techQueue+`.length === 0 && document.querySelector('#route .badge').textContent === 'En el domicilio'`)
	// Every status the stop shows from now on, and the routes fetched so far.
	routes := `performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/route')).length`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__shown = [];
		new MutationObserver(() => window.__shown.push(document.querySelector('#route .badge')?.textContent)).observe(document.getElementById('route'), { childList: true, subtree: true });
		`+routes))
	if err != nil {
		t.Fatal(err)
	}
	// Not under mu: the listener takes it, and the answer to this call comes through the
	// same event loop.
	mu.Lock()
	staleID := *stale
	mu.Unlock()
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: staleID})
		return err
	}))
	// The stale answer arrives; the page shows it, or asks again (a route fetched after it).
	pollTrue(t, ctx, `window.__shown.includes('En camino') || `+routes+` >= `+strconv.Itoa(before+2))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__shown`))
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(shown, "En camino") {
		t.Errorf("after arriving, the stop showed %q: the route answered before it put it back en route", shown)
	}
	waitText(t, ctx, "#route .badge", "En el domicilio")
}
