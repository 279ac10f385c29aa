package planning

import (
	"context"

	"despacho/schedule"
)

// keepKey carries the technicians a re-plan keeps (see KeepTold).
type keepKey struct{}

// KeepTold returns ctx carrying told: by visit id, the technician its customer has been
// texted as his (0 or absent: none). Improve, given such a context, leaves each of those
// visits with that technician wherever the plan it starts from still has it there: the
// periodic re-plan moves a customer's visit to another technician only when needed — the
// one he was told can no longer do it (the plan it starts from, timed as stored, already
// lost it), or keeping him would leave a promised visit out. Without it (a dispatcher's
// explicit optimisation) any visit not pinned nor under way may move.
//
// The set rides on the context because Improve's callers in the store (Visits.Optimize)
// are shared by both: the job's own entry point puts it there.
func KeepTold(ctx context.Context, told map[int64]int64) context.Context {
	if len(told) == 0 {
		return ctx
	}
	return context.WithValue(ctx, keepKey{}, told)
}

// told returns the set KeepTold put on ctx, or nil.
func told(ctx context.Context) map[int64]int64 {
	m, _ := ctx.Value(keepKey{}).(map[int64]int64)
	return m
}

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
