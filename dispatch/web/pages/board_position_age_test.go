package pages_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// positionMark is a technician's position as the board's map draws it.
type positionMark struct {
	Title   string
	Stale   bool    // the circle has the class stale
	Opacity float64 // computed: the stylesheet's, not an attribute the CSP might have dropped
	Dash    string  // computed stroke-dasharray, "none" for a solid stroke
}

// readPositions is each position on the board's map by technician id, as drawn.
func readPositions(t testing.TB, ctx context.Context) map[string]positionMark {
	t.Helper()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]positionMark](`Object.fromEntries(
		[...document.querySelectorAll('#map svg circle[data-position]')].map((c) => {
			const s = getComputedStyle(c);
			return [c.dataset.position, { Title: c.querySelector('title')?.textContent || '', Stale: c.classList.contains('stale'),
				Opacity: parseFloat(s.opacity), Dash: s.strokeDasharray }];
		}))`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBrowserBoardPositionAge: a technician's position was drawn the same whether his phone
// shared it a minute ago or two hours ago, with only the time it was taken in its title, so
// a dispatcher took a dot left behind by a phone without signal for where the technician
// is. A position more than ten minutes old (by the server's clock) is drawn faded and
// dashed, and its title says how old it is; one that grows old while the board is open
// fades at the next minute's read of the technicians, without a new position or a reload.
func TestBrowserBoardPositionAge(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	var clock atomic.Int64
	clock.Store(morning.UnixNano())
	e := newEnvAt(t, func() time.Time { return time.Unix(0, clock.Load()) })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana@example.mx", dispatch.RoleTechnician)
	ub := e.user(t, "beto@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	ana := strconv.FormatInt(technician(t, e, tok, "Ana Técnica", ua.ID, 19.44, -99.15), 10)
	beto := strconv.FormatInt(technician(t, e, tok, "Beto Técnico", ub.ID, 19.40, -99.13), 10)

	// Ana's phone shares where she is now; the last report of Beto's that got through was
	// taken 25 minutes ago.
	call(t, e, token(t, e, "ana@example.mx"), "POST", "/api/technicians/"+ana+"/position", `{"lat":19.45,"lon":-99.16}`, 204, nil)
	taken := morning.Add(-25 * time.Minute)
	call(t, e, token(t, e, "beto@example.mx"), "POST", "/api/technicians/"+beto+"/position",
		`{"lat":19.41,"lon":-99.14,"at":"`+taken.Format(time.RFC3339)+`"}`, 204, nil)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live') && document.querySelectorAll('#map svg circle[data-position]').length === 2`)

	fresh := func(where, id, title string) {
		t.Helper()
		p := readPositions(t, board)[id]
		if p.Title != title || p.Stale || p.Opacity != 1 || p.Dash != "none" {
			t.Errorf("%s: position drawn %+v, want title %q, not stale, opacity 1, solid stroke", where, p, title)
		}
	}
	faded := func(where, id, title string) {
		t.Helper()
		p := readPositions(t, board)[id]
		if p.Title != title || !p.Stale || p.Opacity >= 1 || p.Dash == "none" {
			t.Errorf("%s: position drawn %+v, want title %q, stale, opacity under 1, dashed stroke", where, p, title)
		}
	}
	at := func(tm time.Time) string { return tm.In(morning.Location()).Format("15:04") }
	fresh("Ana, just shared", ana, "Ana Técnica · visto a las "+at(morning))
	faded("Beto, 25 min old", beto, "Beto Técnico · visto hace 25 min ("+at(taken)+")")
	shot(t, board, "board-position-age")

	// A quarter of an hour goes by with no new position; the board stays open. The minute's
	// read (the same positions() the board's 60 s timer calls; here through its other
	// caller, the tab coming back into view, so as not to wait a minute) fades Ana's too.
	do(t, board, chromedp.Evaluate[chromedp.Void](`window.__sameBoard = true`))
	clock.Add(int64(15 * time.Minute))
	do(t, board, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`))
	wantAna := "Ana Técnica · visto hace 15 min (" + at(morning) + ")"
	pollTrue(t, board, `(document.querySelector('#map svg circle[data-position="`+ana+`"] title')?.textContent || '') === `+jsString(wantAna))
	faded("Ana, 15 min later", ana, wantAna)
	faded("Beto, 15 min later", beto, "Beto Técnico · visto hace 40 min ("+at(taken)+")")
	if n := evalJS[int](t, board, `window.__sameBoard ? 1 : 0`); n != 1 {
		t.Error("the board was reloaded to show the positions' new ages")
	}
	shot(t, board, "board-position-age-later")

	// In English.
	do(t, board, chromedp.Navigate(e.URL+"/board?lang=en"))
	wantBeto := "Beto Técnico · seen 40 min ago (" + at(taken) + ")"
	pollTrue(t, board, `(document.querySelector('#map svg circle[data-position="`+beto+`"] title')?.textContent || '') === `+jsString(wantBeto))
	faded("in English", beto, wantBeto)
}
