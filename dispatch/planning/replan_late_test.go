package planning_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// TestReplanLateInTheDay re-plans days of round-the-clock shifts between 20:00 and
// midnight, with visits booked all day (many windows already past) and technicians who
// shared their positions: the plan to start from is always built and re-optimised. A
// technician whose shift ends before he could get home from where he is used to make an
// empty route that could not exist, and stopped the whole re-plan (seen in the 10-minute
// load run at 23:xx).
func TestReplanLateInTheDay(t *testing.T) {
	t.Parallel()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, cfg.Zone)
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		var techs []*dispatch.Technician
		for i := 1; i <= 8; i++ {
			var sh []dispatch.WeeklyShift
			for d := 0; d < 7; d++ {
				sh = append(sh, dispatch.WeeklyShift{Weekday: d, Start: "00:00", End: "24:00"})
			}
			tc := &dispatch.Technician{ID: int64(i), Active: true, Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.43 + rng.Float64()*0.1 - 0.05, Lon: -99.13 + rng.Float64()*0.1 - 0.05}, Shifts: sh}
			techs = append(techs, tc)
		}
		now := day.Add(time.Duration(20*60+rng.IntN(235)) * time.Minute).Add(time.Duration(rng.IntN(1e9)))
		for _, tc := range techs {
			tc.Position = &dispatch.Position{Lat: 19.43 + rng.Float64()*0.1 - 0.05, Lon: -99.13 + rng.Float64()*0.1 - 0.05, At: now.Add(-time.Duration(rng.IntN(600)) * time.Second)}
		}
		var vs []*dispatch.Visit
		pos := map[int64]int{}
		for i := 1; i <= 40; i++ {
			h := rng.IntN(23)
			w := &dispatch.Span{Start: day.Add(time.Duration(h) * time.Hour), End: day.Add(time.Duration(h+2) * time.Hour)}
			v := &dispatch.Visit{ID: int64(100 + i), Status: dispatch.VisitBooked, DurationMin: 30, Lat: 19.43 + rng.Float64()*0.1 - 0.05, Lon: -99.13 + rng.Float64()*0.1 - 0.05,
				Skills: []string{"fiber"}, Window: w}
			if rng.IntN(4) > 0 {
				tid := int64(1 + rng.IntN(8))
				pos[tid]++
				v.TechnicianID, v.RoutePosition = tid, pos[tid]
			}
			vs = append(vs, v)
		}
		st := planning.State{Technicians: techs, Visits: vs}
		p := cfg.Replan(st, day, now)
		base, err := planning.Current(context.Background(), p, st)
		if err != nil {
			t.Fatalf("seed %d, now %v: plan to start from: %v", seed, now.In(cfg.Zone), err)
		}
		if _, err := planning.Improve(context.Background(), base, schedule.Options{Work: 1e5, Seed: 1, Threads: 1}, nil); err != nil {
			t.Fatalf("seed %d, now %v: re-plan: %v", seed, now.In(cfg.Zone), err)
		}
	}
}
