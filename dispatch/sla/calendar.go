package sla

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // the business zone must resolve on hosts without tzdata
)

// DefaultZone is the business time zone used when none is configured.
const DefaultZone = "America/Mexico_City"

// maxSearchDays bounds every forward search for an opening, so a calendar
// whose holidays close every day cannot loop for ever.
const maxSearchDays = 3660

// TimeOfDay is a wall-clock time as the duration since local midnight;
// 24*time.Hour stands for the end of the day. It is applied to a date by its
// wall clock, so 09:00 stays 09:00 on the wall on a day the clocks change; a
// time the clocks skip is the instant they jump.
type TimeOfDay time.Duration

// Clock returns the time of day h:m.
func Clock(h, m int) TimeOfDay {
	return TimeOfDay(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// String formats t as HH:MM (24:00 for the end of the day).
func (t TimeOfDay) String() string {
	d := time.Duration(t)
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// on returns the instant of t on day d in loc. A wall time in a
// spring-forward gap (New York's 02:30 on the day it skips 02:00–03:00) is the
// instant the clocks jump (03:00 EDT): time.Date puts it an offset change
// before or after that (01:30 EST), which would open before the wall clock
// reads Open or close before it reads Close.
func (t TimeOfDay) on(d Date, loc *time.Location) time.Time {
	x := time.Duration(t)
	h := int(x / time.Hour)
	m := int(x % time.Hour / time.Minute)
	s := int(x % time.Minute / time.Second)
	ns := int(x % time.Second)
	at := time.Date(d.Year, d.Month, d.Day, h, m, s, ns, loc)
	want := time.Date(d.Year, d.Month, d.Day, h, m, s, ns, time.UTC) // 24:00 is the next day's 00:00
	got := wall(at)
	if got.Equal(want) {
		return at
	}
	// at lies in the zone just before the jump (its wall clock is behind) or just after.
	start, end := at.ZoneBounds()
	if got.Before(want) && !end.IsZero() {
		return end
	}
	if got.After(want) && !start.IsZero() {
		return start
	}
	return at
}

// wall returns t's wall clock in t's location as the same reading in UTC.
func wall(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// Hours is one opening of a day, from Open (inclusive) to Close (exclusive).
type Hours struct {
	Open, Close TimeOfDay
}

// Week holds the openings of each weekday, indexed by time.Weekday (Sunday = 0).
// A day may have several openings (e.g. a lunch break); none means closed.
type Week [7][]Hours

// DefaultWeek returns the office hours of the service procedure:
// Monday to Friday 09:00–18:00, Saturday 09:00–15:00, Sunday closed.
func DefaultWeek() Week {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = []Hours{{Clock(9, 0), Clock(18, 0)}}
	}
	w[time.Saturday] = []Hours{{Clock(9, 0), Clock(15, 0)}}
	return w
}

// Holiday closes one date. If Hours is non-empty the date is only partly
// closed: Hours replaces the weekly openings of that date.
type Holiday struct {
	Date  Date
	Name  string
	Hours []Hours
}

// Interval is a span of time from Start (inclusive) to End (exclusive).
// A zero End means the interval has not ended yet.
type Interval struct {
	Start, End time.Time
}

// Open reports whether the interval has no end yet.
func (iv Interval) Open() bool { return iv.End.IsZero() }

// Config describes a calendar; see NewCalendar.
type Config struct {
	// Location is the business time zone; nil means DefaultZone.
	Location *time.Location
	// Week is the regular weekly schedule. It must open at least once a week.
	Week Week
	// Holidays are specific dates; they take precedence over Yearly.
	Holidays []Holiday
	// Yearly, if set, yields the holidays of any year (e.g. MexicanHolidays).
	// It must be a pure function; its results are cached per year.
	Yearly func(year int) []Holiday
}

// Calendar answers when the business is open. It is immutable after
// NewCalendar and safe for concurrent use.
type Calendar struct {
	loc      *time.Location
	week     Week
	holidays map[Date]Holiday
	yearly   func(int) []Holiday

	mu    sync.Mutex
	years map[int]map[Date]Holiday
}

// ErrNoHours is returned by NewCalendar for a week without any opening.
var ErrNoHours = errors.New("sla: the week has no business hours")

// NewCalendar validates cfg and returns its calendar. Openings of a day must
// lie within 00:00–24:00 with Open before Close and must not overlap; they
// are sorted. Two holidays on the same date are an error.
func NewCalendar(cfg Config) (*Calendar, error) {
	c := &Calendar{
		loc:      cfg.Location,
		holidays: make(map[Date]Holiday, len(cfg.Holidays)),
		yearly:   cfg.Yearly,
		years:    make(map[int]map[Date]Holiday),
	}
	if c.loc == nil {
		loc, err := time.LoadLocation(DefaultZone)
		if err != nil {
			return nil, fmt.Errorf("sla: loading %s: %w", DefaultZone, err)
		}
		c.loc = loc
	}
	opens := false
	for wd, hs := range cfg.Week {
		norm, err := normalizeHours(hs)
		if err != nil {
			return nil, fmt.Errorf("sla: %s: %w", time.Weekday(wd), err)
		}
		c.week[wd] = norm
		opens = opens || len(norm) > 0
	}
	if !opens {
		return nil, ErrNoHours
	}
	for _, h := range cfg.Holidays {
		if !h.Date.Valid() {
			return nil, fmt.Errorf("sla: holiday %q: invalid date %v", h.Name, h.Date)
		}
		if _, dup := c.holidays[h.Date]; dup {
			return nil, fmt.Errorf("sla: holiday %s given twice", h.Date)
		}
		norm, err := normalizeHours(h.Hours)
		if err != nil {
			return nil, fmt.Errorf("sla: holiday %s: %w", h.Date, err)
		}
		h.Hours = norm
		c.holidays[h.Date] = h
	}
	return c, nil
}

// MustCalendar is NewCalendar for configurations known to be valid; it
// panics on error.
func MustCalendar(cfg Config) *Calendar {
	c, err := NewCalendar(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// DefaultCalendar returns America/Mexico_City with DefaultWeek and the
// statutory MexicanHolidays of every year.
func DefaultCalendar() *Calendar {
	return MustCalendar(Config{Week: DefaultWeek(), Yearly: MexicanHolidays})
}

func normalizeHours(hs []Hours) ([]Hours, error) {
	out := slices.Clone(hs)
	slices.SortFunc(out, func(a, b Hours) int { return int(a.Open - b.Open) })
	for i, h := range out {
		if h.Open < 0 || h.Close > Clock(24, 0) || h.Open >= h.Close {
			return nil, fmt.Errorf("bad opening %s–%s", h.Open, h.Close)
		}
		if i > 0 && h.Open < out[i-1].Close {
			return nil, fmt.Errorf("openings %s–%s and %s–%s overlap", out[i-1].Open, out[i-1].Close, h.Open, h.Close)
		}
	}
	return out, nil
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// Holiday returns the holiday on d, explicit ones first, then Yearly's.
func (c *Calendar) Holiday(d Date) (Holiday, bool) {
	if h, ok := c.holidays[d]; ok {
		return h, true
	}
	if c.yearly == nil {
		return Holiday{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	y, ok := c.years[d.Year]
	if !ok {
		y = make(map[Date]Holiday)
		for _, h := range c.yearly(d.Year) {
			if norm, err := normalizeHours(h.Hours); err == nil {
				h.Hours = norm
				y[h.Date] = h
			}
		}
		c.years[d.Year] = y
	}
	h, ok := y[d]
	return h, ok
}

// hoursOn returns the wall-clock openings of d.
func (c *Calendar) hoursOn(d Date) []Hours {
	if h, ok := c.Holiday(d); ok {
		return h.Hours
	}
	return c.week[d.Weekday()]
}

// Openings returns the openings of date d as instants in the calendar's
// zone, in order. An opening whose wall-clock times fall into a
// daylight-saving gap may be shorter; one that vanishes is left out.
func (c *Calendar) Openings(d Date) []Interval {
	hs := c.hoursOn(d)
	out := make([]Interval, 0, len(hs))
	for _, h := range hs {
		s, e := h.Open.on(d, c.loc), h.Close.on(d, c.loc)
		if e.After(s) {
			out = append(out, Interval{s, e})
		}
	}
	return out
}

// IsOpen reports whether the business is open at t.
func (c *Calendar) IsOpen(t time.Time) bool {
	d := DateOf(t.In(c.loc))
	// The previous day is checked too, for safety: since on puts a midnight
	// in a daylight-saving gap at the jump, a day's openings no longer start
	// on the day before.
	for _, day := range []Date{d.AddDays(-1), d} {
		for _, iv := range c.Openings(day) {
			if !t.Before(iv.Start) && t.Before(iv.End) {
				return true
			}
		}
	}
	return false
}

// NextOpen returns t if the business is open at t, else the next opening.
// It returns the zero Time if nothing opens within ten years.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	day := DateOf(t.In(c.loc)).AddDays(-1)
	for i := 0; i < maxSearchDays; i++ {
		for _, iv := range c.Openings(day) {
			if iv.End.After(t) {
				return later(iv.Start, t).In(c.loc)
			}
		}
		day = day.AddDays(1)
	}
	return time.Time{}
}

// AddBusiness returns the first instant at which d of business time has
// elapsed since start. A start outside business hours counts from the next
// opening; a result that lands on a closing time stays there (Friday 17:00 +
// 1h is Friday 18:00, not Saturday 09:00). For d <= 0 it returns start.
// It returns the zero Time if the calendar does not open within ten years.
func (c *Calendar) AddBusiness(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start.In(c.loc)
	}
	day := DateOf(start.In(c.loc)).AddDays(-1)
	for closed := 0; closed < maxSearchDays; {
		ivs := c.Openings(day)
		if len(ivs) == 0 {
			closed++
		} else {
			closed = 0
		}
		for _, iv := range ivs {
			if !iv.End.After(start) {
				continue
			}
			s := later(iv.Start, start)
			avail := iv.End.Sub(s)
			if d <= avail {
				return s.Add(d).In(c.loc)
			}
			d -= avail
		}
		day = day.AddDays(1)
	}
	return time.Time{}
}

// BusinessBetween returns the business time from a to b; it is negative
// when b is before a.
func (c *Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.BusinessBetween(b, a)
	}
	var sum time.Duration
	last := DateOf(b.In(c.loc))
	for day := DateOf(a.In(c.loc)).AddDays(-1); !last.Before(day); day = day.AddDays(1) {
		for _, iv := range c.Openings(day) {
			s, e := later(iv.Start, a), earlier(iv.End, b)
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
	}
	return sum
}

// AddBusinessDays returns the close of the n-th business day after the day
// on which start's clock begins. A start outside business hours begins at the
// next opening, and the day it begins on is day 0, so a report filed on a
// Monday (or before Tuesday opens, after Monday closes: then Tuesday is day
// 0) with n = 1 is due when Tuesday (Wednesday) closes. A business day is a
// date with any opening. n <= 0 returns the close of day 0. It returns the
// zero Time if the calendar does not open within ten years.
func (c *Calendar) AddBusinessDays(start time.Time, n int) time.Time {
	open := c.NextOpen(start)
	if open.IsZero() {
		return time.Time{}
	}
	day := DateOf(open)
	for closed := 0; closed < maxSearchDays; day = day.AddDays(1) {
		ivs := c.Openings(day)
		if len(ivs) == 0 {
			closed++
			continue
		}
		closed = 0
		if n <= 0 {
			return ivs[len(ivs)-1].End
		}
		n--
	}
	return time.Time{}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
