package pages_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTechSeesHisDayRetimed: a dispatcher books a visit that can only go before one
// of the technician's, which moves an hour later, and then gives that one to another
// technician. His phone reloads on his visits' events, but the visit taken from him names
// only its new technician: his page went on showing a stop that was no longer his.
// route.changed now tells it: the new time shows, then the stop goes, without a reload.
func TestBrowserTechSeesHisDayRetimed(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	visit := func(name, phone string, from, to time.Time) int64 {
		t.Helper()
		var tk struct{ Folio string }
		call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":%q,"phone":%q},
			"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin señal"}`, name, phone), 201, &tk)
		var v struct{ ID int64 }
		call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
		call(t, e, tok, "POST", fmt.Sprintf("/api/visits/%d/book", v.ID), fmt.Sprintf(`{"start":%q,"end":%q}`,
			from.Format(time.RFC3339), to.Format(time.RFC3339)), 200, nil)
		return v.ID
	}
	ten := morning.Add(2 * time.Hour)
	first := visit("Rosa Pérez", "5511112222", ten, ten.Add(4*time.Hour))
	arrival := func(id int64) time.Time {
		t.Helper()
		var v struct {
			PlannedArrival time.Time `json:"planned_arrival"`
		}
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
		return v.PlannedArrival.In(morning.Location())
	}
	was := arrival(first)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	stop := fmt.Sprintf(`#route li[data-visit="%d"]`, first)
	waitText(t, ctx, stop, "Llegada "+was.Format("15:04"))

	visit("Nora Díaz", "5511113333", ten, ten.Add(time.Hour)) // can only go first
	now := arrival(first)
	if !now.After(was) {
		t.Fatalf("set-up: the first visit still arrives at %s; want later", now.Format("15:04"))
	}
	waitText(t, ctx, stop, "Llegada "+now.Format("15:04"))

	pedro := technician(t, e, tok, "Pedro Otro", 0, 19.4426, -99.1432)
	var v struct{ Version int }
	call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(first, 10), "", 200, &v)
	call(t, e, tok, "POST", fmt.Sprintf("/api/visits/%d/assign", first), fmt.Sprintf(`{"technician_id":%d,"version":%d}`, pedro, v.Version), 200, nil)
	pollTrue(t, ctx, `document.querySelector('`+stop+`') === null && document.querySelector('#route li[data-visit]') !== null`)
}
