package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardAgentControls: an agent sees the board but may not move, pin or optimise
// (the API answers him 403): the page offers him none of it — no "optimise day", no "assign
// to" or pin in a visit's detail, no dragging — and still lets him book an unscheduled
// visit, whose dialog reads whole without a technician chosen. A dispatcher gets them all.
func TestBrowserBoardAgentControls(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	disp := token(t, e, "disp@example.mx")
	agent := token(t, e, "agente@example.mx")
	technician(t, e, disp, "Juan Técnico", 0, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	_, booked := bookedVisit(t, e, agent, day, "Sin señal")
	var tk struct{ Folio string }
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Olga Espera","phone":"5511119999"},
		"address":{"line":"Calle 9 #1","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
	var waiting struct{ ID int64 }
	call(t, e, agent, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &waiting)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 800))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+day, "agente@example.mx")
	block := `.block[data-visit="` + strconv.FormatInt(booked, 10) + `"]`
	pollTrue(t, board, `document.querySelector('`+block+`') !== null`)
	pollTrue(t, board, `document.getElementById('optimise') === null && document.querySelector('`+block+`').getAttribute('draggable') === 'false'`)
	clickNow(t, board, block)
	waitText(t, board, "#detail-body", "Juan")
	pollTrue(t, board, `!document.getElementById('move-btn') && !document.getElementById('pin-btn') && !document.getElementById('move-to')`)
	do(t, board, chromedp.Evaluate[chromedp.Void](`document.getElementById('detail').close()`))

	// The unscheduled one: he may book it, and the dialog names no missing technician.
	item := `#queue li[data-visit="` + strconv.FormatInt(waiting.ID, 10) + `"]`
	pollTrue(t, board, `document.querySelector('`+item+`') !== null`)
	clickNow(t, board, item+" [data-open]")
	pollTrue(t, board, `!!document.getElementById('book-open')`)
	do(t, board, chromedp.Click(chromedp.ID("book-open")))
	waitText(t, board, "#book-form", "Elija el horario de "+tk.Folio+".")
	pollTrue(t, board, `!/para \./.test(document.getElementById('book-form').textContent)`)

	// A dispatcher's board has them.
	other := tab(t, true)
	do(t, other, chromedp.EmulateViewport(1366, 800))
	signInBrowser(t, other, e.URL, "%2Fboard%3Fday%3D"+day, "disp@example.mx")
	pollTrue(t, other, `document.getElementById('optimise') !== null && document.querySelector('`+block+`')?.getAttribute('draggable') === 'true'`)
	clickNow(t, other, block)
	pollTrue(t, other, `!!document.getElementById('move-btn') && !!document.getElementById('pin-btn')`)
}
