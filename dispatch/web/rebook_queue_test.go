package web_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestNotCompletedVisitWaitsToBeBookedAgain: a visit the technician could not complete
// (customer absent) texts the customer "espere nuestra llamada", but it was in no list the
// board's queue reads: not unscheduled, not without a technician, so nobody called. It is
// listed with ?to_rebook=true while its report is open and nothing else is planned for it;
// a new visit for the folio, or the report resolved, takes it off.
func TestNotCompletedVisitWaitsToBeBookedAgain(t *testing.T) {
	t.Parallel()
	ts, clk, d, a, tech := newQueueServer(t, "rebook")
	list := func() []queueItem { return queueList(t, ts, d, "to_rebook=true") }
	failed := func(lat float64) (string, int64) {
		t.Helper()
		folio := createTicket(t, ts, a, lat, -99.16)
		v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, nil)
		if got := list(); len(got) != 0 {
			t.Fatalf("to rebook with the visit booked: %+v; want none", got)
		}
		clk.Set(monday.Add(8 * time.Hour))
		for _, st := range []string{`{"status":"en_route"}`, `{"status":"not_completed","reason":"customer_absent"}`} {
			mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID), tech, st, 200, nil)
		}
		clk.Set(monday.Add(7 * time.Hour))
		return folio, v.ID
	}
	folio, id := failed(19.40)
	if got := list(); len(got) != 1 || got[0].ID != id || got[0].Status != "not_completed" {
		t.Fatalf("to rebook after the customer was absent: %+v; want visit %d, not_completed", got, id)
	}
	// Another visit for the folio is the follow-up: the failed one no longer waits.
	next := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	if got := list(); len(got) != 0 {
		t.Fatalf("to rebook with visit %d created for the folio: %+v; want none", next.ID, got)
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/cancel", ts.URL, next.ID), a, `{"reason":"duplicada"}`, 200, nil)
	if got := list(); len(got) != 1 || got[0].ID != id {
		t.Fatalf("to rebook with the follow-up cancelled: %+v; want visit %d again", got, id)
	}
	// The report resolved (by phone, say): nothing to book.
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/transitions", a,
		`{"action":"resolve","channel":"phone","cause":"Se resolvió por teléfono","verdict":"upheld","service_restored":true}`, 200, nil)
	if got := list(); len(got) != 0 {
		t.Fatalf("to rebook with the report resolved: %+v; want none", got)
	}
	mustJSON(t, "GET", ts.URL+"/api/visits?to_rebook=maybe", d, "", 422, nil)
}

// newQueueServer starts the real API at 07:00 on monday with a dispatcher, an agent and a
// technician (Juan, fiber) signed in, their e-mails told apart by name, for the tests of
// the board's queue lists; it returns the server, its clock and the three tokens.
func newQueueServer(t *testing.T, name string) (ts *httptest.Server, clk *clock, d, a, tech string) {
	t.Helper()
	db := dispatchtest.DB(t)
	clk = &clock{t: monday.Add(7 * time.Hour)}
	ts = httptest.NewServer(web.New(web.Config{DB: db, Now: clk.Now}))
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	d = login(t, ts, users, "disp."+name+"@despacho.example.mx", dispatch.RoleDispatcher)
	a = login(t, ts, users, "agent."+name+"@despacho.example.mx", dispatch.RoleAgent)
	tech = login(t, ts, users, "juan."+name+"@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan."+name+"@despacho.example.mx", "Juan", 19.43, -99.13)
	return ts, clk, d, a, tech
}

// queueItem is a visit as a queue list gives it.
type queueItem struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// queueList is GET /api/visits?query as the dispatcher with token d.
func queueList(t *testing.T, ts *httptest.Server, d, query string) []queueItem {
	t.Helper()
	var out struct{ Items []queueItem }
	mustJSON(t, "GET", ts.URL+"/api/visits?"+query, d, "", 200, &out)
	return out.Items
}
