package sla

import (
	"fmt"
	"testing"
	"time"
)

func TestTargetDue(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	ts := func(s string) time.Time { return at(t, mx, s) }
	iv := func(a, b string) Interval {
		if b == "" {
			return Interval{Start: ts(a)}
		}
		return Interval{ts(a), ts(b)}
	}
	tests := []struct {
		name    string
		target  Target
		created time.Time
		pauses  []Interval
		want    time.Time // zero: no due time
	}{
		{"business, no pause", Business(2 * time.Hour), ts("2026-11-27 17:00"), nil, ts("2026-11-28 10:00")},
		{"business, pause spans the night", Business(2 * time.Hour), ts("2026-11-27 17:00"),
			[]Interval{iv("2026-11-27 17:30", "2026-11-28 10:00")}, ts("2026-11-28 11:30")},
		{"business, pause only in closed hours changes nothing", Business(2 * time.Hour), ts("2026-11-27 17:00"),
			[]Interval{iv("2026-11-27 19:00", "2026-11-28 08:00")}, ts("2026-11-28 10:00")},
		{"business, pause over the weekend", Business(3 * time.Hour), ts("2026-11-28 13:00"),
			[]Interval{iv("2026-11-28 14:00", "2026-11-30 11:00")}, ts("2026-11-30 13:00")},
		{"business, paused now", Business(2 * time.Hour), ts("2026-11-27 17:00"),
			[]Interval{iv("2026-11-27 17:30", "")}, time.Time{}},
		{"business, pause before creation ignored", Business(2 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-24 10:00", "2026-11-24 12:00")}, ts("2026-11-25 12:00")},
		{"business, pause straddles creation", Business(2 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 09:00", "2026-11-25 11:00")}, ts("2026-11-25 13:00")},
		{"business, overlapping unsorted pauses", Business(2 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 11:30", "2026-11-25 13:00"), iv("2026-11-25 11:00", "2026-11-25 12:00"), iv("2026-11-25 13:30", "2026-11-25 14:00")},
			ts("2026-11-25 14:30")},
		{"business, empty and reversed pauses ignored", Business(2 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 11:00", "2026-11-25 11:00"), iv("2026-11-25 12:00", "2026-11-25 11:00")}, ts("2026-11-25 12:00")},
		{"wall clock ignores the calendar", Wall(4 * time.Hour), ts("2026-11-28 22:00"), nil, ts("2026-11-29 02:00")},
		{"wall clock with a pause", Wall(4 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 11:00", "2026-11-25 13:00")}, ts("2026-11-25 16:00")},
		{"wall clock, breached before the open pause", Wall(time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 12:00", "")}, ts("2026-11-25 11:00")},
		{"wall clock, open pause swallows later ones", Wall(4 * time.Hour), ts("2026-11-25 10:00"),
			[]Interval{iv("2026-11-25 11:00", ""), iv("2026-11-25 13:00", "2026-11-25 14:00")}, time.Time{}},
		{"business days", Days(5), ts("2026-11-23 10:00"), nil, ts("2026-11-28 15:00")},
		{"business days, paused a business hour", Days(1), ts("2026-11-23 10:00"),
			[]Interval{iv("2026-11-24 12:00", "2026-11-24 13:00")}, ts("2026-11-25 10:00")},
		{"zero target", Target{}, ts("2026-11-23 10:00"), nil, time.Time{}},
		{"invalid target", Target{Basis: WallClock}, ts("2026-11-23 10:00"), nil, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.target.Due(cal, tt.created, tt.pauses)
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Errorf("Due = %v, %v; want %v, %v", got, ok, tt.want, !tt.want.IsZero())
			}
		})
	}
}

func TestTargetStatus(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	ts := func(s string) time.Time { return at(t, mx, s) }
	created := ts("2026-11-25 08:00")
	tests := []struct {
		name    string
		target  Target
		pauses  []Interval
		now     time.Time
		used    float64
		state   State
		paused  bool
		haveDue bool
	}{
		{"before creation", Wall(10 * time.Hour), nil, ts("2026-11-25 07:00"), 0, StateOK, false, true},
		{"just under at risk", Wall(10 * time.Hour), nil, ts("2026-11-25 15:59"), 0.7983333333333333, StateOK, false, true},
		{"at risk at 80%", Wall(10 * time.Hour), nil, ts("2026-11-25 16:00"), 0.8, StateAtRisk, false, true},
		{"breached at 100%", Wall(10 * time.Hour), nil, ts("2026-11-25 18:00"), 1, StateBreached, false, true},
		{"long breached", Wall(10 * time.Hour), nil, ts("2026-11-26 04:00"), 2, StateBreached, false, true},
		{"business counts from opening", Business(10 * time.Hour), nil, ts("2026-11-25 14:00"), 0.5, StateOK, false, true},
		{"closed pause", Wall(10 * time.Hour), []Interval{{ts("2026-11-25 09:00"), ts("2026-11-25 13:00")}}, ts("2026-11-25 18:00"), 0.6, StateOK, false, true},
		{"inside a closed pause", Wall(10 * time.Hour), []Interval{{ts("2026-11-25 09:00"), ts("2026-11-25 13:00")}}, ts("2026-11-25 10:00"), 0.1, StateOK, true, true},
		{"paused now", Business(2 * time.Hour), []Interval{{Start: ts("2026-11-25 09:30")}}, ts("2026-11-26 12:00"), 0.25, StateOK, true, false},
		{"paused after breach", Wall(time.Hour), []Interval{{Start: ts("2026-11-25 10:00")}}, ts("2026-11-26 12:00"), 2, StateBreached, true, true},
		{"no target", Target{}, nil, ts("2026-11-26 12:00"), 0, StateOK, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := tt.target.Status(cal, created, tt.pauses, tt.now)
			if diff := st.Used - tt.used; diff > 1e-9 || diff < -1e-9 {
				t.Errorf("Used = %v, want %v", st.Used, tt.used)
			}
			if st.State != tt.state || st.Paused != tt.paused || st.Due.IsZero() == tt.haveDue {
				t.Errorf("State, Paused, has Due = %s, %v, %v; want %s, %v, %v", st.State, st.Paused, !st.Due.IsZero(), tt.state, tt.paused, tt.haveDue)
			}
			if st.Remaining != st.Budget-st.Elapsed {
				t.Errorf("Remaining = %v, want Budget-Elapsed = %v", st.Remaining, st.Budget-st.Elapsed)
			}
		})
	}
}

// TestStatusAtDue checks that Due and Status agree: at the due time the
// budget is exactly used up, a minute before it is not.
func TestStatusAtDue(t *testing.T) {
	t.Parallel()
	cal := DefaultCalendar()
	created := at(t, mx, "2026-11-27 16:20")
	pauses := []Interval{{at(t, mx, "2026-11-27 17:00"), at(t, mx, "2026-11-30 10:00")}, {at(t, mx, "2026-12-01 12:00"), at(t, mx, "2026-12-01 12:45")}}
	for _, p := range DefaultPolicies().Rules() {
		for _, tg := range []Target{p.FirstResponse, p.Resolution} {
			due, ok := tg.Due(cal, created, pauses)
			if !ok {
				t.Fatalf("%v: no due time", tg)
			}
			if st := tg.Status(cal, created, pauses, due); st.State != StateBreached || st.Elapsed != st.Budget {
				t.Errorf("%v: at due %v: %+v, want exactly breached", tg, due, st)
			}
			if st := tg.Status(cal, created, pauses, due.Add(-time.Minute)); st.State == StateBreached {
				t.Errorf("%v: a minute before due %v: breached", tg, due)
			}
		}
	}
}

func TestPoliciesLookup(t *testing.T) {
	t.Parallel()
	ps := DefaultPolicies()
	tests := []struct {
		k    Kind
		p    Priority
		want Target
	}{
		{KindFault, PriorityUrgent, Wall(4 * time.Hour)},
		{KindFault, PriorityHigh, Wall(12 * time.Hour)},
		{KindFault, PriorityNormal, Business(24 * time.Hour)},
		{KindFault, "", Business(24 * time.Hour)},
		{KindFault, PriorityLow, Business(48 * time.Hour)},
		{KindComplaint, PriorityUrgent, Days(5)},
		{KindInquiry, PriorityLow, Days(1)},
		{KindClarification, PriorityNormal, Days(10)},
		{"unknown", PriorityUrgent, Days(5)},
	}
	for _, tt := range tests {
		if got := ps.Lookup(tt.k, tt.p).Resolution; got != tt.want {
			t.Errorf("Lookup(%s, %s).Resolution = %v, want %v", tt.k, tt.p, got, tt.want)
		}
	}
	for _, k := range Kinds {
		for _, p := range Priorities {
			pol := ps.Lookup(k, p)
			if pol.FirstResponse.IsZero() || pol.Resolution.IsZero() {
				t.Errorf("Lookup(%s, %s) lacks a target: %+v", k, p, pol)
			}
		}
	}

	custom, err := NewPolicies(Policy{Resolution: Days(3)},
		Policy{Priority: PriorityUrgent, Resolution: Wall(2 * time.Hour)},
		Policy{Kind: KindComplaint, Resolution: Days(5)},
		Policy{Kind: KindComplaint, Priority: PriorityLow, Resolution: Days(10)},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		k    Kind
		p    Priority
		want Policy
	}{
		{KindComplaint, PriorityLow, Policy{Kind: KindComplaint, Priority: PriorityLow, Resolution: Days(10)}},
		{KindComplaint, PriorityUrgent, Policy{Kind: KindComplaint, Resolution: Days(5)}},
		{KindFault, PriorityUrgent, Policy{Priority: PriorityUrgent, Resolution: Wall(2 * time.Hour)}},
		{KindFault, PriorityNormal, Policy{Resolution: Days(3)}},
	} {
		if got := custom.Lookup(tt.k, tt.p); got != tt.want {
			t.Errorf("Lookup(%s, %s) = %+v, want %+v", tt.k, tt.p, got, tt.want)
		}
	}
}

func TestNewPoliciesErrors(t *testing.T) {
	t.Parallel()
	def := Policy{Resolution: Days(3)}
	tests := []struct {
		name  string
		def   Policy
		rules []Policy
	}{
		{"bad default", Policy{Resolution: Wall(-time.Hour)}, nil},
		{"rule without kind or priority", def, []Policy{{Resolution: Days(1)}}},
		{"unknown kind", def, []Policy{{Kind: "outage", Resolution: Days(1)}}},
		{"unknown priority", def, []Policy{{Priority: "p0", Resolution: Days(1)}}},
		{"duplicate", def, []Policy{{Kind: KindFault, Resolution: Days(1)}, {Kind: KindFault, Resolution: Days(2)}}},
		{"days with duration", def, []Policy{{Kind: KindFault, Resolution: Target{Basis: BusinessDays, Days: 1, Duration: time.Hour}}}},
		{"unknown basis", def, []Policy{{Kind: KindFault, Resolution: Target{Basis: "lunar", Duration: time.Hour}}}},
	}
	for _, tt := range tests {
		if _, err := NewPolicies(tt.def, tt.rules...); err == nil {
			t.Errorf("%s: NewPolicies succeeded, want an error", tt.name)
		}
	}
}

func ExampleTarget_Due() {
	cal := DefaultCalendar()
	loc := cal.Location()
	// A normal-priority fault filed on Friday at 17:30 (Mexico City).
	created := time.Date(2026, 11, 27, 17, 30, 0, 0, loc)
	pol := DefaultPolicies().Lookup(KindFault, PriorityNormal)
	// The customer was asked for a photo of the modem and answered on Monday at 10:00.
	pauses := []Interval{{Start: created.Add(10 * time.Minute), End: time.Date(2026, 11, 30, 10, 0, 0, 0, loc)}}
	due, _ := pol.FirstResponse.Due(cal, created, pauses)
	fmt.Println(due.Format("Mon 2006-01-02 15:04"))
	st := pol.FirstResponse.Status(cal, created, pauses, time.Date(2026, 11, 30, 11, 30, 0, 0, loc))
	fmt.Printf("%.0f%% used: %s\n", st.Used*100, st.State)
	// Output:
	// Mon 2026-11-30 11:50
	// 83% used: at_risk
}
