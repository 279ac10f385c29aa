package pages_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

type calendarOut struct {
	Version    int64
	Week       map[string][]struct{ Open, Close string }
	Exceptions []struct {
		Date, Name string
		Closed     bool
	}
}

// TestBrowserAdminCalendar: an admin adds a closure on the admin page's business calendar
// and saves; reloaded, the page lists it among the year's closed days beside the statutory
// ones (marked as such) and in its exceptions. A bad time is refused beside its field and
// nothing is stored. When another admin saves meanwhile, the page's save says so and keeps
// what was typed, and saving again puts it over the other's.
func TestBrowserAdminCalendar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	tok := token(t, e, "jefa@example.mx")
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	year := time.Now().In(loc).Year()
	eve := fmt.Sprintf("%d-12-24", year)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1280, 900))
	signInBrowser(t, ctx, e.URL, "%2Fadmin%23calendar", "jefa@example.mx")
	waitText(t, ctx, "#cal-closures", "Navidad")
	waitText(t, ctx, `#cal-closures li[data-source="statutory"]`, "Descanso obligatorio")

	// A bad time: refused beside the field, in Spanish; nothing stored.
	monOpen := `[data-field="week.monday[0].open"]`
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(monOpen), "25:00"),
		chromedp.Click(chromedp.ID("cal-save")),
	)
	waitText(t, ctx, "#err-week-monday-0--open", "HH:MM")
	pollTrue(t, ctx, `document.querySelector('[data-field="week.monday[0].open"]').getAttribute('aria-invalid') === 'true'`)
	var cal calendarOut
	call(t, e, tok, "GET", "/api/calendar", "", 200, &cal)
	if cal.Version != 1 {
		t.Fatalf("after a refused save the calendar is version %d, want 1", cal.Version)
	}

	// The closure: a new date, closed all day.
	do(t, ctx,
		chromedp.SetValue(chromedp.CSS(monOpen), "09:00"),
		chromedp.Click(chromedp.ID("cal-exc-add")),
		chromedp.WaitVisible(chromedp.ID("cal-exc-0-date")),
		chromedp.SetValue(chromedp.ID("cal-exc-0-date"), eve),
		sendKeys(chromedp.ID("cal-exc-0-name"), "Cierre de fin de año"),
		chromedp.Click(chromedp.ID("cal-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	call(t, e, tok, "GET", "/api/calendar", "", 200, &cal)
	if cal.Version != 2 || len(cal.Exceptions) != 1 || cal.Exceptions[0].Date != eve || !cal.Exceptions[0].Closed || cal.Exceptions[0].Name != "Cierre de fin de año" {
		t.Fatalf("stored after the save: %+v; want version 2 with the closure on %s", cal, eve)
	}

	// Reloaded, the page shows it.
	do(t, ctx, chromedp.Navigate(e.URL+"/admin#calendar"))
	waitText(t, ctx, `#cal-closures li[data-date="`+eve+`"]`, "Cierre de fin de año")
	waitText(t, ctx, `#cal-closures li[data-date="`+eve+`"]`, "Fecha especial")
	pollTrue(t, ctx, `document.getElementById('cal-exc-0-date').value === `+jsString(eve)+` && document.getElementById('cal-exc-0-kind').value === 'closed'`)

	// Another admin saves (Saturdays closed) while this page edits the closure's name.
	sat := strings.NewReplacer(`"saturday":[{"open":"09:00","close":"15:00"}]`, `"saturday":[]`)
	theirs := sat.Replace(`{"version":2,"week":{"monday":[{"open":"09:00","close":"18:00"}],"tuesday":[{"open":"09:00","close":"18:00"}],
		"wednesday":[{"open":"09:00","close":"18:00"}],"thursday":[{"open":"09:00","close":"18:00"}],"friday":[{"open":"09:00","close":"18:00"}],
		"saturday":[{"open":"09:00","close":"15:00"}],"sunday":[]},"exceptions":[]}`)
	call(t, e, tok, "PUT", "/api/calendar", theirs, 200, nil)
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		clear("cal-exc-0-name"),
		sendKeys(chromedp.ID("cal-exc-0-name"), "Cierre navideño"),
		chromedp.Click(chromedp.ID("cal-save")),
	)
	waitText(t, ctx, "#cal-stale", "Alguien más guardó el calendario")
	pollTrue(t, ctx, `document.getElementById('cal-exc-0-name').value === 'Cierre navideño'`)
	call(t, e, tok, "GET", "/api/calendar", "", 200, &cal)
	if cal.Version != 3 || len(cal.Exceptions) != 0 {
		t.Fatalf("after the stale save: %+v; want the other admin's version 3 untouched", cal)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("cal-save-mine")))
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	call(t, e, tok, "GET", "/api/calendar", "", 200, &cal)
	if cal.Version != 4 || len(cal.Exceptions) != 1 || cal.Exceptions[0].Name != "Cierre navideño" || len(cal.Week["saturday"]) != 1 {
		t.Fatalf("after saving over it: %+v; want version 4 with this page's calendar", cal)
	}
	shot(t, ctx, "admin-calendar")
}
