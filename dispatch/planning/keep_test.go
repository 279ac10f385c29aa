package planning_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// TestImproveKeepsToldTechnicians: on a Monday at 07:00, visit 10 (10–11, next to Beto's
// home) is planned with Ana, who lives across town, and its customer was texted "Ana".
// Without told technicians the optimiser gives it to Beto; with it the visit stays Ana's. But when
// keeping her leaves a promised visit out — visit 11 (10–11 too), which only Ana has the
// skill for, is left out of the plan — the visit goes to Beto after all, so that both
// promises are kept: a promise comes before the churn.
func TestImproveKeepsToldTechnicians(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, cfg.Zone)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	shifts := []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}}
	ana := &dispatch.Technician{ID: 1, Active: true, Skills: []string{"fiber", "copper"}, Home: dispatch.LatLon{Lat: 19.30, Lon: -99.13}, Shifts: shifts}
	beto := &dispatch.Technician{ID: 2, Active: true, Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.60, Lon: -99.13}, Shifts: shifts}
	told := &dispatch.Visit{ID: 10, Status: dispatch.VisitBooked, TechnicianID: 1, DurationMin: 60, Lat: 19.60, Lon: -99.13,
		Skills: []string{"fiber"}, Window: &dispatch.Span{Start: at(10), End: at(11)}, PlannedStart: at(10), PlannedEnd: at(11), RoutePosition: 1}
	copper := &dispatch.Visit{ID: 11, Status: dispatch.VisitBooked, DurationMin: 60, Lat: 19.31, Lon: -99.13,
		Skills: []string{"copper"}, Window: &dispatch.Span{Start: at(10), End: at(11)}}
	opt := schedule.Options{Work: 200_000, Threads: 1, Seed: 1}
	// The plan as stored: visit 10 on Ana's route; any other visit is the plan's
	// Unassigned.
	improve := func(t *testing.T, st planning.State, keep map[int64]int64) map[int64]planning.Assignment {
		t.Helper()
		p := cfg.Problem(st, day, 1, at(7))
		cur, err := schedule.NewPlan(p, planning.Stored(p, st))
		if err != nil {
			t.Fatal(err)
		}
		next, err := planning.Improve(ctx, cur, opt, keep)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Assignments(next)
	}
	alone := planning.State{Technicians: []*dispatch.Technician{ana, beto}, Visits: []*dispatch.Visit{told}}
	if got := improve(t, alone, nil)[10].TechnicianID; got != beto.ID {
		t.Fatalf("set-up: without told technicians visit 10 goes to %d; want Beto (%d), who lives next door", got, beto.ID)
	}
	if got := improve(t, alone, map[int64]int64{10: ana.ID})[10].TechnicianID; got != ana.ID {
		t.Errorf("visit 10, whose customer was told Ana, went to %d; want Ana (%d)", got, ana.ID)
	}
	both := planning.State{Technicians: []*dispatch.Technician{ana, beto}, Visits: []*dispatch.Visit{told, copper}}
	got := improve(t, both, map[int64]int64{10: ana.ID})
	if got[11].TechnicianID != ana.ID || got[10].TechnicianID != beto.ID {
		t.Errorf("with the copper visit off every route: visit 10 with %d, visit 11 with %d; want Beto (%d) and Ana (%d), every promise kept",
			got[10].TechnicianID, got[11].TechnicianID, beto.ID, ana.ID)
	}
}
