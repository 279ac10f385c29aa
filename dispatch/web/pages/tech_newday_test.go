package pages_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageClock makes the tab's pages read the time through a Date shifted by
// window.__clockShift milliseconds (0 until set), from before their scripts run. Only the
// page's reading of the clock moves: its timers run in real time, as a phone's do.
func pageClock() chromedp.Action[chromedp.Void] {
	const shifted = `(() => {
		const Real = Date;
		let shift = 0;
		Object.defineProperty(window, '__clockShift', { get: () => shift, set: (v) => { shift = v; } });
		window.Date = class extends Real {
			constructor(...a) { if (a.length) super(...a); else super(Real.now() + shift); }
			static now() { return Real.now() + shift; }
		};
	})()`
	return beforeScripts(shifted)
}

// setPageClock sets the page's clock to at.
func setPageClock(t testing.TB, ctx context.Context, at time.Time) {
	t.Helper()
	do(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__clockShift = %d - Date.now() + window.__clockShift`, at.UnixMilli())))
}

// waitLong waits until the expression is true, for up to d: for what the page does on its
// own timer.
func waitLong(t testing.TB, ctx context.Context, d time.Duration, js string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('main').innerText`))
			t.Fatalf("still false after %s: %s (%v); the page shows:\n%s", d, strings.TrimSpace(js), err, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserTechNewDay: a technician's page left open overnight showed yesterday's stops,
// with their buttons, until some event came, since the route was fetched only when the
// page opened, on a live event or on reconnecting. Now the page knows the business day of
// the route it shows. A phone shown again in the morning without signal says its route is
// of an earlier day and offers no stop to set out for; with the signal back, today's route
// comes. With signal and no event at all, today's route appears on its own (a timer).
// Sessions last 12 hours: he signs in each evening, so that the server still knows him in
// the morning.
func TestBrowserTechNewDay(t *testing.T) {
	t.Parallel()
	day0 := businessMorning(t)
	day1, day2 := day0.AddDate(0, 0, 1), day0.AddDate(0, 0, 2)
	evening := func(d time.Time) time.Time { return d.Add(11*time.Hour + 30*time.Minute) } // 19:30
	morning := func(d time.Time) time.Time { return d.Add(-time.Hour) }                    // 07:00
	var now atomic.Int64
	now.Store(day0.UnixNano())
	e := newEnvAt(t, func() time.Time { return time.Unix(0, now.Load()) })
	tok, _, _ := juanCrew(t, e)
	f0, v0 := bookedVisit(t, e, tok, day0.Format(time.DateOnly), "Primer día")
	f1, v1 := bookedVisit(t, e, tok, day1.Format(time.DateOnly), "Segundo día")
	f2, v2 := bookedVisit(t, e, tok, day2.Format(time.DateOnly), "Tercer día")
	stop := func(id int64) string { return fmt.Sprintf(`document.querySelector('#route li[data-visit="%d"]')`, id) }
	onTheWay := `[...document.querySelectorAll('#route .steps button')].filter((b) => b.textContent.trim() === 'En camino').length`
	staleShown := `document.querySelector('#stale:not([hidden])') !== null`
	// at sets the server's clock and the page's to when.
	at := func(ctx context.Context, when time.Time) {
		t.Helper()
		now.Store(when.UnixNano())
		setPageClock(t, ctx, when)
	}

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640), pageClock())
	now.Store(evening(day0).UnixNano())
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	at(ctx, evening(day0))
	waitText(t, ctx, "#route", f0)
	pollTrue(t, ctx, onTheWay+` === 1 && !`+staleShown)

	// The night passes, the phone locked and without signal; he looks at it in the morning.
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	at(ctx, morning(day1))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`))
	pollTrue(t, ctx, stop(v0)+` !== null && document.querySelectorAll('#route .steps button, #route .one-at-a-time').length === 0`)
	waitText(t, ctx, "#stale", "no de hoy")
	if got := text(t, ctx, "#stale"); !strings.Contains(got, fmt.Sprintf(" %d de ", day0.Day())) {
		t.Errorf("the note of an earlier day says %q, want it to name the route's day (the %d)", got, day0.Day())
	}
	shot(t, ctx, "tech-new-day-offline")
	// The signal returns: today's route, with its buttons.
	do(t, ctx, offline(false))
	waitText(t, ctx, "#route", f1)
	pollTrue(t, ctx, stop(v1)+` !== null && `+stop(v0)+` === null && `+onTheWay+` === 1 && !`+staleShown)

	// The next evening he signs in again and leaves the page open, with signal. Midnight
	// passes and morning comes with no event at all.
	now.Store(evening(day1).UnixNano())
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	at(ctx, evening(day1))
	waitText(t, ctx, "#route", f1)
	at(ctx, morning(day2))
	waitLong(t, ctx, 60*time.Second, stop(v2)+` !== null && `+stop(v1)+` === null && `+onTheWay+` === 1 && !`+staleShown)
	waitText(t, ctx, "#route", f2)
}
