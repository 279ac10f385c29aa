package postgres_test

import (
	"context"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestBackToBookingReasonIsACode: Juan, the only technician, is off sick and nobody else can
// keep his 10–12 visit: it goes back to booking, and its timeline step's reason read
// "technician time off; no one else can keep the window", an English sentence on the
// Spanish desk. It is a code now, which the desk and the board name in their reader's
// language (reason.technician_absent), as every other reason on a timeline.
func TestBackToBookingReasonIsACode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	v := e.book(t, e.visit(t, 19.40, 60), 10, 12)
	res, err := e.visits.AddTimeOff(ctx, juan.ID, dispatch.Exception{Start: e.at(8, 0), End: e.at(18, 0), Reason: dispatch.ExceptionSick}, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unbooked) != 1 || res.Unbooked[0] != v.ID {
		t.Fatalf("time off: %+v; want visit %d back to booking", res.ReplanResult, v.ID)
	}
	var reason string
	if err := e.db.NewRaw(`SELECT data->>'reason' FROM events WHERE type = 'visit.unassigned' AND visit_id = ?`, v.ID).Scan(ctx, &reason); err != nil {
		t.Fatal(err)
	}
	if reason != postgres.ReasonTechnicianAbsent {
		t.Errorf("visit.unassigned reason = %q; want %q", reason, postgres.ReasonTechnicianAbsent)
	}
}
