package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/jobs"
)

// TestReplanOptimisesTodayAndTomorrow runs the re-plan job on a real database. Today and
// tomorrow each hold a visit booked with Ana, who lives across town from it, when Beto, who
// lives next door to both, joins: the job gives both to Beto (visit.rescheduled) and writes
// plan.optimized for both days. Run again, it finds nothing better and writes no event at
// all: before, every run wrote plan.optimized for both days whatever it found, so that
// every open board reloaded and listed "Plan optimizado" twice every five minutes.
func TestReplanOptimisesTodayAndTomorrow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPlanDay(t)
	db, visits, today, now := p.db, p.visits, p.day, p.day.Add(9*time.Hour)
	// A visit booked with the only technician, 12–14 on day.
	visit := func(day time.Time) *dispatch.Visit {
		return p.visit(t, 19.70, day.Add(12*time.Hour), day.Add(14*time.Hour))
	}
	ana := p.tech(t, "Ana", 19.40, 1, 2)
	vs := []*dispatch.Visit{visit(today), visit(today.AddDate(0, 0, 1))}
	for _, v := range vs {
		if v.TechnicianID != ana.ID {
			t.Fatalf("set-up: visit booked with %d, want Ana (%d), the only technician", v.TechnicianID, ana.ID)
		}
	}
	beto := p.tech(t, "Beto", 19.70, 1, 2)
	optimized := func() string {
		t.Helper()
		var days []string
		if err := db.NewSelect().Table("events").ColumnExpr("data->>'day'").Where("type = 'plan.optimized'").Order("id").Scan(ctx, &days); err != nil {
			t.Fatal(err)
		}
		return strings.Join(days, ",")
	}
	run := func() {
		t.Helper()
		if err := jobs.Replan(visits, func() time.Time { return now }, 300*time.Millisecond)(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if got, want := optimized(), "2026-11-30,2026-12-01"; got != want {
		t.Errorf("plan.optimized days after the first run = %q, want %s", got, want)
	}
	for i, v := range vs {
		got, err := visits.Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.TechnicianID != beto.ID {
			t.Errorf("visit %d with technician %d after the re-plan, want Beto (%d), who lives next door", i, got.TechnicianID, beto.ID)
		}
	}
	var last int64
	if err := db.NewRaw("SELECT coalesce(max(id), 0) FROM events").Scan(ctx, &last); err != nil {
		t.Fatal(err)
	}
	run()
	var since []string
	if err := db.NewRaw("SELECT type FROM events WHERE id > ? ORDER BY id", last).Scan(ctx, &since); err != nil {
		t.Fatal(err)
	}
	if len(since) != 0 {
		t.Errorf("a re-plan that found nothing better wrote %v, want no event", since)
	}
}
