package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestOneOpenVisitIndex: the database itself keeps a report to one open visit, whatever
// code writes visits (visits_one_open_per_report): a second unfinished visit is refused,
// a finished one (completed, not_completed, cancelled) is not. The migration that builds
// the index first cancels the duplicates a database already holds, keeping the one
// furthest along, with a visit.cancelled each; without that it could not be applied there.
func TestOneOpenVisitIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	booked := e.book(t, e.visit(t, 19.40, 60), 10, 12)

	insert := func(status string) (int64, error) {
		var id int64
		err := e.db.NewRaw(`INSERT INTO visits (report_id, status, duration_min, lat, lon) VALUES (?, ?, 30, 19.4, -99.16) RETURNING id`,
			booked.ReportID, status).Scan(ctx, &id)
		return id, err
	}
	for _, st := range []string{"unscheduled", "booked"} {
		_, err := insert(st)
		if !postgres.IsUniqueViolation(err) || postgres.Constraint(err) != "visits_one_open_per_report" {
			t.Fatalf("second open visit (%s) stored directly: %v, want the unique violation of visits_one_open_per_report", st, err)
		}
	}
	for _, st := range []string{"completed", "not_completed", "cancelled"} {
		if _, err := insert(st); err != nil {
			t.Fatalf("a %s visit beside an open one: %v", st, err)
		}
	}

	// A database holding duplicates from before: the migration keeps the booked visit.
	if _, err := e.db.ExecContext(ctx, "DROP INDEX visits_one_open_per_report"); err != nil {
		t.Fatal(err)
	}
	dup1, err := insert("unscheduled")
	if err != nil {
		t.Fatal(err)
	}
	dup2, err := insert("unscheduled")
	if err != nil {
		t.Fatal(err)
	}
	other := e.visit(t, 19.41, 30) // another report's only visit
	up, err := os.ReadFile("../../migrations/20261129000100_one_open_visit.tx.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, string(up)); err != nil {
		_ = tx.Rollback()
		t.Fatalf("migration over duplicates: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]dispatch.VisitStatus{booked.ID: dispatch.VisitBooked, dup1: dispatch.VisitCancelled,
		dup2: dispatch.VisitCancelled, other.ID: dispatch.VisitUnscheduled} {
		v, err := e.visits.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status != want {
			t.Errorf("visit %d after the migration: %s, want %s", id, v.Status, want)
		}
	}
	var reasons []string
	if err := e.db.NewRaw(`SELECT data->>'reason' FROM events WHERE type = 'visit.cancelled' AND visit_id IN (?, ?) ORDER BY visit_id`,
		dup1, dup2).Scan(ctx, &reasons); err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 2 || reasons[0] != "duplicate_open_visit" || reasons[1] != "duplicate_open_visit" {
		t.Errorf("visit.cancelled reasons of the duplicates = %v, want duplicate_open_visit twice", reasons)
	}
	if _, err := insert("unscheduled"); !postgres.IsUniqueViolation(err) {
		t.Errorf("after the migration a second open visit: %v, want refused", err)
	}
}

// TestHeldVisitIsOpen: a visit that an open incident holds is still its report's open
// visit (the incident's resolution cancels it, or the dispatcher books it once the outage
// is over): a second one is refused, 409 open_visit, and the message says why it waits.
func TestHeldVisitIsOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	incidents, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: e.reports})
	if err != nil {
		t.Fatal(err)
	}
	v := e.visit(t, 19.40, 60)
	var cid int64
	if err := e.db.NewRaw("SELECT customer_id FROM reports WHERE id = ?", v.ReportID).Scan(ctx, &cid); err != nil {
		t.Fatal(err)
	}
	price := dispatch.Centavos(30000)
	if _, err := postgres.NewAccessPoints(e.db).Set(ctx, cid, "TORRE-ABIERTA", &price); err != nil {
		t.Fatal(err)
	}
	started := e.at(6, 0)
	in, err := dispatch.IncidentInput{AccessPoint: "TORRE-ABIERTA", Title: "Caída", StartedAt: &started}.Validate(e.now)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := incidents.Open(ctx, in, postgres.Origin{Actor: "dispatcher"}); err != nil || d.Attached != 1 {
		t.Fatalf("open = %+v, %v; want the report attached", d, err)
	}
	lat, lon := 19.40, -99.16
	_, err = e.visits.Create(ctx, v.Folio, dispatch.NewVisit{DurationMin: 30, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, e.now)
	var de *dispatch.Error
	if !errors.As(err, &de) || de.Code != "open_visit" || !strings.Contains(de.Message, fmt.Sprintf("visit %d", v.ID)) || !strings.Contains(de.Message, "incident") {
		t.Fatalf("second visit beside one held by the incident: %v; want open_visit naming visit %d as held", err, v.ID)
	}
}
