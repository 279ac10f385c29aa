package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechReasonChosen: "No se pudo completar" asks the technician why; it does not
// answer for him. The reason list opened on "Cliente ausente", so a technician who sent the
// form as it came recorded that nobody was home, and the customer was texted so, whatever
// the reason was. Now nothing is chosen, sending without a reason says so beside the list
// in Spanish and sends nothing, and the reason he picks is the one recorded.
func TestBrowserTechReasonChosen(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	folio, id := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")
	call(t, e, token(t, e, "tec@example.mx"), "POST", "/api/visits/"+strconv.FormatInt(id, 10)+"/status", `{"status":"en_route"}`, 200, nil)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	clickStep(t, ctx, "No se pudo completar")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("reason")))
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('reason').value`)); err != nil || got != "" {
		t.Errorf("reason chosen as the form opens = %q (%v), want none", got, err)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("finish-send")))
	waitText(t, ctx, "#err-reason", "Elija un motivo")
	if open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('finish').open && `+techQueue+`.length === 0`)); err != nil || !open {
		t.Fatalf("sent without a reason: the form closed or a step was queued (%v)", err)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("reason"), "needs_parts"),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, ctx, "#route .badge", "No completada")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var v struct {
			Status string
			Reason string `json:"reason"`
		}
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
		if v.Status == "not_completed" {
			if v.Reason != "needs_parts" {
				t.Errorf("reason recorded = %q, want needs_parts", v.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("visit = %s, want not_completed", v.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
