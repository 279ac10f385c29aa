package pages_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserPreloads: each page asks for the modules its script imports, at every depth,
// together with the script (rel=modulepreload, listed from the modules' own import
// statements), so that no module is found only once the module importing it has arrived:
// one round trip per level of imports on a phone. The technician's page asks for the route
// together with them, and tech.js's first fetch takes that answer instead of asking again.
func TestBrowserPreloads(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	u := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "jefa@example.mx")
	technician(t, e, tok, "Juan Técnico", u.ID, 19.4326, -99.1332)
	folio, _ := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")

	anon := tab(t, true)
	admin := tab(t, true)
	signInBrowser(t, admin, e.URL, "%2Fdesk", "jefa@example.mx")
	tech := tab(t, true)
	signInBrowser(t, tech, e.URL, "%2Ftech", "tec@example.mx")
	logs := map[context.Context]*requestLog{}
	for _, ctx := range []context.Context{anon, admin, tech} {
		logs[ctx] = &requestLog{}
		if err := chromedp.Listen(ctx, logs[ctx].event); err != nil {
			t.Fatal(err)
		}
	}
	pages := []struct {
		ctx         context.Context
		path, ready string
	}{
		{anon, "/reporte", "#report"},
		{anon, "/estado", "#lookup"},
		{anon, "/estado/" + folio + "/horario", "main"},
		{anon, "/login", "#login"},
		{admin, "/desk", "#ticket"},
		{admin, "/board?day=" + morning.Format(time.DateOnly), "#lanes .lane"},
		{admin, "/admin", "#user-rows tr"},
		{tech, "/tech", "#route .stop"},
	}
	for _, p := range pages {
		rec := logs[p.ctx]
		do(t, p.ctx, chromedp.Navigate("about:blank"), clearCache(e.URL))
		rec.start()
		do(t, p.ctx, chromedp.Navigate(e.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		reqs, warnings := rec.settle(t, p.ctx)
		for _, w := range warnings {
			t.Errorf("%s: browser log: %s", p.path, w)
		}
		preloads, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('link[rel=modulepreload]')].map((l) => l.href)`))
		if err != nil {
			t.Fatal(err)
		}
		var scripts []string
		for _, r := range reqs {
			if r.kind != "Script" {
				continue
			}
			scripts = append(scripts, r.path)
			if !strings.HasPrefix(r.initiator, "parser ") {
				t.Errorf("%s: %s was asked for by %s, not with the page: the layout does not preload it\n%s", p.path, r.path, r.initiator, chain(reqs))
			}
		}
		for _, m := range preloads {
			if !slices.Contains(scripts, shortURL(m)) {
				t.Errorf("%s: %s is preloaded but was not loaded\n%s", p.path, shortURL(m), chain(reqs))
			}
		}
		if len(scripts) != len(preloads)+1 {
			t.Errorf("%s: %d scripts loaded, want the page's and its %d preloads\n%s", p.path, len(scripts), len(preloads), chain(reqs))
		}
		routes := 0
		for _, r := range reqs {
			if strings.HasSuffix(r.path, "/route") {
				routes++
			}
		}
		if p.path != "/tech" {
			if routes != 0 {
				t.Errorf("%s asked for a route\n%s", p.path, chain(reqs))
			}
			continue
		}
		// The page's clock lists each request it made; a fetch that the preload answered
		// is not one.
		got, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/route')).map((r) => r.initiatorType)`))
		if err != nil {
			t.Fatal(err)
		}
		if routes != 1 || !slices.Equal(got, []string{"link"}) {
			t.Errorf("/tech: the route was asked for %d times, by %v; want once, by the page's preload\n%s", routes, got, chain(reqs))
		}
	}
	// The preload is used once: the next load of the route (a live event, a step sent)
	// asks the server again.
	pollTrue(t, tech, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'En camino'); if (!b) return false; b.click(); return true; })()`)
	pollTrue(t, tech, `performance.getEntriesByType('resource').filter((r) => r.name.endsWith('/route') && r.initiatorType === 'fetch').length > 0`)
	waitText(t, tech, "#route .badge", "En camino")
}
