package pages_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardDetailPinOptimise: a booked visit's detail on the board shows its report's
// text messages (the folio text and the appointment text, sent by the worker); the
// dispatcher pins the visit from the detail and unpins it again, each time the API agrees
// and the block says so; "optimise day" answers with the page's message, and the pinned
// visit stays with its technician.
func TestBrowserBoardDetailPinOptimise(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sendTexts(t)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	technician(t, e, tok, "Beto Técnico", 0, 19.4200, -99.1500)

	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)
	zone, _ := time.LoadLocation("America/Mexico_City")
	var slots struct {
		Slots []struct{ Start, End time.Time }
	}
	call(t, e, tok, "GET", "/api/visits/"+id+"/slots?from="+time.Now().In(zone).Format(time.DateOnly)+"&days=3", "", 200, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no window in three days")
	}
	w := slots.Slots[0]
	var booked struct {
		TechnicianID int64 `json:"technician_id"`
	}
	call(t, e, tok, "POST", "/api/visits/"+id+"/book", fmt.Sprintf(`{"start":%q,"end":%q}`, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)), 200, &booked)
	day := w.Start.In(zone).Format(time.DateOnly)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	block := `.block[data-visit="` + id + `"]`
	clickNow(t, board, block)
	waitText(t, board, "#detail-body", "Mensajes SMS")
	// The worker sends the texts in the background: open the detail again until both show.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := chromedp.Run(board, chromedp.Evaluate[string](`(document.getElementById('detail-sms') || {}).textContent || ''`))
		if err == nil && strings.Contains(got, "SMS enviado · folio") && strings.Contains(got, "SMS enviado · cita agendada") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("detail's texts = %q, want the folio and the appointment texts sent", got)
		}
		time.Sleep(500 * time.Millisecond)
		do(t, board, chromedp.Click(chromedp.ID("detail-close")))
		clickNow(t, board, block)
		waitText(t, board, "#detail-body", "Mensajes SMS")
	}
	shot(t, board, "detail-sms")

	// Pin, then unpin, from the detail.
	pinned := func(want bool) {
		t.Helper()
		var got struct{ Pinned bool }
		call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &got)
		if got.Pinned != want {
			t.Fatalf("visit pinned = %v, want %v", got.Pinned, want)
		}
	}
	waitText(t, board, "#pin-btn", "Fijar")
	do(t, board, chromedp.Click(chromedp.ID("pin-btn")))
	pollTrue(t, board, `!!document.querySelector('`+block+`.pinned') && document.querySelector('`+block+`').getAttribute('aria-label').includes('Fijada')`)
	pinned(true)
	clickNow(t, board, block)
	waitText(t, board, "#detail-body", "Mensajes SMS") // loaded: nothing moves under the click
	waitText(t, board, "#pin-btn", "Soltar")
	do(t, board, chromedp.Click(chromedp.ID("pin-btn")))
	pollTrue(t, board, `!!document.querySelector('`+block+`') && !document.querySelector('`+block+`.pinned')`)
	pinned(false)

	// Pinned again, the day is optimised and the visit stays with its technician.
	clickNow(t, board, block)
	waitText(t, board, "#detail-body", "Mensajes SMS")
	do(t, board, chromedp.WaitVisible(chromedp.ID("pin-btn")), chromedp.Click(chromedp.ID("pin-btn")))
	pollTrue(t, board, `!!document.querySelector('`+block+`.pinned')`)
	// The board says it is optimising until the answer comes. With only this visit, pinned,
	// there is nothing to search and the answer can come before a poll sees that message
	// (CI on a fast VM): every message shown from the click on is recorded instead.
	evalJS[bool](t, board, `(() => {
		window.__msgs = [];
		new MutationObserver((ms) => { for (const m of ms) for (const n of m.addedNodes) window.__msgs.push(n.textContent); })
			.observe(document.getElementById('board-msg'), { childList: true });
		return true;
	})()`)
	do(t, board, chromedp.Click(chromedp.ID("optimise")))
	waitText(t, board, "#board-msg", "Día optimizado")
	pollTrue(t, board, `window.__msgs.some((m) => m.includes('Optimizando el día'))`)
	var after struct {
		TechnicianID int64 `json:"technician_id"`
		Pinned       bool
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &after)
	if after.TechnicianID != booked.TechnicianID || !after.Pinned || after.TechnicianID == 0 {
		t.Fatalf("after optimising: technician %d pinned %v; want %d, pinned", after.TechnicianID, after.Pinned, booked.TechnicianID)
	}
	pollTrue(t, board, `!!document.querySelector('.track[data-tech="`+strconv.FormatInt(after.TechnicianID, 10)+`"] `+block+`')`)
}
