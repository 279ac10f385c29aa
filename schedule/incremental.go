package schedule

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// extend returns a copy of in with visit v appended as visit in.m (node
// in.m; break and depot nodes move up by one) and its legs computed. Only
// v's compatibility is computed, so this costs O(locations), not a compile.
func (in *inst) extend(v Visit) (*inst, error) {
	for _, o := range in.p.Visits {
		if o.ID == v.ID {
			return nil, invalidf("visit %q: duplicate ID", v.ID)
		}
	}
	p2 := *in.p
	p2.Visits = append(slices.Clip(in.p.Visits), v)
	if err := validateVisit(&p2, len(p2.Visits)-1); err != nil {
		return nil, err
	}
	out := *in
	out.p = &p2
	m := in.m
	out.m = m + 1
	// Nodes.
	out.nodes = make([]node, len(in.nodes)+1)
	copy(out.nodes, in.nodes[:m])
	copy(out.nodes[m+1:], in.nodes[m:])
	out.veh = slices.Clone(in.veh)
	for i := range out.veh {
		ve := &out.veh[i]
		ve.start++
		ve.end++
		if ve.brk >= 0 {
			ve.brk++
		}
	}
	// Locations: the new one goes last, its legs in the extension.
	travel := in.p.Travel
	if travel == nil {
		travel = Haversine{}
	}
	nl := int32(len(in.locs))
	out.locs = append(slices.Clip(in.locs), v.Location)
	e := &ext{base: nl}
	if in.ext != nil {
		e.base = in.ext.base
		e.toDist, e.toDur = slices.Clip(in.ext.toDist), slices.Clip(in.ext.toDur)
		e.fromDist, e.fromDur = slices.Clip(in.ext.fromDist), slices.Clip(in.ext.fromDur)
	}
	td, tt := make([]float64, nl), make([]float64, nl)
	fd, ft := make([]float64, nl), make([]float64, nl)
	for i := int32(0); i < nl; i++ {
		tt[i], td[i] = travel.Leg(v.Location, out.locs[i])
		ft[i], fd[i] = travel.Leg(out.locs[i], v.Location)
	}
	e.toDist, e.toDur = append(e.toDist, td), append(e.toDur, tt)
	e.fromDist, e.fromDur = append(e.fromDist, fd), append(e.fromDur, ft)
	out.ext = e
	n := &out.nodes[m]
	*n = node{loc: nl, kind: kindVisit, owner: -1, svc: v.Service.Seconds(), dem: float64(v.Demand)}
	n.setWindows(out.windows(v.Windows))
	if v.Pin != nil {
		n.fixed = v.Pin.Position > 0 || v.Started
		n.start = v.Started
	}
	out.weight = append(slices.Clip(in.weight), float64(1+v.Priority))
	out.pinPos = append(slices.Clip(in.pinPos), 0)
	if v.Pin != nil {
		out.pinPos[m] = v.Pin.Position
	}
	out.reason = append(slices.Clip(in.reason), -1)
	out.okv = append(slices.Clip(in.okv), make([]uint64, in.words)...)
	out.nb = append(slices.Clip(in.nb), nil)
	out.active = slices.Clip(in.active)
	if out.compatOne(int32(m), &route{}) {
		out.active = append(out.active, int32(m))
	}
	out.okr = append(slices.Clip(in.okr), out.okList(int32(m)))
	return &out, nil
}

func (in *inst) windows(ws []Window) []tw {
	out := make([]tw, 0, len(ws))
	for _, w := range ws {
		out = append(out, tw{in.sec(w.Start), in.sec(w.End)})
	}
	return mergeWindows(out)
}

// shiftSeqs renumbers sequences of in for an extension by one visit.
func shiftSeqs(seqs [][]int32, m int) [][]int32 {
	out := make([][]int32, len(seqs))
	for i, s := range seqs {
		out[i] = make([]int32, len(s), len(s)+1)
		for j, x := range s {
			if int(x) >= m {
				x++
			}
			out[i][j] = x
		}
	}
	return out
}

