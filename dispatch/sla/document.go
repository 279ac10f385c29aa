package sla

import (
	"fmt"
	"slices"
	"time"
)

// Document is a set of policies as admins read and write it (GET and PUT
// /api/sla/policies) and as it is stored: the default policy and the rules.
type Document struct {
	Default *DocumentPolicy `json:"default"`
	Rules   []DocumentRule  `json:"rules"`
}

// DocumentPolicy is the two deadlines of a policy; nil means no deadline.
type DocumentPolicy struct {
	FirstResponse *DocumentTarget `json:"first_response"`
	Resolution    *DocumentTarget `json:"resolution"`
}

// DocumentRule is a policy for a kind, a priority or both ("" matches any).
type DocumentRule struct {
	Kind     Kind     `json:"kind,omitempty"`
	Priority Priority `json:"priority,omitempty"`
	DocumentPolicy
}

// DocumentTarget is a Target in whole minutes (wall_clock, business_time) or business
// days (business_days).
type DocumentTarget struct {
	Basis   Basis  `json:"basis"`
	Minutes *int64 `json:"minutes,omitempty"`
	Days    *int   `json:"days,omitempty"`
}

// Limits of a document target: a year at most.
const (
	MaxMinutes = 366 * 24 * 60
	MaxDays    = 260
)

// FieldError is a document value that is not valid; Field is its JSON path, e.g.
// "rules[2].priority".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Message }

// Document returns ps as a document. Budgets are rounded up to whole minutes.
func (ps *Policies) Document() Document {
	d := Document{Default: docPolicy(ps.def), Rules: []DocumentRule{}}
	for _, r := range ps.Rules() {
		d.Rules = append(d.Rules, DocumentRule{Kind: r.Kind, Priority: r.Priority, DocumentPolicy: *docPolicy(r)})
	}
	return d
}

func docPolicy(p Policy) *DocumentPolicy {
	return &DocumentPolicy{FirstResponse: p.FirstResponse.Document(), Resolution: p.Resolution.Document()}
}

// Document returns t as written in a Document: nil for no deadline, budgets rounded up to
// whole minutes.
func (t Target) Document() *DocumentTarget {
	switch {
	case t.IsZero():
		return nil
	case t.Basis == BusinessDays:
		n := t.Days
		return &DocumentTarget{Basis: t.Basis, Days: &n}
	}
	m := int64((t.Duration + time.Minute - 1) / time.Minute)
	return &DocumentTarget{Basis: t.Basis, Minutes: &m}
}

// Policies validates d and returns the set it describes. Errors are *FieldError naming the
// first bad value by its JSON path.
func (d Document) Policies() (*Policies, error) {
	if d.Default == nil {
		return nil, &FieldError{"default", "is required: {\"first_response\": T, \"resolution\": T} (T may be null)"}
	}
	def, err := d.Default.policy("default")
	if err != nil {
		return nil, err
	}
	rules := make([]Policy, 0, len(d.Rules))
	seen := map[policyKey]int{}
	for i, r := range d.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if r.Kind != "" && !slices.Contains(Kinds, r.Kind) {
			return nil, &FieldError{f + ".kind", "must be one of fault, complaint, inquiry, clarification, suggestion, cancellation, other, or absent for any kind"}
		}
		if r.Priority != "" && !slices.Contains(Priorities, r.Priority) {
			return nil, &FieldError{f + ".priority", "must be one of low, normal, high, urgent, or absent for any priority"}
		}
		if r.Kind == "" && r.Priority == "" {
			return nil, &FieldError{f + ".kind", "a rule needs a kind or a priority (or both); the default covers the rest"}
		}
		k := policyKey{r.Kind, r.Priority}
		if j, dup := seen[k]; dup {
			return nil, &FieldError{f, fmt.Sprintf("repeats the kind and priority of rules[%d]", j)}
		}
		seen[k] = i
		p, err := r.policy(f)
		if err != nil {
			return nil, err
		}
		p.Kind, p.Priority = r.Kind, r.Priority
		rules = append(rules, p)
	}
	ps, err := NewPolicies(def, rules...)
	if err != nil {
		return nil, &FieldError{"rules", err.Error()}
	}
	return ps, nil
}

// Consistent is what an admin's document must hold beyond Policies' checks: no policy whose
// resolution target is shorter than its first-response target on the same basis (a report
// would be due resolved before it is due answered); the *FieldError names the first. Targets
// on different bases are not compared: which is shorter depends on the calendar and the day.
// Stored documents are read without it, so that a set saved before the rule still loads.
func (d Document) Consistent() error {
	check := func(field string, p *DocumentPolicy) error {
		if p == nil {
			return nil
		}
		fr, err := p.FirstResponse.target(field + ".first_response")
		if err != nil {
			return err
		}
		res, err := p.Resolution.target(field + ".resolution")
		if err != nil {
			return err
		}
		if fr.Basis != "" && fr.Basis == res.Basis && (res.Duration < fr.Duration || res.Days < fr.Days) {
			return &FieldError{field + ".resolution", "must not be shorter than first_response: a report would be due resolved before it is due answered"}
		}
		return nil
	}
	if err := check("default", d.Default); err != nil {
		return err
	}
	for i := range d.Rules {
		if err := check(fmt.Sprintf("rules[%d]", i), &d.Rules[i].DocumentPolicy); err != nil {
			return err
		}
	}
	return nil
}

func (p DocumentPolicy) policy(field string) (Policy, error) {
	fr, err := p.FirstResponse.target(field + ".first_response")
	if err != nil {
		return Policy{}, err
	}
	res, err := p.Resolution.target(field + ".resolution")
	if err != nil {
		return Policy{}, err
	}
	return Policy{FirstResponse: fr, Resolution: res}, nil
}

func (t *DocumentTarget) target(field string) (Target, error) {
	if t == nil {
		return Target{}, nil
	}
	switch t.Basis {
	case WallClock, BusinessTime:
		if t.Days != nil {
			return Target{}, &FieldError{field + ".days", "is only for basis business_days; give minutes"}
		}
		if t.Minutes == nil || *t.Minutes < 1 || *t.Minutes > MaxMinutes {
			return Target{}, &FieldError{field + ".minutes", fmt.Sprintf("must be a whole number of minutes from 1 to %d", MaxMinutes)}
		}
		return Target{Basis: t.Basis, Duration: time.Duration(*t.Minutes) * time.Minute}, nil
	case BusinessDays:
		if t.Minutes != nil {
			return Target{}, &FieldError{field + ".minutes", "is not for basis business_days; give days"}
		}
		if t.Days == nil || *t.Days < 1 || *t.Days > MaxDays {
			return Target{}, &FieldError{field + ".days", fmt.Sprintf("must be a whole number of business days from 1 to %d", MaxDays)}
		}
		return Days(*t.Days), nil
	}
	return Target{}, &FieldError{field + ".basis", "must be wall_clock, business_time or business_days"}
}
