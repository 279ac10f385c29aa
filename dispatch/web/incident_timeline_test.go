package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestIncidentTimelineSaysWho: GET /api/incidents/{id} names the staff user who took each
// step of the incident's own timeline (actor_name), as a folio's timeline does
// (TestTicketTimelineSaysWho): the dispatcher who opened the outage and planned its visit,
// the technician who worked it. It gave only "user:12" or "technician:3", so the board's outage detail named
// nobody. Steps of the system carry no name.
func TestIncidentTimelineSaysWho(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d := tok[dispatch.RoleDispatcher]
	juan := login(t, ts, users, "juan.nodo@despacho.example.mx", dispatch.RoleTechnician)
	createTechFor(t, ts, d, users, "juan.nodo@despacho.example.mx", "Juan", 19.43, -99.13)

	var inc struct{ ID int64 }
	started := monday.Add(6 * time.Hour).Format(time.RFC3339)
	mustJSON(t, "POST", ts.URL+"/api/incidents", d, fmt.Sprintf(`{"access_point":"NODO-7","title":"Caída del nodo","started_at":%q}`, started), 201, &inc)
	var iv struct{ ID int64 }
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/visits", ts.URL, inc.ID), d,
		`{"address":"Nodo 7, caseta","lat":19.42,"lon":-99.15,"skills":["fiber"],"duration_min":90}`, 201, &iv)
	ss := slots(t, ts, d, iv.ID)
	if len(ss) == 0 {
		t.Fatal("no slots for the incident visit")
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, iv.ID), d, window(ss[0]), 200, nil)
	mustJSON(t, "POST", ts.URL+"/api/plans/2026-11-30/optimize", d, `{"time_limit_s":0.5}`, 200, nil)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, iv.ID), juan, `{"status":"en_route"}`, 200, nil)

	var detail struct {
		Timeline []struct {
			Type, Actor string
			ActorName   *string `json:"actor_name"`
		}
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/incidents/%d", ts.URL, inc.ID), tok[dispatch.RoleAgent], "", 200, &detail)
	want := map[string]string{
		dispatch.EventIncidentOpened: "Test dispatcher",
		"visit.created":              "Test dispatcher",
		"visit.booked":               "Test dispatcher",
		"visit.en_route":             "Test technician",
	}
	seen := map[string]bool{}
	for _, e := range detail.Timeline {
		name := ""
		if e.ActorName != nil {
			name = *e.ActorName
		}
		switch {
		case want[e.Type] != "":
			seen[e.Type] = true
			if name != want[e.Type] {
				t.Errorf("%s by %q named %q, want %q", e.Type, e.Actor, name, want[e.Type])
			}
		case (strings.HasPrefix(e.Actor, "user:") || strings.HasPrefix(e.Actor, "technician:")) && name == "":
			t.Errorf("%s by %q names nobody", e.Type, e.Actor)
		case e.Actor == "system" && e.ActorName != nil:
			t.Errorf("%s by %q named %q, want no actor_name", e.Type, e.Actor, name)
		}
	}
	for typ := range want {
		if !seen[typ] {
			t.Errorf("incident timeline lacks %s: %+v", typ, detail.Timeline)
		}
	}
}
