package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserAdminTimeOff: an admin records a technician's sick day on the admin page. An
// end before the start is refused beside the field; the absence is stored in the business
// zone and listed under the technician.
func TestBrowserAdminTimeOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	tok := token(t, e, "jefa@example.mx")
	id := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	zone, _ := time.LoadLocation("America/Mexico_City")
	day := time.Now().In(zone).AddDate(0, 0, 3).Format(time.DateOnly)
	next := time.Now().In(zone).AddDate(0, 0, 4).Format(time.DateOnly)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signInBrowser(t, ctx, e.URL, "%2Fadmin%23technicians", "jefa@example.mx")
	waitText(t, ctx, "#exc-list", "Sin ausencias próximas")
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("ex-start"), day+"T09:00"),
		chromedp.SetValue(chromedp.ID("ex-end"), day+"T08:00"),
		chromedp.SetValue(chromedp.ID("ex-reason"), "sick"),
		sendKeys(chromedp.ID("ex-note"), "Gripe"),
		chromedp.Click(chromedp.CSS(`#exc-form button[type=submit]`)),
	)
	waitText(t, ctx, "#err-end", "El fin debe ser después del inicio")
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("ex-end"), day+"T18:00"),
		chromedp.Click(chromedp.CSS(`#exc-form button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "Ausencia registrada")
	waitText(t, ctx, "#exc-list", "Enfermedad")
	waitText(t, ctx, "#exc-list", "Gripe")

	var got struct {
		Exceptions []struct {
			Start, End time.Time
			Reason     string
		}
	}
	call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10)+"/exceptions?from="+day+"&to="+next, "", 200, &got)
	want, _ := time.ParseInLocation("2006-01-02T15:04", day+"T09:00", zone)
	if len(got.Exceptions) != 1 || got.Exceptions[0].Reason != "sick" || !got.Exceptions[0].Start.Equal(want) ||
		!got.Exceptions[0].End.Equal(want.Add(9*time.Hour)) {
		t.Fatalf("exceptions = %+v, want one sick day from %v to %v", got.Exceptions, want, want.Add(9*time.Hour))
	}

	// Time off over a booked visit: the page says what the re-plan did with it (Ana is the
	// only technician, so it goes back to booking).
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa","phone":"5511112222"},"address":{"line":"Calle 5","lat":19.44,"lon":-99.14},"description":"Sin servicio"}`, 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	vid := strconv.FormatInt(v.ID, 10)
	var sl struct {
		Slots []struct{ Start, End time.Time }
	}
	from := time.Now().In(zone).AddDate(0, 0, 5).Format(time.DateOnly)
	call(t, e, tok, "GET", "/api/visits/"+vid+"/slots?from="+from+"&days=7", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatalf("no slots in the week from %s", from)
	}
	w := sl.Slots[0]
	call(t, e, tok, "POST", "/api/visits/"+vid+"/book", `{"start":"`+w.Start.Format(time.RFC3339)+`","end":"`+w.End.Format(time.RFC3339)+`"}`, 200, nil)
	booked := w.Start.In(zone).Format(time.DateOnly)
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("ex-start"), booked+"T07:00"),
		chromedp.SetValue(chromedp.ID("ex-end"), booked+"T21:00"),
		chromedp.SetValue(chromedp.ID("ex-reason"), "time_off"),
		chromedp.Click(chromedp.CSS(`#exc-form button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "0 pasan a otro técnico, 1 vuelven a agendarse, 0 siguen con él")
	var after struct{ Status string }
	call(t, e, tok, "GET", "/api/visits/"+vid, "", 200, &after)
	if after.Status != "unscheduled" {
		t.Errorf("visit after the time off over it: %s, want unscheduled (back to booking)", after.Status)
	}
}
