package sla

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CalendarDocument is a business calendar as admins read and write it (GET and PUT
// /api/calendar) and as it is stored: the weekly hours and the dated exceptions. The time
// zone and the yearly holidays (MexicanHolidays) are not part of it: they come from the
// calendar it is applied to (Calendar.WithDocument).
type CalendarDocument struct {
	Week       *WeekDocument       `json:"week"`
	Exceptions []ExceptionDocument `json:"exceptions"`
}

// WeekDocument holds the openings of each weekday. Every day must be given: [] is a day
// closed, a missing (nil) day is an error, so that a client that forgot a day does not close
// it by accident.
type WeekDocument struct {
	Monday    []HoursDocument `json:"monday"`
	Tuesday   []HoursDocument `json:"tuesday"`
	Wednesday []HoursDocument `json:"wednesday"`
	Thursday  []HoursDocument `json:"thursday"`
	Friday    []HoursDocument `json:"friday"`
	Saturday  []HoursDocument `json:"saturday"`
	Sunday    []HoursDocument `json:"sunday"`
}

// HoursDocument is one opening as wall-clock times HH:MM; Close may be 24:00 (midnight at
// the end of the day).
type HoursDocument struct {
	Open  string `json:"open"`
	Close string `json:"close"`
}

// ExceptionDocument is one dated exception to the week: closed all day (Closed, no Hours),
// or open only during Hours. It overrides a yearly holiday on the same date.
type ExceptionDocument struct {
	Date   string          `json:"date"`
	Name   string          `json:"name"`
	Closed bool            `json:"closed"`
	Hours  []HoursDocument `json:"hours,omitempty"`
}

// Limits of a calendar document.
const (
	// MaxOpenings is the most openings one day (of the week or of an exception) may have.
	MaxOpenings = 6
	// MaxExceptions is the most dated exceptions a calendar may hold: about a year of them.
	MaxExceptions = 400
	// MaxHolidayName is the longest name of an exception, in characters.
	MaxHolidayName = 100
	// MinExceptionYear and MaxExceptionYear bound the year of an exception's date, so a
	// typo (0227, 20270) is refused rather than stored.
	MinExceptionYear = 2000
	MaxExceptionYear = 2199
)

// weekdays pairs each weekday with its name in a WeekDocument, Monday first.
var weekdays = []struct {
	day  time.Weekday
	name string
	of   func(*WeekDocument) *[]HoursDocument
}{
	{time.Monday, "monday", func(w *WeekDocument) *[]HoursDocument { return &w.Monday }},
	{time.Tuesday, "tuesday", func(w *WeekDocument) *[]HoursDocument { return &w.Tuesday }},
	{time.Wednesday, "wednesday", func(w *WeekDocument) *[]HoursDocument { return &w.Wednesday }},
	{time.Thursday, "thursday", func(w *WeekDocument) *[]HoursDocument { return &w.Thursday }},
	{time.Friday, "friday", func(w *WeekDocument) *[]HoursDocument { return &w.Friday }},
	{time.Saturday, "saturday", func(w *WeekDocument) *[]HoursDocument { return &w.Saturday }},
	{time.Sunday, "sunday", func(w *WeekDocument) *[]HoursDocument { return &w.Sunday }},
}

// ParseTimeOfDay parses a wall-clock time written HH:MM on a 24-hour clock, 00:00 to
// 24:00; nothing else is accepted ("9:00", "9am" and "25:00" are errors).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	bad := fmt.Errorf("sla: time %q: want HH:MM from 00:00 to 24:00", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, bad
	}
	return Clock(h, m), nil
}

// Document returns the week and the explicit holidays of c as a document, exceptions in
// date order. The yearly holidays are not in it.
func (c *Calendar) Document() CalendarDocument {
	d := CalendarDocument{Week: &WeekDocument{}, Exceptions: []ExceptionDocument{}}
	for _, wd := range weekdays {
		*wd.of(d.Week) = hoursDocument(c.week[wd.day])
	}
	for _, h := range c.explicit() {
		e := ExceptionDocument{Date: h.Date.String(), Name: h.Name, Closed: len(h.Hours) == 0}
		if !e.Closed {
			e.Hours = hoursDocument(h.Hours)
		}
		d.Exceptions = append(d.Exceptions, e)
	}
	return d
}

