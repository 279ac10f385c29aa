package planning_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// TestReplanStartsAtNow stands at 11:00 on a Monday: nobody is planned before now, a
// technician on site starts from that visit once it is done, one who shared his position
// starts from there, and one whose shift begins later starts from home as planned.
func TestReplanStartsAtNow(t *testing.T) {
	t.Parallel()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, cfg.Zone) // a Monday
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	now := at(11, 0)
	shift := func(start, end string) []dispatch.WeeklyShift {
		return []dispatch.WeeklyShift{{Weekday: 1, Start: start, End: end,
			Break: &dispatch.ShiftBreak{Start: "10:00", End: "12:00", Minutes: 30}}}
	}
	onSite := &dispatch.Technician{ID: 1, Active: true, Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13}, Shifts: shift("08:00", "18:00")}
	moving := &dispatch.Technician{ID: 2, Active: true, Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.30, Lon: -99.20}, Shifts: shift("08:00", "18:00"),
		Position: &dispatch.Position{Lat: 19.40, Lon: -99.16, At: at(10, 50)}}
	late := &dispatch.Technician{ID: 3, Active: true, Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.45, Lon: -99.10}, Shifts: shift("14:00", "18:00")}
	win := func(h int) *dispatch.Span { return &dispatch.Span{Start: at(h, 0), End: at(h+2, 0)} }
	st := planning.State{Technicians: []*dispatch.Technician{onSite, moving, late}, Visits: []*dispatch.Visit{
		// On site since 10:40 for an hour.
		{ID: 10, Status: dispatch.VisitOnSite, TechnicianID: 1, DurationMin: 60, Lat: 19.41, Lon: -99.15, Skills: []string{"fiber"},
			Window: win(10), PlannedStart: at(10, 0), PlannedEnd: at(11, 0), ETA: at(10, 40)},
		// Booked for 10–12 and planned at 10:00 with technician 2, who has not started it.
		{ID: 11, Status: dispatch.VisitBooked, TechnicianID: 2, DurationMin: 30, Lat: 19.42, Lon: -99.14, Skills: []string{"fiber"},
			Window: win(10), PlannedStart: at(10, 0), PlannedEnd: at(10, 30)},
		{ID: 12, Status: dispatch.VisitBooked, TechnicianID: 1, DurationMin: 30, Lat: 19.44, Lon: -99.12, Skills: []string{"fiber"},
			Window: win(12), PlannedStart: at(12, 0), PlannedEnd: at(12, 30)},
		{ID: 13, Status: dispatch.VisitBooked, TechnicianID: 3, DurationMin: 30, Lat: 19.46, Lon: -99.11, Skills: []string{"fiber"},
			Window: win(14), PlannedStart: at(14, 0), PlannedEnd: at(14, 30)},
	}}
	p := cfg.Replan(st, day, now)
	byID := map[string]schedule.Technician{}
	for _, pt := range p.Technicians {
		byID[pt.ID] = pt
	}
	for _, v := range p.Visits {
		if v.ID == planning.VisitID(10) {
			t.Error("the visit under way is part of the re-plan")
		}
	}
	t1, t2, t3 := byID[planning.TechID(1)], byID[planning.TechID(2)], byID[planning.TechID(3)]
	if len(t1.Shifts) != 1 || !t1.Shifts[0].Start.Equal(at(11, 40)) || t1.Start.Lat != 19.41 || t1.Start.Lon != -99.15 {
		t.Errorf("on-site technician starts %v at %+v, want 11:40 at the visit", t1.Shifts, t1.Start)
	}
	if t1.Shifts[0].Break != nil {
		t.Errorf("on-site technician keeps a break %+v that no longer fits before 12:00", t1.Shifts[0].Break)
	}
	if len(t2.Shifts) != 1 || !t2.Shifts[0].Start.Equal(now) || t2.Start.Lat != 19.40 || t2.Start.Lon != -99.16 {
		t.Errorf("technician with a position starts %v at %+v, want 11:00 at his position", t2.Shifts, t2.Start)
	}
	if br := t2.Shifts[0].Break; br == nil || !br.Earliest.Equal(now) {
		t.Errorf("technician 2's break = %+v, want one from 11:00", br)
	}
	if len(t3.Shifts) != 1 || !t3.Shifts[0].Start.Equal(at(14, 0)) || t3.Start.Lat != 19.45 {
		t.Errorf("technician not yet at work starts %v at %+v, want 14:00 from home", t3.Shifts, t3.Start)
	}

	plan, err := planning.Current(context.Background(), p, st)
	if err != nil {
		t.Fatal(err)
	}
	as := cfg.Assignments(plan)
	if len(as) != 3 {
		t.Errorf("re-plan places %d visits (%v), want the 3 not under way", len(as), as)
	}
	for id, a := range as {
		if a.Start.Before(now) {
			t.Errorf("visit %d planned at %v, before now %v", id, a.Start.In(cfg.Zone), now)
		}
	}
	if a := as[11]; a.TechnicianID != 2 {
		t.Errorf("visit 11 went to technician %d, want 2 who is behind but can still keep 10–12", a.TechnicianID)
	}
	if a := as[12]; !a.Start.After(at(11, 40)) {
		t.Errorf("visit 12 starts %v, want after technician 1 leaves his visit at 11:40", a.Start.In(cfg.Zone))
	}

	// Before the day begins nothing is clipped.
	early := cfg.Replan(st, day, at(7, 0))
	for _, pt := range early.Technicians {
		if pt.ID == planning.TechID(2) && (!pt.Shifts[0].Start.Equal(at(8, 0)) || pt.Start.Lat != 19.30) {
			t.Errorf("at 07:00 technician 2 starts %v from %+v, want 08:00 from home", pt.Shifts[0].Start, pt.Start)
		}
	}
}
