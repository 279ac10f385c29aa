package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

// planDay is a fresh database with the stores the re-plan job uses, around Monday
// 2026-11-30 in the business zone, for building days of fiber technicians and visits.
type planDay struct {
	db      *bun.DB
	reports *postgres.Reports
	visits  *postgres.Visits
	techs   *postgres.Technicians
	day     time.Time // Monday 00:00
	now     time.Time // when the set-up is made: Monday 07:00
	n       int
}

func newPlanDay(t *testing.T) *planDay {
	t.Helper()
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	visits := postgres.NewVisits(db, events, reports, planning.Config{})
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, visits.Config().Zone)
	return &planDay{db: db, reports: reports, visits: visits, techs: postgres.NewTechnicians(db, events), day: day, now: day.Add(7 * time.Hour)}
}

// at is Monday h:m.
func (p *planDay) at(h, m int) time.Time {
	return p.day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// tech adds a fiber technician living at lat, working 08:00–18:00 on the given weekdays
// (Monday when none).
func (p *planDay) tech(t *testing.T, name string, lat float64, weekdays ...int) *dispatch.Technician {
	t.Helper()
	if len(weekdays) == 0 {
		weekdays = []int{1}
	}
	x := &dispatch.Technician{Name: name, Phone: "55 1234 5678", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: lat, Lon: -99.13}}
	for _, d := range weekdays {
		x.Shifts = append(x.Shifts, dispatch.WeeklyShift{Weekday: d, Start: "08:00", End: "18:00"})
	}
	if err := p.techs.Create(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// visit files a fault report and books its hour-long fiber visit at lat from from to to.
func (p *planDay) visit(t *testing.T, lat float64, from, to time.Time) *dispatch.Visit {
	t.Helper()
	ctx := context.Background()
	p.n++
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin servicio",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "55 3100 000" + string(rune('0'+p.n))}}
	nr, err := in.Validate(p.now)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := p.reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lon := -99.13
	v, err := p.visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, p.now)
	if err != nil {
		t.Fatal(err)
	}
	if v, err = p.visits.Book(ctx, v.ID, dispatch.Span{Start: from, End: to}, nil, p.now); err != nil {
		t.Fatal(err)
	}
	return v
}
