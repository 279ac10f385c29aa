package postgres_test

import (
	"context"
	"errors"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestAssignMoveMissingSkill: a technician who lacks a skill the visit requires is refused
// by Assign and by Move with one error (422 invalid_technician_id, naming the skill), and
// the visit stays as it was. Force does not get round it: a forced move or assignment is
// refused alike (a forced assignment was refused by the plan, 409 window_unavailable, which
// pointed at the hours instead of the skill).
func TestAssignMoveMissingSkill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.43)
	v := e.book(t, e.visit(t, 19.42, 60), 10, 12)
	if v.TechnicianID != juan.ID {
		t.Fatalf("visit with %d, want Juan (%d)", v.TechnicianID, juan.ID)
	}
	cobre := e.tech(t, "Cobre", 19.42)
	cobre.Skills = []string{"copper"}
	if _, err := e.visits.UpdateTechnician(ctx, cobre, nil, e.now); err != nil {
		t.Fatal(err)
	}
	admin := adminOrigin(t, e.db).User

	const want = `the technician lacks the skill "fiber"`
	_, assignErr := e.visits.Assign(ctx, v.ID, postgres.AssignRequest{TechnicianID: cobre.ID, Version: v.Version}, nil, e.now)
	var a *dispatch.Error
	if !errors.As(assignErr, &a) || a.Kind != dispatch.KindInvalid || a.Code != "invalid_technician_id" || a.Field != "technician_id" || a.Message != want {
		t.Fatalf("assign to a technician without the skill: %v, want 422 invalid_technician_id %q", assignErr, want)
	}
	for _, force := range []bool{false, true} {
		_, moveErr := e.visits.Move(ctx, v.ID, postgres.MoveRequest{TechnicianID: cobre.ID, Position: 1, Version: v.Version, Force: force}, admin, e.now)
		var m *dispatch.Error
		if !errors.As(moveErr, &m) || m.Kind != a.Kind || m.Code != a.Code || m.Field != a.Field || m.Message != a.Message {
			t.Errorf("move (force %v) to a technician without the skill: %v, want as assign: %v", force, moveErr, assignErr)
		}
	}
	got, err := e.visits.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != juan.ID || got.Version != v.Version {
		t.Errorf("visit after the refusals: technician %d version %d, want Juan (%d) version %d", got.TechnicianID, got.Version, juan.ID, v.Version)
	}

	// A forced assignment is refused with the same error, the visit unchanged.
	_, err = e.visits.Assign(ctx, v.ID, postgres.AssignRequest{TechnicianID: cobre.ID, Version: v.Version, Force: true}, admin, e.now)
	var f *dispatch.Error
	if !errors.As(err, &f) || f.Kind != a.Kind || f.Code != a.Code || f.Field != a.Field || f.Message != a.Message {
		t.Errorf("an admin's forced assignment to a technician without the skill: %v, want as assign: %v", err, assignErr)
	}
	if got, err = e.visits.Get(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != juan.ID || got.Version != v.Version {
		t.Errorf("visit after the forced assignment: technician %d version %d, want Juan (%d) version %d", got.TechnicianID, got.Version, juan.ID, v.Version)
	}
}
