package sla

import (
	"math/rand/v2"
	"testing"
	"time"
)

func mustLoad(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

var mx = func() *time.Location {
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at returns a wall-clock instant in loc; "2026-11-27 17:30".
func at(tb testing.TB, loc *time.Location, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		tb.Fatalf("bad test time %q: %v", s, err)
	}
	return t
}

func TestMexicanHolidays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		year int
		want []string
	}{
		{2024, []string{"2024-01-01", "2024-02-05", "2024-03-18", "2024-05-01", "2024-09-16", "2024-10-01", "2024-11-18", "2024-12-25"}},
		{2025, []string{"2025-01-01", "2025-02-03", "2025-03-17", "2025-05-01", "2025-09-16", "2025-11-17", "2025-12-25"}},
		{2026, []string{"2026-01-01", "2026-02-02", "2026-03-16", "2026-05-01", "2026-09-16", "2026-11-16", "2026-12-25"}},
		{2030, []string{"2030-01-01", "2030-02-04", "2030-03-18", "2030-05-01", "2030-09-16", "2030-10-01", "2030-11-18", "2030-12-25"}},
		{2018, []string{"2018-01-01", "2018-02-05", "2018-03-19", "2018-05-01", "2018-09-16", "2018-11-19", "2018-12-01", "2018-12-25"}},
	}
	for _, tt := range tests {
		got := MexicanHolidays(tt.year)
		if len(got) != len(tt.want) {
			t.Errorf("MexicanHolidays(%d) = %v, want %v", tt.year, got, tt.want)
			continue
		}
		for i, h := range got {
			if h.Date.String() != tt.want[i] || h.Name == "" || len(h.Hours) != 0 {
				t.Errorf("MexicanHolidays(%d)[%d] = %v %q, want %s", tt.year, i, h.Date, h.Name, tt.want[i])
			}
		}
	}
}

func TestCalendarDefault(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	if got := cal.Location().String(); got != DefaultZone {
		t.Fatalf("Location() = %s, want %s", got, DefaultZone)
	}
	tests := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"within a day", at(t, mx, "2026-11-25 10:00"), 3 * time.Hour, at(t, mx, "2026-11-25 13:00")},
		{"Friday 17:30 + 2h is Saturday 10:30", at(t, mx, "2026-11-27 17:30"), 2 * time.Hour, at(t, mx, "2026-11-28 10:30")},
		{"Saturday 14:00 + 2h is Monday 10:00", at(t, mx, "2026-11-28 14:00"), 2 * time.Hour, at(t, mx, "2026-11-30 10:00")},
		{"ends exactly at close", at(t, mx, "2026-11-27 17:00"), time.Hour, at(t, mx, "2026-11-27 18:00")},
		{"starts at close", at(t, mx, "2026-11-27 18:00"), time.Minute, at(t, mx, "2026-11-28 09:01")},
		{"before opening", at(t, mx, "2026-11-25 06:12"), 30 * time.Minute, at(t, mx, "2026-11-25 09:30")},
		{"Sunday", at(t, mx, "2026-11-29 12:00"), time.Hour, at(t, mx, "2026-11-30 10:00")},
		{"holiday Monday (Revolución)", at(t, mx, "2026-11-14 14:00"), 2 * time.Hour, at(t, mx, "2026-11-17 10:00")},
		{"holiday Monday (Constitución)", at(t, mx, "2026-01-31 14:30"), time.Hour, at(t, mx, "2026-02-03 09:30")},
		{"Dec 31 to Jan 2", at(t, mx, "2025-12-31 17:00"), 2 * time.Hour, at(t, mx, "2026-01-02 10:00")},
		{"Christmas and a weekend", at(t, mx, "2026-12-24 17:00"), 2 * time.Hour, at(t, mx, "2026-12-26 10:00")},
		{"03:00 UTC is the evening before", time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC), 2 * time.Hour, at(t, mx, "2026-11-28 11:00")},
		{"UTC in, open", time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC), time.Hour, at(t, mx, "2026-11-25 11:00")},
		{"a full week", at(t, mx, "2026-11-23 09:00"), 51 * time.Hour, at(t, mx, "2026-11-28 15:00")},
		{"zero", at(t, mx, "2026-11-29 12:00"), 0, at(t, mx, "2026-11-29 12:00")},
		{"negative", at(t, mx, "2026-11-29 12:00"), -time.Hour, at(t, mx, "2026-11-29 12:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := cal.AddBusiness(tt.start, tt.d)
			if !got.Equal(tt.want) {
				t.Errorf("AddBusiness(%v, %v) = %v, want %v", tt.start, tt.d, got, tt.want)
			}
			if got.Location() != cal.Location() {
				t.Errorf("AddBusiness returned location %v, want %v", got.Location(), cal.Location())
			}
			if tt.d > 0 {
				if back := cal.BusinessBetween(tt.start, got); back != tt.d {
					t.Errorf("BusinessBetween(start, AddBusiness(start, %v)) = %v, want %v", tt.d, back, tt.d)
				}
				if back := cal.BusinessBetween(got, tt.start); back != -tt.d {
					t.Errorf("BusinessBetween(end, start) = %v, want %v", back, -tt.d)
				}
			}
		})
	}
}

