package web_test

import (
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestTechnicianPositionAge: a technician's last position says how old it is by the
// server's clock (age_s), in the list and in his own answer, and grows with that clock
// though no new position comes: the board fades a position by it without trusting the
// browser's clock. A position taken a little ahead of the server's clock is 0 s old.
func TestTechnicianPositionAge(t *testing.T) {
	ts, tokens, users, c := newDispatchServer(t)
	nine := monday.Add(9 * time.Hour) // on his shift (08:00–18:00)
	c.Set(nine)
	techTok := login(t, ts, users, "rita@despacho.example.mx", dispatch.RoleTechnician)
	id := createTechFor(t, ts, tokens[dispatch.RoleDispatcher], users, "rita@despacho.example.mx", "Rita", 19.43, -99.13)
	pos := fmt.Sprintf("%s/api/technicians/%d/position", ts.URL, id)

	type answer struct {
		ID       int64
		Position *struct {
			At   time.Time `json:"at"`
			AgeS *int64    `json:"age_s"`
		}
	}
	ages := func(where string, want int64) {
		t.Helper()
		var list struct{ Technicians []answer }
		mustJSON(t, "GET", ts.URL+"/api/technicians?active=true", tokens[dispatch.RoleDispatcher], "", 200, &list)
		var one answer
		mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), techTok, "", 200, &one)
		for _, a := range append(list.Technicians, one) {
			if a.ID != id {
				continue
			}
			if a.Position == nil || a.Position.AgeS == nil {
				t.Errorf("%s: position %+v, want one with age_s", where, a.Position)
			} else if *a.Position.AgeS != want {
				t.Errorf("%s: age_s = %d, want %d", where, *a.Position.AgeS, want)
			}
		}
	}

	mustJSON(t, "POST", pos, techTok, `{"lat":19.44,"lon":-99.14,"at":"`+nine.Add(-90*time.Second).Format(time.RFC3339)+`"}`, 204, nil)
	ages("taken 90 s before", 90)
	c.Set(nine.Add(10 * time.Minute))
	ages("ten minutes later, nothing new", 690)

	c.Set(nine.Add(20 * time.Minute))
	mustJSON(t, "POST", pos, techTok, `{"lat":19.44,"lon":-99.14,"at":"`+nine.Add(20*time.Minute+30*time.Second).Format(time.RFC3339)+`"}`, 204, nil)
	ages("taken 30 s ahead of the server", 0)
}
