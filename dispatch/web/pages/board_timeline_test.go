package pages_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardTimelineSaysWho: the visit detail on the board reads its folio's timeline
// as the desk does (desk_timeline_test.go): each step in Spanish with who took it and what
// it was. It showed the raw actor ("user:12") and, for want of the desk's texts, could not
// say what a note or a change was. The board's live activity list names every step it
// lists too: a technician added or a day optimised showed as "technician.created",
// "plan.optimized".
func TestBrowserBoardTimelineSaysWho(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	disp := token(t, e, "disp@example.mx")
	technician(t, e, disp, "Juan Técnico", u.ID, 19.4326, -99.1332)
	agent := token(t, e, "agente@example.mx")
	day := morning.Format(time.DateOnly)
	folio, id := bookedVisit(t, e, agent, day, "Sin señal")
	vid := strconv.FormatInt(id, 10)
	call(t, e, agent, "POST", "/api/tickets/"+folio+"/transitions", `{"action":"note","channel":"phone","note":`+strconv.Quote("Llamó para confirmar "+hostile)+`}`, 200, nil)
	tech := token(t, e, "tec@example.mx")
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"en_route"}`, 200, nil)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	clickNow(t, board, `.block[data-visit="`+vid+`"]`)
	const tl = "#detail-body ol.timeline:not(#detail-sms)"
	waitText(t, board, tl, "Técnico en camino")
	lines, err := chromedp.Run(board, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('`+tl+` li')].map((li) => [li.dataset.type || li.textContent, li.textContent]))`))
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string][]string{
		"report.created": {"Reporte recibido", "por Prueba agent", "Teléfono"},
		"report.noted":   {"Nota", "Llamó para confirmar <script>", "por Prueba agent", "Teléfono"},
		"visit.booked":   {"por Prueba agent", "Juan Técnico"},
		"visit.en_route": {"Técnico en camino", "por Prueba technician"},
	} {
		for _, w := range want {
			if got := lines[typ]; !strings.Contains(got, w) {
				t.Errorf("detail timeline line %s = %q, want it to say %q", typ, got, w)
			}
		}
	}
	all := text(t, board, tl)
	if raw := regexp.MustCompile(`\buser:[0-9]+|\b(report|visit|sms|incident)\.[a-z_]+`).FindString(all); raw != "" {
		t.Errorf("detail timeline shows %q raw: %q", raw, all)
	}
	notPwned(t, board)
	shot(t, board, "board-timeline")
	do(t, board, chromedp.Click(chromedp.ID("detail-close")))

	// Live: what the board's activity list shows as it happens.
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"on_site"}`, 200, nil)
	technician(t, e, disp, "Ana Técnica", 0, 19.42, -99.15)
	call(t, e, disp, "POST", "/api/plans/"+day+"/optimize", `{"time_limit_s":0.5}`, 200, nil)
	waitText(t, board, "#activity", "Técnico en el domicilio · "+folio)
	waitText(t, board, "#activity", "Técnico dado de alta")
	waitText(t, board, "#activity", "Día optimizado")
	if raw := regexp.MustCompile(`\b(report|visit|sms|incident|technician|plan|user)\.[a-z_]+`).FindString(text(t, board, "#activity")); raw != "" {
		t.Errorf("activity shows the event type %q untranslated: %q", raw, text(t, board, "#activity"))
	}
}
