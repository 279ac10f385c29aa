package planning_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// dayState builds a day of nt technicians and nv booked visits in Mexico City, planned by
// inserting the visits one by one, as bookings do.
func dayState(tb testing.TB, nt, nv int) (planning.Config, planning.State, time.Time) {
	tb.Helper()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, cfg.Zone)
	rng := rand.New(rand.NewPCG(1, 2))
	var st planning.State
	for i := range nt {
		st.Technicians = append(st.Technicians, &dispatch.Technician{ID: int64(i + 1), Name: fmt.Sprint(i), Active: true,
			Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.3 + rng.Float64()*0.25, Lon: -99.25 + rng.Float64()*0.25},
			Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}}})
	}
	now := day.Add(-time.Hour)
	plan, err := planning.Current(context.Background(), cfg.Problem(st, day, 1, now), st)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []*dispatch.Visit
	for i := range nv {
		v := &dispatch.Visit{ID: int64(i + 1), Status: dispatch.VisitBooked, DurationMin: 30 + 15*(i%2), Skills: []string{"fiber"},
			Lat: 19.3 + rng.Float64()*0.25, Lon: -99.25 + rng.Float64()*0.25}
		h := 8 + 2*rng.IntN(5)
		v.Window = &dispatch.Span{Start: day.Add(time.Duration(h) * time.Hour), End: day.Add(time.Duration(h+2) * time.Hour)}
		next, err := schedule.Insert(plan, cfg.Visit(v))
		if err != nil {
			continue
		}
		plan = next
		vs = append(vs, v)
	}
	as := cfg.Assignments(plan)
	for _, v := range vs {
		a := as[v.ID]
		v.TechnicianID, v.RoutePosition, v.PlannedArrival, v.PlannedStart, v.PlannedEnd = a.TechnicianID, a.Position, a.Arrival, a.Start, a.End
	}
	st.Visits = vs
	return cfg, st, day
}

// BenchmarkCurrent50x400 is the cost of timing a stored 400-visit day, which every slots
// and book request pays.
func BenchmarkCurrent50x400(b *testing.B) {
	cfg, st, day := dayState(b, 50, 400)
	b.Logf("%d visits placed", len(st.Visits))
	now := day.Add(-time.Hour)
	for b.Loop() {
		if _, err := planning.Current(context.Background(), cfg.Problem(st, day, 1, now), st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSlots50x400 adds offering the windows of one more visit.
func BenchmarkSlots50x400(b *testing.B) {
	cfg, st, day := dayState(b, 50, 400)
	now := day.Add(-time.Hour)
	v := cfg.Visit(&dispatch.Visit{ID: 9999, DurationMin: 45, Skills: []string{"fiber"}, Lat: 19.4, Lon: -99.1})
	for b.Loop() {
		plan, err := planning.Current(context.Background(), cfg.Problem(st, day, 1, now), st)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := schedule.Slots(plan, v, day, 1, 2*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}
