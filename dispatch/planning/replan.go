package planning

import (
	"slices"
	"time"

	"despacho/dispatch"
	"despacho/schedule"
)

// Replan is Problem for re-planning day as it stands at now: no technician is planned
// before now. Each technician whose day has begun starts at max(shift start, now) — later
// still while he finishes a visit under way — from where he is: the visit he is on or
// driving to, else his last position shared that day, else his home base. Visits under way
// (en route, on site) are not part of the problem: they stay with their technician at the
// places already stored, and re-plans never touch them. Shifts that are over are left out,
// and so is the rest of a shift too short to take him from where he is to where it ends; a
// break whose span has passed is taken as already had.
//
// For a day that has not begun at now, Replan is Problem without the visits under way.
func (c Config) Replan(st State, day, now time.Time) *schedule.Problem {
	rest := st
	rest.Visits = make([]*dispatch.Visit, 0, len(st.Visits))
	busy := map[int64][]*dispatch.Visit{}
	for _, v := range st.Visits {
		if v.Status.Started() && v.TechnicianID != 0 {
			busy[v.TechnicianID] = append(busy[v.TechnicianID], v)
			continue
		}
		rest.Visits = append(rest.Visits, v)
	}
	p := c.Problem(rest, day, 1, now)
	techs := map[int64]*dispatch.Technician{}
	for _, t := range st.Technicians {
		techs[t.ID] = t
	}
	for i := range p.Technicians {
		pt := &p.Technicians[i]
		id := ParseID(pt.ID)
		t := techs[id]
		under := busy[id]
		if len(pt.Shifts) == 0 || (len(under) == 0 && !now.After(pt.Shifts[0].Start)) {
			continue // his day has not begun: it starts as planned, from home
		}
		from, at := now, pt.Start
		if pos := t.Position; pos != nil && !pos.At.Before(day) && !pos.At.After(now) {
			at = schedule.Location{Lat: pos.Lat, Lon: pos.Lon}
		}
		slices.SortFunc(under, func(a, b *dispatch.Visit) int { return a.PlannedStart.Compare(b.PlannedStart) })
		for _, v := range under {
			loc := schedule.Location{Lat: v.Lat, Lon: v.Lon}
			begin := v.ETA // arrival: expected while en route, actual once on site
			if v.Status == dispatch.VisitEnRoute && (begin.IsZero() || begin.Before(from)) {
				sec, _ := c.Travel.Leg(at, loc)
				begin = from.Add(time.Duration(sec * float64(time.Second)))
			}
			if begin.IsZero() {
				begin = v.PlannedStart
			}
			from, at = maxTime(from, begin.Add(v.Duration())), loc
		}
		pt.Start = at
		shifts := pt.Shifts[:0:0]
		for _, sh := range pt.Shifts {
			if !from.Before(sh.End) {
				continue
			}
			if from.After(sh.Start) {
				sh.Start = from
				// What is left of the shift must at least take him from where he is to where
				// it ends; otherwise no visit fits in it either (any detour is longer), and a
				// route that cannot even be empty would stop the whole re-plan.
				if sec, _ := c.Travel.Leg(at, pt.End); sh.End.Sub(sh.Start) < time.Duration(sec*float64(time.Second)) {
					continue
				}
			}
			if br := sh.Break; br != nil {
				b := *br
				b.Earliest = maxTime(b.Earliest, sh.Start)
				sh.Break = nil
				if b.Latest.Sub(b.Earliest) >= b.Duration {
					sh.Break = &b
				}
			}
			shifts = append(shifts, sh)
		}
		pt.Shifts = shifts
	}
	return p
}
