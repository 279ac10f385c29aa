package sla

import (
	"slices"
	"sync"
	"time"
)

// State is where a report stands against one target.
type State string

const (
	// StateOK: less than AtRiskAt of the budget used.
	StateOK State = "ok"
	// StateAtRisk: at least AtRiskAt of the budget used, not all of it.
	StateAtRisk State = "at_risk"
	// StateBreached: the whole budget used; the due time has passed.
	StateBreached State = "breached"
)

// AtRiskAt is the fraction of the budget from which a report is at risk.
const AtRiskAt = 0.8

// Status is a report's standing against one target at a given instant.
type Status struct {
	// Due is when the budget runs out. It is zero while the clock is paused
	// with budget left (the due time depends on when it resumes) and for a
	// zero Target.
	Due time.Time
	// Paused reports whether "now" lies in a pause.
	Paused bool
	// Budget is the whole budget in counted time (business time for
	// BusinessDays, fixed at the creation instant).
	Budget time.Duration
	// Elapsed is the counted time used so far, pauses excluded.
	Elapsed time.Duration
	// Remaining is Budget - Elapsed; negative once breached.
	Remaining time.Duration
	// Used is Elapsed / Budget: 0 at creation, 1 at the due time.
	Used  float64
	State State
}

var defaultCalendar = sync.OnceValue(DefaultCalendar)

func orDefault(cal *Calendar) *Calendar {
	if cal == nil {
		return defaultCalendar()
	}
	return cal
}

// budget returns the target's budget in counted time for a report created
// at created, or false if it cannot be counted.
func (t Target) budget(cal *Calendar, created time.Time) (time.Duration, bool) {
	if t.IsZero() || t.Validate() != nil {
		return 0, false
	}
	if t.Basis != BusinessDays {
		return t.Duration, true
	}
	end := cal.AddBusinessDays(created, t.Days)
	if end.IsZero() {
		return 0, false
	}
	return cal.BusinessBetween(created, end), true
}

// measure returns the counted time from a to b.
func (t Target) measure(cal *Calendar, a, b time.Time) time.Duration {
	if t.Basis == WallClock {
		return b.Sub(a)
	}
	return cal.BusinessBetween(a, b)
}

// add returns the instant at which d of counted time has passed since a.
func (t Target) add(cal *Calendar, a time.Time, d time.Duration) time.Time {
	if t.Basis == WallClock {
		return a.Add(d).In(cal.loc)
	}
	return cal.AddBusiness(a, d)
}

// running returns the spans from created on during which the clock runs:
// the complement of pauses. Pauses may be unsorted and may overlap; one
// without an end lasts for ever, and so swallows every pause after it. A
// pause with End before Start counts as empty. The last span has a zero End
// if the clock never stops for good.
func running(created time.Time, pauses []Interval) []Interval {
	ps := make([]Interval, 0, len(pauses))
	for _, p := range pauses {
		if !p.Open() && !p.End.After(p.Start) {
			continue
		}
		if !p.Open() && !p.End.After(created) {
			continue
		}
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b Interval) int { return a.Start.Compare(b.Start) })
	out := []Interval{}
	cur := created
	for _, p := range ps {
		if p.Start.After(cur) {
			out = append(out, Interval{cur, p.Start})
		}
		if p.Open() {
			return out
		}
		cur = later(cur, p.End)
	}
	return append(out, Interval{Start: cur})
}

// Due returns when t's budget runs out for a report created at created
// whose clock stood still during pauses (see Status for their rules). It
// returns false for a zero or invalid Target, and while the clock is paused
// for good (a last pause with no End) with budget left. Business bases read
// cal; nil means DefaultCalendar.
func (t Target) Due(cal *Calendar, created time.Time, pauses []Interval) (time.Time, bool) {
	cal = orDefault(cal)
	remaining, ok := t.budget(cal, created)
	if !ok {
		return time.Time{}, false
	}
	for _, seg := range running(created, pauses) {
		if !seg.Open() {
			avail := t.measure(cal, seg.Start, seg.End)
			if remaining > avail {
				remaining -= avail
				continue
			}
		}
		due := t.add(cal, seg.Start, remaining)
		return due, !due.IsZero()
	}
	return time.Time{}, false
}

// Status returns where a report created at created stands against t at now.
// Pauses are the spans during which the report waited on the customer; they
// may be unsorted or overlap, the ones before created are ignored, and one
// without an End means "paused since Start". A zero Target is always OK.
// Business bases read cal; nil means DefaultCalendar.
func (t Target) Status(cal *Calendar, created time.Time, pauses []Interval, now time.Time) Status {
	cal = orDefault(cal)
	var st Status
	for _, p := range pauses {
		if !now.Before(p.Start) && (p.Open() || now.Before(p.End)) {
			st.Paused = true
		}
	}
	budget, ok := t.budget(cal, created)
	if !ok {
		st.State = StateOK
		return st
	}
	st.Budget = budget
	for _, seg := range running(created, pauses) {
		if !now.After(seg.Start) {
			break
		}
		end := now
		if !seg.Open() {
			end = earlier(seg.End, now)
		}
		st.Elapsed += t.measure(cal, seg.Start, end)
	}
	st.Remaining = st.Budget - st.Elapsed
	st.Used = float64(st.Elapsed) / float64(st.Budget)
	switch {
	case st.Used >= 1:
		st.State = StateBreached
	case st.Used >= AtRiskAt:
		st.State = StateAtRisk
	default:
		st.State = StateOK
	}
	st.Due, _ = t.Due(cal, created, pauses)
	return st
}
