package schedule

import (
	"math"
	"slices"
)

// A shift's break is a stop without a place, and a plan a store rebuilds from its visits'
// order (NewPlan) must put it somewhere. Where it sits decides what fits around it: a
// lunch between 13:00 and 15:00 placed before a 12:00–14:00 visit makes the technician
// wait for it and leaves no room for a morning visit across town, which the same route
// with the lunch after that visit takes easily. So NewPlan places the break where the day
// ends soonest, and Insert and Slots, which keep every visit's order, may move it.

// withBreakAt sets r's sequence to seq with its break (at index from) moved to just before
// the stop now at index to of the sequence without it, and times it; it reports
// feasibility.
func (r *route) withBreakAt(in *inst, seq []int32, from, to int) bool {
	r.seq = append(r.seq[:0], seq[:from]...)
	r.seq = append(r.seq, seq[from+1:]...)
	r.seq = slices.Insert(r.seq, to, seq[from])
	return r.update(in)
}

// placeBreak moves r's break to the feasible place where r returns soonest (later places
// first among equals: the technician works before he pauses), after any started visit;
// it reports whether some place is feasible. r without a break is only timed.
func (r *route) placeBreak(in *inst) bool {
	from := slices.IndexFunc(r.seq, func(x int32) bool { return in.nodes[x].kind == kindBreak })
	if from < 0 {
		return r.update(in)
	}
	seq := slices.Clone(r.seq)
	best, bestAt := math.Inf(1), -1
	for to := len(seq) - 2; to >= 1; to-- {
		if !r.withBreakAt(in, seq, from, to) || r.brk <= r.minIns {
			continue
		}
		if end := r.st[len(r.seq)-1]; end < best-eps {
			best, bestAt = end, to
		}
	}
	if bestAt < 0 {
		r.seq = append(r.seq[:0], seq...)
		r.update(in)
		return false
	}
	return r.withBreakAt(in, seq, from, bestAt)
}

// insertMovingBreak finds the cheapest feasible insertion of c into r (bounded by bound)
// once r's break may move: for each other place of the break that keeps r feasible, the
// best insertion there. It returns the added distance, the break's new index in the
// sequence without it, and the insertion position in the route with the break moved (-1:
// none). scratch is overwritten. Breaks add no distance, so this is for when r has no
// feasible place for c with the break where it is.
func (r *route) insertMovingBreak(in *inst, c int32, bound float64, scratch *route) (float64, int, int) {
	if r.brk < 0 {
		return math.Inf(1), -1, -1
	}
	best, bt, bp := bound, -1, -1
	scratch.v = r.v
	for to := 1; to < len(r.seq)-1; to++ {
		if to == r.brk || !scratch.withBreakAt(in, r.seq, r.brk, to) || scratch.brk <= scratch.minIns {
			continue
		}
		if d, p := scratch.bestInsert(in, c, best, nil); p >= 0 && d < best {
			best, bt, bp = d, to, p
		}
	}
	if bp < 0 {
		return math.Inf(1), -1, -1
	}
	return best, bt, bp
}
