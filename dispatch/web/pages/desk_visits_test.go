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

// deskVisit is a visit as GET /api/visits lists it, with what these tests look at.
type deskVisit struct {
	ID           int64
	Status       string
	Address      string
	Lat, Lon     float64
	TechnicianID *int64 `json:"technician_id"`
	Window       *struct{ Start, End time.Time }
}

// reportVisits lists the visits of folio through the API, oldest first.
func reportVisits(t testing.TB, e *env, tok, folio string) []deskVisit {
	t.Helper()
	var out struct{ Items []deskVisit }
	call(t, e, tok, "GET", "/api/visits?report="+folio, "", 200, &out)
	return out.Items
}

// lookUp opens folio on the desk.
func lookUp(t testing.TB, ctx context.Context, folio string) {
	t.Helper()
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("find-folio")),
		clear("find-folio"),
		sendKeys(chromedp.ID("find-folio"), folio),
		chromedp.Click(chromedp.CSS(`#find button[type=submit]`)),
	)
	waitText(t, ctx, "#desk-folio", folio)
}

// TestBrowserDeskVisitWithoutCoordinates: a report filed on the public web form has an
// address line and no coordinates. The desk's visit form had only duration and skills, so
// the agent saw "Latitud entre -90 y 90." with no field to fix it and could never create
// the visit. Now the form asks for the place (the line filled in with the report's), checks
// lat and lon go together and lie in range, and the visit is created at what was typed;
// then its windows are offered.
func TestBrowserDeskVisitWithoutCoordinates(t *testing.T) {
	t.Parallel()
	e := newEnvAt(t, func() time.Time { return businessMorning(t) })
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	agent := token(t, e, "agente@example.mx")
	technician(t, e, token(t, e, "jefa@example.mx"), "Ana Técnica", 0, 19.43, -99.13)
	var rep struct{ Folio string }
	call(t, e, "", "POST", "/public/reports", `{"customer":{"name":"Rosa Pérez","phone":"5512345678"},"address":{"line":"Av. Juárez 10, Centro"},"kind":"fault","description":"Sin internet"}`, 201, &rep)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	lookUp(t, ctx, rep.Folio)
	waitText(t, ctx, "#visit-form", "no tiene coordenadas")
	line, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('visit-line').value`))
	if err != nil || line != "Av. Juárez 10, Centro" {
		t.Fatalf("address line in the visit form = %q (%v), want the report's", line, err)
	}

	// Without coordinates the API cannot place it: the page says what is missing, by the field.
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	waitText(t, ctx, "#err-lat", "Escriba la latitud y la longitud")
	// Half of them, or out of range, is marked before anything is sent.
	do(t, ctx, sendKeys(chromedp.ID("visit-lat"), "19.44"))
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	waitText(t, ctx, "#err-lon", "Escriba la latitud y la longitud")
	do(t, ctx, sendKeys(chromedp.ID("visit-lon"), "-199.14"))
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	waitText(t, ctx, "#err-lon", "Longitud entre -180 y 180")
	shot(t, ctx, "desk-visit-place")
	if vs := reportVisits(t, e, agent, rep.Folio); len(vs) != 0 {
		t.Fatalf("visits after refused attempts = %+v, want none", vs)
	}

	do(t, ctx,
		clear("visit-lon"),
		sendKeys(chromedp.ID("visit-lon"), "-99.14"),
		clear("visit-line"),
		sendKeys(chromedp.ID("visit-line"), "Av. Juárez 10, Centro, casa azul"),
	)
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	waitText(t, ctx, "#desk-book", "Visita creada")
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#slot-form input[name=slot]`)))
	waitText(t, ctx, "#desk-visit-list", "Sin programar")
	pollTrue(t, ctx, `document.querySelectorAll('#ticket-view .field-error').length === 0`)

	vs := reportVisits(t, e, agent, rep.Folio)
	if len(vs) != 1 {
		t.Fatalf("visits = %+v, want one", vs)
	}
	if v := vs[0]; v.Lat != 19.44 || v.Lon != -99.14 || v.Address != "Av. Juárez 10, Centro, casa azul" {
		t.Errorf("visit place = %q (%v, %v), want the line and coordinates typed", v.Address, v.Lat, v.Lon)
	}
	// The page books it as it books any other.
	do(t, ctx, chromedp.Click(chromedp.CSS(`#slot-form input[name=slot]`)), chromedp.Click(chromedp.CSS(`#slot-form button[type=submit]`)))
	waitText(t, ctx, "#booked", "Listo")
	if v := reportVisits(t, e, agent, rep.Folio)[0]; v.Window == nil {
		t.Errorf("visit after booking = %+v, want a window", v)
	}
}

