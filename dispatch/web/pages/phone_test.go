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

// parkedPhone stands in for the tab's Geolocation API, from before the page's scripts run:
// the phone lies at lat, lon and does not move. A watch hears of that position once, when it
// starts, and never again (a browser tells a watch of a change of position); each
// getCurrentPosition is answered with a fix taken then, by the page's clock. window.__phone
// counts the fixes given to watches (watched), the asks (asked) and the watches cleared
// (cleared).
//
// The test plays the phone through window.__phone: move(lat, lon) puts it there and tells
// every watch of a fix (the phone moved, or found its fix again); fail(code) tells every
// watch of an error (1 permission denied, 2 position unavailable, 3 timeout, as a
// GeolocationPositionError); askFails = code answers each ask with that error (0: a fix).
//
// Chromium's own emulation (SetGeolocationOverride, as the other tests of sharing use) cannot
// play a parked phone: measured, getCurrentPosition times out until the override is set
// again, and setting it again tells the watch too, as a move would.
func parkedPhone(lat, lon float64) chromedp.Action[chromedp.Void] {
	src := fmt.Sprintf(`(() => {
		const phone = window.__phone = { watched: 0, asked: 0, cleared: 0, askFails: 0 };
		const watches = new Map();
		let next = 1, at = { latitude: %f, longitude: %f };
		const fix = () => ({ coords: { ...at, accuracy: 10 }, timestamp: Date.now() });
		const error = (code) => ({ code, message: 'stand-in error', PERMISSION_DENIED: 1, POSITION_UNAVAILABLE: 2, TIMEOUT: 3 });
		phone.move = (latitude, longitude) => {
			at = { latitude, longitude };
			for (const w of watches.values()) { phone.watched++; w.ok(fix()); }
		};
		phone.fail = (code) => { for (const w of watches.values()) w.fail?.(error(code)); };
		Object.defineProperty(navigator, 'geolocation', { configurable: true, value: {
			watchPosition(ok, fail) {
				const id = next++;
				watches.set(id, { ok, fail });
				setTimeout(() => { if (watches.has(id)) { phone.watched++; ok(fix()); } }, 0);
				return id;
			},
			clearWatch(id) { if (watches.delete(id)) phone.cleared++; },
			getCurrentPosition(ok, fail) {
				phone.asked++;
				const code = phone.askFails;
				setTimeout(() => code ? fail?.(error(code)) : ok(fix()), 0);
			},
		} });
	})()`, lat, lon)
	return beforeScripts(src)
}

// countPosts counts the page's posts of a position in window.__posts, from before its
// scripts run.
func countPosts() chromedp.Action[chromedp.Void] {
	return beforeScripts(`(() => {
		window.__posts = 0;
		const f = window.fetch;
		window.fetch = function (u) { if (String(u).includes('/position')) window.__posts++; return f.apply(this, arguments); };
	})()`)
}

// geoTechPage signs a technician on shift in on a phone parked at lat, lon (parkedPhone) and
// returns the environment, the dispatcher's token, the technician's id, the tab and pass,
// which moves the server's clock and the page's together.
func geoTechPage(t *testing.T, lat, lon float64) (*env, string, int64, context.Context, func(time.Duration)) {
	t.Helper()
	var ahead atomic.Int64 // how far the server's clock and the page's run ahead of time.Now
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := newEnvAt(t, now)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	id := technician(t, e, tok, "Ana Técnica", ua.ID, 19.4326, -99.1332)
	allDayShifts(t, e, tok, id) // on shift whatever the hour

	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740), pageClock(), parkedPhone(lat, lon), countPosts())
	signInBrowser(t, tech, e.URL, "%2Ftech", "ana.tec@example.mx")
	pass := func(d time.Duration) {
		t.Helper()
		ahead.Add(int64(d))
		setPageClock(t, tech, now())
	}
	return e, tok, id, tech, pass
}