func TestIsOpenNextOpen(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	tests := []struct {
		t    time.Time
		open bool
		next time.Time
	}{
		{at(t, mx, "2026-11-25 08:59"), false, at(t, mx, "2026-11-25 09:00")},
		{at(t, mx, "2026-11-25 09:00"), true, at(t, mx, "2026-11-25 09:00")},
		{at(t, mx, "2026-11-25 17:59"), true, at(t, mx, "2026-11-25 17:59")},
		{at(t, mx, "2026-11-25 18:00"), false, at(t, mx, "2026-11-26 09:00")},
		{at(t, mx, "2026-11-28 15:00"), false, at(t, mx, "2026-11-30 09:00")},
		{at(t, mx, "2026-11-16 12:00"), false, at(t, mx, "2026-11-17 09:00")},
		{at(t, mx, "2026-12-31 23:59"), false, at(t, mx, "2027-01-02 09:00")},
		{time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), false, at(t, mx, "2026-11-26 09:00")},
		{time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), true, at(t, mx, "2026-11-26 09:00")},
	}
	for _, tt := range tests {
		if got := cal.IsOpen(tt.t); got != tt.open {
			t.Errorf("IsOpen(%v) = %v, want %v", tt.t, got, tt.open)
		}
		want := tt.next
		if tt.open {
			want = tt.t
		}
		if got := cal.NextOpen(tt.t); !got.Equal(want) {
			t.Errorf("NextOpen(%v) = %v, want %v", tt.t, got, want)
		}
	}
}

