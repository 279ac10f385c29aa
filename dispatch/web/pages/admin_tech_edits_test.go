package pages_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserAdminTechnicianEdits: what an admin has typed in a technician's form is not
// lost when he records time off below it (the page used to draw the whole technician again
// from what it had loaded), and a colleague's change made meanwhile is not undone unseen by
// the page's save: the API refuses the stale version, and the page says so and keeps what
// was typed; loading the saved technician shows the colleague's change, and saving over it
// is a choice the admin makes.
func TestBrowserAdminTechnicianEdits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	tok := token(t, e, "jefa@example.mx")
	id := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)
	path := "/api/technicians/" + strconv.FormatInt(id, 10)
	zone, _ := time.LoadLocation("America/Mexico_City")
	day := time.Now().In(zone).AddDate(0, 0, 3).Format(time.DateOnly)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signInBrowser(t, ctx, e.URL, "%2Fadmin%23technicians", "jefa@example.mx")
	waitText(t, ctx, "#exc-list", "Sin ausencias próximas")
	do(t, ctx,
		clear("tf-name"),
		sendKeys(chromedp.ID("tf-name"), "Ana María Técnica"),
		chromedp.SetValue(chromedp.ID("sh-3-start"), "10:00"),
		chromedp.SetValue(chromedp.ID("ex-start"), day+"T09:00"),
		chromedp.SetValue(chromedp.ID("ex-end"), day+"T18:00"),
		chromedp.Click(chromedp.CSS(`#exc-form button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "Ausencia registrada")
	waitText(t, ctx, "#exc-list", "Tiempo libre")
	pollTrue(t, ctx, `document.getElementById('tf-name').value === 'Ana María Técnica' && document.getElementById('sh-3-start').value === '10:00'`)

	// A colleague renames her meanwhile; the page's save is refused, says so, and keeps
	// what was typed.
	call(t, e, tok, "PATCH", path, `{"name":"Ana Colega","version":1}`, 200, nil)
	do(t, ctx, chromedp.Click(chromedp.ID("tech-save")))
	waitText(t, ctx, "#tech-stale", "Alguien más guardó la ficha de este técnico")
	waitText(t, ctx, "#admin-msg", "sus cambios no se guardaron")
	pollTrue(t, ctx, `document.getElementById('tf-name').value === 'Ana María Técnica' && document.getElementById('sh-3-start').value === '10:00'`)
	var got dispatch.Technician
	call(t, e, tok, "GET", path, "", 200, &got)
	if got.Name != "Ana Colega" || got.Version != 2 {
		t.Fatalf("after a stale save: %q version %d, want the colleague's Ana Colega, version 2", got.Name, got.Version)
	}
	// Loading the saved one drops the edits and shows his name.
	do(t, ctx, chromedp.Click(chromedp.ID("tech-load-theirs")))
	pollTrue(t, ctx, `document.getElementById('tf-name').value === 'Ana Colega' && document.getElementById('tech-stale').hidden`)

	// Again, stale, and this time the admin saves over the colleague's change.
	call(t, e, tok, "PATCH", path, `{"name":"Ana Colega Dos","version":2}`, 200, nil)
	do(t, ctx,
		clear("tf-name"),
		sendKeys(chromedp.ID("tf-name"), "Ana Definitiva"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#tech-stale", "Alguien más guardó")
	do(t, ctx, chromedp.Click(chromedp.ID("tech-save-mine")))
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	call(t, e, tok, "GET", path, "", 200, &got)
	if got.Name != "Ana Definitiva" || got.Version != 4 {
		t.Fatalf("after saving over it: %q version %d, want Ana Definitiva, version 4", got.Name, got.Version)
	}
}
