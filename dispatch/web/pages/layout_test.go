package pages_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserLayouts opens every page on a 360 px phone and a 1920 px desktop: the page
// itself never scrolls sideways (wide tables and time lines scroll inside their own box),
// and nothing is wider than the screen.
func TestBrowserLayouts(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "jefa@example.mx")
	technician(t, e, tok, "Juan Técnico", u.ID, 19.4326, -99.1332)
	folio, _ := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal desde ayer por la tarde, ya reinicié el módem varias veces")

	anon := tab(t, true)
	admin := tab(t, true)
	signInBrowser(t, admin, e.URL, "%2Fdesk", "jefa@example.mx")
	waitText(t, admin, "main", "Nuevo reporte")
	tech := tab(t, true)
	signInBrowser(t, tech, e.URL, "%2Ftech", "tec@example.mx")
	waitText(t, tech, "#route", folio)
	pages := []struct {
		ctx   context.Context
		path  string
		ready string
	}{
		{anon, "/reporte", "#report"},
		{anon, "/estado", "#lookup"},
		{anon, "/login", "#login"},
		{admin, "/desk", "#ticket"},
		{admin, "/board?day=" + morning.Format(time.DateOnly), "#lanes .lane"},
		{admin, "/admin", "#user-rows tr"},
		{tech, "/tech", "#route .stop"},
	}
	for _, width := range []int64{360, 1920} {
		for _, p := range pages {
			do(t, p.ctx, chromedp.EmulateViewport(width, 800), chromedp.Navigate(e.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			time.Sleep(300 * time.Millisecond) // scripts fill the page after the first element
			over, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(() => {
				const w = document.documentElement.clientWidth;
				if (document.documentElement.scrollWidth > w) {
					const wide = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > w + 1 && !el.parentElement.closest('.table-wrap, .lanes-wrap'));
					return document.documentElement.scrollWidth + ' > ' + w + ': ' + wide.slice(0, 5).map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className).join(', ');
				}
				return '';
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if over != "" {
				shot(t, p.ctx, fmt.Sprintf("overflow-%d-%s", width, strings.NewReplacer("/", "", "?", "-").Replace(p.path)))
				t.Errorf("%s at %d px scrolls sideways: %s", p.path, width, over)
			}
		}
	}
}
