package web_test

import (
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestTechnicianRefusals: what an admin may not store about a technician is refused with
// 422 naming the field — shifts that overlap, cross midnight or end before they start, a
// break outside its shift or too narrow for its minutes, a home without coordinates ((0,0),
// which is what {"home":{}} decodes to), a linked account that is not a technician's — and
// an account already linked to another technician has a code of its own (user_linked), so
// the page does not tell the admin the account is missing or of another role.
func TestTechnicianRefusals(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d := tok[dispatch.RoleDispatcher]
	const base = `"name":"A","phone":"5512345678","home":{"lat":19.4,"lon":-99.1}`
	shift := func(s string) string { return `{` + base + `,"shifts":[` + s + `]}` }
	bad := []struct{ name, body, field string }{
		{"overlap", shift(`{"weekday":1,"start":"08:00","end":"12:00"},{"weekday":1,"start":"11:00","end":"15:00"}`), "shifts[1]"},
		{"midnight", shift(`{"weekday":5,"start":"22:00","end":"06:00"}`), "shifts[0].end"},
		{"empty", shift(`{"weekday":5,"start":"09:00","end":"09:00"}`), "shifts[0].end"},
		{"past 24:00", shift(`{"weekday":5,"start":"22:00","end":"24:30"}`), "shifts[0].end"},
		{"break outside", shift(`{"weekday":1,"start":"08:00","end":"12:00","break":{"start":"12:00","end":"13:00","minutes":30}}`), "shifts[0].break"},
		{"break narrow", shift(`{"weekday":1,"start":"08:00","end":"18:00","break":{"start":"13:00","end":"13:30","minutes":60}}`), "shifts[0].break.minutes"},
		{"home empty", `{"name":"A","phone":"5512345678","home":{}}`, "home"},
		{"home zero", `{"name":"A","phone":"5512345678","home":{"lat":0,"lon":0}}`, "home"},
		{"home absent", `{"name":"A","phone":"5512345678"}`, "home"},
		{"skills", `{` + base + `,"skills":["Fibra óptica"]}`, "skills[0]"},
	}
	for _, c := range bad {
		res, b := do(t, "POST", ts.URL+"/api/technicians", d, c.body)
		if res.StatusCode != 422 {
			t.Errorf("%s: status = %d %s, want 422", c.name, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s: field = %s, want %s", c.name, field, c.field)
		}
	}
	// Case and spaces are one skill: "Fiber", " fiber " and "FIBER" are stored once.
	var tech dispatch.Technician
	mustJSON(t, "POST", ts.URL+"/api/technicians", d, `{`+base+`,"skills":["Fiber"," fiber ","FIBER","wireless"]}`, 201, &tech)
	if fmt.Sprint(tech.Skills) != "[fiber wireless]" {
		t.Errorf("skills = %v, want [fiber wireless]", tech.Skills)
	}
	// A patch cannot move his home to (0,0) either.
	res, b := do(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, tech.ID), d, `{"home":{"lat":0,"lon":0},"version":1}`)
	if code, field := errorCode(t, b); res.StatusCode != 422 || field != "home" {
		t.Errorf("patch home (0,0) = %d %s %s, want 422 on home", res.StatusCode, code, field)
	}

	// Linked accounts: an agent's is refused; a technician's once only.
	login(t, ts, users, "agente2@despacho.example.mx", dispatch.RoleAgent)
	login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	agent, juan := userID(t, users, "agente2@despacho.example.mx"), userID(t, users, "juan@despacho.example.mx")
	res, b = do(t, "POST", ts.URL+"/api/technicians", d, fmt.Sprintf(`{%s,"user_id":%d}`, base, agent))
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "invalid_user_id" || field != "user_id" {
		t.Errorf("linking an agent = %d %s %s, want 422 invalid_user_id", res.StatusCode, code, field)
	}
	createTech(t, ts, d, "Juan", 19.43, -99.13, `"fiber"`, fmt.Sprintf(`,"user_id":%d`, juan))
	res, b = do(t, "POST", ts.URL+"/api/technicians", d, fmt.Sprintf(`{%s,"user_id":%d}`, base, juan))
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "user_linked" || field != "user_id" {
		t.Errorf("linking Juan's account twice (create) = %d %s %s, want 422 user_linked on user_id", res.StatusCode, code, field)
	}
	res, b = do(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, tech.ID), d, fmt.Sprintf(`{"user_id":%d,"version":1}`, juan))
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "user_linked" || field != "user_id" {
		t.Errorf("linking Juan's account twice (patch) = %d %s %s, want 422 user_linked on user_id", res.StatusCode, code, field)
	}
}

// TestPatchTechnicianShiftsReplans: a booked visit on Monday 10:00–12:00; Ana's Monday
// shift becomes 13:00–18:00, so she can no longer keep it: the PATCH re-plans her Monday at
// once and, as she is the only technician, the visit goes back to booking.
func TestPatchTechnicianShiftsReplans(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	ana := createTech(t, ts, d, "Ana", 19.43, -99.13, `"fiber"`, "")
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.41, -99.15), `{"duration_min":30,"skills":["fiber"]}`)
	win := fmt.Sprintf(`{"start":%q,"end":%q}`, monday.Add(10*time.Hour).Format(time.RFC3339), monday.Add(12*time.Hour).Format(time.RFC3339))
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, win, 200, nil)

	var p struct {
		Version int
		Replan  *struct{ Moved, Unbooked, Kept []int64 }
	}
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, ana), d,
		`{"shifts":[{"weekday":1,"start":"13:00","end":"18:00"},{"weekday":2,"start":"08:00","end":"18:00"}],"version":1}`, 200, &p)
	if p.Replan == nil || fmt.Sprint(p.Replan.Unbooked) != fmt.Sprint([]int64{v.ID}) {
		t.Fatalf("shift change re-planned %+v, want visit %d unbooked", p.Replan, v.ID)
	}
	var g visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), d, "", 200, &g)
	if g.Status != "unscheduled" || g.TechnicianID != nil {
		t.Errorf("visit after the shift change = %+v, want back to booking", g)
	}
}
