package pages_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechPendingClearsNextStep: on a 360x640 phone without signal, the technician
// taps "En camino"; the count of steps waiting to be sent floats over the foot of the
// screen, and it must leave his next step ("Llegué", "No se pudo completar") uncovered. It
// repeated the banner's "saved, sent when the connection returns" over three lines and
// covered half of both buttons.
func TestBrowserTechPendingClearsNextStep(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	day := morning.Format(time.DateOnly)
	folio, _ := bookedVisit(t, e, tok, day, "Sin señal")
	bookedVisit(t, e, tok, day, "Tampoco")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	// Each time the route is drawn: once for the step taken, once more when the attempt to
	// send it has failed.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__drawn = 0;
		new MutationObserver(() => window.__drawn++).observe(document.getElementById('route'), { childList: true })`))
	clickStep(t, ctx, "En camino")
	pollTrue(t, ctx, `window.__drawn >= 2`)
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	type box struct{ Top, Bottom float64 }
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]box](`[document.getElementById('pending'),
		...document.querySelectorAll('#route li:first-child .steps button')].map((e) => { const r = e.getBoundingClientRect(); return { Top: r.top, Bottom: r.bottom }; })`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 3 {
		t.Fatalf("pending and buttons = %v, want the count and the stop's two steps", got)
	}
	bar := got[0]
	for _, b := range got[1:] {
		if b.Bottom > bar.Top && b.Top < bar.Bottom {
			t.Errorf("the pending count (%.0f–%.0f px) covers a step button of the stop (%.0f–%.0f px)", bar.Top, bar.Bottom, b.Top, b.Bottom)
		}
		if b.Bottom > 640 {
			t.Errorf("a step button of the stop ends at %.0f px, below the phone's screen", b.Bottom)
		}
	}
}
