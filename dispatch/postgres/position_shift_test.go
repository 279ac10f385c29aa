package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestPositionOffShiftRefused: technicians share their position while on shift, but a
// position posted at any hour was stored, shown on the board and used for ETAs — an
// evening at home, a Sunday, a day of time off. Now the store takes a position only from
// 30 min before a working span (weekly shift minus exceptions) to 30 min after it, or while
// a visit of his is under way; off shift it answers 409 off_shift and stores nothing.
func TestPositionOffShiftRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, vs, now := visitFixture(t, 1) // Juan works Mondays 08–18; now Mon 2026-11-30 07:00
	techs := postgres.NewTechnicians(db, postgres.NewEvents())
	day := now.Add(-7 * time.Hour)
	at := func(d, h, m int) time.Time {
		return day.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}

	// Time off all of next Monday, and sick from 13:00 the Monday after.
	for _, e := range []dispatch.Exception{
		{TechnicianID: tech.ID, Start: at(7, 0, 0), End: at(8, 0, 0), Reason: dispatch.ExceptionTimeOff},
		{TechnicianID: tech.ID, Start: at(14, 13, 0), End: at(15, 0, 0), Reason: dispatch.ExceptionSick},
	} {
		if err := techs.AddExceptionTx(ctx, &e, nil); err != nil {
			t.Fatal(err)
		}
	}

	lat := 19.40
	post := func(when time.Time) error {
		lat += 0.001 // each accepted post leaves its own mark
		return visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: lat, Lon: -99.16, At: when}, when)
	}
	stored := func() *dispatch.Position {
		t.Helper()
		got, err := techs.Get(ctx, tech.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Position
	}
	cases := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"Sunday noon (no shift)", at(-1, 12, 0), false},
		{"Monday 07:29, 31 min before the shift", at(0, 7, 29), false},
		{"Monday 07:30, the margin before the shift", at(0, 7, 30), true},
		{"Monday noon, in the shift", at(0, 12, 0), true},
		{"Monday 18:30, the margin after the shift", at(0, 18, 30), true},
		{"Monday 18:31", at(0, 18, 31), false},
		{"Monday 22:00, the evening at home", at(0, 22, 0), false},
		{"Tuesday noon (no shift)", at(1, 12, 0), false},
		{"next Monday noon, time off", at(7, 12, 0), false},
		{"Monday after, 12:00 before falling sick", at(14, 12, 0), true},
		{"Monday after, 13:20: margin after the shift cut short", at(14, 13, 20), true},
		{"Monday after, 15:00, sick", at(14, 15, 0), false},
	}
	for _, c := range cases {
		before := stored()
		err := post(c.at)
		after := stored()
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v, want the position stored", c.name, err)
			} else if after == nil || after.Lat != lat || !after.At.Equal(c.at) {
				t.Errorf("%s: stored position = %+v, want lat %v at %v", c.name, after, lat, c.at)
			}
			continue
		}
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Kind != dispatch.KindConflict || de.Code != "off_shift" {
			t.Errorf("%s: err = %v, want conflict off_shift", c.name, err)
		}
		if (before == nil) != (after == nil) || before != nil && *before != *after {
			t.Errorf("%s: position went from %+v to %+v, want nothing stored", c.name, before, after)
		}
	}

	// A visit running past the shift keeps him working: his position is taken while he is
	// on his way or on site, and refused again once it is finished.
	w := dispatch.Span{Start: at(0, 16, 0), End: at(0, 18, 0)}
	if _, err := visits.Book(ctx, vs[0].ID, w, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, at(0, 17, 50)); err != nil {
		t.Fatal(err)
	}
	if err := post(at(0, 18, 45)); err != nil {
		t.Errorf("18:45 on his way to a visit: %v, want the position stored", err)
	}
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitOnSite}, nil, at(0, 19, 0)); err != nil {
		t.Fatal(err)
	}
	if err := post(at(0, 19, 30)); err != nil {
		t.Errorf("19:30 on site: %v, want the position stored", err)
	}
	yes := true
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitCompleted, Cause: "Conector dañado", Verdict: "upheld", ServiceRestored: &yes}, nil, at(0, 19, 40)); err != nil {
		t.Fatal(err)
	}
	err := post(at(0, 19, 45))
	var de *dispatch.Error
	if !errors.As(err, &de) || de.Code != "off_shift" {
		t.Errorf("19:45, the visit finished: err = %v, want conflict off_shift", err)
	}
	if p := stored(); p == nil || !p.At.Equal(at(0, 19, 30)) {
		t.Errorf("stored position = %+v, want the one of 19:30", p)
	}
}

// TestPositionShiftMarginCrossesMidnight: a shift ending at 24:00 takes positions until
// 00:30, on the next business day, and one starting at 00:00 from 23:30 the day before.
func TestPositionShiftMarginCrossesMidnight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, _, now := visitFixture(t, 0)
	techs := postgres.NewTechnicians(db, postgres.NewEvents())
	day := now.Add(-7 * time.Hour) // Monday
	got, err := techs.Get(ctx, tech.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Shifts = []dispatch.WeeklyShift{{Weekday: 1, Start: "18:00", End: "24:00"}, {Weekday: 3, Start: "00:00", End: "06:00"}}
	if err := techs.Update(ctx, got, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{day.Add(24*time.Hour + 30*time.Minute), true},  // Tuesday 00:30
		{day.Add(24*time.Hour + 31*time.Minute), false}, // Tuesday 00:31
		{day.Add(47*time.Hour + 29*time.Minute), false}, // Tuesday 23:29
		{day.Add(47*time.Hour + 30*time.Minute), true},  // Tuesday 23:30
	} {
		err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.4, Lon: -99.1, At: c.at}, c.at)
		if (err == nil) != c.ok {
			t.Errorf("position at %s: err = %v, want accepted %v", c.at.Format("Mon 15:04"), err, c.ok)
		}
	}
}
