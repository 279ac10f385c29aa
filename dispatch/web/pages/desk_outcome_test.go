package pages_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserDeskOutcome: an agent closes a fault with its outcome from the desk, as the
// procedure has agents do: the page had no way to resolve, close or reopen a report at all.
// The outcome is refused without cause, verdict or service restored; a colleague's change
// made while the folio was open is not overwritten (the step is refused as stale, the page
// shows the folio as it now stands and keeps what was typed); then resolved, closed and
// reopened, each step on the timeline by the agent through the channel he chose.
func TestBrowserDeskOutcome(t *testing.T) {
	t.Parallel()
	e := newEnvAt(t, func() time.Time { return businessMorning(t) })
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	e.user(t, "otra@example.mx", dispatch.RoleAgent)
	agent := token(t, e, "agente@example.mx")
	var tk struct{ Folio string }
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"description":"Sin internet"}`, 201, &tk)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("find-folio")),
		sendKeys(chromedp.ID("find-folio"), tk.Folio),
		chromedp.Click(chromedp.CSS(`#find button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("outcome-form")),
		chromedp.Click(chromedp.CSS(`#outcome-form button[value=resolve]`)),
	)
	waitText(t, ctx, "#outcome-form", "Escriba la causa")
	waitText(t, ctx, "#outcome-form", "Indique si procede")
	waitText(t, ctx, "#outcome-form", "Indique si el servicio quedó restablecido")

	// A colleague notes the folio while it is open here.
	call(t, e, token(t, e, "otra@example.mx"), "POST", "/api/tickets/"+tk.Folio+"/transitions", `{"action":"note","note":"El cliente dice que ya regresó la señal"}`, 200, nil)
	do(t, ctx,
		sendKeys(chromedp.ID("outcome-cause"), "Corte de fibra en la calle"),
		chromedp.Click(chromedp.CSS(`#outcome-form input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`#outcome-form input[name=restored][value=yes]`)),
		chromedp.SetValue(chromedp.ID("outcome-channel"), "email"),
		chromedp.Click(chromedp.CSS(`#outcome-form button[value=resolve]`)),
	)
	waitText(t, ctx, "#outcome-form .form-error", "alguien más")
	waitText(t, ctx, "#desk-timeline", "El cliente dice que ya regresó la señal")
	var got struct{ Status string }
	call(t, e, agent, "GET", "/api/tickets/"+tk.Folio, "", 200, &got)
	if got.Status != "open" {
		t.Fatalf("after a stale resolve the report is %s, want still open", got.Status)
	}
	cause, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('outcome-cause').value`))
	if err != nil || cause != "Corte de fibra en la calle" {
		t.Fatalf("cause after the refusal = %q (%v), want what the agent typed kept", cause, err)
	}
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#outcome-form input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`#outcome-form input[name=restored][value=yes]`)),
		chromedp.Click(chromedp.CSS(`#outcome-form button[value=resolve]`)),
	)
	waitText(t, ctx, "#ticket-view .badge", "Resuelto")
	waitText(t, ctx, `#desk-timeline li[data-type="report.resolved"]`, "Corte de fibra en la calle")
	line := text(t, ctx, `#desk-timeline li[data-type="report.resolved"]`)
	for _, want := range []string{"Procedente", "Servicio restablecido: Sí", "por Prueba agent", "Correo"} {
		if !strings.Contains(line, want) {
			t.Errorf("resolved line = %q, want it to say %q", line, want)
		}
	}
	clickNow(t, ctx, `#outcome-form button[value=close]`)
	waitText(t, ctx, "#ticket-view .badge", "Cerrado")
	do(t, ctx, sendKeys(chromedp.ID("outcome-reason"), "Volvió a fallar"))
	clickNow(t, ctx, `#outcome-form button[value=reopen]`)
	waitText(t, ctx, "#ticket-view .badge", "Abierto")
	waitText(t, ctx, `#desk-timeline li[data-type="report.reopened"]`, "Volvió a fallar")
	call(t, e, agent, "GET", "/api/tickets/"+tk.Folio, "", 200, &got)
	if got.Status != "open" {
		t.Fatalf("after reopening the report is %s, want open", got.Status)
	}
	shot(t, ctx, "desk-outcome")
}
