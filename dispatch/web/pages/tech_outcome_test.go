package pages_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// clickStep clicks the step button labelled label on the tech page, from a script (one
// deliberate click, as a keyboard gives), polling until there is one.
func clickStep(t testing.TB, ctx context.Context, label string) {
	t.Helper()
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === `+jsString(label)+`); if (!b) return false; b.click(); return true; })()`)
}

// techQueue is the tech page's queue of steps, as stored on the phone.
const techQueue = `JSON.parse(localStorage.getItem('despacho.tech.queue.' + document.getElementById('tech').dataset.tech) || '[]')`

// waitResolved waits until the report of folio is resolved with cause.
func waitResolved(t testing.TB, e *env, tok, folio, cause string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rep struct {
			Status     string
			Resolution *struct{ Cause, Notes string }
		}
		call(t, e, tok, "GET", "/api/tickets/"+folio, "", 200, &rep)
		if rep.Status == "resolved" && rep.Resolution != nil && rep.Resolution.Cause == cause {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("report %s: status %s, resolution %+v; want resolved with cause %q", folio, rep.Status, rep.Resolution, cause)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserTechRefusedCompletionKept: a completion taken without signal whose note the
// server refuses (longer than its limit: the form used to allow 5000 characters, and a
// queue kept from then still holds such a step) was dropped from the queue when the signal
// returned, and the technician's cause, verdict, restored and note were lost. It must stay
// queued, the form must come back with what he wrote and the problem beside the note, in
// Spanish, and his corrected completion must resolve the report.
func TestBrowserTechRefusedCompletionKept(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Nota larga")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, "#route .badge", "En camino")
	clickStep(t, ctx, "Llegué")
	waitText(t, ctx, "#route .badge", "En el domicilio")
	clickStep(t, ctx, "Completar")
	const cause = "Conector dañado en la roseta; se cambió"
	long := strings.Repeat("ñ", dispatch.MaxVisitNote+100)
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("cause")),
		sendKeys(chromedp.ID("cause"), cause),
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=not_upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=no]`)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('note').value = `+jsString(long)),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, ctx, "#pending", "3 acciones pendientes de enviar")
	do(t, ctx, offline(false))

	// The visit's first two steps go; the completion is refused, kept, and shown.
	pollTrue(t, ctx, `document.getElementById('finish').open && !!document.getElementById('err-note')`)
	waitText(t, ctx, "#err-note", "El texto es demasiado largo: tiene "+strconv.Itoa(dispatch.MaxVisitNote+100)+" caracteres y el máximo es "+strconv.Itoa(dispatch.MaxVisitNote))
	pollTrue(t, ctx, `document.getElementById('cause').value === `+jsString(cause)+
		` && document.querySelector('input[name=verdict][value=not_upheld]').checked`+
		` && document.querySelector('input[name=restored][value=no]').checked`+
		` && document.getElementById('note').value === `+jsString(long)+
		` && document.activeElement === document.getElementById('note')`)
	q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(`+techQueue+`)`))
	if err != nil || !strings.Contains(q, `"refused"`) || !strings.Contains(q, cause) {
		t.Fatalf("queue after the refusal = %.300s (%v), want the completion kept, marked refused", q, err)
	}
	var v struct{ Status string }
	call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	if v.Status != "on_site" {
		t.Fatalf("visit = %s, want on_site: the steps before the refused one are sent", v.Status)
	}
	shot(t, ctx, "tech-refused-completion-360")

	// Closed, the form is still there to come back to, from the stop's card.
	do(t, ctx, chromedp.Click(chromedp.ID("finish-cancel")))
	waitText(t, ctx, "#route .refused", "No se registró «Completar».")
	waitText(t, ctx, "#pending", "Un paso de "+folio+" no se registró")
	shot(t, ctx, "tech-refused-card-360")
	clickNow(t, ctx, "#route .refused button")
	pollTrue(t, ctx, `document.getElementById('finish').open && document.getElementById('cause').value === `+jsString(cause))

	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('note').value = ''`),
		sendKeys(chromedp.ID("note"), "Roseta vieja, ñandú"),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitResolved(t, e, tok, folio, cause)
	pollTrue(t, ctx, techQueue+`.length === 0 && !document.querySelector('#route .refused') && document.getElementById('pending').hidden`)
	waitText(t, ctx, "#route .badge", "Completada")
}

// TestBrowserTechOutcomeLimits: the form takes what the server takes, counted alike: the
// cause and the note stop at the server's limits (the note allowed 5000 characters, the
// server 2000, so a long note was refused), and a Spanish text of accented letters up to the
// limit is recorded (the server counted bytes: 2000 "á" were 4000, refused).
func TestBrowserTechOutcomeLimits(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, _ := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Límites")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, "#route .badge", "En camino")
	clickStep(t, ctx, "Llegué")
	waitText(t, ctx, "#route .badge", "En el domicilio")
	clickStep(t, ctx, "Completar")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("cause")))
	lim, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[document.getElementById('cause').maxLength, document.getElementById('note').maxLength]`))
	if err != nil || len(lim) != 2 || lim[0] != dispatch.MaxCause || lim[1] != dispatch.MaxVisitNote {
		t.Fatalf("maxlength of cause, note = %v (%v), want the server's %d, %d", lim, err, dispatch.MaxCause, dispatch.MaxVisitNote)
	}
	cause := strings.Repeat("ñ", dispatch.MaxCause)
	note := strings.Repeat("á", dispatch.MaxVisitNote)
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('cause').value = `+jsString(cause)+`; document.getElementById('note').value = `+jsString(note)),
		// A letter more is not taken: the form stops where the server does.
		sendKeys(chromedp.ID("cause"), "x"),
		sendKeys(chromedp.ID("note"), "x"),
	)
	pollTrue(t, ctx, `document.getElementById('cause').value === `+jsString(cause)+` && document.getElementById('note').value === `+jsString(note))
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=yes]`)),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitResolved(t, e, tok, folio, cause)
	pollTrue(t, ctx, techQueue+`.length === 0 && !document.querySelector('#route .refused')`)
}

