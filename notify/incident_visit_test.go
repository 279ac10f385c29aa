package notify_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

// TestIncidentVisitTextsNobody: through the real stores and the outbox hook, a visit
// planned for an incident itself is created, booked, and worked to completion without
// queueing a single text (it has no report and no customer), while a customer's visit
// booked beside it on the same day is texted as usual.
func TestIncidentVisitTextsNobody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
	visits := postgres.NewVisits(e.db, e.events, reports, planning.Config{Zone: mexico})
	incidents, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, mexico) // a Monday
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13}, Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(e.db, e.events).Create(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: phone()}}
	nr, err := in.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 19.40, -99.16
	cv, err := visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	started := now.Add(-time.Hour)
	ii, err := dispatch.IncidentInput{AccessPoint: "NODO-SIN-CLIENTES", Title: "Caída", StartedAt: &started}.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incidents.Open(ctx, ii, postgres.Origin{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	ilat, ilon := 19.42, -99.15
	iv, err := visits.CreateForIncident(ctx, inc.ID, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &ilat, Lon: &ilon}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	before := len(outbox(t, e.db))
	for i, id := range []int64{iv.ID, cv.ID} {
		w := dispatch.Span{Start: now.Add(time.Duration(2+3*i) * time.Hour), End: now.Add(time.Duration(4+3*i) * time.Hour)}
		if _, err := visits.Book(ctx, id, w, nil, now); err != nil {
			t.Fatalf("book %d: %v", id, err)
		}
	}
	at := now.Add(2 * time.Hour)
	yes := true
	for _, o := range []dispatch.Outcome{{Status: dispatch.VisitEnRoute}, {Status: dispatch.VisitOnSite},
		{Status: dispatch.VisitCompleted, Cause: "empalme de fibra", Verdict: "upheld", ServiceRestored: &yes}} {
		at = at.Add(15 * time.Minute)
		if _, err := visits.SetStatus(ctx, iv.ID, o, nil, at); err != nil {
			t.Fatalf("%s: %v", o.Status, err)
		}
	}
	rows := outbox(t, e.db)
	kinds := []string{}
	for _, r := range rows[before:] {
		kinds = append(kinds, r.Kind)
		if r.VisitID == iv.ID {
			t.Errorf("incident visit queued a %s text to %s: %q", r.Kind, r.To, r.Body)
		}
	}
	// The customer's booking: the booked text (booked the same day: no reminder); nothing else.
	if len(rows)-before != 1 || rows[before].Kind != "booked" || rows[before].VisitID != cv.ID {
		t.Errorf("texts queued after the bookings = %v, want only the customer's booked text", kinds)
	}
}
