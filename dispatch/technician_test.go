package dispatch_test

import (
	"testing"
	"time"

	"despacho/dispatch"
)

func TestParseClockAndShifts(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]time.Duration{"00:00": 0, "09:30": 9*time.Hour + 30*time.Minute, "24:00": 24 * time.Hour} {
		if got, ok := dispatch.ParseClock(s); !ok || got != want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"9:00", "24:01", "12:60", "+1:00", "ab:cd", ""} {
		if _, ok := dispatch.ParseClock(s); ok {
			t.Errorf("ParseClock(%q) accepted", s)
		}
	}
	tech := dispatch.Technician{Name: "A", Phone: "5512345678", Home: dispatch.LatLon{Lat: 19, Lon: -99},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "13:00"}, {Weekday: 1, Start: "12:00", End: "18:00"}}}
	if err := tech.Validate(); err == nil || err.(*dispatch.Error).Field != "shifts[1]" {
		t.Errorf("overlapping shifts: %v, want invalid shifts[1]", err)
	}
	tech.Shifts[1].Start = "14:00"
	tech.Shifts[1].Break = &dispatch.ShiftBreak{Start: "15:00", End: "16:00", Minutes: 90}
	if err := tech.Validate(); err == nil || err.(*dispatch.Error).Field != "shifts[1].break.minutes" {
		t.Errorf("break longer than its span: %v", err)
	}
	tech.Shifts[1].Break.Minutes = 30
	if err := tech.Validate(); err != nil || tech.Phone != "+525512345678" {
		t.Errorf("valid technician: %v, phone %q", err, tech.Phone)
	}
}
