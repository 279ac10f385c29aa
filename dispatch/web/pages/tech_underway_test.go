package pages_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	tok, _, techID := juanCrew(t, e)
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
// route yesterday does not stop his day. Today's route opens with that stop (carried_over),
// saying since when, so that he can still finish it: it was on no route once the day
// turned (a stop under way at midnight left the phone as today's route loaded, and nothing
// on the phone could finish it). It offers its own steps; today's stops still offer "En
// camino", and the server takes both.
func TestBrowserTechUnderWayOtherDay(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	yesterday := morning.AddDate(0, 0, -1)
	var now atomic.Int64
	now.Store(yesterday.UnixNano())
	e := newEnvAt(t, func() time.Time { return time.Unix(0, now.Load()) })
	tok, _, techID := juanCrew(t, e)
	leftFolio, left := bookedVisit(t, e, tok, yesterday.Format(time.DateOnly), "Ayer")
	_, today := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Hoy")
	call(t, e, token(t, e, "tec@example.mx"), "POST", fmt.Sprintf("/api/visits/%d/status", left), `{"status":"en_route"}`, 200, nil)

	now.Store(morning.UnixNano())
	var r struct {
		Visits []struct {
			ID          int64
			CarriedOver bool `json:"carried_over"`
		}
	}
	call(t, e, token(t, e, "tec@example.mx"), "GET", fmt.Sprintf("/api/technicians/%d/route", techID), "", 200, &r)
	if len(r.Visits) != 2 || r.Visits[0].ID != left || !r.Visits[0].CarriedOver || r.Visits[1].ID != today || r.Visits[1].CarriedOver {
		t.Fatalf("today's route = %+v, want yesterday's %d (under way, carried over) then today's %d", r.Visits, left, today)
	}
	// Yesterday's own route does not list it twice, nor does another day's.
	var y struct{ Visits []struct{ ID int64 } }
	call(t, e, token(t, e, "tec@example.mx"), "GET", fmt.Sprintf("/api/technicians/%d/route?day=%s", techID, yesterday.Format(time.DateOnly)), "", 200, &y)
	if len(y.Visits) != 1 || y.Visits[0].ID != left {
		t.Fatalf("yesterday's route = %+v, want visit %d once", y.Visits, left)
	}
	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, ctx, `document.querySelectorAll('#route .stop').length === 2`)
	carried := fmt.Sprintf(`#route li[data-visit="%d"]`, left)
	waitText(t, ctx, carried+" .carried", "En curso desde el")
	waitText(t, ctx, carried+" .badge", "En camino")
	waitText(t, ctx, carried, leftFolio)
	pollTrue(t, ctx, `[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length === 1`)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#route .one-at-a-time').length`)); err != nil || n != 0 {
		t.Fatalf("%d notes to finish the stop under way (%v), want none: yesterday's does not count", n, err)
	}
	shot(t, ctx, "tech-carried-over")
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, today), "En camino")
	pollTrue(t, ctx, `document.querySelectorAll('#pending:not([hidden])').length === 0`)
	var v struct{ Status string }
	call(t, e, token(t, e, "disp@example.mx"), "GET", fmt.Sprintf("/api/visits/%d", today), "", 200, &v)
	if v.Status != "en_route" {
		t.Fatalf("today's visit is %s, want en_route: the server took his step", v.Status)
	}

	// Yesterday's stop is finished from the phone: it could not be done.
	pollTrue(t, ctx, fmt.Sprintf(`(() => { const b = [...document.querySelectorAll('#route li[data-visit="%d"] .steps button')].find((b) => b.textContent.trim() === 'No se pudo completar'); if (!b) return false; b.click(); return true; })()`, left))
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.SetValue(chromedp.ID("reason"), "customer_absent"),
	)
	clickNow(t, ctx, "#finish-send")
	waitStatus(t, e, token(t, e, "disp@example.mx"), left, "not_completed")
	// Done, it leaves today's route; today's stop stays under way.
	pollTrue(t, ctx, fmt.Sprintf(`document.querySelectorAll('#route li[data-visit="%d"]').length === 0 && document.querySelectorAll('#route .stop').length === 1`, left))
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, today), "En camino")
}
