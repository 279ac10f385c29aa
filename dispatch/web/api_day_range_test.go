package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestDaysOutsideTheCalendarYears: a day or time of a query or path outside the years the
// business calendar covers (2000 to 2199) is 422 naming it. Year 0000, which Go reads, is
// 1 BC to PostgreSQL, which refused it: each of these was a 500.
func TestDaysOutsideTheCalendarYears(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	disp, agent := tokens[dispatch.RoleDispatcher], tokens[dispatch.RoleAgent]
	tech := createTech(t, ts, disp, "Calendario", 19.40, -99.10, `"fiber"`, "")
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	v := createVisit(t, ts, agent, folio, `{"duration_min":60,"skills":["fiber"]}`)

	for _, c := range []struct{ method, path, field string }{
		{"GET", "/api/visits?day=0000-01-01", "day"},
		{"GET", "/api/plans/0000-01-01", "day"},
		{"POST", "/api/plans/0000-01-01/optimize", "day"},
		{"GET", fmt.Sprintf("/api/technicians/%d/route?day=0000-01-01", tech), "day"},
		{"GET", fmt.Sprintf("/api/technicians/%d/exceptions?from=0000-01-01&to=0000-01-03", tech), "from"},
		{"GET", fmt.Sprintf("/api/technicians/%d/exceptions?from=2026-11-30&to=0000-01-03", tech), "to"},
		{"GET", fmt.Sprintf("/api/visits/%d/slots?from=0000-01-01", v.ID), "from"},
		{"GET", "/api/tickets?due_before=0000-01-01T00:00:00%2B06:00", "due_before"},
		{"GET", "/api/plans/1999-12-31", "day"},
	} {
		res, b := do(t, c.method, ts.URL+c.path, disp, "")
		if res.StatusCode != 422 {
			t.Errorf("%s %s = %d %s, want 422", c.method, c.path, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s %s: field %q, want %q", c.method, c.path, field, c.field)
		}
	}
	// Days in range still answer.
	mustJSON(t, "GET", ts.URL+"/api/plans/2026-11-30", disp, "", 200, nil)
	mustJSON(t, "GET", ts.URL+"/api/visits?day=2199-12-31", disp, "", 200, nil)
	mustJSON(t, "GET", ts.URL+"/api/tickets?due_before=2026-12-31T00:00:00Z", disp, "", 200, nil)
}