// TestBrowserTechDoubleTap: the step's button is replaced under his finger by the next
// step's ("En camino" by "Llegué"), so a double tap on "En camino" also recorded "Llegué".
// One tap is one step: the second tap of a double tap takes nothing, and a tap a moment
// later takes the next step as it should.
func TestBrowserTechDoubleTap(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Doble toque")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateTouch))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	// Where his thumb is: on the first step button, near its left end (after the redraw the
	// first of two buttons is there).
	at := func(label string) (float64, float64) {
		t.Helper()
		var xy []float64
		pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === `+jsString(label)+`); return !!b && b.getBoundingClientRect().width > 0; })()`)
		xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === `+jsString(label)+`).getBoundingClientRect(); return [r.left + 24, r.top + r.height / 2]; })()`))
		if err != nil || len(xy) != 2 {
			t.Fatalf("position of %s: %v %v", label, xy, err)
		}
		return xy[0], xy[1]
	}
	time.Sleep(time.Second) // the buttons have been there a while: the first tap counts
	x, y := at("En camino")
	do(t, ctx, chromedp.TapXY(x, y))
	time.Sleep(100 * time.Millisecond)
	do(t, ctx, chromedp.TapXY(x, y))
	waitText(t, ctx, "#route .badge", "En camino")
	vid := strconv.FormatInt(id, 10)
	deadline := time.Now().Add(10 * time.Second)
	var v struct{ Status string }
	for call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v); v.Status != "en_route"; call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v) {
		if time.Now().After(deadline) {
			t.Fatalf("visit = %s after the taps, want en_route", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Whatever the page still meant to send has gone by now.
	pollTrue(t, ctx, techQueue+`.length === 0`)
	time.Sleep(500 * time.Millisecond)
	call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v)
	if v.Status != "en_route" {
		t.Fatalf("a double tap on En camino left the visit %s, want en_route only", v.Status)
	}
	if got := text(t, ctx, "#route .badge"); got != "En camino" {
		t.Fatalf("badge after a double tap = %q, want En camino", got)
	}
	// A moment later, one tap is the next step.
	time.Sleep(time.Second)
	x, y = at("Llegué")
	do(t, ctx, chromedp.TapXY(x, y))
	waitText(t, ctx, "#route .badge", "En el domicilio")
	deadline = time.Now().Add(10 * time.Second)
	for call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v); v.Status != "on_site"; call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v) {
		if time.Now().After(deadline) {
			t.Fatalf("visit = %s after one tap on Llegué, want on_site", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loseAnswers makes the tab lose the answer to its first step sent from now on: the server
// records the step, the phone gets no answer (the connection reset), as when the signal goes
// while the answer is on its way. Later steps go through.
func loseAnswers(t testing.TB, ctx context.Context) {
	t.Helper()
	var lost atomic.Bool
	err := chromedp.Listen(ctx, func(ev any) {
		p, ok := ev.(*fetch.EventRequestPaused)
		if !ok {
			return
		}
		go chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if lost.CompareAndSwap(false, true) {
				_, err := cdp.Call(ctx, tg, fetch.FailRequest, fetch.FailRequestParams{RequestID: p.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
				return err
			}
			_, err := cdp.Call(ctx, tg, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: p.RequestID})
			return err
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/api/visits/*/status", RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
}

// TestBrowserTechLostAnswerReplayed: "No se pudo completar" reaches the server, but its
// answer is lost; meanwhile the desk books the visit again. When the phone sends the step
// again, it was refused as out of order (the visit is booked, not "not completed") and the
// technician was told his step was not possible, though it had been recorded. Sent with its
// Idempotency-Key, the repeat is answered as the step taken: nothing is said, nothing is
// recorded twice, and the visit stays booked.
func TestBrowserTechLostAnswerReplayed(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	day := morning.Format(time.DateOnly)
	folio, id := bookedVisit(t, e, tok, day, "Respuesta perdida")
	vid := strconv.FormatInt(id, 10)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	clickStep(t, ctx, "En camino")
	pollTrue(t, ctx, techQueue+`.length === 0`)

	loseAnswers(t, ctx)
	clickStep(t, ctx, "No se pudo completar")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("reason")),
		chromedp.SetValue(chromedp.ID("reason"), "customer_absent"),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	var v struct{ Status string }
	deadline := time.Now().Add(20 * time.Second)
	for call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v); v.Status != "not_completed"; call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v) {
		if time.Now().After(deadline) {
			t.Fatalf("visit = %s, want not_completed recorded", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar") // no answer: kept to send again
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
		return err
	}))

	var sl struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+vid+"/slots?from="+day+"&days=1", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatal("no slot left to book the visit again")
	}
	last := sl.Slots[len(sl.Slots)-1]
	call(t, e, tok, "POST", "/api/visits/"+vid+"/book", `{"start":"`+last.Start+`","end":"`+last.End+`"}`, 200, nil)

	// The signal comes and goes: the page sends its queue again.
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	do(t, ctx, offline(false))
	pollTrue(t, ctx, techQueue+`.length === 0`)
	pollTrue(t, ctx, `document.getElementById('pending').hidden`)
	waitText(t, ctx, "#route .badge", "Agendada")
	call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &v)
	if v.Status != "booked" {
		t.Errorf("visit after the resend = %s, want booked still", v.Status)
	}
	var tl struct{ Timeline []struct{ Type string } }
	call(t, e, tok, "GET", "/api/tickets/"+folio, "", 200, &tl)
	n := 0
	for _, ev := range tl.Timeline {
		if ev.Type == "visit.not_completed" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("visit.not_completed %d times in the timeline, want once", n)
	}
}