// state rebuilds the solution a plan describes on inst in.
func state(in *inst, seqs [][]int32) (*sol, error) {
	s := &sol{routes: make([]route, len(in.veh)), where: make([]int32, in.m), out: slices.Clone(in.active)}
	for i := range s.where {
		s.where[i] = -1
	}
	for i := range s.routes {
		s.routes[i].v = int32(i)
		s.routes[i].seq = append(s.routes[i].seq[:0], seqs[i]...)
		if !s.routes[i].update(in) {
			return nil, fmt.Errorf("%w: the plan's route %d is no longer feasible", ErrPinned, i)
		}
		for _, x := range seqs[i] {
			if int(x) < in.m {
				s.where[x] = int32(i)
			}
		}
	}
	s.total(in)
	return s, nil
}

// Insert returns a new plan with visit v added at its cheapest feasible
// position. Every other visit keeps its technician and its order, and every
// window already promised still holds; only times shift. When no position
// is feasible the error wraps ErrNoInsertion and says why. The given plan
// is not changed.
func Insert(plan *Plan, v Visit) (*Plan, error) {
	in, err := plan.in.extend(v)
	if err != nil {
		return nil, err
	}
	s, err := state(in, shiftSeqs(plan.seqs, plan.in.m))
	if err != nil {
		return nil, err
	}
	c := int32(in.m - 1)
	if in.reason[c] >= 0 {
		return nil, fmt.Errorf("%w: visit %q: %v", ErrNoInsertion, v.ID, Reason(in.reason[c]))
	}
	best, br, bp := math.Inf(1), -1, -1
	for _, v := range in.okr[c] {
		ri := int(v) // route ri is vehicle ri's
		rt := &s.routes[ri]
		if d, p := rt.bestInsert(in, c, best, nil); p >= 0 && d < best {
			best, br, bp = d, ri, p
		}
	}
	if br < 0 {
		// Every visit keeps its order; a technician's break may move to make room.
		var scratch route
		bt := -1
		for _, v := range in.okr[c] {
			ri := int(v)
			if d, t, p := s.routes[ri].insertMovingBreak(in, c, best, &scratch); p >= 0 && d < best {
				best, br, bt, bp = d, ri, t, p
			}
		}
		if br < 0 {
			return nil, fmt.Errorf("%w: visit %q: %v", ErrNoInsertion, v.ID, NoRoom)
		}
		rt := &s.routes[br]
		rt.withBreakAt(in, slices.Clone(rt.seq), rt.brk, bt)
	}
	s.routes[br].insert(in, c, bp)
	s.where[c] = int32(br)
	s.total(in)
	return extract(in, s), nil
}

