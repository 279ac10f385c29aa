package sla

import (
	"fmt"
	"time"
)

// Date is a calendar date without a time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location; convert t with In first
// to read it in another zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("sla: date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

func (d Date) utc() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Valid reports whether d names a real day (no February 30).
func (d Date) Valid() bool { return DateOf(d.utc()) == d }

// AddDays returns the date n days after d (before, for negative n).
func (d Date) AddDays(n int) Date { return DateOf(d.utc().AddDate(0, 0, n)) }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return d.utc().Weekday() }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// nthWeekday returns the n-th (1-based) weekday wd of the month.
func nthWeekday(year int, m time.Month, wd time.Weekday, n int) Date {
	first := Date{year, m, 1}
	offset := (int(wd) - int(first.Weekday()) + 7) % 7
	return first.AddDays(offset + 7*(n-1))
}

// MexicanHolidays returns the mandatory rest days of the Ley Federal del
// Trabajo (art. 74) in year, in date order: January 1, the first Monday of
// February, the third Monday of March, May 1, September 16, the third Monday
// of November, December 25, and the day the federal executive changes hands
// (October 1 every six years from 2024; December 1 every six years before).
// The Monday rules are applied to every year, also those before the 2006
// reform that introduced them. Election days (art. 74 IX) are not included:
// they are set by the electoral laws; add them as explicit holidays.
func MexicanHolidays(year int) []Holiday {
	hs := []Holiday{
		{Date: Date{year, time.January, 1}, Name: "Año Nuevo"},
		{Date: nthWeekday(year, time.February, time.Monday, 1), Name: "Día de la Constitución"},
		{Date: nthWeekday(year, time.March, time.Monday, 3), Name: "Natalicio de Benito Juárez"},
		{Date: Date{year, time.May, 1}, Name: "Día del Trabajo"},
		{Date: Date{year, time.September, 16}, Name: "Día de la Independencia"},
	}
	if year >= 2024 && (year-2024)%6 == 0 {
		hs = append(hs, Holiday{Date: Date{year, time.October, 1}, Name: "Transmisión del Poder Ejecutivo Federal"})
	}
	hs = append(hs, Holiday{Date: nthWeekday(year, time.November, time.Monday, 3), Name: "Día de la Revolución"})
	if year < 2024 && (2018-year)%6 == 0 {
		hs = append(hs, Holiday{Date: Date{year, time.December, 1}, Name: "Transmisión del Poder Ejecutivo Federal"})
	}
	hs = append(hs, Holiday{Date: Date{year, time.December, 25}, Name: "Navidad"})
	return hs
}
