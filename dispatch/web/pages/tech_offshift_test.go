package pages_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserTechStopsSharingOffShift: on a day of time off the server refuses the phone's
// position (409 off_shift). The page used to swallow the refusal and post again at the next
// fix, all day long; now it stops watching the phone's position, says once, calmly, that he
// is off shift, and keeps his choice for his next shift. Ticking the box again tries once.
func TestBrowserTechStopsSharingOffShift(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	id := technician(t, e, tok, "Ana Técnica", ua.ID, 19.4326, -99.1332)
	now := time.Now()
	call(t, e, tok, "POST", fmt.Sprintf("/api/technicians/%d/exceptions", id),
		fmt.Sprintf(`{"start":%q,"end":%q,"reason":"time_off"}`, now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339)), 201, nil)

	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740))
	// Count the page's position posts (countPosts) and its geolocation watches started and
	// stopped.
	const spy = `(() => {
		window.__watches = 0; window.__clears = 0;
		const g = navigator.geolocation;
		if (!g) return;
		const watch = g.watchPosition.bind(g), clear = g.clearWatch.bind(g);
		g.watchPosition = (...a) => { window.__watches++; return watch(...a); };
		g.clearWatch = (id) => { window.__clears++; clear(id); };
	})()`
	lat, lon := 19.3950, -99.1480
	do(t, tech, countPosts(), beforeScripts(spy), geolocation(e.URL, lat, lon))
	signInBrowser(t, tech, e.URL, "%2Ftech", "ana.tec@example.mx")
	do(t, tech, chromedp.WaitVisible(chromedp.ID("share")), chromedp.Click(chromedp.ID("share")))

	offShift := `(() => { const p = document.getElementById('pending'); return !p.hidden && p.textContent.includes('fuera de turno') && !p.classList.contains('bad'); })()`
	pollTrue(t, tech, offShift+` && window.__posts === 1 && window.__watches === 1 && window.__clears === 1 && !document.getElementById('share').checked`)
	// The phone moves on: with its watch stopped, the page posts nothing more.
	for i := range 3 {
		do(t, tech, geolocation(e.URL, lat+0.01*float64(i+1), lon))
		time.Sleep(300 * time.Millisecond)
	}
	if n := evalJS[int](t, tech, `window.__posts`); n != 1 {
		t.Errorf("position posts after off_shift = %d, want 1: the page kept posting", n)
	}
	// His choice stays for the next shift.
	pollTrue(t, tech, `localStorage.getItem('despacho.tech.share') === '1'`)
	// Ticking the box again tries once, and stops again.
	do(t, tech, chromedp.Click(chromedp.ID("share")))
	pollTrue(t, tech, offShift+` && window.__posts === 2 && window.__watches === 2 && window.__clears === 2 && !document.getElementById('share').checked`)

	var got struct {
		Position *struct{ Lat, Lon float64 }
	}
	call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10), "", 200, &got)
	if got.Position != nil {
		t.Errorf("position of a technician on time off = %+v, want none", got.Position)
	}
}

// geolocation lets origin ask where the phone is and says it is at lat, lon.
func geolocation(origin string, lat, lon float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		c := chromedp.FromContext(ctx)
		if _, err := cdp.Call(ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: origin, BrowserContextID: c.BrowserContextID,
		}); err != nil {
			return err
		}
		acc := 10.0
		_, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc})
		return err
	})
}
