package planning_test

import (
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
)

func TestShiftsMinusExceptions(t *testing.T) {
	t.Parallel()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, cfg.Zone) // a Monday
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	tech := &dispatch.Technician{ID: 1, Active: true, Shifts: []dispatch.WeeklyShift{
		{Weekday: 1, Start: "08:00", End: "18:00", Break: &dispatch.ShiftBreak{Start: "13:00", End: "15:00", Minutes: 30}},
		{Weekday: 2, Start: "08:00", End: "18:00"},
	}}
	cases := []struct {
		name  string
		exc   []dispatch.Exception
		spans [][2]time.Time
		brk   []bool
	}{
		{"none", nil, [][2]time.Time{{at(8, 0), at(18, 0)}}, []bool{true}},
		{"morning off", []dispatch.Exception{{TechnicianID: 1, Start: at(7, 0), End: at(12, 0)}}, [][2]time.Time{{at(12, 0), at(18, 0)}}, []bool{true}},
		{"dentist", []dispatch.Exception{{TechnicianID: 1, Start: at(10, 0), End: at(11, 0)}}, [][2]time.Time{{at(8, 0), at(10, 0)}, {at(11, 0), at(18, 0)}}, []bool{false, true}},
		{"sick all day", []dispatch.Exception{{TechnicianID: 1, Start: day, End: day.AddDate(0, 0, 1)}}, nil, nil},
		{"someone else", []dispatch.Exception{{TechnicianID: 2, Start: day, End: day.AddDate(0, 0, 1)}}, [][2]time.Time{{at(8, 0), at(18, 0)}}, []bool{true}},
	}
	for _, c := range cases {
		got := cfg.Shifts(tech, c.exc, day)
		if len(got) != len(c.spans) {
			t.Errorf("%s: %d shifts, want %d", c.name, len(got), len(c.spans))
			continue
		}
		for i, s := range got {
			if !s.Start.Equal(c.spans[i][0]) || !s.End.Equal(c.spans[i][1]) || (s.Break != nil) != c.brk[i] {
				t.Errorf("%s: shift %d = %v–%v break %v, want %v–%v break %v", c.name, i, s.Start, s.End, s.Break != nil, c.spans[i][0], c.spans[i][1], c.brk[i])
			}
		}
	}
	tech.Active = false
	if got := cfg.Shifts(tech, nil, day); len(got) != 0 {
		t.Errorf("inactive technician has shifts %v", got)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	d := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	before := map[int64]planning.Assignment{1: {TechnicianID: 1, Position: 1, Day: d}, 2: {TechnicianID: 1, Position: 2, Day: d}, 3: {TechnicianID: 2, Position: 1, Day: d}}
	after := map[int64]planning.Assignment{1: {TechnicianID: 1, Position: 2, Day: d}, 2: {TechnicianID: 2, Position: 1, Day: d}, 3: {TechnicianID: 2, Position: 2, Day: d}}
	changes, moved := planning.Diff(before, after)
	if moved != 3 {
		t.Errorf("moved = %d, want 3", moved)
	}
	if len(changes) != 1 || changes[0].VisitID != 2 || changes[0].From != 1 || changes[0].To != 2 {
		t.Errorf("changes = %+v, want visit 2 from 1 to 2 only", changes)
	}
}

func TestCheckWindow(t *testing.T) {
	t.Parallel()
	cfg := planning.Config{}.WithDefaults()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, cfg.Zone)
	now := day.Add(7 * time.Hour)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	cases := []struct {
		w     dispatch.Span
		field string
	}{
		{dispatch.Span{Start: at(10), End: at(12)}, ""},
		{dispatch.Span{Start: at(6), End: at(8)}, "start"},   // past
		{dispatch.Span{Start: at(17), End: at(19)}, "start"}, // after hours
		{dispatch.Span{Start: at(10), End: at(10)}, "end"},
		{dispatch.Span{Start: at(10), End: at(10).Add(30 * time.Minute)}, "end"}, // shorter than the visit
	}
	for _, c := range cases {
		err := cfg.CheckWindow(c.w, time.Hour, now)
		var got string
		if err != nil {
			got = err.(*dispatch.Error).Field
		}
		if got != c.field {
			t.Errorf("%v–%v: field %q, want %q (%v)", c.w.Start, c.w.End, got, c.field, err)
		}
	}
}

func TestFingerprintFollowsThePlan(t *testing.T) {
	t.Parallel()
	_, st, day := dayState(t, 3, 10)
	now := day.Add(-time.Hour)
	base := planning.Fingerprint(st, now)
	if planning.Fingerprint(st, now) != base {
		t.Fatal("fingerprint is not deterministic")
	}
	moved := st
	moved.Visits = append([]*dispatch.Visit(nil), st.Visits...)
	c := *moved.Visits[0]
	c.RoutePosition++
	moved.Visits[0] = &c
	if planning.Fingerprint(moved, now) == base {
		t.Error("a moved visit keeps the fingerprint")
	}
	held := st
	held.Visits = append(append([]*dispatch.Visit(nil), st.Visits...), &dispatch.Visit{ID: 99, Status: dispatch.VisitUnscheduled,
		Hold: &dispatch.Span{Start: day.Add(10 * time.Hour), End: day.Add(12 * time.Hour)}, HeldUntil: now.Add(5 * time.Minute)})
	if planning.Fingerprint(held, now) == planning.Fingerprint(held, now.Add(10*time.Minute)) {
		t.Error("a hold lapsing keeps the fingerprint")
	}
}
