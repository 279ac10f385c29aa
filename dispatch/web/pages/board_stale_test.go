package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardDetailStale: a dispatcher opens a visit's detail (it is Ana's); meanwhile
// another dispatcher gives the visit to Beto, and the first one's board redraws live behind
// the open detail. Choosing Carla in that detail and pressing "Asignar" must not silently
// undo his colleague's change: the API answers 409 stale_version, the board says someone
// else changed the visit, and the visit stays with Beto. (The detail used to send the
// version of the visit as the board had last reloaded it, not as the detail showed it.)
func TestBrowserBoardDetailStale(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	e.user(t, "disp2@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	tok2 := token(t, e, "disp2@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	beto := technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500)
	carla := technician(t, e, tok, "Carla Técnica", 0, 19.4100, -99.1600)
	day := morning.Format(time.DateOnly)
	_, vid := bookedVisit(t, e, tok, day, "Sin señal")
	id := strconv.FormatInt(vid, 10)
	var v struct {
		TechnicianID int64 `json:"technician_id"`
		Version      int
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	if v.TechnicianID != ana {
		// Make it Ana's, so that the test reads the same whatever the booking chose.
		call(t, e, tok, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, ana, v.Version), 200, nil)
	}

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	lane := func(tech int64) string {
		return `.track[data-tech="` + strconv.FormatInt(tech, 10) + `"] .block[data-visit="` + id + `"]`
	}
	pollTrue(t, board, `!!document.querySelector('`+lane(ana)+`')`)
	pollTrue(t, board, `document.getElementById('live-state').classList.contains('live')`)
	clickNow(t, board, lane(ana))
	pollTrue(t, board, `document.getElementById('move-to')?.value === '`+strconv.FormatInt(ana, 10)+`'`)

	// The other dispatcher gives it to Beto; the board redraws behind the open detail.
	call(t, e, tok2, "GET", "/api/visits/"+id, "", 200, &v)
	call(t, e, tok2, "POST", "/api/visits/"+id+"/assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, beto, v.Version), 200, nil)
	pollTrue(t, board, `!!document.querySelector('`+lane(beto)+`')`)
	pollTrue(t, board, `document.getElementById('detail').open`)

	do(t, board, chromedp.SetValue(chromedp.ID("move-to"), strconv.FormatInt(carla, 10)), chromedp.Click(chromedp.ID("move-btn")))
	waitText(t, board, "#board-msg", "Alguien más cambió esta visita")
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &v)
	if v.TechnicianID != beto {
		t.Fatalf("visit's technician = %d, want Beto's %d (the other dispatcher's change kept; Carla is %d)", v.TechnicianID, beto, carla)
	}
	pollTrue(t, board, `!!document.querySelector('`+lane(beto)+`')`)
}
