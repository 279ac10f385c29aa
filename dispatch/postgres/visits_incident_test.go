package postgres_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/schedule"
)

// TestIncidentVisitPlannedLikeAnyVisit: a visit planned for an open incident itself has no
// report and is never held; it is booked and optimised with ordinary visits on the same
// day, listed with the incident's folio, worked through to completion by the technician
// without resolving the incident, and every event of it carries the incident's id.
func TestIncidentVisitPlannedLikeAnyVisit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, vs, now := visitFixture(t, 2)
	events := postgres.NewEvents()
	incidents, err := postgres.NewIncidents(db, events, postgres.IncidentsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	started := now.Add(-time.Hour)
	in, err := dispatch.IncidentInput{AccessPoint: "NODO-7", Title: "Caída del nodo", StartedAt: &started}.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incidents.Open(ctx, in, postgres.Origin{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}

	lat, lon := 19.415, -99.15
	iv, err := visits.CreateForIncident(ctx, inc.ID, dispatch.NewVisit{DurationMin: 90, Skills: []string{"fiber"},
		Address: "Nodo 7, azotea", Lat: &lat, Lon: &lon, Priority: 5}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if iv.IncidentID != inc.ID || iv.IncidentFolio != inc.Folio || iv.ReportID != 0 || iv.Folio != "" || iv.Status != dispatch.VisitUnscheduled {
		t.Fatalf("incident visit = incident %d %q report %d %q status %s; want incident %d %q, no report, unscheduled",
			iv.IncidentID, iv.IncidentFolio, iv.ReportID, iv.Folio, iv.Status, inc.ID, inc.Folio)
	}
	var held int64
	if err := db.NewRaw("SELECT coalesce(held_by_incident_id, 0) FROM visits WHERE id = ?", iv.ID).Scan(ctx, &held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Fatalf("incident visit held by incident %d; its own incident must not hold it", held)
	}

	// Booked with the two ordinary visits (their windows overlapping) and the day optimised.
	for i, id := range []int64{vs[0].ID, iv.ID, vs[1].ID} {
		w := dispatch.Span{Start: now.Add(time.Duration(1+2*i) * time.Hour), End: now.Add(time.Duration(3+2*i) * time.Hour)}
		if _, err := visits.Book(ctx, id, w, nil, now); err != nil {
			t.Fatalf("book visit %d: %v", id, err)
		}
	}
	day, err := visits.Config().ParseDay("day", now.Format(time.DateOnly))
	if err != nil {
		t.Fatal(err)
	}
	res, err := visits.Optimize(ctx, day, schedule.Options{TimeLimit: time.Second, Seed: 1}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Visits != 3 {
		t.Fatalf("optimised day placed %d visits, want 3 (the incident's and two customers')", res.Visits)
	}
	dayVisits, err := visits.Day(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	var planned *dispatch.Visit
	for _, v := range dayVisits {
		if v.ID == iv.ID {
			planned = v
		}
	}
	if planned == nil || planned.TechnicianID != tech.ID || planned.PlannedStart.IsZero() || planned.RoutePosition == 0 {
		t.Fatalf("incident visit in the day's plan = %+v, want routed to technician %d", planned, tech.ID)
	}
	if planned.IncidentFolio != inc.Folio {
		t.Errorf("day plan labels the incident visit %q, want %q", planned.IncidentFolio, inc.Folio)
	}
	list, _, err := visits.List(ctx, postgres.VisitFilter{Day: day, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("list of the day has %d visits, want 3", len(list))
	}

	// The technician works it through; completing it leaves the incident open.
	for i, st := range []dispatch.VisitStatus{dispatch.VisitEnRoute, dispatch.VisitOnSite, dispatch.VisitCompleted} {
		o := dispatch.Outcome{Status: st}
		if st == dispatch.VisitCompleted {
			yes := true
			o.Cause, o.Verdict, o.ServiceRestored = "fibra troncal cortada, empalmada", "upheld", &yes
		}
		if _, err := visits.SetStatus(ctx, iv.ID, o, nil, planned.PlannedArrival.Add(time.Duration(i)*20*time.Minute)); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	d, err := incidents.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != dispatch.IncidentOpen {
		t.Errorf("incident %s after its visit completed, want still open (the dispatcher resolves it)", d.Status)
	}
	var evs []struct {
		Type       string `bun:"type"`
		IncidentID int64  `bun:"incident_id"`
		ReportID   int64  `bun:"report_id"`
	}
	if err := db.NewRaw("SELECT type, coalesce(incident_id, 0) AS incident_id, coalesce(report_id, 0) AS report_id FROM events WHERE visit_id = ? ORDER BY id", iv.ID).Scan(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Type] = true
		if e.IncidentID != inc.ID || e.ReportID != 0 {
			t.Errorf("event %s: incident %v report %v, want incident %d and no report", e.Type, e.IncidentID, e.ReportID, inc.ID)
		}
	}
	for _, want := range []string{"visit.created", "visit.booked", "visit.en_route", "visit.on_site", "visit.completed"} {
		if !seen[want] {
			t.Errorf("no %s event of the incident visit; got %v", want, evs)
		}
	}
	tl, _, err := postgres.IncidentTimeline(ctx, db, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) == 0 || tl[0].Type != dispatch.EventIncidentOpened || tl[len(tl)-1].Type != "visit.completed" {
		t.Errorf("incident timeline = %v, want incident.opened first and visit.completed last", tl)
	}
	got, err := visits.ByIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != iv.ID || got[0].Status != dispatch.VisitCompleted {
		t.Errorf("incident visits = %v, want the one completed visit", got)
	}
}

// TestIncidentVisitRefusals: unknown incident 404, missing coordinates 422 lat, a resolved
// incident 409; nothing is written. A customer's visit of an attached report is still held.
func TestIncidentVisitRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	visits := postgres.NewVisits(e.db, e.events, e.reports, planning.Config{})
	r := e.report(t, "fault", "55 4000 0001", "TORRE-3", "", clock.Add(-time.Hour), nil)
	held := e.visit(t, r.ID)
	inc := e.open(t, "TORRE-3", clock.Add(-2*time.Hour))
	lat, lon := 19.4, -99.1
	nv := dispatch.NewVisit{DurationMin: 60, Lat: &lat, Lon: &lon}

	_, err := visits.CreateForIncident(ctx, inc.ID+1000, nv, nil, clock)
	wantErr(t, err, dispatch.KindNotFound, "")
	_, err = visits.CreateForIncident(ctx, inc.ID, dispatch.NewVisit{DurationMin: 60}, nil, clock)
	wantErr(t, err, dispatch.KindInvalid, "lat")

	iv, err := visits.CreateForIncident(ctx, inc.ID, nv, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	var heldBy []int64
	if err := e.db.NewRaw("SELECT coalesce(held_by_incident_id, 0) FROM visits WHERE id IN (?, ?) ORDER BY id", held, iv.ID).Scan(ctx, &heldBy); err != nil {
		t.Fatal(err)
	}
	if len(heldBy) != 2 || heldBy[0] != inc.ID || heldBy[1] != 0 {
		t.Fatalf("held_by_incident_id of (customer visit, incident visit) = %v, want (%d, none)", heldBy, inc.ID)
	}
	if _, err := visits.Book(ctx, held, dispatch.Span{Start: clock.Add(time.Hour), End: clock.Add(3 * time.Hour)}, nil, clock); dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Errorf("booking the held customer visit: %v, want a conflict", err)
	}

	restored := clock.Add(-time.Minute)
	if _, err := e.incidents.Resolve(ctx, inc.ID, dispatch.IncidentResolution{Cause: "energía", Verdict: "not_upheld", RestoredAt: &restored}, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	// Resolving it cancelled its repair visit, which had not started: nobody needs to go.
	var status string
	var cancels int
	if err := e.db.NewRaw("SELECT status FROM visits WHERE id = ?", iv.ID).Scan(ctx, &status); err != nil {
		t.Fatal(err)
	}
	if err := e.db.NewRaw("SELECT count(*) FROM events WHERE type = 'visit.cancelled' AND visit_id = ? AND incident_id = ?", iv.ID, inc.ID).Scan(ctx, &cancels); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled" || cancels != 1 {
		t.Errorf("repair visit after resolving: %s with %d visit.cancelled, want cancelled with one", status, cancels)
	}
	_, err = visits.CreateForIncident(ctx, inc.ID, nv, nil, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	var n int
	if err := e.db.NewRaw("SELECT count(*) FROM visits WHERE incident_id = ?", inc.ID).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("incident has %d visits, want 1 (refused ones write nothing)", n)
	}
	// A visit cannot belong to both a report and an incident, nor to neither.
	for _, q := range []string{
		"INSERT INTO visits (report_id, incident_id, duration_min, lat, lon) VALUES (?, ?, 60, 19.4, -99.1)",
		"INSERT INTO visits (duration_min, lat, lon) VALUES (60, 19.4, -99.1) -- ? ?",
	} {
		if _, err := e.db.ExecContext(ctx, q, r.ID, inc.ID); err == nil {
			t.Errorf("%q accepted", q)
		}
	}
}

// TestIncidentVisitUrgentAndAssign: an urgent visit for an incident is inserted into
// today's plan like any urgent visit, and can be unassigned and assigned again by hand.
func TestIncidentVisitUrgentAndAssign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, vs, now := visitFixture(t, 1)
	incidents, err := postgres.NewIncidents(db, postgres.NewEvents(), postgres.IncidentsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	started := now.Add(-time.Hour)
	in, err := dispatch.IncidentInput{AccessPoint: "OLT-2", Title: "Puerto OLT caído", StartedAt: &started}.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incidents.Open(ctx, in, postgres.Origin{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := visits.Book(ctx, vs[0].ID, dispatch.Span{Start: now.Add(2 * time.Hour), End: now.Add(4 * time.Hour)}, nil, now); err != nil {
		t.Fatal(err)
	}
	lat, lon := 19.45, -99.12
	iv, err := visits.CreateForIncident(ctx, inc.ID, dispatch.NewVisit{DurationMin: 45, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon, Urgent: true}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	at := now.Add(3*time.Hour + 20*time.Minute) // 10:20, the technician's day under way
	got, err := visits.InsertUrgent(ctx, iv.ID, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != dispatch.VisitBooked || got.TechnicianID != tech.ID || got.PlannedStart.Before(at) || got.IncidentID != inc.ID {
		t.Fatalf("urgent incident visit = %s tech %d start %v incident %d; want booked with %d after %v",
			got.Status, got.TechnicianID, got.PlannedStart, got.IncidentID, tech.ID, at)
	}
	un, err := visits.Unassign(ctx, iv.ID, got.Version, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	back, err := visits.Assign(ctx, iv.ID, postgres.AssignRequest{TechnicianID: tech.ID, Version: un.Version}, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if back.TechnicianID != tech.ID || back.PlannedStart.IsZero() {
		t.Errorf("assigned again = tech %d start %v, want %d with a planned start", back.TechnicianID, back.PlannedStart, tech.ID)
	}
}