func TestCalendarSplitHoursAndPartialHoliday(t *testing.T) {
	t.Parallel()
	w := DefaultWeek()
	w[time.Wednesday] = []Hours{{Clock(14, 0), Clock(18, 0)}, {Clock(9, 0), Clock(13, 0)}} // unsorted on purpose
	cal, err := NewCalendar(Config{
		Location: mx,
		Week:     w,
		Holidays: []Holiday{
			{Date: Date{2026, 12, 24}, Name: "Nochebuena", Hours: []Hours{{Clock(9, 0), Clock(12, 0)}}},
			{Date: Date{2026, 12, 25}, Name: "Navidad"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{at(t, mx, "2026-11-25 12:30"), time.Hour, at(t, mx, "2026-11-25 14:30")},
		{at(t, mx, "2026-11-25 13:15"), time.Hour, at(t, mx, "2026-11-25 15:00")},
		{at(t, mx, "2026-11-25 12:00"), time.Hour, at(t, mx, "2026-11-25 13:00")},
		{at(t, mx, "2026-12-24 11:00"), 2 * time.Hour, at(t, mx, "2026-12-26 10:00")},
		{at(t, mx, "2026-12-24 13:00"), time.Hour, at(t, mx, "2026-12-26 10:00")},
	}
	for _, tt := range tests {
		if got := cal.AddBusiness(tt.start, tt.d); !got.Equal(tt.want) {
			t.Errorf("AddBusiness(%v, %v) = %v, want %v", tt.start, tt.d, got, tt.want)
		}
	}
	if h, ok := cal.Holiday(Date{2026, 12, 24}); !ok || h.Name != "Nochebuena" {
		t.Errorf("Holiday(2026-12-24) = %v, %v; want Nochebuena", h, ok)
	}
	if _, ok := cal.Holiday(Date{2026, 1, 1}); ok {
		t.Errorf("Holiday(2026-01-01) found in a calendar without Yearly")
	}
}

func TestNewCalendarErrors(t *testing.T) {
	t.Parallel()
	w := DefaultWeek()
	overlap := w
	overlap[time.Monday] = []Hours{{Clock(9, 0), Clock(13, 0)}, {Clock(12, 0), Clock(18, 0)}}
	backwards := w
	backwards[time.Tuesday] = []Hours{{Clock(18, 0), Clock(9, 0)}}
	late := w
	late[time.Tuesday] = []Hours{{Clock(18, 0), Clock(25, 0)}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty week", Config{}},
		{"overlap", Config{Week: overlap}},
		{"backwards", Config{Week: backwards}},
		{"past midnight", Config{Week: late}},
		{"bad holiday date", Config{Week: w, Holidays: []Holiday{{Date: Date{2026, 2, 30}}}}},
		{"duplicate holiday", Config{Week: w, Holidays: []Holiday{{Date: Date{2026, 2, 3}}, {Date: Date{2026, 2, 3}}}}},
		{"bad holiday hours", Config{Week: w, Holidays: []Holiday{{Date: Date{2026, 2, 3}, Hours: []Hours{{Clock(10, 0), Clock(10, 0)}}}}}},
	}
	for _, tt := range tests {
		if _, err := NewCalendar(tt.cfg); err == nil {
			t.Errorf("%s: NewCalendar succeeded, want an error", tt.name)
		}
	}
}

// TestCalendarDST checks a zone with daylight saving time. On 2026-03-08
// New York skips 02:00–03:00; on 2026-11-01 it repeats 01:00–02:00.
func TestCalendarDST(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"America/New_York", "America/Tijuana"} {
		loc := mustLoad(t, zone)
		var w Week
		for d := range w {
			w[d] = []Hours{{Clock(0, 0), Clock(24, 0)}}
		}
		allDay := MustCalendar(Config{Location: loc, Week: w})
		day := func(s string) time.Time { return at(t, loc, s) }
		if got := allDay.BusinessBetween(day("2026-03-08 00:00"), day("2026-03-09 00:00")); got != 23*time.Hour {
			t.Errorf("%s: spring-forward day has %v business time, want 23h", zone, got)
		}
		if got := allDay.BusinessBetween(day("2026-11-01 00:00"), day("2026-11-02 00:00")); got != 25*time.Hour {
			t.Errorf("%s: fall-back day has %v business time, want 25h", zone, got)
		}
		if got, want := allDay.AddBusiness(day("2026-03-07 22:00"), 24*time.Hour), day("2026-03-08 23:00"); !got.Equal(want) {
			t.Errorf("%s: 24/7 AddBusiness across spring forward = %v, want %v", zone, got, want)
		}

		night := w
		night[time.Sunday] = []Hours{{Clock(1, 0), Clock(4, 0)}}
		nc := MustCalendar(Config{Location: loc, Week: night})
		if got := nc.BusinessBetween(day("2026-03-08 00:00"), day("2026-03-08 12:00")); got != 2*time.Hour {
			t.Errorf("%s: 01:00–04:00 on spring forward = %v, want 2h", zone, got)
		}
		if got := nc.BusinessBetween(day("2026-11-01 00:00"), day("2026-11-01 12:00")); got != 4*time.Hour {
			t.Errorf("%s: 01:00–04:00 on fall back = %v, want 4h", zone, got)
		}

		office := MustCalendar(Config{Location: loc, Week: DefaultWeek()})
		// Saturday 14:00 + 2h business = Monday 10:00 wall clock, whatever
		// the offset did on Sunday.
		for _, c := range [][2]string{{"2026-03-07 14:00", "2026-03-09 10:00"}, {"2026-10-31 14:00", "2026-11-02 10:00"}} {
			if got, want := office.AddBusiness(day(c[0]), 2*time.Hour), day(c[1]); !got.Equal(want) {
				t.Errorf("%s: AddBusiness(%s, 2h) = %v, want %v", zone, c[0], got, want)
			}
		}
	}
}

// TestBruteForce compares AddBusiness, BusinessBetween, IsOpen and NextOpen
// with minute-by-minute stepping on random inputs, in a fixed and a DST zone,
// with split days, partial holidays and late-night openings.
func TestBruteForce(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, zone := range []string{"America/Mexico_City", "America/New_York"} {
		loc := mustLoad(t, zone)
		w := DefaultWeek()
		w[time.Wednesday] = []Hours{{Clock(8, 0), Clock(12, 30)}, {Clock(13, 15), Clock(19, 0)}, {Clock(22, 0), Clock(24, 0)}}
		w[time.Thursday] = []Hours{{Clock(0, 0), Clock(2, 0)}, {Clock(9, 0), Clock(18, 0)}}
		w[time.Sunday] = []Hours{{Clock(1, 30), Clock(2, 45)}}
		cal := MustCalendar(Config{
			Location: loc,
			Week:     w,
			Holidays: []Holiday{{Date: Date{2026, 3, 12}, Hours: []Hours{{Clock(10, 0), Clock(11, 0)}}}},
			Yearly:   MexicanHolidays,
		})
		// Windows around New York's DST changes, the year end and Mexican holidays.
		bases := []time.Time{
			time.Date(2026, 3, 4, 0, 0, 0, 0, loc),
			time.Date(2026, 10, 28, 0, 0, 0, 0, loc),
			time.Date(2026, 12, 20, 0, 0, 0, 0, loc),
			time.Date(2026, 11, 10, 0, 0, 0, 0, loc),
		}
		for i := 0; i < 120; i++ {
			start := bases[r.IntN(len(bases))].Add(time.Duration(r.IntN(10*24*60)) * time.Minute)
			d := time.Duration(r.IntN(40*60)+1) * time.Minute
			// Brute force: walk minutes, counting the open ones.
			want, left := start, d
			for left > 0 {
				if cal.IsOpen(want) {
					left -= time.Minute
				}
				want = want.Add(time.Minute)
			}
			got := cal.AddBusiness(start, d)
			if !got.Equal(want) {
				t.Fatalf("%s: AddBusiness(%v, %v) = %v, want %v", zone, start, d, got, want)
			}
			end := start.Add(time.Duration(r.IntN(6*24*60)) * time.Minute)
			var open time.Duration
			next := time.Time{}
			for m := start; m.Before(end); m = m.Add(time.Minute) {
				if cal.IsOpen(m) {
					open += time.Minute
					if next.IsZero() {
						next = m
					}
				}
			}
			if got := cal.BusinessBetween(start, end); got != open {
				t.Fatalf("%s: BusinessBetween(%v, %v) = %v, want %v", zone, start, end, got, open)
			}
			if !next.IsZero() {
				if got := cal.NextOpen(start); !got.Equal(next) {
					t.Fatalf("%s: NextOpen(%v) = %v, want %v", zone, start, got, next)
				}
			}
		}
	}
}

// TestIsOpenAgainstWallClock checks IsOpen itself, which the brute force
// trusts, against a direct reading of the wall clock.
func TestIsOpenAgainstWallClock(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	hol := map[Date]bool{}
	for _, y := range []int{2025, 2026} {
		for _, h := range MexicanHolidays(y) {
			hol[h.Date] = true
		}
	}
	start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	for m := start; m.Before(start.Add(60 * 24 * time.Hour)); m = m.Add(7 * time.Minute) {
		l := m.In(mx)
		mins := l.Hour()*60 + l.Minute()
		var want bool
		switch {
		case hol[DateOf(l)] || l.Weekday() == time.Sunday:
		case l.Weekday() == time.Saturday:
			want = mins >= 9*60 && mins < 15*60
		default:
			want = mins >= 9*60 && mins < 18*60
		}
		if got := cal.IsOpen(m); got != want {
			t.Fatalf("IsOpen(%v) = %v, want %v", l, got, want)
		}
	}
}

func TestAddBusinessDays(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	tests := []struct {
		name  string
		start time.Time
		n     int
		want  time.Time
	}{
		{"Monday + 5", at(t, mx, "2026-11-23 10:00"), 5, at(t, mx, "2026-11-28 15:00")},
		{"Monday evening + 5", at(t, mx, "2026-11-23 19:00"), 5, at(t, mx, "2026-11-30 18:00")},
		{"Monday early + 1", at(t, mx, "2026-11-23 07:00"), 1, at(t, mx, "2026-11-24 18:00")},
		{"Friday + 1", at(t, mx, "2026-11-13 10:00"), 1, at(t, mx, "2026-11-14 15:00")},
		{"over a holiday Monday", at(t, mx, "2026-11-14 16:00"), 1, at(t, mx, "2026-11-18 18:00")},
		{"zero days", at(t, mx, "2026-11-23 10:00"), 0, at(t, mx, "2026-11-23 18:00")},
		{"year end", at(t, mx, "2026-12-31 12:00"), 1, at(t, mx, "2027-01-02 15:00")},
	}
	for _, tt := range tests {
		if got := cal.AddBusinessDays(tt.start, tt.n); !got.Equal(tt.want) {
			t.Errorf("%s: AddBusinessDays(%v, %d) = %v, want %v", tt.name, tt.start, tt.n, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2024-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2024-02-29" {
		t.Errorf("AddDays(1) = %s, want 2024-02-29", got)
	}
	if got := d.AddDays(2).String(); got != "2024-03-01" {
		t.Errorf("AddDays(2) = %s, want 2024-03-01", got)
	}
	if !d.Before(d.AddDays(1)) || d.AddDays(1).Before(d) || d.Before(d) {
		t.Errorf("Before is not a strict order")
	}
	if _, err := ParseDate("2024-02-30"); err == nil {
		t.Errorf("ParseDate(2024-02-30) succeeded")
	}
	if got := Clock(9, 5).String(); got != "09:05" {
		t.Errorf("Clock(9,5) = %s, want 09:05", got)
	}
}

// TestCalendarDSTGap checks openings with a boundary in a spring-forward gap. A wall time
// the clocks skip is reached when they jump: New York's 02:30 on 2026-03-08 is 03:00 EDT,
// Havana's midnight on 2026-03-08 is 01:00 CDT, Beirut's 00:30 on 2026-03-29 is 01:00 EEST.
// time.Date alone puts such a time an hour before or after it, which counted New York's
// 01:45 EST as inside an opening that starts at 02:30, and ended a Havana Saturday that
// closes at 24:00 at 23:00.
func TestCalendarDSTGap(t *testing.T) {
	t.Parallel()
	ny, havana, beirut := mustLoad(t, "America/New_York"), mustLoad(t, "America/Havana"), mustLoad(t, "Asia/Beirut")
	only := func(loc *time.Location, wd time.Weekday, hs ...Hours) *Calendar {
		var w Week
		w[wd] = hs
		return MustCalendar(Config{Location: loc, Week: w})
	}
	utc := func(s string) time.Time {
		t.Helper()
		u, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name       string
		cal        *Calendar
		from, to   time.Time // BusinessBetween over the day
		want       time.Duration
		closed     time.Time // an instant IsOpen must deny
		open       time.Time // an instant IsOpen must grant
		addFrom    time.Time // AddBusiness(addFrom, time.Minute) must be addWant
		addWant    time.Time
		openingLen time.Duration // length of the day's single opening, Openings(gapDay)
		gapDay     Date
	}{
		{
			name: "New York opens 02:30 (in the gap) to 04:00",
			cal:  only(ny, time.Sunday, Hours{Clock(2, 30), Clock(4, 0)}),
			from: utc("2026-03-08 05:00"), to: utc("2026-03-08 12:00"), want: time.Hour,
			closed:  utc("2026-03-08 06:45"), // 01:45 EST
			open:    utc("2026-03-08 07:00"), // 03:00 EDT
			addFrom: utc("2026-03-08 05:00"), addWant: utc("2026-03-08 07:01"),
			openingLen: time.Hour, gapDay: Date{2026, 3, 8},
		},
		{
			name: "New York 01:00 to 02:30 (in the gap)",
			cal:  only(ny, time.Sunday, Hours{Clock(1, 0), Clock(2, 30)}),
			from: utc("2026-03-08 05:00"), to: utc("2026-03-08 12:00"), want: time.Hour,
			closed:  utc("2026-03-08 07:00"), // 03:00 EDT
			open:    utc("2026-03-08 06:45"), // 01:45 EST
			addFrom: utc("2026-03-08 06:59"), addWant: utc("2026-03-08 07:00"),
			openingLen: time.Hour, gapDay: Date{2026, 3, 8},
		},
		{
			name: "Havana Saturday 09:00 to 24:00, midnight in the gap",
			cal:  only(havana, time.Saturday, Hours{Clock(9, 0), Clock(24, 0)}),
			from: utc("2026-03-07 05:00"), to: utc("2026-03-09 05:00"), want: 15 * time.Hour,
			closed:  utc("2026-03-08 05:30"), // Sunday 01:30 CDT
			open:    utc("2026-03-08 04:30"), // Saturday 23:30 CST
			addFrom: utc("2026-03-08 04:30"), addWant: utc("2026-03-08 04:31"),
			openingLen: 15 * time.Hour, gapDay: Date{2026, 3, 7},
		},
		{
			name: "Beirut 00:30 (in the gap) to 01:30",
			cal:  only(beirut, time.Sunday, Hours{Clock(0, 30), Clock(1, 30)}),
			from: utc("2026-03-28 20:00"), to: utc("2026-03-29 12:00"), want: 30 * time.Minute,
			closed:  utc("2026-03-28 22:45"), // 01:45 EEST
			open:    utc("2026-03-28 22:15"), // 01:15 EEST
			addFrom: utc("2026-03-28 20:00"), addWant: utc("2026-03-28 22:01"),
			openingLen: 30 * time.Minute, gapDay: Date{2026, 3, 29},
		},
	}
	for _, tt := range tests {
		if got := tt.cal.BusinessBetween(tt.from, tt.to); got != tt.want {
			t.Errorf("%s: BusinessBetween = %v, want %v", tt.name, got, tt.want)
		}
		if tt.cal.IsOpen(tt.closed) {
			t.Errorf("%s: IsOpen(%v) = true, want false", tt.name, tt.closed.In(tt.cal.Location()))
		}
		if !tt.cal.IsOpen(tt.open) {
			t.Errorf("%s: IsOpen(%v) = false, want true", tt.name, tt.open.In(tt.cal.Location()))
		}
		if got := tt.cal.AddBusiness(tt.addFrom, time.Minute); !got.Equal(tt.addWant) {
			t.Errorf("%s: AddBusiness(%v, 1m) = %v, want %v", tt.name, tt.addFrom.In(tt.cal.Location()), got, tt.addWant.In(tt.cal.Location()))
		}
		ivs := tt.cal.Openings(tt.gapDay)
		if len(ivs) != 1 || ivs[0].End.Sub(ivs[0].Start) != tt.openingLen {
			t.Errorf("%s: Openings(%s) = %v, want one of %v", tt.name, tt.gapDay, ivs, tt.openingLen)
		}
	}
}
