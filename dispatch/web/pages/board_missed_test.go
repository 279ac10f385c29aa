package pages_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBoardMissedWindow: a visit booked for the first window of the day whose window
// went by with nobody setting out stayed a booked block on the technician's line, in no
// queue, so nobody called the customer who had waited. It now waits in the queue marked
// "Ventana incumplida", and dropping it on a technician offers the windows left, as for a
// visit that needs one; once booked again it leaves the queue.
func TestBrowserBoardMissedWindow(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	var now atomic.Int64
	now.Store(morning.UnixNano())
	e := newEnvAt(t, func() time.Time { return time.Unix(0, now.Load()) })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Esperó","phone":"5511150001"},
		"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	var ss struct {
		Slots []struct{ Start, End time.Time }
	}
	call(t, e, tok, "GET", fmt.Sprintf("/api/visits/%d/slots?from=%s&days=1", v.ID, morning.Format(time.DateOnly)), "", 200, &ss)
	if len(ss.Slots) == 0 {
		t.Fatal("no slots today")
	}
	s := ss.Slots[0]
	call(t, e, tok, "POST", fmt.Sprintf("/api/visits/%d/book", v.ID), fmt.Sprintf(`{"start":%q,"end":%q}`, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339)), 200, nil)
	// The window goes by; nobody set out.
	now.Store(s.End.Add(time.Minute).UnixNano())
	id := strconv.FormatInt(v.ID, 10)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+id+`"][data-missed="true"]') !== null`)
	waitText(t, board, `#queue li[data-visit="`+id+`"] .chip.missed`, "Ventana incumplida")

	dragNow(t, board, `#queue li[data-visit="`+id+`"]`, `.track[data-tech="`+strconv.FormatInt(ana, 10)+`"]`)
	waitText(t, board, "#book-form", "Ana Técnica")
	clickNow(t, board, `#book-form input[name=slot]`)
	clickNow(t, board, "#book-btn")
	waitText(t, board, "#board-msg", "agendada con Ana Técnica")
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+id+`"]') === null`)
	var got struct {
		Status string
		Window struct{ Start time.Time }
	}
	call(t, e, tok, "GET", "/api/visits/"+id, "", 200, &got)
	if !got.Window.Start.After(s.End) {
		t.Fatalf("the missed visit after the drop has window %v; want one after the missed one (%v)", got.Window.Start, s.End)
	}
}
