package pages_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserBookingClosedVisit: the SMS link to choose another time, opened once the visit
// can no longer be changed online. The technician sets out while the customer is choosing:
// his confirmation is refused (409), and the page says the visit can no longer be changed
// online and to call, instead of offering the windows again or asking him to refresh and
// retry (which could never work). Opened again, on site or after the visit, it says so at
// once, with no windows to pick. So does a report resolved while its visit was under way (the
// visit was then not completed) and a report whose visit was cancelled.
func TestBrowserBookingClosedVisit(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	day := morning.Format(time.DateOnly)
	booked := func(phone string) (folio, code, visit string) {
		t.Helper()
		var tk struct {
			Folio      string
			AccessCode string `json:"access_code"`
		}
		call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"`+phone+`"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, 201, &tk)
		var v struct{ ID int64 }
		call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
		visit = fmt.Sprintf("/api/visits/%d", v.ID)
		var sl struct{ Slots []struct{ Start, End string } }
		call(t, e, tok, "GET", visit+"/slots?from="+day+"&days=1", "", 200, &sl)
		if len(sl.Slots) == 0 {
			t.Fatalf("no windows on %s", day)
		}
		call(t, e, tok, "POST", visit+"/book", fmt.Sprintf(`{"start":%q,"end":%q}`, sl.Slots[0].Start, sl.Slots[0].End), 200, nil)
		return tk.Folio, tk.AccessCode, visit
	}
	cust := tab(t, true)
	do(t, cust, chromedp.EmulateViewport(360, 740))
	// closedSays waits for the page to say want instead of offering windows: no window to
	// pick, no button to confirm, no "refresh and try again", and a way back to the status.
	closedSays := func(want string) {
		t.Helper()
		waitText(t, cust, "#booking-closed", want)
		waitText(t, cust, "#booking-closed", "llámenos")
		pollTrue(t, cust, `document.querySelectorAll('#slots input, #slots-form button').length === 0 && !document.getElementById('booking-intro')`)
		if got := text(t, cust, "main"); containsAny(got, "Actualice", "intente de nuevo", "Intente de nuevo", "Elija otro") {
			t.Fatalf("the page asks to retry what can never work: %q", got)
		}
		pollTrue(t, cust, `/^\/estado\/[^/]+$/.test(new URL(document.querySelector('#booking a.button').href).pathname)`)
	}
	const lockedVisit = "ya no se puede cambiar en línea"

	// The technician sets out while the customer chooses.
	folio, code, visit := booked("5511112222")
	page := e.URL + "/estado/" + folio + "/horario?code=" + code
	do(t, cust, chromedp.Navigate(page))
	pollTrue(t, cust, `document.querySelectorAll('#slots input[name=slot]').length >= 1`)
	call(t, e, tok, "POST", visit+"/status", `{"status":"en_route"}`, 200, nil)
	do(t, cust,
		chromedp.Click(chromedp.CSS(`#slots label:last-of-type input`)),
		chromedp.Click(chromedp.CSS(`#slots-form button[type=submit]`)),
	)
	closedSays(lockedVisit)
	shot(t, cust, "booking-closed-360")

	// Opened again: said at once, on the way, on site and after the visit.
	for _, step := range []string{"", `{"status":"on_site"}`, `{"status":"completed","cause":"Conector dañado","verdict":"upheld","service_restored":true}`} {
		if step != "" {
			call(t, e, tok, "POST", visit+"/status", step, 200, nil)
		}
		do(t, cust, chromedp.Navigate(page))
		closedSays(lockedVisit)
	}

	// A report resolved while its technician was on the way, whose visit then could not be
	// completed: the visit could be booked again, but not for a resolved report.
	folio, code, visit = booked("5522223333")
	call(t, e, tok, "POST", visit+"/status", `{"status":"en_route"}`, 200, nil)
	call(t, e, tok, "POST", "/api/tickets/"+folio+"/transitions", `{"action":"resolve","cause":"Se restableció desde la central","verdict":"upheld","service_restored":true}`, 200, nil)
	call(t, e, tok, "POST", visit+"/status", `{"status":"not_completed","reason":"other"}`, 200, nil)
	do(t, cust, chromedp.Navigate(e.URL+"/estado/"+folio+"/horario?code="+code))
	closedSays("ya no se puede agendar en línea")

	// A visit cancelled: nothing to book.
	folio, code, visit = booked("5533334444")
	call(t, e, tok, "POST", visit+"/cancel", `{}`, 200, nil)
	do(t, cust, chromedp.Navigate(e.URL+"/estado/"+folio+"/horario?code="+code))
	closedSays("no tiene una visita por agendar")
}
