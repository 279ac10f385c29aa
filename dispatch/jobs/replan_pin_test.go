package jobs_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/jobs"
	"despacho/dispatch/postgres"
)

// TestReplanKeepsPinWhenADayRunsLate: Ana's day is a 10–13 visit near home, then a 12–14
// visit across town (an hour's drive) that the dispatcher gave her and pinned (Beto lives
// next to it). At 12:10 the first visit has not been started: she can no longer do both in
// that order, so the day as stored cannot be timed from now. The re-plan job then planned
// the day with no pin at all but the visits under way, and gave the pinned visit to Beto
// (visit.rescheduled: a text to its customer), still marked pinned. A dispatcher's pin holds
// through every re-plan: the pinned visit stays Ana's, pinned, its window kept.
func TestReplanKeepsPinWhenADayRunsLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanDay(t)
	db, visits, day, at, now := p.db, p.visits, p.day, p.at, p.now
	tech := func(name string, lat float64) *dispatch.Technician { return p.tech(t, name, lat) }
	visit := func(lat float64, from, to int) *dispatch.Visit { return p.visit(t, lat, at(from, 0), at(to, 0)) }
	ana := tech("Ana", 19.40)
	beto := tech("Beto", 19.70)
	late := visit(19.40, 10, 13)
	pinned := visit(19.70, 12, 14)
	var err error
	if late.TechnicianID != ana.ID {
		if late, err = visits.Move(ctx, late.ID, postgres.MoveRequest{TechnicianID: ana.ID, Position: 1, Version: late.Version}, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	if pinned, err = visits.Move(ctx, pinned.ID, postgres.MoveRequest{TechnicianID: ana.ID, Position: 2, Version: pinned.Version}, nil, now); err != nil {
		t.Fatal(err)
	}
	if pinned, err = visits.SetPinned(ctx, pinned.ID, true, pinned.Version, nil, now); err != nil {
		t.Fatal(err)
	}
	if late, _ = visits.Get(ctx, late.ID); late.TechnicianID != ana.ID || pinned.TechnicianID != ana.ID || !pinned.Pinned {
		t.Fatalf("set-up: visits with %d and %d (pinned %v), want both Ana's (%d), the second pinned", late.TechnicianID, pinned.TechnicianID, pinned.Pinned, ana.ID)
	}

	var seen int64
	if err := db.NewRaw("SELECT coalesce(max(id), 0) FROM events").Scan(ctx, &seen); err != nil {
		t.Fatal(err)
	}
	clock := at(12, 10)
	if err := jobs.Replan(visits, func() time.Time { return clock }, 200*time.Millisecond)(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := visits.Get(ctx, pinned.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != ana.ID || !got.Pinned {
		t.Errorf("pinned visit after the 12:10 re-plan: technician %d pinned %v; want Ana (%d), pinned (Beto is %d)", got.TechnicianID, got.Pinned, ana.ID, beto.ID)
	}
	if !got.PlannedStart.IsZero() && (got.PlannedArrival.Before(at(12, 0)) || got.PlannedArrival.After(at(14, 0))) {
		t.Errorf("pinned visit planned to arrive at %s, outside its 12–14 window", got.PlannedArrival.In(day.Location()).Format("15:04"))
	}
	var moved int
	if err := db.NewRaw("SELECT count(*) FROM events WHERE visit_id = ? AND type = 'visit.rescheduled' AND id > ?", pinned.ID, seen).Scan(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	if moved != 0 {
		t.Errorf("pinned visit announced as rescheduled %d times, want 0", moved)
	}
}
