package pages_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardIncident is issue 9's "the board shows incidents on the map with their
// access point's customers": with the board open, a dispatcher opens an incident on an
// access point through the API; the live event redraws the map with the incident (its folio
// by its customers) and its two customers — the one who reported filled, the one who did not
// hollow — and not the customer of another access point, and the activity list names the
// opening; resolving the incident takes it off the map, live again.
func TestBrowserBoardIncident(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	customer := func(kind, name, phone, ap string, lat float64) (folio string, id int64) {
		t.Helper()
		var tk struct {
			Folio    string
			Customer struct{ ID int64 }
		}
		call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":%q,"customer":{"name":%q,"phone":%q,"access_point":%q,"plan_price":300},
			"address":{"line":"Calle %s","lat":%v,"lon":-99.14},"description":"Sin señal"}`, kind, name, phone, ap, name, lat), 201, &tk)
		return tk.Folio, tk.Customer.ID
	}
	_, reporter := customer("fault", "Rosa", "5511112001", "AP-BOARD", 19.44)
	_, quiet := customer("inquiry", "Quino", "5511112002", "AP-BOARD", 19.45)
	_, other := customer("fault", "Otto", "5511112003", "AP-OTRO", 19.46)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard", "disp@example.mx")
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	pollTrue(t, board, `document.querySelector('#map svg') !== null && document.querySelector('#map g.incident') === null`)

	var inc struct {
		ID    int64
		Folio string
	}
	started := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	call(t, e, tok, "POST", "/api/incidents", `{"access_point":"AP-BOARD","title":"Caída del nodo","started_at":"`+started+`"}`, 201, &inc)
	g := fmt.Sprintf(`#map g.incident[data-incident="%d"]`, inc.ID)
	pollTrue(t, board, `(() => { const g = document.querySelector('`+g+`'); return g && g.querySelectorAll('rect.incident-customer').length === 2; })()`)
	pollTrue(t, board, fmt.Sprintf(`document.querySelector('%s rect[data-customer="%d"]').getAttribute('fill') === '#b3261e'`, g, reporter))
	pollTrue(t, board, fmt.Sprintf(`document.querySelector('%s rect[data-customer="%d"]').getAttribute('fill') === '#fff'`, g, quiet))
	pollTrue(t, board, fmt.Sprintf(`document.querySelector('#map rect[data-customer="%d"]') === null`, other))
	pollTrue(t, board, `document.querySelector('`+g+` text').textContent === '`+inc.Folio+`'`)
	waitText(t, board, "#activity", "Falla general abierta · "+inc.Folio)
	shot(t, board, "board-incident")

	restored := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	call(t, e, tok, "POST", fmt.Sprintf("/api/incidents/%d/resolve", inc.ID), `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+restored+`"}`, 200, nil)
	pollTrue(t, board, `document.querySelector('#map g.incident') === null`)
}
