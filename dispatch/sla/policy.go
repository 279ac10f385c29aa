package sla

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Kind is the kind of a report, as in the service procedure.
type Kind string

// The kinds of report.
const (
	KindFault         Kind = "fault"
	KindComplaint     Kind = "complaint"
	KindInquiry       Kind = "inquiry"
	KindClarification Kind = "clarification"
	KindSuggestion    Kind = "suggestion"
	KindCancellation  Kind = "cancellation"
	KindOther         Kind = "other"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindFault, KindComplaint, KindInquiry, KindClarification, KindSuggestion, KindCancellation, KindOther}

// Priority is the priority of a report.
type Priority string

// The priorities, lowest first.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every priority, lowest first.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Basis says how a Target's budget is counted.
type Basis string

const (
	// WallClock counts every minute, 24/7.
	WallClock Basis = "wall_clock"
	// BusinessTime counts only the minutes the calendar is open.
	BusinessTime Basis = "business_time"
	// BusinessDays counts whole business days: the budget ends when the
	// n-th business day after the start closes (see Calendar.AddBusinessDays).
	BusinessDays Basis = "business_days"
)

// Target is one deadline of a policy: a budget and how it is counted.
// The zero Target means "no deadline".
type Target struct {
	Basis Basis `json:"basis"`
	// Duration is the budget for WallClock and BusinessTime.
	Duration time.Duration `json:"duration,omitempty"`
	// Days is the budget for BusinessDays.
	Days int `json:"days,omitempty"`
}

// Wall returns a target of d around the clock.
func Wall(d time.Duration) Target { return Target{Basis: WallClock, Duration: d} }

// Business returns a target of d business time.
func Business(d time.Duration) Target { return Target{Basis: BusinessTime, Duration: d} }

// Days returns a target of n business days.
func Days(n int) Target { return Target{Basis: BusinessDays, Days: n} }

// IsZero reports whether t sets no deadline.
func (t Target) IsZero() bool { return t == Target{} }

// Validate reports a target that cannot be counted.
func (t Target) Validate() error {
	switch {
	case t.IsZero():
		return nil
	case t.Basis == WallClock || t.Basis == BusinessTime:
		if t.Duration <= 0 || t.Days != 0 {
			return fmt.Errorf("sla: %s target needs a positive duration and no days", t.Basis)
		}
	case t.Basis == BusinessDays:
		if t.Days <= 0 || t.Duration != 0 {
			return fmt.Errorf("sla: %s target needs a positive number of days and no duration", t.Basis)
		}
	default:
		return fmt.Errorf("sla: unknown basis %q", t.Basis)
	}
	return nil
}

// String formats t for people, e.g. "4h0m0s wall clock" or "5 business days".
func (t Target) String() string {
	switch {
	case t.IsZero():
		return "none"
	case t.Basis == BusinessDays:
		return fmt.Sprintf("%d business days", t.Days)
	case t.Basis == BusinessTime:
		return t.Duration.String() + " business time"
	default:
		return t.Duration.String() + " wall clock"
	}
}

// Policy holds the deadlines of the reports it matches. An empty Kind or
// Priority matches any.
type Policy struct {
	Kind          Kind     `json:"kind,omitempty"`
	Priority      Priority `json:"priority,omitempty"`
	FirstResponse Target   `json:"first_response"`
	Resolution    Target   `json:"resolution"`
}

type policyKey struct {
	k Kind
	p Priority
}

// Policies is a set of policies with a fallback. It is immutable and safe
// for concurrent use.
type Policies struct {
	def   Policy
	rules map[policyKey]Policy
}

// NewPolicies returns the set of rules with fallback def (whose Kind and
// Priority are ignored). Rules must name a known kind or priority or both,
// each pair at most once, and carry valid targets.
func NewPolicies(def Policy, rules ...Policy) (*Policies, error) {
	def.Kind, def.Priority = "", ""
	if err := def.validate(); err != nil {
		return nil, fmt.Errorf("default policy: %w", err)
	}
	ps := &Policies{def: def, rules: make(map[policyKey]Policy, len(rules))}
	for _, r := range rules {
		if r.Kind == "" && r.Priority == "" {
			return nil, fmt.Errorf("sla: a rule needs a kind or a priority; use the default policy for neither")
		}
		if r.Kind != "" && !slices.Contains(Kinds, r.Kind) {
			return nil, fmt.Errorf("sla: unknown kind %q", r.Kind)
		}
		if r.Priority != "" && !slices.Contains(Priorities, r.Priority) {
			return nil, fmt.Errorf("sla: unknown priority %q", r.Priority)
		}
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("policy %s/%s: %w", r.Kind, r.Priority, err)
		}
		k := policyKey{r.Kind, r.Priority}
		if _, dup := ps.rules[k]; dup {
			return nil, fmt.Errorf("sla: policy %s/%s given twice", r.Kind, r.Priority)
		}
		ps.rules[k] = r
	}
	return ps, nil
}

