package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestVisitUnderWayWhenIncidentOpensIsHeldWhenNotCompleted: an incident holds the visits of
// its reports that nobody has set out for; one under way is left to its technician. When
// he could not complete it, the visit went back to booking unheld: it was offered, booked
// and sent to a customer of a known outage, and resolving the incident (which cancels only
// held visits) left it live for a resolved report. Now a visit that cannot be completed
// while its report's incident is open is held like the others, and the resolution cancels
// it.
func TestVisitUnderWayWhenIncidentOpensIsHeldWhenNotCompleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	incidents, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: e.reports})
	if err != nil {
		t.Fatal(err)
	}
	v := e.book(t, e.visit(t, 19.40, 60), 10, 12)
	var cid int64
	if err := e.db.NewRaw("SELECT customer_id FROM reports WHERE id = ?", v.ReportID).Scan(ctx, &cid); err != nil {
		t.Fatal(err)
	}
	price := dispatch.Centavos(30000)
	if _, err := postgres.NewAccessPoints(e.db).Set(ctx, cid, "TORRE-RUTA", &price); err != nil {
		t.Fatal(err)
	}
	if _, err := e.visits.SetStatus(ctx, v.ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, e.at(9, 30)); err != nil {
		t.Fatal(err)
	}
	started := e.at(9, 0)
	in, err := dispatch.IncidentInput{AccessPoint: "TORRE-RUTA", Title: "Caída", StartedAt: &started}.Validate(e.at(9, 40))
	if err != nil {
		t.Fatal(err)
	}
	d, err := incidents.Open(ctx, in, postgres.Origin{Actor: "dispatcher"})
	if err != nil || d.Attached != 1 {
		t.Fatalf("open = %+v, %v; want the report attached", d, err)
	}
	if _, err := e.visits.SetStatus(ctx, v.ID, dispatch.Outcome{Status: dispatch.VisitNotCompleted, Reason: "no_access"}, nil, e.at(10, 0)); err != nil {
		t.Fatal(err)
	}
	var held int64
	if err := e.db.NewRaw("SELECT coalesce(held_by_incident_id, 0) FROM visits WHERE id = ?", v.ID).Scan(ctx, &held); err != nil {
		t.Fatal(err)
	}
	if held != d.ID {
		t.Errorf("visit not completed during incident %d: held by %d; want held by the incident", d.ID, held)
	}
	var de *dispatch.Error
	_, err = e.visits.Book(ctx, v.ID, dispatch.Span{Start: e.at(14, 0), End: e.at(16, 0)}, nil, e.at(10, 5))
	if !errors.As(err, &de) || de.Code != "held_by_incident" {
		t.Errorf("booking the visit during the incident: %v; want held_by_incident", err)
	}

	restored := e.at(11, 0)
	if _, err := incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored},
		postgres.Origin{Actor: "dispatcher"}, e.at(11, 0).Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := e.visits.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != dispatch.VisitCancelled {
		t.Errorf("visit of the resolved report: %s; want cancelled", got.Status)
	}
}
