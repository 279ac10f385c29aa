package planning_test

import (
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
)

// TestShiftsOnDSTDays: where the business zone keeps DST (TZ_BUSINESS=America/Tijuana), a
// shift 08:00–18:00 with lunch 13:00–15:00 is that wall-clock time on the days the clocks
// change too, not midnight plus eight hours (09:00 in spring, 07:00 in autumn).
func TestShiftsOnDSTDays(t *testing.T) {
	t.Parallel()
	zone, err := time.LoadLocation("America/Tijuana")
	if err != nil {
		t.Fatal(err)
	}
	cfg := planning.Config{Zone: zone}.WithDefaults()
	tech := &dispatch.Technician{ID: 1, Active: true, Shifts: []dispatch.WeeklyShift{
		{Weekday: 0, Start: "08:00", End: "18:00", Break: &dispatch.ShiftBreak{Start: "13:00", End: "15:00", Minutes: 30}},
		{Weekday: 0, Start: "20:00", End: "24:00"},
	}}
	for _, day := range []time.Time{
		time.Date(2026, 3, 8, 0, 0, 0, 0, zone),  // a Sunday: 02:00 becomes 03:00
		time.Date(2026, 11, 1, 0, 0, 0, 0, zone), // a Sunday: 02:00 becomes 01:00
		time.Date(2026, 11, 8, 0, 0, 0, 0, zone), // an ordinary Sunday
	} {
		at := func(h int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, zone) }
		got := cfg.Shifts(tech, nil, day)
		if len(got) != 2 {
			t.Fatalf("%s: %d shifts, want 2", day.Format(time.DateOnly), len(got))
		}
		s, n := got[0], got[1]
		if !s.Start.Equal(at(8)) || !s.End.Equal(at(18)) || s.Break == nil ||
			!s.Break.Earliest.Equal(at(13)) || !s.Break.Latest.Equal(at(15)) {
			t.Errorf("%s: shift %v–%v break %+v, want 08:00–18:00 local with its break 13:00–15:00",
				day.Format(time.DateOnly), s.Start.In(zone), s.End.In(zone), s.Break)
		}
		if !n.Start.Equal(at(20)) || !n.End.Equal(at(24)) {
			t.Errorf("%s: evening shift %v–%v, want 20:00 to the next midnight", day.Format(time.DateOnly), n.Start.In(zone), n.End.In(zone))
		}
	}
}
