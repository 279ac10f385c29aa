package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserIncidentVisit: a visit planned for an incident itself (no report, no customer)
// is in the board's queue under the incident's folio and marked as an outage repair; its
// detail shows the incident and its timeline instead of a report; once booked it is a block
// on the technician's line; on the technician's page it is a stop under the incident's
// folio that he works to completion, and the incident stays open with the visit completed.
func TestBrowserIncidentVisit(t *testing.T) {
	t.Parallel()
	// The server's clock stands still in today's business hours, but late enough that the
	// session cookie it issues (valid 12 h from its clock) has not expired in real time:
	// at 08:00 it would have after 20:00.
	morning := businessMorning(t)
	if late := time.Now().Add(-11 * time.Hour).In(morning.Location()).Truncate(time.Minute); late.After(morning) {
		morning = late
	}
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.nodo@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	techID := technician(t, e, tok, "Ana Técnica", ua.ID, 19.4326, -99.1332)

	var inc struct {
		ID    int64
		Folio string
	}
	started := morning.Add(-time.Hour).UTC().Format(time.RFC3339)
	call(t, e, tok, "POST", "/api/incidents", `{"access_point":"AP-NODO","title":"Caída del nodo","started_at":"`+started+`"}`, 201, &inc)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", fmt.Sprintf("/api/incidents/%d/visits", inc.ID),
		`{"address":"Caseta del nodo","lat":19.44,"lon":-99.14,"skills":["fiber"],"duration_min":60}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	li := `#queue li[data-visit="` + id + `"]`
	waitText(t, board, li, inc.Folio)
	waitText(t, board, li, "Reparación de falla general")
	clickNow(t, board, li+` button.link`)
	waitText(t, board, "#detail-incident", inc.Folio+" · Caída del nodo · AP-NODO")
	waitText(t, board, "#detail .timeline", "Visita creada")
	shot(t, board, "board-incident-visit")
	do(t, board, chromedp.Click(chromedp.ID("detail-close")))

	var sl struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+id+"/slots?from="+morning.Format(time.DateOnly)+"&days=1", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatal("no slots for the incident visit")
	}
	call(t, e, tok, "POST", "/api/visits/"+id+"/book", `{"start":"`+sl.Slots[0].Start+`","end":"`+sl.Slots[0].End+`"}`, 200, nil)
	block := fmt.Sprintf(`.track[data-tech="%d"] .block[data-visit="%s"]`, techID, id)
	pollTrue(t, board, `(() => { const b = document.querySelector('`+block+`'); return b !== null && b.getAttribute('aria-label').startsWith('`+inc.Folio+`'); })()`)
	pollTrue(t, board, `document.querySelector('`+li+`') === null`)

	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, tech, e.URL, "%2Ftech", "ana.nodo@example.mx")
	waitText(t, tech, "#route h2", inc.Folio)
	waitText(t, tech, "#route", "Reparación de falla general")
	step := func(label string) {
		t.Helper()
		pollTrue(t, tech, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === `+jsString(label)+`); if (!b) return false; b.click(); return true; })()`)
	}
	step("En camino")
	waitText(t, tech, "#route .badge", "En camino")
	step("Llegué")
	waitText(t, tech, "#route .badge", "En el domicilio")
	step("Completar")
	do(t, tech,
		chromedp.WaitVisible(chromedp.ID("cause")),
		sendKeys(chromedp.ID("cause"), "Fibra troncal cortada; se empalmó"),
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=yes]`)),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, tech, "#route .badge", "Completada")
	shot(t, tech, "tech-incident-visit")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d struct {
			Status string
			Visits []struct{ Status string }
		}
		call(t, e, tok, "GET", fmt.Sprintf("/api/incidents/%d", inc.ID), "", 200, &d)
		if len(d.Visits) == 1 && d.Visits[0].Status == "completed" {
			if d.Status != "open" {
				t.Fatalf("incident %s after its visit was completed, want open", d.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("incident visits = %+v after 30 s, want the one completed", d.Visits)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
