package pages_test

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserTechCauseCatalog: on the completion form the technician picks the cause from
// the catalog, which writes its text into the cause the customer is told; he adds to it,
// and the report is resolved with that text.
func TestBrowserTechCauseCatalog(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	e := newEnvAt(t, func() time.Time { return morning })
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	technician(t, e, tok, "Ana Técnica", ua.ID, 19.4326, -99.1332)
	folio, _ := bookedVisit(t, e, tok, morning.Format(time.DateOnly), "Sin señal")

	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740))
	signInBrowser(t, tech, e.URL, "%2Ftech", "ana.tec@example.mx")
	waitText(t, tech, "#route", folio)
	step := func(label string) {
		t.Helper()
		pollTrue(t, tech, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === `+jsString(label)+`); if (!b) return false; b.click(); return true; })()`)
	}
	step("En camino")
	waitText(t, tech, "#route .badge", "En camino")
	step("Llegué")
	waitText(t, tech, "#route .badge", "En el domicilio")
	step("Completar")
	const cause = "Conector de fibra sucio o dañado; se limpió o se cambió"
	do(t, tech,
		chromedp.WaitVisible(chromedp.ID("cause-pick")),
		chromedp.SetValue(chromedp.ID("cause-pick"), cause),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('cause-pick').dispatchEvent(new Event('change'))`),
	)
	pollTrue(t, tech, `document.getElementById('cause').value === `+jsString(cause))
	do(t, tech,
		sendKeys(chromedp.ID("cause"), " (caja de la calle)"),
		chromedp.Click(chromedp.CSS(`input[name=verdict][value=upheld]`)),
		chromedp.Click(chromedp.CSS(`input[name=restored][value=yes]`)),
		chromedp.Click(chromedp.ID("finish-send")),
	)
	waitText(t, tech, "#route .badge", "Completada")
	// The page shows the step at once and sends it (idempotently) behind: wait for it.
	want := cause + " (caja de la calle)"
	deadline := time.Now().Add(30 * time.Second)
	for {
		var rep struct {
			Status     string
			Resolution *struct{ Cause string }
		}
		call(t, e, tok, "GET", "/api/tickets/"+folio, "", 200, &rep)
		if rep.Status == "resolved" && rep.Resolution != nil && rep.Resolution.Cause == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("report after completion: status %s, resolution %+v; want resolved with %q", rep.Status, rep.Resolution, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserTechSharesPosition: a technician who ticks "share my position" sends where the
// phone's Geolocation API says he is; the API then has it for the board's map and ETAs.
func TestBrowserTechSharesPosition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ua := e.user(t, "ana.tec@example.mx", dispatch.RoleTechnician)
	tok := token(t, e, "disp@example.mx")
	id := technician(t, e, tok, "Ana Técnica", ua.ID, 19.4326, -99.1332)
	allDayShifts(t, e, tok, id) // the real clock: on shift whatever the hour

	tech := tab(t, true)
	do(t, tech, chromedp.EmulateViewport(360, 740))
	// The phone is in Narvarte, and the site may ask where it is.
	lat, lon, acc := 19.3950, -99.1480, 10.0
	do(t, tech, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		c := chromedp.FromContext(ctx)
		if _, err := cdp.Call(ctx, c.Browser, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: cdpbrowser.PermissionSettingGranted,
			Origin: e.URL, BrowserContextID: c.BrowserContextID,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc})
		return err
	}))
	signInBrowser(t, tech, e.URL, "%2Ftech", "ana.tec@example.mx")
	do(t, tech, chromedp.WaitVisible(chromedp.ID("share")), chromedp.Click(chromedp.ID("share")))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got struct {
			Position *struct{ Lat, Lon float64 }
		}
		call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10), "", 200, &got)
		if p := got.Position; p != nil && math.Abs(p.Lat-lat) < 1e-6 && math.Abs(p.Lon-lon) < 1e-6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("technician's position = %+v, want %v,%v from the phone", got.Position, lat, lon)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The choice is remembered on the phone.
	pollTrue(t, tech, `localStorage.getItem('despacho.tech.share') === '1' && document.getElementById('share').checked`)
}

// allDayShifts gives technician id shifts of 00:00–24:00 every day, so a test on the real
// clock finds him on shift at any hour (positions are taken only on shift).
func allDayShifts(t testing.TB, e *env, tok string, id int64) {
	t.Helper()
	var tech struct{ Version int }
	call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(id, 10), "", 200, &tech)
	var shifts []string
	for d := range 7 {
		shifts = append(shifts, fmt.Sprintf(`{"weekday":%d,"start":"00:00","end":"24:00"}`, d))
	}
	call(t, e, tok, "PATCH", "/api/technicians/"+strconv.FormatInt(id, 10),
		fmt.Sprintf(`{"shifts":[%s],"version":%d}`, strings.Join(shifts, ","), tech.Version), 200, nil)
}
