package postgres_test

import (
	"context"
	"errors"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestMoveToInactiveTechnician: Move refuses a technician who is not active as Assign
// does, with the same error (422 invalid_technician_id), and leaves the visit as it was.
// It did not look: the day's plan leaves him out, and the move failed as 409 breaks_rule
// "does not work that day".
func TestMoveToInactiveTechnician(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.43)
	v := e.book(t, e.visit(t, 19.42, 60), 10, 12)
	if v.TechnicianID != juan.ID {
		t.Fatalf("visit with %d, want Juan (%d)", v.TechnicianID, juan.ID)
	}
	otro := e.tech(t, "Otro", 19.42)
	otro.Active = false
	if _, err := e.visits.UpdateTechnician(ctx, otro, nil, e.now); err != nil {
		t.Fatal(err)
	}

	_, assignErr := e.visits.Assign(ctx, v.ID, postgres.AssignRequest{TechnicianID: otro.ID, Version: v.Version}, nil, e.now)
	_, moveErr := e.visits.Move(ctx, v.ID, postgres.MoveRequest{TechnicianID: otro.ID, Position: 1, Version: v.Version}, nil, e.now)
	var a, m *dispatch.Error
	if !errors.As(assignErr, &a) || a.Kind != dispatch.KindInvalid || a.Code != "invalid_technician_id" {
		t.Fatalf("assign to an inactive technician: %v, want 422 invalid_technician_id", assignErr)
	}
	if !errors.As(moveErr, &m) || m.Kind != a.Kind || m.Code != a.Code || m.Field != a.Field || m.Message != a.Message {
		t.Errorf("move to an inactive technician: %v, want as assign: %v", moveErr, assignErr)
	}
	got, err := e.visits.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != juan.ID || got.Version != v.Version {
		t.Errorf("visit after the refused move: technician %d version %d, want Juan (%d) version %d", got.TechnicianID, got.Version, juan.ID, v.Version)
	}
}
