package web_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"despacho/dispatch"
)

// TestOneOpenVisitPerReport: POST /api/tickets/{folio}/visits twice made two unfinished
// visits for one report (a double submit gave the customer two appointments and two texts).
// Now a second one is 409 open_visit naming the visit that stands, also when both are sent
// at once; once that one could not be completed a new one is allowed, and the old one is
// then not booked again beside it.
func TestOneOpenVisitPerReport(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.open@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan.open@despacho.example.mx", "Juan", 19.43, -99.13)
	body := `{"duration_min":60,"skills":["fiber"]}`

	folio := createTicket(t, ts, a, 19.40, -99.16)
	first := createVisit(t, ts, a, folio, body)
	res, b := do(t, "POST", ts.URL+"/api/tickets/"+folio+"/visits", a, body)
	code, _ := errorCode(t, b)
	if res.StatusCode != 409 || code != "open_visit" || !strings.Contains(string(b), fmt.Sprintf("visit %d", first.ID)) {
		t.Fatalf("second visit = %d %s, want 409 open_visit naming visit %d", res.StatusCode, b, first.ID)
	}

	// Sent together (a double click), exactly one is created.
	folio2 := createTicket(t, ts, a, 19.41, -99.16)
	const n = 6
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, b := do(t, "POST", ts.URL+"/api/tickets/"+folio2+"/visits", a, body)
			codes[i] = res.StatusCode
			if res.StatusCode != 201 && (res.StatusCode != 409 || !strings.Contains(string(b), `"open_visit"`)) {
				t.Errorf("concurrent create = %d %s, want 201 or 409 open_visit", res.StatusCode, b)
			}
		})
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 201 {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("concurrent creates answered %v: %d created, want exactly one", codes, created)
	}

	// The first visit could not be completed: a new one may be made, as before.
	ss := slots(t, ts, a, first.ID)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, first.ID), a, window(ss[0]), 200, nil)
	status := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, first.ID)
	mustJSON(t, "POST", status, juan, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", status, juan, `{"status":"not_completed","reason":"customer_absent"}`, 200, nil)
	second := createVisit(t, ts, a, folio, body)
	if second.ID == first.ID {
		t.Fatalf("new visit has the old one's id %d", first.ID)
	}
	// ... and the old one is not booked again beside it.
	ss = slots(t, ts, a, first.ID)
	if len(ss) == 0 {
		t.Fatal("no slots to book the not completed visit again")
	}
	res, b = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, first.ID), a, window(ss[len(ss)-1]))
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "open_visit" || !strings.Contains(string(b), fmt.Sprintf("visit %d", second.ID)) {
		t.Fatalf("booking the not completed visit again beside visit %d = %d %s, want 409 open_visit naming it", second.ID, res.StatusCode, b)
	}
}
