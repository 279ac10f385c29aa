package pages_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserAdminSMSTemplates: an admin edits the Spanish folio text on the admin page. An
// unknown value or function, a loop or printf, a syntax slip and an empty text are refused
// beside the field in the page's language (English too); a good text is stored, and the
// next report's text is written with it (the development outbox shows it); Restore brings
// the default back.
func TestBrowserAdminSMSTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	tok := token(t, e, "jefa@example.mx")

	// A booked text saved before templates had to show their window: not used, and the
	// page says why.
	if _, err := e.DB.ExecContext(context.Background(), `INSERT INTO sms_templates (kind, language, body, updated_at) VALUES ('booked', 'es', 'Hola', now())`); err != nil {
		t.Fatal(err)
	}

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signInBrowser(t, ctx, e.URL, "%2Fadmin%23sms", "jefa@example.mx")
	const form = `form.sms-tpl[data-kind="folio"][data-lang="es"]`
	waitText(t, ctx, form+` .field`, "{{.Folio}}") // the values these texts carry are listed
	waitText(t, ctx, `form.sms-tpl[data-kind="booked"][data-lang="es"] .sms-lacks`, "No se usa: no muestra {{.Window}}")
	refused := func(ctx context.Context, body, want string) {
		t.Helper()
		do(t, ctx,
			chromedp.SetValue(chromedp.ID("sms-folio-es"), body),
			chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
		)
		waitText(t, ctx, form+` .field-error`, want)
		pollTrue(t, ctx, `document.getElementById('sms-folio-es').getAttribute('aria-invalid') === 'true' && document.activeElement.id === 'sms-folio-es'`)
	}
	refused(ctx, "Su folio {{.Foliio}} fue recibido", "un dato que no existe: {{.Foliio}}")
	refused(ctx, "Su folio {{.Folio", "error de escritura")
	refused(ctx, "Su folio {{folio .Folio}}", "una función que no existe: folio")
	refused(ctx, "Su folio {{range 3}}{{.}}{{end}}", "no se permite {{range}}")
	refused(ctx, `Su folio {{printf "%09d" 1}}`, "no se permite printf")
	refused(ctx, "   ", "Escriba el texto del mensaje")
	// The folio text has no window yet: it would reach the customer empty.
	refused(ctx, "Su folio {{.Folio}}: lo visitamos el {{.Window}}", "no llevan el dato {{.Window}}")
	// A folio text without the folio tells the customer nothing he can follow.
	refused(ctx, "Recibimos su reporte. {{.StatusURL}}", "debe mostrar {{.Folio}}")
	var tpl struct {
		Body   string
		Custom bool
	}
	call(t, e, tok, "GET", "/api/sms/templates/folio/es", "", 200, &tpl)
	if tpl.Custom {
		t.Fatalf("after the refusals the template is custom: %q", tpl.Body)
	}

	const good = "Despacho: recibimos su reporte, folio {{.Folio}}. Siga su estado en {{.StatusURL}}"
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("sms-folio-es"), good),
		chromedp.Click(chromedp.CSS(form+` button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	waitText(t, ctx, form+` label`, "(personalizada)")
	pollTrue(t, ctx, `document.querySelector('`+form+` .field-error') === null`)
	call(t, e, tok, "GET", "/api/sms/templates/folio/es", "", 200, &tpl)
	if !tpl.Custom || tpl.Body != good {
		t.Fatalf("stored template = %q (custom %v), want %q", tpl.Body, tpl.Custom, good)
	}

	// The next report is texted with it: the development outbox shows the text.
	// Its link carries the report's access code, so that the page opens at once.
	var tk struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"description":"Sin señal"}`, 201, &tk)
	want := "Despacho: recibimos su reporte, folio " + tk.Folio + ". Siga su estado en https://despacho.example.mx/estado/" + tk.Folio + "?code=" + tk.AccessCode
	var body string
	if err := e.DB.NewRaw("SELECT body FROM sms_outbox WHERE kind = 'folio' ORDER BY id DESC LIMIT 1").Scan(context.Background(), &body); err != nil {
		t.Fatal(err)
	}
	if body != want {
		t.Fatalf("queued folio text = %q, want %q", body, want)
	}
	// (Over HTTP: the outbox page's inline <style> is refused by the site's CSP in a browser.)
	res, page := get(t, e.URL+"/dev/sms", "Authorization", "Bearer "+tok)
	if res.StatusCode != 200 || !strings.Contains(page, html.EscapeString(want)) {
		t.Fatalf("GET /dev/sms = %d; want it to list %q", res.StatusCode, want)
	}

	// In English the refusal is in English; Restore brings the default back.
	do(t, ctx, chromedp.Navigate(e.URL+"/admin?lang=en#sms"))
	waitText(t, ctx, form+` label`, "(customised)")
	refused(ctx, "Folio {{.Nope}}", "uses a value that does not exist: {{.Nope}}")
	do(t, ctx, chromedp.Click(chromedp.CSS(form+` .actions button[type=button]`)))
	waitText(t, ctx, "#admin-msg", "The default text was restored")
	call(t, e, tok, "GET", "/api/sms/templates/folio/es", "", 200, &tpl)
	if tpl.Custom || !strings.Contains(tpl.Body, "{{.Folio}}") {
		t.Fatalf("after Restore the template = %q (custom %v), want the default", tpl.Body, tpl.Custom)
	}
}