// explicit returns c's explicit holidays in date order.
func (c *Calendar) explicit() []Holiday {
	out := make([]Holiday, 0, len(c.holidays))
	for _, h := range c.holidays {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Holiday) int { return compareDates(a.Date, b.Date) })
	return out
}

func compareDates(a, b Date) int {
	return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Day, b.Day))
}

func hoursDocument(hs []Hours) []HoursDocument {
	out := make([]HoursDocument, 0, len(hs))
	for _, h := range hs {
		out = append(out, HoursDocument{Open: h.Open.String(), Close: h.Close.String()})
	}
	return out
}

// WithDocument validates d and returns the calendar it describes in c's time zone, with
// c's yearly holidays beneath d's exceptions (an exception on a yearly holiday's date
// replaces it). Errors are *FieldError naming the first bad value by its JSON path, e.g.
// "week.monday[1].close" or "exceptions[3].date"; nothing is returned half-valid.
func (c *Calendar) WithDocument(d CalendarDocument) (*Calendar, error) {
	cfg := Config{Location: c.loc, Yearly: c.yearly}
	if d.Week == nil {
		return nil, &FieldError{"week", "is required: the openings of each day, monday to sunday ([] for a day closed)"}
	}
	opens := false
	for _, wd := range weekdays {
		field := "week." + wd.name
		hs := *wd.of(d.Week)
		if hs == nil {
			return nil, &FieldError{field, "is required: a list of openings {\"open\": \"HH:MM\", \"close\": \"HH:MM\"} ([] for a day closed)"}
		}
		week, err := parseOpenings(field, hs)
		if err != nil {
			return nil, err
		}
		cfg.Week[wd.day] = week
		opens = opens || len(week) > 0
	}
	if !opens {
		return nil, &FieldError{"week", "must open at least once a week: a calendar that never opens has no business time to count"}
	}
	if d.Exceptions == nil {
		return nil, &FieldError{"exceptions", "is required: a list of dated exceptions ([] for none)"}
	}
	if len(d.Exceptions) > MaxExceptions {
		return nil, &FieldError{"exceptions", fmt.Sprintf("holds %d dates; at most %d are allowed (remove past ones)", len(d.Exceptions), MaxExceptions)}
	}
	seen := make(map[Date]int, len(d.Exceptions))
	for i, e := range d.Exceptions {
		f := fmt.Sprintf("exceptions[%d]", i)
		date, err := parseExceptionDate(e.Date)
		if err != nil {
			return nil, &FieldError{f + ".date", err.Error()}
		}
		if j, dup := seen[date]; dup {
			return nil, &FieldError{f + ".date", fmt.Sprintf("repeats the date of exceptions[%d] (%s): give each date once", j, date)}
		}
		seen[date] = i
		name := strings.TrimSpace(e.Name)
		switch {
		case name == "":
			return nil, &FieldError{f + ".name", "is required: say what the date is (e.g. Cierre de fin de año)"}
		case utf8.RuneCountInString(name) > MaxHolidayName:
			return nil, &FieldError{f + ".name", fmt.Sprintf("must be at most %d characters", MaxHolidayName)}
		case strings.ContainsFunc(name, unicode.IsControl):
			return nil, &FieldError{f + ".name", "must be one line without control characters"}
		}
		h := Holiday{Date: date, Name: name}
		switch {
		case e.Closed && len(e.Hours) > 0:
			return nil, &FieldError{f + ".hours", "must be absent for a date closed all day (closed: true)"}
		case !e.Closed && len(e.Hours) == 0:
			return nil, &FieldError{f + ".hours", "are required: the openings of that date, or closed: true for a date closed all day"}
		case !e.Closed:
			if h.Hours, err = parseOpenings(f+".hours", e.Hours); err != nil {
				return nil, err
			}
		}
		cfg.Holidays = append(cfg.Holidays, h)
	}
	return NewCalendar(cfg)
}

