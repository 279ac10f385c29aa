package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestMoveToInactiveTechnician: POST /api/visits/{id}/move naming a deactivated technician
// is refused as assign refuses him: 422 invalid_technician_id, "the technician is not
// active". The move did not check and failed further on, 409 breaks_rule "… does not work
// that day", which sent the dispatcher looking at the technician's shifts.
func TestMoveToInactiveTechnician(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	createTech(t, ts, d, "Activo", 19.43, -99.13, `"fiber"`, "")
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, &booked)

	gone := createTech(t, ts, d, "Dado de baja", 19.41, -99.15, `"fiber"`, "")
	var g struct{ Version int }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, gone), d, "", 200, &g)
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, gone), d, fmt.Sprintf(`{"active":false,"version":%d}`, g.Version), 200, nil)

	want := ""
	for _, c := range []struct{ path, body string }{
		{"assign", fmt.Sprintf(`{"technician_id":%d,"version":%d}`, gone, booked.Version)},
		{"move", fmt.Sprintf(`{"technician_id":%d,"position":1,"version":%d}`, gone, booked.Version)},
	} {
		res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/%s", ts.URL, v.ID, c.path), d, c.body)
		code, field := errorCode(t, b)
		if res.StatusCode != 422 || code != "invalid_technician_id" || field != "technician_id" {
			t.Errorf("%s to an inactive technician = %d %s, want 422 invalid_technician_id", c.path, res.StatusCode, b)
		}
		got := fmt.Sprintf("%d %s %s", res.StatusCode, code, field)
		if want == "" {
			want = got
		} else if got != want {
			t.Errorf("%s refused as %s, assign as %s: want the same", c.path, got, want)
		}
	}
	var after visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), d, "", 200, &after)
	if after.Version != booked.Version || after.TechnicianID == nil || *after.TechnicianID != *booked.TechnicianID {
		t.Errorf("visit after the refused changes = %+v, want as booked %+v", after, booked)
	}
}