// Slots returns the windows of the given width in which visit v could be
// booked: each tiles the business hours (Problem.Hours, in Problem.Zone) of
// one of the days days starting with from's day, starts no earlier than
// from, lies inside one of v.Availability (when given) and admits a feasible
// insertion into plan that keeps every window already promised. v.Windows
// is ignored: the slot is the window being offered.
func Slots(plan *Plan, v Visit, from time.Time, days int, width time.Duration) ([]Window, error) {
	if width <= 0 || days < 0 {
		return nil, invalidf("slots: width must be positive and days not negative")
	}
	free := v
	free.Windows = nil
	in, err := plan.in.extend(free)
	if err != nil {
		return nil, err
	}
	s, err := state(in, shiftSeqs(plan.seqs, plan.in.m))
	if err != nil {
		return nil, err
	}
	c := int32(in.m - 1)
	if in.reason[c] >= 0 {
		return nil, nil
	}
	zone := in.p.Zone
	if zone == nil {
		zone = time.UTC
	}
	hours := in.p.Hours
	if hours.Close <= hours.Open {
		hours = Hours{8 * time.Hour, 18 * time.Hour}
	}
	var out []Window
	var scratch route
	lf := from.In(zone)
	n := &in.nodes[c]
	for d := 0; d < days; d++ {
		day := time.Date(lf.Year(), lf.Month(), lf.Day()+d, 0, 0, 0, 0, zone)
		open := day.Add(hours.Open)
		close := day.Add(hours.Close)
		for a := open; !a.Add(width).After(close); a = a.Add(width) {
			w := Window{a, a.Add(width)}
			if a.Before(from) || !within(w, v.Availability) {
				continue
			}
			n.setWindows([]tw{{in.sec(w.Start), in.sec(w.End)}})
			if s.fits(in, c, &scratch) {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// fits reports whether c has a feasible place in s, every visit keeping its technician and
// order and a break free to move (scratch is overwritten).
func (s *sol) fits(in *inst, c int32, scratch *route) bool {
	for _, v := range in.okr[c] {
		if _, p := s.routes[v].bestInsert(in, c, math.Inf(1), nil); p >= 0 {
			return true
		}
	}
	for _, v := range in.okr[c] {
		if _, _, p := s.routes[v].insertMovingBreak(in, c, math.Inf(1), scratch); p >= 0 {
			return true
		}
	}
	return false
}

func within(w Window, avail []Window) bool {
	if len(avail) == 0 {
		return true
	}
	for _, a := range avail {
		if !w.Start.Before(a.Start) && !w.End.After(a.End) {
			return true
		}
	}
	return false
}

// Reoptimize improves plan by ruin and recreate from where it stands. Started
// visits stay first on their routes and position-pinned visits stay on their
// technician in their order; technician-pinned visits stay with their
// technician; every window holds throughout, so no promise is broken.
// Unassigned visits are retried. The result is never worse than plan
// (hierarchically: assigned weight, then distance).
func Reoptimize(ctx context.Context, plan *Plan, opt Options) (*Plan, error) {
	ctx, cancel := withLimit(ctx, opt)
	defer cancel()
	in := plan.in
	start, err := state(in, plan.seqs)
	if err != nil {
		return nil, err
	}
	if in.ext != nil {
		// Plans made by Insert lack neighbour lists and dense legs for the
		// new visits.
		in2, err := compile(in.p)
		if err != nil {
			return nil, err
		}
		in = in2
		if start, err = state(in, plan.seqs); err != nil {
			return nil, err
		}
	}
	best := search(ctx, in, start, opt)
	if start.better(best) {
		best = start
	}
	return extract(in, best), nil
}

func validateVisit(p *Problem, i int) error {
	q := *p
	q.Visits = p.Visits[i : i+1]
	q.Technicians = nil
	return validate(&q)
}

// Assignment is one technician shift's visits in order, as a dispatcher or
// a store holds them.
type Assignment struct {
	Technician string
	Shift      int
	Visits     []string // Visit IDs
}

// NewPlan times the given assignments into a Plan that Insert, Slots and
// Reoptimize can work on. A break goes where its day ends soonest (see
// placeBreak).
// Visits in no assignment are Unassigned. It fails with ErrInvalid for an
// unknown or repeated ID and with ErrPinned when an assignment breaks a
// window, a shift, a skill, a capacity or a break.
func NewPlan(p *Problem, as []Assignment) (*Plan, error) {
	in, err := compile(p)
	if err != nil {
		return nil, err
	}
	vis := map[string]int32{}
	for i, v := range p.Visits {
		vis[v.ID] = int32(i)
	}
	s := newSol(in)
	for _, a := range as {
		ti, ok := in.techIdx[a.Technician]
		if !ok {
			return nil, invalidf("assignment: unknown technician %q", a.Technician)
		}
		vi := -1
		for i, ve := range in.veh {
			if ve.tech == ti && ve.shift == a.Shift {
				vi = i
			}
		}
		if vi < 0 {
			return nil, invalidf("assignment: technician %q has no shift %d", a.Technician, a.Shift)
		}
		rt := &s.routes[vi]
		ve := in.veh[vi]
		seq := []int32{ve.start}
		for _, id := range a.Visits {
			c, ok := vis[id]
			if !ok || s.where[c] >= 0 {
				return nil, invalidf("assignment: unknown or repeated visit %q", id)
			}
			if !in.ok(c, int32(vi)) && !in.nodes[c].start {
				return nil, fmt.Errorf("%w: visit %q cannot go with technician %q shift %d", ErrPinned, id, a.Technician, a.Shift)
			}
			if in.nodes[c].start && len(seq) > 1 {
				return nil, fmt.Errorf("%w: started visit %q is not first", ErrPinned, id)
			}
			s.where[c] = int32(vi)
			seq = append(seq, c)
		}
		seq = append(seq, ve.end)
		rt.seq = seq
		if ve.brk >= 0 {
			rt.seq = slices.Insert(slices.Clone(seq), 1, ve.brk)
			if !rt.placeBreak(in) {
				return nil, fmt.Errorf("%w: technician %q shift %d: no room for the break", ErrPinned, a.Technician, a.Shift)
			}
		} else if !rt.update(in) {
			return nil, fmt.Errorf("%w: technician %q shift %d: the order given breaks a window, the shift or the capacity", ErrPinned, a.Technician, a.Shift)
		}
	}
	s.total(in)
	return extract(in, s), nil
}
