package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestDatesBeyondTheHorizon: a window, a slot search or a technician's time off dated years
// away is a typo, refused with 422 naming the field, never stored. A window on the last
// evening of year 9999 ends, in UTC, in year 10000: it was stored and then its read failed
// (500), and a slot search from 9999-12-25 answered 200 with an empty body; time off dated
// 0001-01-01 at +06:00 (year 0 in UTC) was a 500; a window on a Monday in 2062 was booked and texted.
func TestDatesBeyondTheHorizon(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	disp, agent := tokens[dispatch.RoleDispatcher], tokens[dispatch.RoleAgent]
	// He works every weekday, so that the windows below fail on their dates, not on his week.
	tech := createTech(t, ts, disp, "Horizonte", 19.40, -99.10, `"fiber"`, `,"shifts":[`+
		`{"weekday":1,"start":"08:00","end":"18:00"},{"weekday":2,"start":"08:00","end":"18:00"},`+
		`{"weekday":3,"start":"08:00","end":"18:00"},{"weekday":4,"start":"08:00","end":"18:00"},`+
		`{"weekday":5,"start":"08:00","end":"18:00"}]`)
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	v := createVisit(t, ts, agent, folio, `{"duration_min":60,"skills":["fiber"]}`)

	for _, c := range []struct {
		name, method, path, body, field string
	}{
		{"book at the end of year 9999", "POST", fmt.Sprintf("/api/visits/%d/book", v.ID),
			`{"start":"9999-12-31T16:00:00-06:00","end":"9999-12-31T18:00:00-06:00"}`, "start"},
		{"book in 2062", "POST", fmt.Sprintf("/api/visits/%d/book", v.ID),
			`{"start":"2062-12-04T10:00:00-06:00","end":"2062-12-04T12:00:00-06:00"}`, "start"},
		{"book with the end years away", "POST", fmt.Sprintf("/api/visits/%d/book", v.ID),
			`{"start":"2026-12-01T10:00:00-06:00","end":"9999-12-01T12:00:00-06:00"}`, "end"},
		{"hold at the end of year 9999", "POST", fmt.Sprintf("/api/visits/%d/hold", v.ID),
			`{"start":"9999-12-31T16:00:00-06:00","end":"9999-12-31T18:00:00-06:00"}`, "start"},
		{"slots from 9999-12-25", "GET", fmt.Sprintf("/api/visits/%d/slots?from=9999-12-25&days=14", v.ID), "", "from"},
		{"time off at the end of year 9999", "POST", fmt.Sprintf("/api/technicians/%d/exceptions", tech),
			`{"start":"9999-12-31T08:00:00-06:00","end":"9999-12-31T23:00:00-06:00"}`, "start"},
		{"time off in year 0 in UTC", "POST", fmt.Sprintf("/api/technicians/%d/exceptions", tech),
			`{"start":"0001-01-01T00:00:00+06:00","end":"0001-01-01T05:00:00+06:00"}`, "start"},
		{"unavailable from 9999", "POST", fmt.Sprintf("/api/technicians/%d/unavailable", tech),
			`{"start":"9999-12-31T08:00:00-06:00","end":"9999-12-31T23:00:00-06:00"}`, "start"},
	} {
		res, b := do(t, c.method, ts.URL+c.path, disp, c.body)
		if res.StatusCode != 422 {
			t.Errorf("%s: %s %s = %d %s, want 422", c.name, c.method, c.path, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s: field = %q, want %q", c.name, field, c.field)
		}
	}

	// Nothing was stored: the visit is still unscheduled and the day still plans.
	var got visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), disp, "", 200, &got)
	if got.Status != "unscheduled" || got.Window != nil {
		t.Errorf("visit = %s %+v, want unscheduled without a window", got.Status, got.Window)
	}
	if ss := slots(t, ts, agent, v.ID); len(ss) == 0 {
		t.Error("no slots on monday after the refusals")
	}
	// A date within the year still goes through.
	mustJSON(t, "POST", fmt.Sprintf("%s/api/technicians/%d/exceptions", ts.URL, tech), disp,
		`{"start":"2027-06-01T08:00:00-06:00","end":"2027-06-01T18:00:00-06:00","reason":"time_off"}`, 201, nil)
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/slots?from=2027-11-01&days=14", ts.URL, v.ID), agent, "", 200, nil)
}

// TestAvailabilityBeyondTheHorizon: a customer's availability dated years away is 422
// naming the span's end at fault, for a report's visit and for an incident's own. It was
// stored, and no window ever fitted it: the visit was offered none, without a word of why.
func TestAvailabilityBeyondTheHorizon(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	disp, agent := tokens[dispatch.RoleDispatcher], tokens[dispatch.RoleAgent]
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	var inc struct{ ID int64 }
	mustJSON(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-HORIZONTE-01","title":"Caída"}`, 201, &inc)
	ok := `{"start":"2026-12-01T08:00:00-06:00","end":"2026-12-01T18:00:00-06:00"}`
	for _, c := range []struct{ path, availability, field string }{
		{"/api/tickets/" + folio + "/visits", `[` + ok + `,{"start":"0000-01-01T00:00:00+06:00","end":"0000-01-01T05:00:00+06:00"}]`, "availability[1].start"},
		{"/api/tickets/" + folio + "/visits", `[{"start":"2026-12-01T08:00:00-06:00","end":"9999-12-31T23:00:00-06:00"}]`, "availability[0].end"},
		{fmt.Sprintf("/api/incidents/%d/visits", inc.ID), `[{"start":"2062-12-04T08:00:00-06:00","end":"2062-12-04T18:00:00-06:00"}]`, "availability[0].start"},
	} {
		body := `{"duration_min":60,"lat":19.4,"lon":-99.1,"availability":` + c.availability + `}`
		res, b := do(t, "POST", ts.URL+c.path, disp, body)
		if res.StatusCode != 422 {
			t.Errorf("%s with %s = %d %s, want 422", c.path, c.availability, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s with %s: field %q, want %q", c.path, c.availability, field, c.field)
		}
	}
	createVisit(t, ts, agent, folio, `{"duration_min":60,"availability":[`+ok+`]}`)
}