// parseExceptionDate parses an exception's YYYY-MM-DD date and checks its year.
func parseExceptionDate(s string) (Date, error) {
	d, err := ParseDate(s)
	if err != nil || len(s) != len("2006-01-02") || !d.Valid() {
		return Date{}, fmt.Errorf("must be a real date written YYYY-MM-DD (e.g. 2027-12-24)")
	}
	if d.Year < MinExceptionYear || d.Year > MaxExceptionYear {
		return Date{}, fmt.Errorf("must be a date from %d to %d", MinExceptionYear, MaxExceptionYear)
	}
	return d, nil
}

// parseOpenings validates the openings of one day, named field in errors; they are returned
// sorted.
func parseOpenings(field string, hs []HoursDocument) ([]Hours, error) {
	if len(hs) > MaxOpenings {
		return nil, &FieldError{field, fmt.Sprintf("has %d openings; at most %d are allowed", len(hs), MaxOpenings)}
	}
	type opening struct {
		Hours
		i int
	}
	out := make([]opening, 0, len(hs))
	for i, h := range hs {
		f := fmt.Sprintf("%s[%d]", field, i)
		open, err := ParseTimeOfDay(h.Open)
		if err != nil || open == Clock(24, 0) {
			return nil, &FieldError{f + ".open", "must be a time HH:MM on a 24-hour clock, 00:00 to 23:59 (e.g. 09:00)"}
		}
		closing, err := ParseTimeOfDay(h.Close)
		if err != nil {
			return nil, &FieldError{f + ".close", "must be a time HH:MM on a 24-hour clock, 00:01 to 24:00 (e.g. 18:00)"}
		}
		if closing <= open {
			return nil, &FieldError{f + ".close", fmt.Sprintf("must be after the opening time %s", open)}
		}
		out = append(out, opening{Hours{open, closing}, i})
	}
	slices.SortFunc(out, func(a, b opening) int { return cmp.Compare(a.Open, b.Open) })
	week := make([]Hours, len(out))
	for k, o := range out {
		if k > 0 && o.Open < out[k-1].Close {
			later, earlier := o, out[k-1]
			if later.i < earlier.i {
				later, earlier = earlier, later
			}
			return nil, &FieldError{fmt.Sprintf("%s[%d]", field, later.i), fmt.Sprintf("overlaps %s[%d] (%s–%s); openings of a day must not overlap",
				field, earlier.i, earlier.Open, earlier.Close)}
		}
		week[k] = o.Hours
	}
	return week, nil
}

// Closure is a date of a year whose openings are not the week's, as Calendar.Closures
// lists it: a yearly (statutory) holiday, or an explicit one.
type Closure struct {
	Holiday
	// Yearly says the date is a yearly holiday that no explicit holiday replaces.
	Yearly bool
	// Replaces is the name of the yearly holiday that an explicit holiday on the same date
	// overrides ("" when none does).
	Replaces string
}

// Closures returns the dates of year that are closed all day or have special hours, in
// date order: the yearly holidays merged with the explicit ones, an explicit one taking the
// place of a yearly one on its date.
func (c *Calendar) Closures(year int) []Closure {
	byDate := map[Date]Closure{}
	if c.yearly != nil {
		for _, h := range c.yearly(year) {
			if h.Date.Year == year {
				byDate[h.Date] = Closure{Holiday: h, Yearly: true}
			}
		}
	}
	for _, h := range c.holidays {
		if h.Date.Year != year {
			continue
		}
		cl := Closure{Holiday: h}
		if y, ok := byDate[h.Date]; ok {
			cl.Replaces = y.Name
		}
		byDate[h.Date] = cl
	}
	out := make([]Closure, 0, len(byDate))
	for _, cl := range byDate {
		out = append(out, cl)
	}
	slices.SortFunc(out, func(a, b Closure) int { return compareDates(a.Date, b.Date) })
	return out
}
