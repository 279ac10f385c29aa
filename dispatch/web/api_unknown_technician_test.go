package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestUnknownTechnicianInBody: POST /api/visits/{id}/assign or /move naming a technician_id
// that does not exist answered 404, as if the visit did not exist. The visit exists; the
// body's value is invalid: 422 naming technician_id, and nothing changes. An unknown visit
// is still 404.
func TestUnknownTechnicianInBody(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	createTech(t, ts, d, "Uno", 19.43, -99.13, `"fiber"`, "")
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, &booked)

	for _, c := range []struct{ path, body string }{
		{"assign", fmt.Sprintf(`{"technician_id":987654,"version":%d}`, booked.Version)},
		{"move", fmt.Sprintf(`{"technician_id":987654,"position":1,"version":%d}`, booked.Version)},
	} {
		res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/%s", ts.URL, v.ID, c.path), d, c.body)
		wantError(t, res.StatusCode, b, 422, "technician_id")
		res, b = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/%s", ts.URL, v.ID+1000, c.path), d, c.body)
		if res.StatusCode != 404 {
			t.Errorf("%s of an unknown visit = %d %s, want 404", c.path, res.StatusCode, b)
		}
	}
	var after visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), d, "", 200, &after)
	if after.Version != booked.Version || after.TechnicianID == nil || *after.TechnicianID != *booked.TechnicianID {
		t.Errorf("visit after the refused changes = %+v, want as booked %+v", after, booked)
	}
}
