package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// longVisit files a report for a customer with a long name and address at lat, lon, creates
// its 45-minute visit and books the first window of day; it returns the visit's id.
func longVisit(t testing.TB, e *env, tok, day string, n int, lat float64) int64 {
	t.Helper()
	name := fmt.Sprintf("María Guadalupe Hernández de la Fuente y Villaseñor, Construcciones Industriales del Bajío SA de CV (%d)", n)
	addr := "Avenida Insurgentes Sur 1234 Interior 56-B, Colonia Tlacoquemécatl del Valle, Alcaldía Benito Juárez, CP 03200, entre Eje 7 Sur y Eje 8 Sur, portón negro"
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":%q,"phone":"5511112222"},"address":{"line":%q,"lat":%f,"lon":-99.15},"description":"Sin servicio"}`, name, addr, lat), 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":45,"skills":["fiber"]}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)
	var sl struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+id+"/slots?from="+day+"&days=1", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatalf("no slots on %s", day)
	}
	call(t, e, tok, "POST", "/api/visits/"+id+"/book", `{"start":"`+sl.Slots[0].Start+`","end":"`+sl.Slots[0].End+`"}`, 200, nil)
	return v.ID
}

// nextStopOnScreen fails unless the stop of visit id is on the first screen of the page,
// unscrolled, heading to step buttons, and nothing on the page is wider than the phone.
func nextStopOnScreen(t testing.TB, ctx context.Context, id int64, where string) {
	t.Helper()
	type geometry struct {
		Inner, InnerW, PageW, Top, Bottom float64
		Buttons                           int
		Order                             string
	}
	js := fmt.Sprintf(`(() => {
		scrollTo(0, 0);
		const li = document.querySelector('#route li[data-visit="%d"]');
		const steps = li.querySelector('.steps');
		return { Inner: innerHeight, InnerW: innerWidth, PageW: document.documentElement.scrollWidth,
			Top: li.getBoundingClientRect().top, Bottom: (steps || li).getBoundingClientRect().bottom,
			Buttons: steps ? steps.querySelectorAll('button').length : 0,
			Order: [...document.querySelectorAll('#route li')].map((x) => x.querySelector('h2').textContent + ' ' + x.getBoundingClientRect().height.toFixed(0) + 'px').join(', ') };
	})()`, id)
	g, err := chromedp.Run(ctx, chromedp.Evaluate[geometry](js))
	if err != nil {
		t.Fatal(err)
	}
	if g.Buttons == 0 {
		t.Errorf("%s: the next stop has no step buttons", where)
	}
	if g.Top < 0 || g.Bottom > g.Inner {
		t.Errorf("%s: the next stop spans %.0f–%.0f px down the page, the phone shows 0–%.0f: he must scroll to find it (stops: %s)", where, g.Top, g.Bottom, g.Inner, g.Order)
	}
	if g.PageW > g.InnerW {
		t.Errorf("%s: the page is %.0f px wide on a %.0f px phone", where, g.PageW, g.InnerW)
	}
}

// TestBrowserTechNextStopOnScreen: on a 360x640 phone, a technician two stops into a day
// of long names and addresses sees his next stop, with its buttons, as the page opens.
// The stops done stayed first, full height, and pushed it three screens down. He takes it
// to "could not complete"; the one after it is then on the first screen, and the stops
// done are all still listed.
func TestBrowserTechNextStopOnScreen(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, techID := juanCrew(t, e)
	day := morning.Format(time.DateOnly)
	for i := range 4 {
		longVisit(t, e, tok, day, i+1, 19.40+float64(i)*0.005)
	}
	tt := token(t, e, "tec@example.mx")
	var r struct{ Visits []struct{ ID int64 } }
	call(t, e, tt, "GET", fmt.Sprintf("/api/technicians/%d/route", techID), "", 200, &r)
	if len(r.Visits) != 4 {
		t.Fatalf("route has %d visits, want 4", len(r.Visits))
	}
	for _, v := range r.Visits[:2] {
		vid := strconv.FormatInt(v.ID, 10)
		for _, body := range []string{`{"status":"en_route"}`, `{"status":"on_site"}`,
			`{"status":"completed","cause":"Conector dañado; se cambió","verdict":"upheld","service_restored":true}`} {
			call(t, e, tt, "POST", "/api/visits/"+vid+"/status", body, 200, nil)
		}
	}

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	pollTrue(t, ctx, `document.querySelectorAll('#route .stop').length === 4`)
	next := r.Visits[2].ID
	nextStopOnScreen(t, ctx, next, "two stops done")
	shot(t, ctx, "tech-next-stop")

	clickStep(t, ctx, "En camino")
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, next), "En camino")
	clickStep(t, ctx, "Llegué")
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, next), "En el domicilio")
	clickStep(t, ctx, "No se pudo completar")
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("reason")))
	if opts := text(t, ctx, "#reason"); opts == "" || containsAny(opts, "customer_absent", "no_access", "needs_parts") {
		t.Errorf("reasons offered = %q, want them in Spanish", opts)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("reason"), "customer_absent"),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, ctx, fmt.Sprintf(`#route li[data-visit="%d"] .badge`, next), "No completada")
	pollTrue(t, ctx, `document.querySelectorAll('#pending:not([hidden])').length === 0`)
	nextStopOnScreen(t, ctx, r.Visits[3].ID, "three stops done")
	for _, v := range r.Visits {
		pollTrue(t, ctx, fmt.Sprintf(`!!document.querySelector('#route li[data-visit="%d"]')`, v.ID))
	}
}
