package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestBrowserBoardCustomerAsksForAnotherTime: two customers answer "2" (another time) by
// SMS: one whose visit is booked with a technician, one whose visit could not be
// completed. The board's queue listed only visits without a technician, so neither request
// reached a dispatcher. Now both come into the queue live, marked "Pide otra hora" with
// the time, first; the booked one leaves it when the dispatcher says it was dealt with,
// the not completed one when it is dropped on a technician and booked again.
func TestBrowserBoardCustomerAsksForAnotherTime(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	ana := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	visit := func(name, phone string) (id int64, folio string) {
		t.Helper()
		var tk struct{ Folio string }
		call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":%q,"phone":%q},
			"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, name, phone), 201, &tk)
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
		return v.ID, tk.Folio
	}
	booked, bookedFolio := visit("Rosa Reservada", "5511140001")
	failed, failedFolio := visit("Nora Ausente", "5511140002")
	for _, st := range []string{`{"status":"en_route"}`, `{"status":"not_completed","reason":"customer_absent"}`} {
		call(t, e, tok, "POST", fmt.Sprintf("/api/visits/%d/status", failed), st, 200, nil)
	}
	bookedID, failedID := strconv.FormatInt(booked, 10), strconv.FormatInt(failed, 10)

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, board, e.URL, "%2Fboard%3Fday%3D"+morning.Format(time.DateOnly), "disp@example.mx")
	pollTrue(t, board, `document.querySelector('.block[data-visit="`+bookedID+`"]') !== null`)
	// The visit that could not be done waits in the queue already (its customer was told he
	// would be called); the booked one does not.
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+failedID+`"][data-asks="false"]') !== null`)
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+bookedID+`"]') === null`)

	// The customers' "2", as the inbound text's transaction records it (cmd/despacho's
	// smsReplies): the event and the pending request, while the board is open.
	asked := morning.Add(5 * time.Minute)
	for _, r := range []struct {
		visit int64
		folio string
	}{{booked, bookedFolio}, {failed, failedFolio}} {
		err := e.Events.RunInTx(context.Background(), e.DB, func(ctx context.Context, tx bun.Tx) error {
			var reportID int64
			if err := tx.QueryRowContext(ctx, "SELECT report_id FROM visits WHERE id = ?", r.visit).Scan(&reportID); err != nil {
				return err
			}
			if err := e.Events.Append(ctx, tx, &dispatch.Event{Type: "visit.reschedule_requested", At: asked, Actor: "customer", Channel: "sms",
				ReportID: reportID, VisitID: r.visit}, map[string]string{"folio": r.folio}); err != nil {
				return err
			}
			return postgres.RequestReschedule(ctx, tx, r.visit, asked)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{bookedID, failedID} {
		waitText(t, board, `#queue li[data-visit="`+id+`"][data-asks="true"] .chip.asks`, "Pide otra hora · "+asked.Format("15:04"))
	}
	waitText(t, board, `#queue li[data-visit="`+bookedID+`"]`, "Ana Técnica")
	waitText(t, board, `#queue li[data-visit="`+failedID+`"]`, "No completada")
	shot(t, board, "queue-asks-1920")

	// The booked one: the dispatcher called, the customer keeps his window.
	clickNow(t, board, `#queue li[data-visit="`+bookedID+`"] [data-open]`)
	waitText(t, board, "#detail-asks", "Pide otra hora")
	waitText(t, board, "#book-open", "Elegir otro horario")
	clickNow(t, board, "#clear-ask")
	waitText(t, board, "#board-msg", "solicitud de otro horario atendida")
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+bookedID+`"]') === null`)

	// The not completed one: dropped on Ana, booked again.
	dragNow(t, board, `#queue li[data-visit="`+failedID+`"]`, `.track[data-tech="`+strconv.FormatInt(ana, 10)+`"]`)
	waitText(t, board, "#book-form", "Ana Técnica")
	clickNow(t, board, `#book-form input[name=slot]`)
	clickNow(t, board, "#book-btn")
	waitText(t, board, "#board-msg", "agendada con Ana Técnica")
	pollTrue(t, board, `document.querySelector('#queue li[data-visit="`+failedID+`"]') === null`)
	var got struct{ Status string }
	call(t, e, tok, "GET", "/api/visits/"+failedID, "", 200, &got)
	if got.Status != "booked" && got.Status != "assigned" {
		t.Fatalf("the not-completed visit after the drop is %s; want booked again", got.Status)
	}
}
