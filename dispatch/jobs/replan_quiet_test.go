package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/jobs"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
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
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	visits := postgres.NewVisits(db, events, reports, planning.Config{})
	techs := postgres.NewTechnicians(db, events)
	today := time.Date(2026, 11, 30, 0, 0, 0, 0, visits.Config().Zone) // a Monday
	now := today.Add(9 * time.Hour)

	tech := func(name string, lat float64) *dispatch.Technician {
		t.Helper()
		x := &dispatch.Technician{Name: name, Phone: "55 1234 5678", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: lat, Lon: -99.13},
			Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}, {Weekday: 2, Start: "08:00", End: "18:00"}}}
		if err := techs.Create(ctx, x, nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	n := 0
	// visit books a visit at lat on day from 12 to 14.
	visit := func(day time.Time, lat float64) *dispatch.Visit {
		t.Helper()
		n++
		in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin servicio",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "55 3100 000" + string(rune('0'+n))}}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lon := -99.13
		v, err := visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if v, err = visits.Book(ctx, v.ID, dispatch.Span{Start: day.Add(12 * time.Hour), End: day.Add(14 * time.Hour)}, nil, now); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ana := tech("Ana", 19.40)
	vs := []*dispatch.Visit{visit(today, 19.70), visit(today.AddDate(0, 0, 1), 19.70)}
	for _, v := range vs {
		if v.TechnicianID != ana.ID {
			t.Fatalf("set-up: visit booked with %d, want Ana (%d), the only technician", v.TechnicianID, ana.ID)
		}
	}
	beto := tech("Beto", 19.70)
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
