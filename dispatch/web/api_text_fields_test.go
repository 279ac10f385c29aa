package web_test

import (
	"fmt"
	"strings"
	"testing"

	"despacho/dispatch"
)

// TestFreeTextWithControlCharacters: a NUL in a technician's name, a time off's note, a
// visit's address or a cancellation's reason is 422 naming the field, as in every other
// text. Each was a 500: a NUL cannot be stored in PostgreSQL's text or JSON. A name of 150
// accented letters was refused as "over 200 characters" (bytes were counted); it is taken.
func TestFreeTextWithControlCharacters(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	disp, agent := tokens[dispatch.RoleDispatcher], tokens[dispatch.RoleAgent]
	tech := createTech(t, ts, disp, "Texto", 19.40, -99.10, `"fiber"`, "")
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	v := createVisit(t, ts, agent, folio, `{"duration_min":60,"skills":["fiber"]}`)

	for _, c := range []struct{ what, method, path, body, field string }{
		{"technician's name", "POST", "/api/technicians",
			`{"name":"Juan\u0000Pérez","phone":"55 3333 0003","skills":["fiber"],"home":{"lat":19.4,"lon":-99.1}}`, "name"},
		{"technician's name on two lines", "POST", "/api/technicians",
			`{"name":"Juan\nPérez","phone":"55 3333 0003","skills":["fiber"],"home":{"lat":19.4,"lon":-99.1}}`, "name"},
		{"time off's note", "POST", fmt.Sprintf("/api/technicians/%d/exceptions", tech),
			`{"start":"2026-12-01T08:00:00-06:00","end":"2026-12-01T10:00:00-06:00","note":"x\u0000y"}`, "note"},
		{"visit's address", "POST", "/api/tickets/" + folio + "/visits",
			`{"duration_min":60,"lat":19.4,"lon":-99.1,"address":"Calle\u0000 1"}`, "address"},
		{"cancellation's reason", "POST", fmt.Sprintf("/api/visits/%d/cancel", v.ID), `{"reason":"x\u0000"}`, "reason"},
	} {
		res, b := do(t, c.method, ts.URL+c.path, disp, c.body)
		if res.StatusCode != 422 {
			t.Errorf("%s: %d %s, want 422", c.what, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s: field %q, want %q", c.what, field, c.field)
		}
	}
	var got visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), disp, "", 200, &got)
	if got.Status != "unscheduled" {
		t.Errorf("visit after the refused cancellation: %s, want unscheduled", got.Status)
	}
	name := strings.Repeat("ñ", 150)
	mustJSON(t, "POST", ts.URL+"/api/technicians", disp,
		`{"name":"`+name+`","phone":"55 3333 0004","skills":["fiber"],"home":{"lat":19.4,"lon":-99.1}}`, 201, nil)
}
