package pages_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// onTheWayOffered is the number of stops on the page that offer "En camino".
func onTheWayOffered(t testing.TB, ctx context.Context) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserTechOneStopUnderWay: a technician cannot be on his way to two places at once.
// While one of his stops is en route or on site, no other stop offers "En camino" (one
// stray tap texted a second customer an ETA); it says to finish the stop under way first.
// Once that stop is done, the next one offers "En camino" again.
func TestBrowserTechOneStopUnderWay(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	techID := technician(t, e, tok, "Juan Técnico", u.ID, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	bookedVisit(t, e, tok, day, "Primera")
	bookedVisit(t, e, tok, day, "Segunda")
	bookedVisit(t, e, tok, day, "Tercera")
	tt := token(t, e, "tec@example.mx")
	var r struct{ Visits []struct{ ID int64 } }
	call(t, e, tt, "GET", fmt.Sprintf("/api/technicians/%d/route", techID), "", 200, &r)
	if len(r.Visits) != 3 {
		t.Fatalf("route has %d visits, want 3", len(r.Visits))
	}
	first, second := r.Visits[0].ID, r.Visits[1].ID
	badge := func(id int64) string { return fmt.Sprintf(`#route li[data-visit="%d"] .badge`, id) }
	note := func(id int64) string { return fmt.Sprintf(`#route li[data-visit="%d"] .one-at-a-time`, id) }

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, ctx, `document.querySelectorAll('#route .stop').length === 3`)
	// Nothing under way: every stop offers "En camino", as before.
	pollTrue(t, ctx, `[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length === 3`)

	clickStep(t, ctx, "En camino")
	waitText(t, ctx, badge(first), "En camino")
	pollTrue(t, ctx, `document.querySelectorAll('#pending:not([hidden])').length === 0`)
	if n := onTheWayOffered(t, ctx); n != 0 {
		t.Errorf("on the way to stop 1: %d stops offer \"En camino\", want none", n)
	}
	for _, v := range r.Visits[1:] {
		waitText(t, ctx, note(v.ID), "Termine la parada en curso")
	}

	clickStep(t, ctx, "Llegué")
	waitText(t, ctx, badge(first), "En el domicilio")
	pollTrue(t, ctx, `document.querySelectorAll('#pending:not([hidden])').length === 0`)
	// Opened again, from what the server has: still one stop under way.
	do(t, ctx, chromedp.Reload())
	waitText(t, ctx, badge(first), "En el domicilio")
	waitText(t, ctx, note(second), "Termine la parada en curso")
	if n := onTheWayOffered(t, ctx); n != 0 {
		t.Errorf("on site at stop 1: %d stops offer \"En camino\", want none", n)
	}
	shot(t, ctx, "tech-one-under-way")

	clickStep(t, ctx, "No se pudo completar")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.SetValue(chromedp.ID("reason"), "customer_absent"),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, ctx, badge(first), "No completada")
	// Nothing under way again: the two stops left offer "En camino", without the note.
	pollTrue(t, ctx, `[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length === 2`)
	pollTrue(t, ctx, `document.querySelectorAll('#route .one-at-a-time').length === 0`)
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, badge(second), "En camino")
}

// TestBrowserTechUnderWayOtherDay: the server counts a stop under way only when he set out
// for it today (409 visit_under_way, business day in America/Mexico_City); a stop left en
// route yesterday does not stop his day. The page follows: yesterday's stop is not on
// today's route (a stop under way cannot be moved to another day, nor set out for before
// its day), so today's stops offer "En camino", and the server takes it.
func TestBrowserTechUnderWayOtherDay(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	yesterday := morning.AddDate(0, 0, -1)
	var now atomic.Int64
	now.Store(yesterday.UnixNano())
	e := newEnvAt(t, func() time.Time { return time.Unix(0, now.Load()) })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	techID := technician(t, e, tok, "Juan Técnico", u.ID, 19.4326, -99.1332)
	_, left := bookedVisit(t, e, tok, yesterday.Format(time.DateOnly), "Ayer")
	_, today := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Hoy")
	call(t, e, token(t, e, "tec@example.mx"), "POST", fmt.Sprintf("/api/visits/%d/status", left), `{"status":"en_route"}`, 200, nil)

	now.Store(morning.UnixNano())
	var r struct{ Visits []struct{ ID int64 } }
	call(t, e, token(t, e, "tec@example.mx"), "GET", fmt.Sprintf("/api/technicians/%d/route", techID), "", 200, &r)
	if len(r.Visits) != 1 || r.Visits[0].ID != today {
		t.Fatalf("today's route = %+v, want only visit %d (yesterday's %d is under way since yesterday)", r.Visits, today, left)
	}
	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, ctx, `document.querySelectorAll('#route .stop').length === 1`)
	pollTrue(t, ctx, `[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length === 1`)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#route .one-at-a-time').length`)); err != nil || n != 0 {
		t.Fatalf("%d notes to finish the stop under way (%v), want none: yesterday's does not count", n, err)
	}
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, today), "En camino")
	pollTrue(t, ctx, `document.querySelectorAll('#pending:not([hidden])').length === 0`)
	var v struct{ Status string }
	call(t, e, token(t, e, "disp@example.mx"), "GET", fmt.Sprintf("/api/visits/%d", today), "", 200, &v)
	if v.Status != "en_route" {
		t.Fatalf("today's visit is %s, want en_route: the server took his step", v.Status)
	}
}
