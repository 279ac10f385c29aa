package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardQueue: a visit that still needs a window waits in the board's queue with
// its folio; dragged onto a technician it opens the booking of a window, and once booked it
// is on that technician's time line.
func TestBrowserBoardQueue(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	techB := technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500)
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	waitText(t, board, "#queue", tk.Folio)
	waitText(t, board, `#queue li[data-visit="`+id+`"]`, "Sin horario")
	waitText(t, board, `#queue li[data-visit="`+id+`"]`, "Rosa Pérez")
	shot(t, board, "queue-1920")
	dragNow(t, board, `#queue li[data-visit="`+id+`"]`, `.track[data-tech="`+strconv.FormatInt(techB, 10)+`"]`)
	waitText(t, board, "#book-form", "Beto Técnico")
	do(t, board,
		chromedp.WaitVisible(chromedp.CSS(`#book-form input[name=slot]`)),
		chromedp.Click(chromedp.ID("book-btn")),
	)
	waitText(t, board, "#book-form .form-error", "Elija un horario")
	do(t, board,
		chromedp.Click(chromedp.CSS(`#book-form input[name=slot]`)),
		chromedp.Click(chromedp.ID("book-btn")),
	)
	waitText(t, board, "#board-msg", "agendada con Beto Técnico")
	pollTrue(t, board, `document.querySelector('.track[data-tech="`+strconv.FormatInt(techB, 10)+`"] .block[data-visit="`+id+`"]') !== null`)
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+id+`"]') === null`)
	var got struct {
		Status       string
		TechnicianID int64 `json:"technician_id"`
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &got)
	if got.TechnicianID != techB || (got.Status != "booked" && got.Status != "assigned") {
		t.Fatalf("visit after the drop = %+v, want booked with Beto (%d)", got, techB)
	}
}