// TestBrowserDeskFolioVisits: looking a folio up again shows its visits, so that the agent
// books the one created earlier instead of creating a second. The desk showed only "Crear
// visita", which made a duplicate unscheduled visit each time. Now the folio lists each
// visit with its state, its window once booked and its technician; the visit still waiting
// for a window has its picker open; booking it updates the list. "Crear visita", there for
// a visit after one that could not be done, says how many the folio has, and gives way to a
// line naming the open visit while there is one (the API keeps one open visit a report, and
// the desk offered the form and then showed the refusal); a visit not completed is offered
// no window beside the open one (its booking would be refused the same way).
func TestBrowserDeskFolioVisits(t *testing.T) {
	t.Parallel()
	e := newEnvAt(t, func() time.Time { return businessMorning(t) })
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	agent := token(t, e, "agente@example.mx")
	technician(t, e, token(t, e, "jefa@example.mx"), "Ana Técnica", 0, 19.43, -99.13)
	var tk struct{ Folio string }
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin internet"}`, 201, &tk)
	// The first visit, booked earlier and not completed; the second created and left without
	// a window.
	var first, second struct{ ID int64 }
	call(t, e, agent, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, 201, &first)
	var slots struct {
		Slots []struct{ Start, End time.Time }
	}
	call(t, e, agent, "GET", fmt.Sprintf("/api/visits/%d/slots?days=5", first.ID), "", 200, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no slots for the first visit")
	}
	s := slots.Slots[0]
	call(t, e, agent, "POST", fmt.Sprintf("/api/visits/%d/book", first.ID), fmt.Sprintf(`{"start":%q,"end":%q}`, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339)), 200, nil)
	disp := token(t, e, "disp@example.mx")
	for _, st := range []string{`{"status":"en_route"}`, `{"status":"not_completed","reason":"customer_absent"}`} {
		call(t, e, disp, "POST", fmt.Sprintf("/api/visits/%d/status", first.ID), st, 200, nil)
	}
	call(t, e, agent, "POST", "/api/tickets/"+tk.Folio+"/visits", `{"duration_min":30,"skills":["fiber"]}`, 201, &second)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1920, 1080))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	lookUp(t, ctx, tk.Folio)
	row := func(id int64) string { return fmt.Sprintf(`#desk-visit-list tr[data-visit="%d"]`, id) }
	waitText(t, ctx, row(first.ID), "Ana Técnica")
	done := text(t, ctx, row(first.ID))
	for _, want := range []string{"Visita #" + fmt.Sprint(first.ID), " entre ", "Ana Técnica", "No completada"} {
		if !strings.Contains(done, want) {
			t.Errorf("row of the visit not completed = %q, want it to say %q", done, want)
		}
	}
	if strings.Contains(done, "Elegir horario") {
		t.Errorf("row of the visit not completed = %q, want no picker offered beside the open visit", done)
	}
	waitText(t, ctx, row(second.ID), "Sin programar")
	waitText(t, ctx, row(second.ID), "Sin horario")
	waitText(t, ctx, row(second.ID), "Sin técnico")
	waitText(t, ctx, "#desk-book-visit", fmt.Sprintf("Visita #%d", second.ID))
	// The open visit stands: no form for another, a line that names it.
	waitText(t, ctx, "#visit-open", fmt.Sprintf("La visita #%d de este folio sigue abierta", second.ID))
	pollTrue(t, ctx, `document.getElementById('visit-form').hidden && document.getElementById('visit-form').offsetParent === null`)
	// The timeline tells the two visits' steps apart.
	waitText(t, ctx, `#desk-timeline li[data-type="visit.booked"]`, fmt.Sprintf("Visita #%d", first.ID))
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#slot-form input[name=slot]`)))

	do(t, ctx, chromedp.Click(chromedp.CSS(`#slot-form input[name=slot]`)), chromedp.Click(chromedp.CSS(`#slot-form button[type=submit]`)))
	waitText(t, ctx, "#booked", "Listo")
	waitText(t, ctx, row(second.ID), " entre ")
	waitText(t, ctx, row(second.ID), "Ana Técnica")

	vs := reportVisits(t, e, agent, tk.Folio)
	if len(vs) != 2 {
		t.Fatalf("visits = %+v, want the two created, no duplicate", vs)
	}
	for _, v := range vs {
		if v.Window == nil || v.TechnicianID == nil {
			t.Errorf("visit %d = %s, window %v, technician %v: want both with a window and a technician", v.ID, v.Status, v.Window, v.TechnicianID)
		}
	}
	shot(t, ctx, "desk-visits")

	// Once the booked one could not be done either, the form is back for a third visit,
	// saying how many the folio has; the open-visit line is gone.
	for _, st := range []string{`{"status":"en_route"}`, `{"status":"not_completed","reason":"customer_absent"}`} {
		call(t, e, disp, "POST", fmt.Sprintf("/api/visits/%d/status", second.ID), st, 200, nil)
	}
	lookUp(t, ctx, tk.Folio)
	waitText(t, ctx, "#visit-note", "ya tiene 2 visitas")
	pollTrue(t, ctx, `!document.getElementById('visit-form').hidden && document.getElementById('visit-open').hidden`)
}

