package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepsOnScreen fails unless the step buttons want of the stop of visit id are all within
// the phone's 360x640 screen (the page unscrolled), clear of the pending count, and the page
// is no wider than the phone.
func stepsOnScreen(t testing.TB, ctx context.Context, id int64, where string, want ...string) {
	t.Helper()
	type box struct {
		Label                    string
		Top, Bottom, Left, Right float64
	}
	type geometry struct {
		PageW, InnerW, InnerH float64
		Buttons               []box
		Pending               *box
	}
	js := fmt.Sprintf(`(() => {
		scrollTo(0, 0);
		const b = (e) => { const r = e.getBoundingClientRect(); return { Label: e.textContent.trim(), Top: r.top, Bottom: r.bottom, Left: r.left, Right: r.right }; };
		const p = document.getElementById('pending');
		return { PageW: document.documentElement.scrollWidth, InnerW: innerWidth, InnerH: innerHeight,
			Buttons: [...document.querySelectorAll('#route li[data-visit="%d"] .steps button')].map(b),
			Pending: p.hidden ? null : b(p) };
	})()`, id)
	g, err := chromedp.Run(ctx, chromedp.Evaluate[geometry](js))
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, b := range g.Buttons {
		labels = append(labels, b.Label)
		if b.Top < 0 || b.Bottom > 640 || b.Left < 0 || b.Right > 360 {
			t.Errorf("%s: %q spans x %.0f–%.0f, y %.0f–%.0f: off the 360x640 screen", where, b.Label, b.Left, b.Right, b.Top, b.Bottom)
		}
		if p := g.Pending; p != nil && b.Bottom > p.Top && b.Top < p.Bottom {
			t.Errorf("%s: the pending count (%.0f–%.0f px) covers %q (%.0f–%.0f px)", where, p.Top, p.Bottom, b.Label, b.Top, b.Bottom)
		}
	}
	if strings.Join(labels, "|") != strings.Join(want, "|") {
		t.Errorf("%s: the next stop offers %q, want %q", where, labels, want)
	}
	if g.PageW > 360 || g.InnerH != 640 {
		t.Errorf("%s: the page is %.0f px wide (window %.0fx%.0f), want it no wider than the 360 px phone", where, g.PageW, g.InnerW, g.InnerH)
	}
}

// TestBrowserTechLongTextOffline: on a 360x640 phone without signal, a customer's name of
// 120 characters without a space and a long address must wrap inside the next stop, whose
// steps stay on the first screen under the offline banner, and the page never scrolls
// sideways. The name and address came before the steps and pushed "En camino", "Llegué"
// and "No se pudo completar" below the fold.
func TestBrowserTechLongTextOffline(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	tok, _, _ := juanCrew(t, e)
	day := morning.Format(time.DateOnly)
	name := string([]rune(strings.Repeat("VillaseñorHernández", 7))[:120])
	addr := "Avenida Insurgentes Sur 1234 Interior 56-B, Colonia Tlacoquemécatl del Valle, Alcaldía Benito Juárez, CP 03200, entre Eje 7 Sur y Eje 8 Sur, portón negro, tocar dos veces " +
		strings.Repeat("X", 60)
	var tk struct{ Folio string }
	call(t, e, tok, "POST", "/api/tickets", fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":%q,"phone":"5511112222"},"address":{"line":%q,"lat":19.44,"lon":-99.14},"description":"Sin servicio"}`, name, addr), 201, &tk)
	var v struct{ ID int64 }
	call(t, e, tok, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &v)
	id := strconv.FormatInt(v.ID, 10)
	var sl struct{ Slots []struct{ Start, End string } }
	call(t, e, tok, "GET", "/api/visits/"+id+"/slots?from="+day+"&days=1", "", 200, &sl)
	if len(sl.Slots) == 0 {
		t.Fatalf("no slots on %s", day)
	}
	call(t, e, tok, "POST", "/api/visits/"+id+"/book", `{"start":"`+sl.Slots[0].Start+`","end":"`+sl.Slots[0].End+`"}`, 200, nil)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(360, 640))
	signInBrowser(t, ctx, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", tk.Folio)
	do(t, ctx, offline(true))
	waitText(t, ctx, "#conn", "Sin conexión")
	stepsOnScreen(t, ctx, v.ID, "booked, offline", "En camino")
	shot(t, ctx, "tech-long-text-offline")

	badge := fmt.Sprintf(`#route li[data-visit="%d"] .badge`, v.ID)
	clickStep(t, ctx, "En camino")
	waitText(t, ctx, badge, "En camino")
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	stepsOnScreen(t, ctx, v.ID, "en route, offline", "Llegué", "No se pudo completar")
	clickStep(t, ctx, "Llegué")
	waitText(t, ctx, badge, "En el domicilio")
	waitText(t, ctx, "#pending", "2 acciones pendientes de enviar")
	stepsOnScreen(t, ctx, v.ID, "on site, offline", "Completar", "No se pudo completar")
	shot(t, ctx, "tech-long-text-on-site")
}
