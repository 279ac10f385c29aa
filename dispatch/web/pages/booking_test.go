package pages_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserCustomerBooking: the customer follows the SMS link to pick another window on a
// phone-sized screen. Confirming without a choice is refused on the page; the chosen window
// is booked (the API agrees) and the status page then shows it. A wrong code shows the
// page's own message, no windows and no raw error, and nothing changes.
func TestBrowserCustomerBooking(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	var tk struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	visit := fmt.Sprintf("/api/visits/%d", v.ID)
	var slots struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", visit+"/slots?from="+morning.Format(time.DateOnly)+"&days=1", "", 200, &slots)
	if len(slots.Slots) < 2 {
		t.Fatalf("%d windows today, want two or more", len(slots.Slots))
	}
	first := slots.Slots[0]
	// Before any window is booked, the status page offers to choose one (not "another").
	early := tab(t, true)
	do(t, early, chromedp.EmulateViewport(360, 740))
	do(t, early, chromedp.Navigate(e.URL+"/estado/"+tk.Folio+"?code="+tk.AccessCode))
	waitText(t, early, "main a.button", "Elegir horario de visita")
	// The booking page too: a first choice, not "another" one.
	do(t, early, chromedp.Navigate(e.URL+"/estado/"+tk.Folio+"/horario?code="+tk.AccessCode))
	waitText(t, early, "main h1", "Elegir horario de visita")
	call(t, e, tok, "POST", visit+"/book", fmt.Sprintf(`{"start":%q,"end":%q}`, first.Start, first.End), 200, nil)

	// A wrong code: the page's message, no windows, nothing booked.
	cust := tab(t, true)
	do(t, cust, chromedp.EmulateViewport(360, 740))
	do(t, cust, chromedp.Navigate(e.URL+"/estado/"+tk.Folio+"/horario?code=AAAAAAAAAAAAA"))
	waitText(t, cust, "#slots-form .form-error", "El folio o el código no coinciden")
	pollTrue(t, cust, `document.querySelectorAll('#slots input[name=slot]').length === 0 && !/[{}]|error/i.test(document.querySelector('main').textContent)`)

	do(t, cust, chromedp.Navigate(e.URL+"/estado/"+tk.Folio+"/horario?code="+tk.AccessCode))
	pollTrue(t, cust, `document.querySelectorAll('#slots input[name=slot]').length >= 2`)
	// The window he holds is named: the 30 offered read as if he had none.
	firstAt, _ := time.Parse(time.RFC3339, first.Start)
	waitText(t, cust, "#booking-current", firstAt.In(morning.Location()).Format("15:04"))
	do(t, cust, chromedp.Click(chromedp.CSS(`#slots-form button[type=submit]`)))
	waitText(t, cust, "#slots-form .form-error", "Elija un horario")
	// The last window offered: another than the one booked.
	var start string
	if err := chromedp.Do(cust,
		chromedp.Click(chromedp.CSS(`#slots label:last-of-type input`)),
	); err != nil {
		t.Fatal(err)
	}
	start, err := chromedp.Run(cust, chromedp.Evaluate[string](`document.querySelector('#slots input[name=slot]:checked').dataset.start`))
	if err != nil || start == first.Start {
		t.Fatalf("picked %q (%v), want another window than %s", start, err, first.Start)
	}
	do(t, cust, chromedp.Click(chromedp.CSS(`#slots-form button[type=submit]`)))
	waitText(t, cust, "#booking .banner", "Listo: su visita quedó agendada")
	shot(t, cust, "booked-360")
	var got struct {
		Window struct{ Start time.Time }
	}
	call(t, e, tok, "GET", visit, "", 200, &got)
	want, _ := time.Parse(time.RFC3339, start)
	if !got.Window.Start.Equal(want) {
		t.Fatalf("window after the customer's choice starts %v, want %v", got.Window.Start, want)
	}
	// Back to the status page, which shows the new window.
	do(t, cust, chromedp.Click(chromedp.CSS(`#booking a.button`)))
	loc, _ := time.LoadLocation("America/Mexico_City")
	waitText(t, cust, "#st-window", want.In(loc).Format("15:04"))
	if h, _ := chromedp.Run(cust, chromedp.Evaluate[string](`location.pathname + location.search`)); !strings.HasPrefix(h, "/estado/"+tk.Folio+"?code=") {
		t.Fatalf("back link went to %s", h)
	}
}
