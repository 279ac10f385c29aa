package pages_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserStatusShowsOutageAndCompensation: the customer's status page said nothing of
// the mass outage his report is attached to, nor of what he is owed once it is over. It now
// says, in Spanish by default and in English on request, that it is a known outage in his
// area (its folio, title, state, the estimate he was told), and once resolved the credit
// owed in pesos (MXN) for the outage; never the incident's internal notes. The title, typed
// by staff, stays text.
func TestBrowserStatusShowsOutageAndCompensation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp.falla@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp.falla@example.mx")
	var tk struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511170001","access_point":"OLT-ORIENTE","plan_price":15000},"description":"Sin internet"}`, 201, &tk)
	now := time.Now().UTC()
	title := "Corte de fibra en Iztapalapa " + hostile
	var inc struct {
		ID    int64
		Folio string
	}
	call(t, e, tok, "POST", "/api/incidents", fmt.Sprintf(`{"access_point":"OLT-ORIENTE","title":%q,"started_at":%q}`, title, now.Add(-50*time.Hour).Format(time.RFC3339)), 201, &inc)
	call(t, e, tok, "POST", fmt.Sprintf("/api/incidents/%d/estimate", inc.ID), fmt.Sprintf(`{"estimated_restore_at":%q}`, now.Add(3*time.Hour).Format(time.RFC3339)), 200, nil)

	ctx := tab(t, true)
	page := e.URL + "/estado/" + tk.Folio + "?code=" + tk.AccessCode
	do(t, ctx, chromedp.EmulateViewport(360, 740), chromedp.Navigate(page))
	waitText(t, ctx, "#st-incident", "Falla general en su zona")
	waitText(t, ctx, "#st-incident", "Es una falla conocida en su zona")
	waitText(t, ctx, "#st-incident-folio", inc.Folio)
	waitText(t, ctx, "#st-incident-title", title)
	waitText(t, ctx, "#st-incident-state", "En reparación")
	pollTrue(t, ctx, `document.getElementById('st-incident-estimate').textContent.trim() !== ''`)
	waitText(t, ctx, "#result .timeline", "Unido a una falla general")
	notPwned(t, ctx)
	if got := text(t, ctx, "#result"); strings.Contains(got, "Bonificación") || strings.Contains(got, "OLT-ORIENTE") {
		t.Errorf("open outage: the page shows %q; want no credit yet and no access point", got)
	}
	shot(t, ctx, "status-outage-open-360")

	// Resolved, with notes for staff only: the credit owed, from the resolution.
	call(t, e, tok, "POST", fmt.Sprintf("/api/incidents/%d/resolve", inc.ID),
		fmt.Sprintf(`{"cause":"Fibra cortada por obra","verdict":"upheld","restored_at":%q,"notes":"nota interna: cuadrilla tardó"}`, now.Add(-2*time.Hour).Format(time.RFC3339)), 200, nil)
	var staff struct {
		Compensation struct{ Amount string } `json:"compensation"`
	}
	call(t, e, tok, "GET", "/api/tickets/"+tk.Folio, "", 200, &staff)
	// 15,000.00 a month: 48 h of a 30-day month with the 20 % bonus is 1,200.00; the page
	// writes pesos with thousands separated.
	amount := thousands(staff.Compensation.Amount)
	if amount == "" || amount == "0.00" {
		t.Fatalf("staff see compensation %q; want an amount owed", amount)
	}
	do(t, ctx, chromedp.Navigate(page))
	waitText(t, ctx, "#st-incident-state", "Servicio restablecido")
	waitText(t, ctx, "#st-incident", "La falla general en su zona ya se resolvió")
	waitText(t, ctx, "#st-compensation", "Bonificación")
	waitText(t, ctx, "#st-compensation", "$"+amount+" MXN")
	waitText(t, ctx, "#st-compensation", "próximo recibo")
	if got := text(t, ctx, "#result"); strings.Contains(got, "nota interna") || strings.Contains(got, "cuadrilla") {
		t.Errorf("the page shows the incident's internal notes: %q", got)
	}
	notPwned(t, ctx)
	shot(t, ctx, "status-outage-resolved-360")

	// In English.
	do(t, ctx, chromedp.Navigate(page+"&lang=en"))
	waitText(t, ctx, "#st-incident", "Outage in your area")
	waitText(t, ctx, "#st-incident-state", "Service restored")
	waitText(t, ctx, "#st-compensation", "$"+amount+" MXN will be credited on your next bill")
}

// thousands separates the thousands of an amount of pesos written "1200.00": "1,200.00".
func thousands(amount string) string {
	whole, cents, _ := strings.Cut(amount, ".")
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	if cents == "" {
		return whole
	}
	return whole + "." + cents
}
