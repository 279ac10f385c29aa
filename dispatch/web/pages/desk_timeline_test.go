package pages_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserDeskTimeline: an agent answering a customer's call opens the folio and reads on
// its timeline every step in Spanish, with what it was (the statuses it moved between, the
// note, the outcome: cause, verdict, service restored), who took it and through which
// channel. The technician's steps were shown as "visit.en_route", and no line said who
// did anything or what a note or a status change said.
func TestBrowserDeskTimeline(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	disp := token(t, e, "disp@example.mx")
	technician(t, e, disp, "Juan Técnico", u.ID, 19.4326, -99.1332)
	agent := token(t, e, "agente@example.mx")
	folio, id := bookedVisit(t, e, agent, morning.Format(time.DateOnly), "Sin señal")
	vid := strconv.FormatInt(id, 10)
	call(t, e, agent, "POST", "/api/tickets/"+folio+"/transitions", `{"action":"note","channel":"phone","note":`+strconv.Quote("Llamó para confirmar: estará en casa "+hostile)+`}`, 200, nil)
	tech := token(t, e, "tec@example.mx")
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"en_route"}`, 200, nil)
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"on_site"}`, 200, nil)
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"completed","cause":"Conector dañado en la roseta","verdict":"upheld","service_restored":true}`, 200, nil)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("find-folio")),
		sendKeys(chromedp.ID("find-folio"), folio),
		chromedp.Click(chromedp.CSS(`#find button[type=submit]`)),
	)
	waitText(t, ctx, "#desk-timeline", "Técnico en camino")
	lines, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('#desk-timeline li')].map((li) => [li.dataset.type || li.textContent, li.textContent]))`))
	if err != nil {
		t.Fatal(err)
	}
	line := func(typ string) string { return lines[typ] }
	for typ, want := range map[string][]string{
		"report.created":        {"Reporte recibido", "por Prueba agent", "Teléfono"},
		"report.noted":          {"Nota", "Llamó para confirmar: estará en casa <script>", "por Prueba agent", "Teléfono"},
		"visit.en_route":        {"Técnico en camino", "por Prueba technician"},
		"visit.on_site":         {"Técnico en el domicilio", "por Prueba technician"},
		"visit.completed":       {"Visita completada", "Conector dañado en la roseta", "Procedente", "Servicio restablecido: Sí"},
		"report.resolved":       {"Reporte resuelto", "→ Resuelto", "Conector dañado en la roseta", "Procedente", "Servicio restablecido: Sí", "por Prueba technician", "Sistema interno"},
		"report.status_changed": {"Abierto → Esperando visita", "Sistema interno"},
	} {
		got := line(typ)
		for _, w := range want {
			if !regexp.MustCompile(regexp.QuoteMeta(w)).MatchString(got) {
				t.Errorf("timeline line %s = %q, want it to say %q", typ, got, w)
			}
		}
	}
	// A technician's step in his app came by no customer channel: it said "Web", which
	// reads as the customer's web form.
	for _, typ := range []string{"visit.en_route", "visit.completed", "report.resolved"} {
		if got := line(typ); regexp.MustCompile(`· Web\b`).MatchString(got) {
			t.Errorf("timeline line %s = %q: a technician's step says it came by the web form", typ, got)
		}
	}
	all := text(t, ctx, "#desk-timeline")
	if raw := regexp.MustCompile(`\b(report|visit|sms|incident)\.[a-z_]+`).FindString(all); raw != "" {
		t.Errorf("timeline shows the event type %q untranslated: %q", raw, all)
	}
	notPwned(t, ctx)
	shot(t, ctx, "desk-timeline")
}
