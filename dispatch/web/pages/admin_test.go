package pages_test

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
)

// TestBrowserAdmin: an admin creates a user (a short password is refused beside the field),
// changes his role, a technician's Monday shift and the default SLA resolution target
// through the admin page; a dispatcher is refused the admin API (403) and the page tells
// him he may not open it.
func TestBrowserAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tok := token(t, e, "jefa@example.mx")
	techID := technician(t, e, tok, "Ana Técnica", 0, 19.4326, -99.1332)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fadmin", "jefa@example.mx")
	waitText(t, ctx, "#user-rows", "jefa@example.mx")
	waitText(t, ctx, "#user-rows", "(usted)")

	// A new user: the short password is refused beside its field, in Spanish.
	do(t, ctx,
		sendKeys(chromedp.ID("nu-name"), "Luis Gómez"),
		sendKeys(chromedp.ID("nu-email"), "luis@example.mx"),
		chromedp.SetValue(chromedp.ID("nu-role"), "agent"),
		sendKeys(chromedp.ID("nu-password"), "corta"),
		chromedp.Click(chromedp.CSS(`#new-user button[type=submit]`)),
	)
	waitText(t, ctx, "#err-password", "al menos 12 caracteres")
	do(t, ctx,
		clear("nu-password"),
		sendKeys(chromedp.ID("nu-password"), "una-contraseña-larga"),
		chromedp.Click(chromedp.CSS(`#new-user button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "Usuario Luis Gómez creado")
	waitText(t, ctx, "#user-rows", "luis@example.mx")
	call(t, e, "", "POST", "/api/login", `{"email":"luis@example.mx","password":"una-contraseña-larga"}`, 200, nil) // the initial password works

	// His role becomes dispatcher.
	rowSel := `[...document.querySelectorAll('#user-rows tr')].find((r) => r.textContent.includes('luis@example.mx'))`
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](rowSel+`.dataset.user`))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("u"+id+"-role"), "dispatcher"),
		chromedp.Click(chromedp.CSS(`#user-rows tr[data-user="`+id+`"] button[type=submit]`)),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	var users struct {
		Users []struct {
			Email, Role string
		}
	}
	call(t, e, tok, "GET", "/api/users", "", 200, &users)
	for _, u := range users.Users {
		if u.Email == "luis@example.mx" && u.Role != "dispatcher" {
			t.Fatalf("role after the change = %q, want dispatcher", u.Role)
		}
	}

	// Ana's Monday shift starts at 09:30.
	waitText(t, ctx, "#tech-pick", "Ana Técnica")
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("sh-1-start")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("sh-1-start"), "09:30"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	var tech struct {
		Version int
		Shifts  []struct {
			Weekday    int
			Start, End string
		}
	}
	call(t, e, tok, "GET", "/api/technicians/"+strconv.FormatInt(techID, 10), "", 200, &tech)
	found := false
	for _, s := range tech.Shifts {
		if s.Weekday == 1 {
			found = s.Start == "09:30" && s.End == "21:00"
		}
	}
	if !found || len(tech.Shifts) != 7 || tech.Version != 2 {
		t.Fatalf("shifts after the change = %+v (version %d), want Monday 09:30–21:00 and the other six kept", tech.Shifts, tech.Version)
	}
	// A refused change names its field: Monday ending before it starts.
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("sh-1-end"), "08:00"),
		chromedp.Click(chromedp.ID("tech-save")),
	)
	pollTrue(t, ctx, `document.querySelector('#tech-form [aria-invalid=true]') !== null || !document.querySelector('#tech-form .form-error').hidden`)

	// The default resolution target: zero days is refused beside the field, seven are kept.
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("default-resolution-amount")),
		chromedp.SetValue(chromedp.ID("default-resolution-basis"), "business_days"),
		chromedp.SetValue(chromedp.ID("default-resolution-amount"), "0"),
		chromedp.Click(chromedp.ID("sla-save")),
	)
	waitText(t, ctx, "#err-default-resolution-days", "mayor que cero")
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("default-resolution-amount"), "7"),
		chromedp.Click(chromedp.ID("sla-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	var pol struct {
		Default struct {
			Resolution *struct {
				Basis string
				Days  int
			}
		}
		Rules []struct{}
	}
	call(t, e, tok, "GET", "/api/sla/policies", "", 200, &pol)
	if r := pol.Default.Resolution; r == nil || r.Basis != "business_days" || r.Days != 7 || len(pol.Rules) == 0 {
		t.Fatalf("policies after the change: default resolution %+v, %d rules; want 7 business days and the rules kept", r, len(pol.Rules))
	}
	// Saved again from the same form: it knows the version its last save made.
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("default-resolution-amount"), "8"),
		chromedp.Click(chromedp.ID("sla-save")),
	)
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	// Another admin saves meanwhile (an API client naming no version): the page's next
	// save does not undo his; it says so and keeps what was typed until the admin chooses.
	call(t, e, tok, "PUT", "/api/sla/policies", `{"default":{"first_response":null,"resolution":{"basis":"business_days","days":3}},"rules":[]}`, 200, nil)
	do(t, ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('admin-msg').hidden = true`),
		chromedp.SetValue(chromedp.ID("default-resolution-amount"), "9"),
		chromedp.Click(chromedp.ID("sla-save")),
	)
	waitText(t, ctx, "#sla-stale", "Alguien más guardó las políticas de SLA")
	pollTrue(t, ctx, `document.getElementById('default-resolution-amount').value === '9'`)
	call(t, e, tok, "GET", "/api/sla/policies", "", 200, &pol)
	if r := pol.Default.Resolution; r == nil || r.Days != 3 || len(pol.Rules) != 0 {
		t.Fatalf("policies after a stale save: default resolution %+v, %d rules; want the other admin's 3 days and no rules", r, len(pol.Rules))
	}
	// Loading the saved policies shows his.
	do(t, ctx, chromedp.Click(chromedp.ID("sla-load-theirs")))
	pollTrue(t, ctx, `document.getElementById('default-resolution-amount').value === '3' && document.getElementById('sla-stale').hidden && document.getElementById('admin-msg').hidden`)
	// Stale again, and this time saved over the other's.
	call(t, e, tok, "PUT", "/api/sla/policies", `{"default":{"first_response":null,"resolution":{"basis":"business_days","days":4}},"rules":[]}`, 200, nil)
	do(t, ctx,
		chromedp.SetValue(chromedp.ID("default-resolution-amount"), "9"),
		chromedp.Click(chromedp.ID("sla-save")),
	)
	waitText(t, ctx, "#sla-stale", "Alguien más guardó")
	do(t, ctx, chromedp.Click(chromedp.ID("sla-save-mine")))
	waitText(t, ctx, "#admin-msg", "Cambios guardados")
	call(t, e, tok, "GET", "/api/sla/policies", "", 200, &pol)
	if r := pol.Default.Resolution; r == nil || r.Days != 9 {
		t.Fatalf("policies after saving over the other's: default resolution %+v; want 9 days", r)
	}
	shot(t, ctx, "admin-1920")
	do(t, ctx, chromedp.EmulateViewport(360, 740))
	shot(t, ctx, "admin-360")

	// A dispatcher: the API says 403 and the page says he may not open it.
	disp := token(t, e, "disp@example.mx")
	call(t, e, disp, "GET", "/api/users", "", 403, nil)
	call(t, e, disp, "POST", "/api/users", `{"email":"x@example.mx","name":"X","role":"admin","password":"una-contraseña-larga"}`, 403, nil)
	other := tab(t, true)
	signInBrowser(t, other, e.URL, "%2Fadmin", "disp@example.mx")
	waitText(t, other, "main", "no tiene acceso")
	res, _ := get(t, e.URL+"/admin")
	if res.StatusCode != 303 {
		t.Fatalf("anonymous /admin = %d, want 303 to sign-in", res.StatusCode)
	}
}
