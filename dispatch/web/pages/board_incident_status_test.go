package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardIncidentStatusInSpanish: the detail of an outage repair visit on the
// board says the outage's state in the page's language. It showed the API's code, "open",
// on a Spanish page.
func TestBrowserBoardIncidentStatusInSpanish(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	var inc struct {
		ID    int64
		Folio string
	}
	started := morning.Add(-time.Hour).UTC().Format(time.RFC3339)
	call(t, e, tok, "POST", "/api/incidents", `{"access_point":"AP-NODO","title":"Caída del nodo","started_at":"`+started+`"}`, 201, &inc)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", fmt.Sprintf("/api/incidents/%d/visits", inc.ID),
		`{"address":"Caseta del nodo","lat":19.44,"lon":-99.14,"skills":["fiber"],"duration_min":60}`, 201, &v)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 768))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	li := `#queue li[data-visit="` + strconv.FormatInt(v.ID, 10) + `"]`
	waitText(t, board, li, inc.Folio)
	clickNow(t, board, li+` button.link`)
	waitText(t, board, "#detail-incident", inc.Folio)
	if got := text(t, board, "#detail-incident dd:last-child"); got != "En reparación" {
		t.Errorf("outage state in the detail = %q, want %q", got, "En reparación")
	}
}
