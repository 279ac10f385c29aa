package pages_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardActivitySaysWho: the board's live activity list names who took each step,
// as its timelines do (board_timeline_test.go): the agent who wrote a note, the technician
// on his way, the dispatcher who added a technician. The live messages carried only
// "user:12", so the list named nobody. A user's name stays text.
func TestBrowserBoardActivitySaysWho(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ag := e.user(t, "agente@example.mx", dispatch.RoleAgent)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	agentName := "Ana Agente " + hostile
	if _, err := e.DB.ExecContext(context.Background(), "UPDATE users SET name = ? WHERE id = ?", agentName, ag.ID); err != nil {
		t.Fatal(err)
	}
	disp := token(t, e, "disp@example.mx")
	technician(t, e, disp, "Juan Técnico", u.ID, 19.4326, -99.1332)
	agent := token(t, e, "agente@example.mx")
	tech := token(t, e, "tec@example.mx")
	day := morning.Format(time.DateOnly)
	folio, id := bookedVisit(t, e, agent, day, "Sin señal")
	vid := strconv.FormatInt(id, 10)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	pollTrue(t, board, `document.querySelector('.block[data-visit="`+vid+`"]') !== null`)

	call(t, e, agent, "POST", "/api/tickets/"+folio+"/transitions", `{"action":"note","channel":"phone","note":"Llamó para confirmar"}`, 200, nil)
	call(t, e, tech, "POST", "/api/visits/"+vid+"/status", `{"status":"en_route"}`, 200, nil)
	technician(t, e, disp, "Ana Técnica", 0, 19.42, -99.15)
	line := func(typ string) string {
		return `#activity li[data-type="` + typ + `"]`
	}
	waitText(t, board, line("technician.created"), "por Prueba dispatcher")
	for typ, want := range map[string][]string{
		"report.noted":       {"Nota", folio, "por " + agentName},
		"visit.en_route":     {"Técnico en camino", folio, "por Prueba technician"},
		"technician.created": {"Técnico dado de alta", "por Prueba dispatcher"},
	} {
		got := text(t, board, line(typ))
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("activity line %s = %q, want it to say %q", typ, got, w)
			}
		}
	}
	all := text(t, board, "#activity")
	if raw := regexp.MustCompile(`\b(user|technician):[0-9]+`).FindString(all); raw != "" {
		t.Errorf("activity shows the actor %q raw: %q", raw, all)
	}
	notPwned(t, board)
	shot(t, board, "board-activity")
}
