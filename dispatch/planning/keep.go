package planning

import "despacho/schedule"

// keepTold returns cur with each visit of told that cur gives to its told technician
// pinned to him (technician only: its place in his day may still change), and whether it
// pinned any. A plan that cannot be rebuilt so (it never should: cur itself is such a plan)
// is returned as it was.
func keepTold(cur *schedule.Plan, told map[int64]int64) (*schedule.Plan, bool) {
	if len(told) == 0 {
		return cur, false
	}
	p := cur.Problem()
	on := map[string]string{} // visit → technician in cur
	as := make([]schedule.Assignment, 0, len(cur.Routes))
	for _, r := range cur.Routes {
		a := schedule.Assignment{Technician: r.Technician, Shift: r.Shift}
		for _, s := range r.Stops {
			if s.Visit < 0 {
				continue
			}
			a.Visits = append(a.Visits, s.ID)
			on[s.ID] = r.Technician
		}
		if len(a.Visits) > 0 {
			as = append(as, a)
		}
	}
	q := *p
	q.Visits = make([]schedule.Visit, len(p.Visits))
	pinned := false
	for i, v := range p.Visits {
		q.Visits[i] = v
		if v.Pin != nil || v.Started {
			continue
		}
		t := told[ParseID(v.ID)]
		if t == 0 || on[v.ID] != TechID(t) {
			continue
		}
		q.Visits[i].Pin = &schedule.Pin{Technician: TechID(t)}
		pinned = true
	}
	if !pinned {
		return cur, false
	}
	plan, err := schedule.NewPlan(&q, as)
	if err != nil {
		return cur, false
	}
	return plan, true
}
