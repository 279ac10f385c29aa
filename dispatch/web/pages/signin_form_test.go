package pages_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignInWaitsForForm: the technician's session ends while he fills in the
// completion form, and a call the page makes on its own is answered 401 (not the live feed,
// which the server does not recheck here): the reload of his route that a dispatcher's change
// brings, or the post of his position at the phone's next fix. Before, api() took the page to
// sign in at once, and what he had typed (his photos, the customer's signature) was lost;
// only the feed waited for the form. Now every 401 waits alike: the banner says once that
// the session ended, however many 401s follow (and only the banner: the route's note under
// it said it again), and the form stays as he left it. Sent, the step is queued and kept,
// the page goes to sign in, and the step is sent once he is back; closed, the page goes to
// sign in with nothing queued.
//
// A position answered 401 stops the watch until the page leaves: it posted again at every
// fix while the form stayed open, each refused, over a phone's 3G.
func TestBrowserSignInWaitsForForm(t *testing.T) {
	t.Parallel()
	const lat, lon = 19.4400, -99.1400
	cases := []struct {
		name  string
		calls [2]string // the path each call answered 401 ends with, in turn
		// arm prepares the page, before the form is opened, for trigger.
		arm func(t testing.TB, l *liveEnv, ctx context.Context)
		// trigger makes the page call the API (the session has ended): its i-th time.
		trigger func(t testing.TB, l *liveEnv, ctx context.Context, tok string, i int)
		// after, when set, checks what follows the first call answered 401.
		after func(t testing.TB, l *liveEnv, ctx context.Context)
		send  bool // send the form; false: close it
	}{
		{
			name: "route reloaded, form sent", calls: [2]string{"/route", "/route"},
			trigger: func(t testing.TB, l *liveEnv, _ context.Context, tok string, i int) {
				bookedVisit(t, l.env, tok, businessMorning(t).Format(time.DateOnly), "Otra visita "+strconv.Itoa(i))
			},
			send: true,
		},
		{
			name: "position posted, form sent", calls: [2]string{"/position", "/route"},
			// Sharing on, with the server refusing positions (503) while the session is
			// good: the page posts again at the next fix, however soon it comes.
			arm: func(t testing.TB, l *liveEnv, ctx context.Context) {
				l.refusePositions.Store(true)
				do(t, ctx, geolocation(l.URL, lat, lon), chromedp.Click(chromedp.ID("share")))
			},
			// His position at the next fix, then the route reloaded.
			trigger: func(t testing.TB, l *liveEnv, ctx context.Context, tok string, i int) {
				if i == 0 {
					l.refusePositions.Store(false)
					do(t, ctx, geolocation(l.URL, lat+0.001, lon))
					return
				}
				bookedVisit(t, l.env, tok, businessMorning(t).Format(time.DateOnly), "Otra visita")
			},
			// Further fixes, within the minute, post nothing: the session ended.
			after: func(t testing.TB, l *liveEnv, ctx context.Context) {
				for i := range 3 {
					do(t, ctx, geolocation(l.URL, lat+0.002+0.001*float64(i), lon))
					time.Sleep(700 * time.Millisecond)
				}
				if n := l.unauthorized("/position"); n != 1 {
					t.Fatalf("positions posted (answered 401) after three more fixes = %d, want the one: the session had ended", n)
				}
			},
			send: true,
		},
		{
			name: "route reloaded, form closed", calls: [2]string{"/route", "/route"},
			trigger: func(t testing.TB, l *liveEnv, _ context.Context, tok string, i int) {
				bookedVisit(t, l.env, tok, businessMorning(t).Format(time.DateOnly), "Otra visita "+strconv.Itoa(i))
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, tok, techUser, folio, id := onSiteEnv(t, "Formulario abierto")

			ctx := tab(t, true)
			signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
			waitText(t, ctx, "#route", folio)
			waitText(t, ctx, "#route .badge", "En el domicilio")
			l.waitServed(t)
			if tc.arm != nil {
				tc.arm(t, l, ctx)
			}
			pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'Completar'); if (!b) return false; b.click(); return true; })()`)
			do(t, ctx,
				chromedp.WaitVisible(chromedp.ID("cause")),
				sendKeys(chromedp.ID("cause"), "Conector dañado"),
				sendKeys(chromedp.ID("note"), "Se cambió el conector"),
				chromedp.SetUploadFiles(chromedp.ID("photo"), []string{cameraPhoto(t, 800, 600)}),
			)
			pollTrue(t, ctx, `document.querySelectorAll('#thumbs img').length === 1`)
			l.endSessions(t, techUser)
			// Two calls answered 401, one after the other: one wait, one notice.
			const kept = `location.pathname === '/tech' && document.getElementById('finish').open && document.getElementById('cause').value === 'Conector dañado' && document.getElementById('note').value === 'Se cambió el conector' && document.querySelectorAll('#thumbs img').length === 1`
			for i, path := range tc.calls {
				before := l.unauthorized(path)
				tc.trigger(t, l, ctx, tok, i)
				deadline := time.Now().Add(30 * time.Second)
				for l.unauthorized(path) <= before {
					if time.Now().After(deadline) {
						t.Fatalf("the page made no call to …%s answered 401 in 30 s (%d before)", path, before)
					}
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(time.Second) // the page would have left by now
				if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](kept)); err != nil || !ok {
					loc, _ := chromedp.Run(ctx, chromedp.Location())
					t.Fatalf("after %d calls answered 401 (the last to …%s), the completion form was left while being filled in: at %s (%v)", i+1, path, loc, err)
				}
				if i == 0 && tc.after != nil {
					tc.after(t, l, ctx)
				}
			}
			// The banner says it; the note of pending steps under it did too, after a route
			// reload answered 401.
			if p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('pending').hidden ? '' : document.getElementById('pending').textContent`)); err != nil || strings.Contains(p, "Su sesión terminó") {
				t.Errorf("pending note = %q (%v), want nothing about the session: the banner says it", p, err)
			}
			banner, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('conn').hidden ? '' : document.getElementById('conn').textContent`))
			if err != nil || strings.Count(banner, "Su sesión terminó") != 1 {
				t.Errorf("banner = %q (%v), want it to say once that the session ended", banner, err)
			}
			if !tc.send {
				do(t, ctx, chromedp.Click(chromedp.ID("finish-cancel")))
				pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
				if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/login?next=%2Ftech") {
					t.Errorf("form closed: at %s (%v), want /login?next=%%2Ftech", loc, err)
				}
				if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](queued)); err != nil || q != "[]" {
					t.Errorf("queue on the sign-in page = %s (%v), want none: the form was closed", q, err)
				}
				return
			}
			// Clicked from inside the page: a click by coordinates could land elsewhere under load
			// (on "Cancelar", say), and the page then leaves with nothing queued.
			clickNow(t, ctx, `input[name=verdict][value=upheld]`)
			clickNow(t, ctx, `input[name=restored][value=yes]`)
			clickNow(t, ctx, "#finish-send")
			pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
			if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/login?next=%2Ftech") {
				t.Errorf("form sent: at %s (%v), want /login?next=%%2Ftech", loc, err)
			}
			if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](queued)); err != nil || !strings.Contains(q, `"completed"`) || !strings.Contains(q, "Conector dañado") || !strings.Contains(q, `"media":"photo"`) {
				t.Fatalf("queue on the sign-in page = %s (%v), want the photo and the completed step kept", q, err)
			}
			signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
			waitStatus(t, l.env, tok, id, "completed")
			pollTrue(t, ctx, `document.getElementById('pending').hidden`)
			var media struct{ Media []struct{ Kind string } }
			call(t, l.env, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10)+"/media", "", 200, &media)
			if len(media.Media) != 1 || media.Media[0].Kind != "photo" {
				t.Errorf("stored media = %+v, want the photo taken in the form", media.Media)
			}
		})
	}
}

// queued is the technician's queue of steps in the browser's storage, as JSON.
const queued = `JSON.stringify(Object.entries(localStorage).filter(([k]) => k.startsWith('despacho.tech.queue.')).map(([, v]) => JSON.parse(v)).flat())`