func (p Policy) validate() error {
	if err := p.FirstResponse.Validate(); err != nil {
		return fmt.Errorf("first response: %w", err)
	}
	if err := p.Resolution.Validate(); err != nil {
		return fmt.Errorf("resolution: %w", err)
	}
	return nil
}

// Lookup returns the policy for a report of kind k and priority p: the
// rule for (k, p), else for (k, any priority), else for (any kind, p), else
// the default. The returned Policy's Kind and Priority say which rule matched.
func (ps *Policies) Lookup(k Kind, p Priority) Policy {
	for _, key := range []policyKey{{k, p}, {k, ""}, {"", p}} {
		if key == (policyKey{}) {
			continue
		}
		if r, ok := ps.rules[key]; ok {
			return r
		}
	}
	return ps.def
}

// Default returns the fallback policy.
func (ps *Policies) Default() Policy { return ps.def }

// Rules returns the rules (without the default) ordered by kind, then
// priority, with "any" first.
func (ps *Policies) Rules() []Policy {
	out := make([]Policy, 0, len(ps.rules))
	for _, r := range ps.rules {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Policy) int {
		return cmp.Or(
			cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)),
			cmp.Compare(slices.Index(Priorities, a.Priority), slices.Index(Priorities, b.Priority)))
	})
	return out
}

// DefaultPolicies returns a starting table for an internet provider in
// Mexico. Faults that leave a customer without service run around the clock
// when urgent or high; everything else counts business time or business days.
// These are operating targets, not the regulator's deadlines: admins should
// check them against the provider's current obligations.
//
//	kind/priority        first response        resolution
//	fault/urgent         30m wall clock        4h wall clock
//	fault/high           1h wall clock         12h wall clock
//	fault (normal)       2h business           24h business
//	fault/low            4h business           48h business
//	complaint            4h business           5 business days
//	clarification        4h business           10 business days
//	inquiry              2h business           1 business day
//	suggestion           2 business days       10 business days
//	cancellation         4h business           5 business days
//	other                1 business day        5 business days
//	default              1 business day        5 business days
func DefaultPolicies() *Policies {
	ps, err := NewPolicies(
		Policy{FirstResponse: Days(1), Resolution: Days(5)},
		Policy{Kind: KindFault, Priority: PriorityUrgent, FirstResponse: Wall(30 * time.Minute), Resolution: Wall(4 * time.Hour)},
		Policy{Kind: KindFault, Priority: PriorityHigh, FirstResponse: Wall(time.Hour), Resolution: Wall(12 * time.Hour)},
		Policy{Kind: KindFault, FirstResponse: Business(2 * time.Hour), Resolution: Business(24 * time.Hour)},
		Policy{Kind: KindFault, Priority: PriorityLow, FirstResponse: Business(4 * time.Hour), Resolution: Business(48 * time.Hour)},
		Policy{Kind: KindComplaint, FirstResponse: Business(4 * time.Hour), Resolution: Days(5)},
		Policy{Kind: KindClarification, FirstResponse: Business(4 * time.Hour), Resolution: Days(10)},
		Policy{Kind: KindInquiry, FirstResponse: Business(2 * time.Hour), Resolution: Days(1)},
		Policy{Kind: KindSuggestion, FirstResponse: Days(2), Resolution: Days(10)},
		Policy{Kind: KindCancellation, FirstResponse: Business(4 * time.Hour), Resolution: Days(5)},
		Policy{Kind: KindOther, FirstResponse: Days(1), Resolution: Days(5)},
	)
	if err != nil {
		panic(err) // the table above is a constant
	}
	return ps
}
