package pages_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserDeskFindByPhone: an agent finds a caller's reports by the number his own phone
// shows ("55 1234 5678", "+52 55 1234 5678", run together): the desk had only a folio box,
// and the list's search did not look at phones at all. One match opens; several are listed,
// newest first, and one opens with a click.
func TestBrowserDeskFindByPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	agent := token(t, e, "agente@example.mx")
	file := func(phone, description string) string {
		t.Helper()
		var tk struct{ Folio string }
		call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"`+phone+`"},"description":"`+description+`"}`, 201, &tk)
		return tk.Folio
	}
	first := file("5512345678", "Sin internet")
	other := file("5599998888", "Lentitud")
	second := file("+52 55 1234 5678", "Otra vez sin internet")

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	search := func(q string) {
		t.Helper()
		do(t, ctx,
			chromedp.WaitVisible(chromedp.ID("search-q")),
			clear("search-q"),
			sendKeys(chromedp.ID("search-q"), q),
			chromedp.Click(chromedp.CSS(`#search button[type=submit]`)),
		)
	}
	for _, q := range []string{"55 1234 5678", "+52 55 1234 5678", "5512345678", "(55) 1234-5678"} {
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('desk-results').replaceChildren()`))
		search(q)
		pollTrue(t, ctx, `document.querySelectorAll('#desk-results tr[data-folio]').length === 2`)
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#desk-results tr[data-folio]')].map((tr) => tr.dataset.folio)`))
		if err != nil || len(rows) != 2 || rows[0] != second || rows[1] != first {
			t.Errorf("search %q listed %v (%v), want %s then %s", q, rows, err, second, first)
		}
		if strings.Contains(text(t, ctx, "#desk-results"), other) {
			t.Errorf("search %q lists %s, another customer's report", q, other)
		}
	}
	clickNow(t, ctx, `#desk-results tr[data-folio="`+first+`"] button`)
	waitText(t, ctx, "#desk-folio", first)

	search("55 9999 8888")
	waitText(t, ctx, "#desk-folio", other) // the only match opens
	search("55 0000 0000")
	waitText(t, ctx, "#desk-results", "Ningún reporte coincide")
	shot(t, ctx, "desk-search")
}

// TestBrowserDeskNewReportAllErrors: the desk's new-report form marks every field it is
// missing at once, as the outcome form does: it marked only the first (the name), so the
// agent on a call fixed one field, sent, and learnt of the next.
func TestBrowserDeskNewReportAllErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("ticket")),
		sendKeys(chromedp.ID("lat"), "19.4"),
		chromedp.Click(chromedp.CSS(`#ticket button[type=submit]`)),
	)
	waitText(t, ctx, "#ticket", "Escriba el nombre del titular")
	form := text(t, ctx, "#ticket")
	for _, want := range []string{"Escriba el nombre del titular", "Deje un teléfono o un correo", "Escriba el domicilio", "Longitud entre", "Describa el problema"} {
		if !strings.Contains(form, want) {
			t.Errorf("form after an empty send = %q, want it to say %q", form, want)
		}
	}
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil || focused != "name" {
		t.Errorf("focus on %q (%v), want the first field at fault (name)", focused, err)
	}
	// Filled in, the marks go and the report is filed.
	do(t, ctx,
		sendKeys(chromedp.ID("name"), "Rosa Pérez"),
		sendKeys(chromedp.ID("phone"), "55 1234 5678"),
		sendKeys(chromedp.ID("line"), "Calle 5 #10"),
		sendKeys(chromedp.ID("lon"), "-99.14"),
		sendKeys(chromedp.ID("description"), "Sin internet"),
		chromedp.Click(chromedp.CSS(`#ticket button[type=submit]`)),
	)
	waitText(t, ctx, "#ticket-view", "Reporte registrado con folio")
	pollTrue(t, ctx, `document.querySelectorAll('#ticket .field-error').length === 0`)
}

// TestBrowserDeskRefusalNamesReport: a step on a report refused because the report no
// longer allows it (a colleague resolved it while the folio was open here, and the agent
// asks for a visit) says the report's state is the reason. The page gave "the situation
// changed", and the code's text, the only one, spoke of the visit's state.
func TestBrowserDeskRefusalNamesReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	e.user(t, "otra@example.mx", dispatch.RoleAgent)
	agent := token(t, e, "agente@example.mx")
	var tk struct{ Folio string }
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"inquiry","customer":{"name":"Rosa Pérez","phone":"5511112222"},"description":"¿Cuándo vienen?"}`, 201, &tk)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("find-folio")),
		sendKeys(chromedp.ID("find-folio"), tk.Folio),
		chromedp.Click(chromedp.CSS(`#find button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("visit-form")),
	)
	call(t, e, token(t, e, "otra@example.mx"), "POST", "/api/tickets/"+tk.Folio+"/transitions", `{"action":"resolve","cause":"Dudas resueltas","verdict":"upheld"}`, 200, nil)
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	waitText(t, ctx, "#visit-form .form-error", "estado actual del reporte")
	if got := text(t, ctx, "#visit-form .form-error"); strings.Contains(got, "visita") {
		t.Errorf("refusal = %q, want it to speak of the report, not the visit", got)
	}
}

// TestBrowserDeskCustomerOnFile: a report taken at the desk for a phone already on file is
// filed under that customer, whose stored name and e-mail stay as they are; the page says
// so, naming the customer on file, instead of silently dropping what the agent typed. A
// report whose typed name matches says nothing.
func TestBrowserDeskCustomerOnFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	agent := token(t, e, "agente@example.mx")
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"inquiry","customer":{"name":"María López Hernández","phone":"5512345678","email":"maria.lopez@example.mx"},"description":"¿Cuándo vienen?"}`, 201, nil)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1366, 800))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	file := func(name, email string) {
		t.Helper()
		do(t, ctx,
			chromedp.WaitVisible(chromedp.ID("ticket")),
			sendKeys(chromedp.ID("name"), name),
			sendKeys(chromedp.ID("phone"), "55 1234 5678"),
			sendKeys(chromedp.ID("email"), email),
			sendKeys(chromedp.ID("description"), "Sin internet"),
			chromedp.Click(chromedp.CSS(`#ticket button[type=submit]`)),
		)
		waitText(t, ctx, "#ticket-view", "Reporte registrado con folio")
	}
	file("Lucía Ramírez", "lucia@example.com")
	waitText(t, ctx, "#desk-on-file", "a nombre de María López Hernández (correo: maria.lopez@example.mx)")
	file("maría  lópez hernández", "")
	pollTrue(t, ctx, `document.getElementById('desk-on-file') === null`)
}
