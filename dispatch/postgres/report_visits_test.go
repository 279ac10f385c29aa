package postgres_test

import (
	"context"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestClosingReportCancelsItsVisits: a report resolved or cancelled at the desk used to
// leave its visits as they were: a booked one stayed on its technician's route (he was sent
// to a customer whose report was closed, and its hour was never offered again), an
// unscheduled one waited in the board's queue for ever. Now the change cancels every visit
// of the report that nobody has set out for, with a visit.cancelled naming why, in the same
// transaction; a visit under way is left to its technician.
func TestClosingReportCancelsItsVisits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	staff := postgres.Origin{Actor: "agent"}
	yes := true
	resolve := dispatch.Change{Action: dispatch.ActionResolve, Cause: "reinicio del módem", Verdict: "upheld", ServiceRestored: &yes}

	status := func(id int64) dispatch.VisitStatus {
		t.Helper()
		v, err := e.visits.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return v.Status
	}
	reason := func(id int64) string {
		t.Helper()
		var rs []string
		if err := e.db.NewRaw("SELECT coalesce(data->>'reason', '') FROM events WHERE visit_id = ? AND type = 'visit.cancelled' ORDER BY id", id).
			Scan(ctx, &rs); err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			t.Fatalf("visit %d: %d visit.cancelled events, want 1", id, len(rs))
		}
		return rs[0]
	}

	// Cancelled: the booked visit leaves Juan's day, and its hour is offered again.
	booked := e.book(t, e.visit(t, 19.40, 60), 10, 12)
	if _, err := e.reports.Change(ctx, booked.Folio, dispatch.Change{Action: dispatch.ActionCancel, Reason: "duplicado"}, staff, e.now); err != nil {
		t.Fatal(err)
	}
	if st := status(booked.ID); st != dispatch.VisitCancelled {
		t.Errorf("booked visit of a cancelled report: %s, want cancelled", st)
	}
	if r := reason(booked.ID); r != dispatch.ReasonReportCancelled {
		t.Errorf("reason %q, want %q", r, dispatch.ReasonReportCancelled)
	}
	other := e.visit(t, 19.40, 60)
	slots, err := e.visits.Slots(ctx, other.ID, e.day, 1, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if !slotsHave(slots, dispatch.Span{Start: e.at(10, 0), End: e.at(12, 0)}) {
		t.Errorf("10–12 not offered again after the report holding it was cancelled: %v", slots)
	}

	// Resolved: its visit that could not be completed (still to book again) and the new
	// unscheduled one are cancelled; another report's visit is not touched. (A report has
	// one open visit at most: the second is created once the first could not be done.)
	first := e.book(t, e.visit(t, 19.41, 60), 14, 16)
	if _, err := e.visits.SetStatus(ctx, first.ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, e.at(13, 30)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.visits.SetStatus(ctx, first.ID, dispatch.Outcome{Status: dispatch.VisitNotCompleted, Reason: "customer_absent"}, nil, e.at(14, 10)); err != nil {
		t.Fatal(err)
	}
	lat, lon := 19.41, -99.16
	second, err := e.visits.Create(ctx, first.Folio, dispatch.NewVisit{DurationMin: 30, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, e.at(14, 15))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reports.Change(ctx, first.Folio, resolve, staff, e.at(14, 20)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{first.ID, second.ID} {
		if st := status(id); st != dispatch.VisitCancelled {
			t.Errorf("visit %d of a resolved report: %s, want cancelled", id, st)
		}
		if r := reason(id); r != dispatch.ReasonReportResolved {
			t.Errorf("visit %d: reason %q, want %q", id, r, dispatch.ReasonReportResolved)
		}
	}
	if st := status(other.ID); st != dispatch.VisitUnscheduled {
		t.Errorf("another report's visit: %s, want unscheduled", st)
	}

	// A visit whose technician is on his way is his to finish.
	going := e.book(t, e.visit(t, 19.42, 60), 16, 18)
	if _, err := e.visits.SetStatus(ctx, going.ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, e.at(15, 30)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reports.Change(ctx, going.Folio, resolve, staff, e.at(15, 40)); err != nil {
		t.Fatal(err)
	}
	if st := status(going.ID); st != dispatch.VisitEnRoute {
		t.Errorf("visit under way when its report was resolved: %s, want en_route", st)
	}
	if n := len(e.visitEvents(t, going.ID, "visit.cancelled")); n != 0 {
		t.Errorf("visit under way: %d visit.cancelled, want none", n)
	}
}
