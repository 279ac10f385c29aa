package pages_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// offline cuts the tab's network (and tells the page, as a phone losing signal does) or
// gives it back.
func offline(off bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// bookedVisit files a report by phone with coordinates, creates its visit and books the first
// window the plan offers; it returns the folio and the visit's id.
func bookedVisit(t testing.TB, e *env, tok, day, description string) (string, int64) {
	t.Helper()
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":`+strconv.Quote(description)+`}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)
	var sl struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+id+"/slots?from="+day+"&days=1", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatalf("no slots on %s", day)
	}
	call(t, e, tok, "POST", "/api/visits/"+id+"/book", `{"start":"`+sl.Slots[0].Start+`","end":"`+sl.Slots[0].End+`"}`, 200, nil)
	return tk.Folio, v.ID
}

// TestBrowserTechnicianOffline: a step taken without signal is kept, the page says so, and
// it reaches the server once the signal returns.
func TestBrowserTechnicianOffline(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal "+hostile)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	shot(t, ctx, "tech-360")
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	top := `document.getElementById('route').getBoundingClientRect().top`
	before, err := chromedp.Run(ctx, chromedp.Evaluate[float64](top))
	if err != nil {
		t.Fatal(err)
	}
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'En camino'); if (!b) return false; b.click(); return true; })()`)
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	// The count shows on every step, for as long as it takes to send: it must not move the
	// route under the technician's finger.
	if after, err := chromedp.Run(ctx, chromedp.Evaluate[float64](top)); err != nil || after != before {
		t.Fatalf("route top %v before the pending count, %v with it (%v)", before, after, err)
	}
	shot(t, ctx, "tech-pending-360")
	waitText(t, ctx, "#route .badge", "En camino") // shown at once, sent later
	var v struct{ Status string }
	call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	if v.Status == "en_route" {
		t.Fatal("the step reached the server while offline")
	}
	// A reload while offline still shows the route and the pending step.
	do(t, ctx, offline(false))
	deadline := time.Now().Add(20 * time.Second)
	for v.Status != "en_route" {
		if time.Now().After(deadline) {
			t.Fatalf("visit status = %q after the signal returned, want en_route", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	}
	pollTrue(t, ctx, `localStorage.getItem('despacho.tech.queue.' + document.getElementById('tech').dataset.tech) === '[]'`)
	pollTrue(t, ctx, `document.getElementById('pending').hidden`)
	notPwned(t, ctx)
}

// TestBrowserBoardRefusal: a move the API refuses leaves the visit where it was and says why,
// in the page's language.
func TestBrowserBoardRefusal(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	fiber := technician(t, e, tok, "Ana Fibra", 0, 19.4326, -99.1332)
	var radio struct{ ID int64 }
	call(t, e, tok, "POST", "/api/technicians", `{"name":"Rudy Radio","phone":"+525512340000","skills":["wireless"],"home":{"lat":19.42,"lon":-99.15},"shifts":[{"weekday":0,"start":"07:00","end":"21:00"},{"weekday":1,"start":"07:00","end":"21:00"},{"weekday":2,"start":"07:00","end":"21:00"},{"weekday":3,"start":"07:00","end":"21:00"},{"weekday":4,"start":"07:00","end":"21:00"},{"weekday":5,"start":"07:00","end":"21:00"},{"weekday":6,"start":"07:00","end":"21:00"}]}`, 201, &radio)
	_, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Fibra cortada")
	vid := strconv.FormatInt(id, 10)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, ctx, `document.querySelector('.track[data-tech="`+strconv.FormatInt(fiber, 10)+`"] .block[data-visit="`+vid+`"]') !== null`)
	dragNow(t, ctx, `.block[data-visit="`+vid+`"]`, `.track[data-tech="`+strconv.FormatInt(radio.ID, 10)+`"]`)
	waitText(t, ctx, "#board-msg", "Movimiento rechazado")
	pollTrue(t, ctx, `document.querySelector('.track[data-tech="`+strconv.FormatInt(fiber, 10)+`"] .block[data-visit="`+vid+`"]') !== null`)
	msg := text(t, ctx, "#board-msg")
	t.Logf("refusal shown: %s", msg)
	// The skill in the dispatcher's words: "«fiber»" was the API's code.
	if !strings.Contains(msg, "«fibra»") {
		t.Errorf("refusal %q; want the missing skill named «fibra»", msg)
	}
	// The same with the keyboard: the detail's "assign to" list.
	clickNow(t, ctx, `.block[data-visit="`+vid+`"]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("move-to")),
		chromedp.SetValue(chromedp.ID("move-to"), strconv.FormatInt(radio.ID, 10)), chromedp.Click(chromedp.ID("move-btn")))
	waitText(t, ctx, "#board-msg", "Movimiento rechazado")
}

// TestBrowserTechnicianQueueOutlivesSession: the signal returns after the technician's
// session has ended (12 hours after sign-in, or signed out elsewhere): the queued step was
// refused 401 and dropped like a refusal, so it was lost while the page went to sign-in.
// It must wait in the queue and be sent once he has signed in again.
func TestBrowserTechnicianQueueOutlivesSession(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, u, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sesión vencida")

	ctx := tab(t, true)
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'En camino'); if (!b) return false; b.click(); return true; })()`)
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	if _, err := e.DB.NewRaw("DELETE FROM sessions WHERE user_id = ?", u.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, offline(false))
	pollTrue(t, ctx, `location.pathname === '/login'`)
	if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.entries(localStorage).filter(([k]) => k.startsWith('despacho.tech.queue.')).map(([, v]) => JSON.parse(v)).flat())`)); err != nil || !strings.Contains(q, "en_route") {
		t.Fatalf("queue after the session ended = %s (%v), want the en_route step kept", q, err)
	}
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	var v struct{ Status string }
	deadline := time.Now().Add(20 * time.Second)
	for v.Status != "en_route" {
		if time.Now().After(deadline) {
			t.Fatalf("visit status = %q after signing in again, want en_route", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	}
	pollTrue(t, ctx, `document.getElementById('pending').hidden`)
}
