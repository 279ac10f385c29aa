package web_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestCreatedTicketSaysItsIncident: a fault filed while its customer's access point has an
// open incident is attached to it in the creating transaction (serve's incident hook), but
// POST /api/tickets answered "incident_id": null, and an agent telling the customer his
// folio did not learn that an outage was already known. The answer now names the
// incident (and the report's version after the attachment), a retry with the same
// Idempotency-Key gets the same answer, and a fault elsewhere still says null.
func TestCreatedTicketSaysItsIncident(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.DefaultSLA())
	incidents, err := postgres.NewIncidents(db, events, postgres.IncidentsConfig{Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	events.AddHook(incidents.ReportHook)
	ts := httptest.NewServer(web.New(web.Config{DB: db, Events: events, Reports: reports, Incidents: incidents}))
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	d := login(t, ts, users, "disp.inc@despacho.example.mx", dispatch.RoleDispatcher)
	a := login(t, ts, users, "agent.inc@despacho.example.mx", dispatch.RoleAgent)

	var inc struct{ ID int64 }
	mustJSON(t, "POST", ts.URL+"/api/incidents", d, fmt.Sprintf(`{"access_point":"AP-CENTRO","title":"Caída de la torre","started_at":%q}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), 201, &inc)

	type answer struct {
		Folio      string          `json:"folio"`
		Version    int             `json:"version"`
		IncidentID json.RawMessage `json:"incident_id"`
	}
	file := func(phone, ap, key string) answer {
		t.Helper()
		body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":%q,"access_point":%q},"description":"Sin internet"}`, phone, ap)
		var hdr []string
		if key != "" {
			hdr = []string{"Idempotency-Key", key}
		}
		res, b := do(t, "POST", ts.URL+"/api/tickets", a, body, hdr...)
		if res.StatusCode != 201 {
			t.Fatalf("POST /api/tickets = %d %s", res.StatusCode, b)
		}
		var out answer
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"incident_id":`) {
			t.Errorf("answer %s has no incident_id", b)
		}
		return out
	}
	want := fmt.Sprint(inc.ID)
	for _, key := range []string{"", "alta-centro-1"} {
		got := file("5511130001", "AP-CENTRO", key)
		if string(got.IncidentID) != want {
			t.Errorf("key %q: incident_id = %s; want %s (the open incident of AP-CENTRO)", key, got.IncidentID, want)
		}
		var stored struct {
			Version    int   `json:"version"`
			IncidentID int64 `json:"incident_id"`
		}
		mustJSON(t, "GET", ts.URL+"/api/tickets/"+got.Folio, a, "", 200, &stored)
		if stored.IncidentID != inc.ID || stored.Version != got.Version {
			t.Errorf("key %q: GET says incident %d version %d; the answer said %s version %d", key, stored.IncidentID, stored.Version, got.IncidentID, got.Version)
		}
		if key != "" {
			if again := file("5511130001", "AP-CENTRO", key); again.Folio != got.Folio || string(again.IncidentID) != want {
				t.Errorf("retry = %+v; want the first answer %+v", again, got)
			}
		}
	}
	if got := file("5511130002", "AP-SUR", ""); string(got.IncidentID) != "null" {
		t.Errorf("a fault with no open incident: incident_id = %s; want null", got.IncidentID)
	}
}