// TestBrowserDeskVisitSkills: the visit form asked for skills as codes typed by hand
// ("fiber"), so a typo asked for a skill nobody has and the folio got no windows. It now
// offers a box per skill the active technicians have, named in Spanish, fiber ticked; the
// visit asks for exactly what is ticked. The board names the skills in Spanish too.
func TestBrowserDeskVisitSkills(t *testing.T) {
	t.Parallel()
	e := newEnvAt(t, func() time.Time { return businessMorning(t) })
	e.user(t, "agente@example.mx", dispatch.RoleAgent)
	e.user(t, "jefa@example.mx", dispatch.RoleAdmin)
	agent := token(t, e, "agente@example.mx")
	technician(t, e, token(t, e, "jefa@example.mx"), "Ana Técnica", 0, 19.43, -99.13) // fiber, wireless
	var tk struct{ Folio string }
	call(t, e, agent, "POST", "/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa Pérez","phone":"5511112222"},"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin internet"}`, 201, &tk)

	ctx := tab(t, true)
	do(t, ctx, chromedp.EmulateViewport(1366, 800))
	signInBrowser(t, ctx, e.URL, "%2Fdesk", "agente@example.mx")
	lookUp(t, ctx, tk.Folio)
	waitText(t, ctx, "#skills-set", "inalámbrico")
	// (The new-report form's plan price is labelled as a label, not as the message of a mistake.)
	pollTrue(t, ctx, `document.querySelector('label[for=price]').textContent.startsWith('Precio mensual del plan (pesos)')`)
	pollTrue(t, ctx, `document.querySelector('#skills-set input[value=fiber]').checked && !document.querySelector('#skills-set input[value=wireless]').checked && /fibra/.test(document.getElementById('skills-set').textContent)`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#skills-set input[value=wireless]`)))
	clickNow(t, ctx, `#visit-form button[type=submit]`)
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS(`#slot-form`)))
	vs := reportVisits(t, e, agent, tk.Folio)
	if len(vs) != 1 {
		t.Fatalf("visits = %+v, want one", vs)
	}
	var v struct{ Skills []string }
	call(t, e, agent, "GET", fmt.Sprintf("/api/visits/%d", vs[0].ID), "", 200, &v)
	if strings.Join(v.Skills, ",") != "fiber,wireless" {
		t.Fatalf("visit skills = %v, want fiber and wireless", v.Skills)
	}

	board := tab(t, true)
	do(t, board, chromedp.EmulateViewport(1366, 800))
	signInBrowser(t, board, e.URL, "%2Fboard", "agente@example.mx")
	waitText(t, board, "#lanes .lane-name", "fibra, inalámbrico")
}
