package web_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// createdStep is one timeline step as the tickets API shows it; data is compared as JSON
// values, since PostgreSQL stores it as jsonb and writes it back in its own layout.
type createdStep struct {
	ID        int64     `json:"id"`
	Type      string    `json:"type"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorName string    `json:"actor_name"`
	Channel   string    `json:"channel"`
	Data      any       `json:"data"`
}

func timelineOf(t *testing.T, b []byte) []createdStep {
	t.Helper()
	var v struct {
		Timeline []createdStep `json:"timeline"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("ticket JSON: %v: %s", err, b)
	}
	return v.Timeline
}

func sameSteps(a, b []createdStep) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		dx, _ := json.Marshal(x.Data)
		dy, _ := json.Marshal(y.Data)
		if x.ID != y.ID || x.Type != y.Type || !x.At.Equal(y.At) || x.Actor != y.Actor || x.ActorName != y.ActorName ||
			x.Channel != y.Channel || string(dx) != string(dy) {
			return false
		}
	}
	return true
}

// TestCreatedTicketShowsItsTimeline: POST /api/tickets answered "timeline": [] although
// report.created was written in the same transaction, and the GET that followed showed it.
// The answer now carries the timeline the GET shows — report.created with its id, time,
// actor (and his name) and data, and what the creating transaction added (the attachment
// to an open incident) — and a retry with the same Idempotency-Key gets that same
// timeline back from the stored answer.
func TestCreatedTicketShowsItsTimeline(t *testing.T) {
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
	d := login(t, ts, users, "disp.tl@despacho.example.mx", dispatch.RoleDispatcher)
	a := login(t, ts, users, "agent.tl@despacho.example.mx", dispatch.RoleAgent)
	mustJSON(t, "POST", ts.URL+"/api/incidents", d, fmt.Sprintf(`{"access_point":"AP-TL","title":"Caída de la torre","started_at":%q}`,
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)), 201, nil)

	for _, c := range []struct {
		name, phone, ap, key string
		want                 []string
	}{
		{"no key", "5511140001", "AP-OTRO", "", []string{dispatch.EventReportCreated}},
		{"with a key", "5511140002", "AP-OTRO", "alta-tl-1", []string{dispatch.EventReportCreated}},
		{"attached on creation", "5511140003", "AP-TL", "", []string{dispatch.EventReportCreated, dispatch.EventReportAttached}},
		{"attached on creation, with a key", "5511140004", "AP-TL", "alta-tl-2", []string{dispatch.EventReportCreated, dispatch.EventReportAttached}},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":%q,"access_point":%q},"description":"Sin internet"}`, c.phone, c.ap)
			var hdr []string
			if c.key != "" {
				hdr = []string{"Idempotency-Key", c.key}
			}
			res, b := do(t, "POST", ts.URL+"/api/tickets", a, body, hdr...)
			if res.StatusCode != 201 {
				t.Fatalf("POST /api/tickets = %d %s", res.StatusCode, b)
			}
			created := timelineOf(t, b)
			var folio struct{ Folio string }
			_ = json.Unmarshal(b, &folio)
			res, g := do(t, "GET", ts.URL+"/api/tickets/"+folio.Folio, a, "")
			if res.StatusCode != 200 {
				t.Fatalf("GET = %d %s", res.StatusCode, g)
			}
			got := timelineOf(t, g)
			types := make([]string, len(got))
			for i, s := range got {
				types[i] = s.Type
			}
			if fmt.Sprint(types) != fmt.Sprint(c.want) {
				t.Fatalf("GET timeline = %v; want %v", types, c.want)
			}
			if !sameSteps(created, got) {
				t.Errorf("creation answer's timeline = %+v\nwant the GET's %+v", created, got)
			}
			if got[0].ID == 0 || got[0].Actor == "" || got[0].ActorName != "Test agent" {
				t.Errorf("report.created step = %+v; want its id, actor and the agent's name", got[0])
			}
			if c.key == "" {
				return
			}
			res, r := do(t, "POST", ts.URL+"/api/tickets", a, body, hdr...)
			if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry = %d %s (replayed %q)", res.StatusCode, r, res.Header.Get("Idempotent-Replayed"))
			}
			if again := timelineOf(t, r); !sameSteps(again, got) {
				t.Errorf("retry's timeline = %+v\nwant the GET's %+v", again, got)
			}
		})
	}
}
