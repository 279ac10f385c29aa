package schedule

import (
	"math"
	"slices"
)

// Regret insertion (Potvin & Rousseau 1993; Ropke & Pisinger 2006): instead
// of inserting visits in a fixed order, each step inserts the visit that
// would lose most by waiting — the one whose best route is furthest ahead
// of its next k-1 best routes. A visit with few feasible routes goes early,
// before those routes fill up. After an insertion only the route that
// changed is re-evaluated, and a visit's k best routes are rescanned only
// when that route was among them or now beats them.

// noRoute stands for the cost of a route where a visit does not fit when
// computing regrets: it makes visits with fewer feasible routes more urgent
// without overflowing the sums.
const noRoute = 1e12

// regretScratch holds recreateRegret's tables between calls.
type regretScratch struct {
	cost  []float64 // [i*nr+r]: pending visit i's best insertion into route r
	pos   []int32
	top   []float64 // [i*k+j]: visit i's j-th best route cost (one empty route per class)
	topR  []int32   // [i*k+j]: and that route
	rep   []int32   // per route: the empty route of the same class it copies, or -1
	class []int32
}

// recreateRegret inserts the removed (and any unassigned) visits by
// regret-k, higher priority first (ties: larger regret, then cheaper).
func (w *worker) recreateRegret(s *sol, k int) {
	in := w.in
	w.collectPending(s)
	pend := w.order
	nr := len(s.routes)
	if len(pend) == 0 {
		s.total(in)
		return
	}
	blink := w
	if w.blinkRate == 0 {
		blink = nil
	}
	g := &w.regret
	np := len(pend)
	g.cost = grow64(g.cost, np*nr)
	g.pos = grow32(g.pos, np*nr)
	g.top = grow64(g.top, np*k)
	g.topR = grow32(g.topR, np*k)
	cost, pos := g.cost, g.pos
	eval := func(i, r int) {
		c := pend[i]
		rt := &s.routes[r]
		if !in.ok(c, rt.v) {
			cost[i*nr+r], pos[i*nr+r] = math.Inf(1), -1
			return
		}
		e0 := rt.evals
		d, p := rt.bestInsert(in, c, math.Inf(1), blink)
		w.work += 4 + rt.evals - e0
		cost[i*nr+r], pos[i*nr+r] = d, int32(p)
	}
	// rank fills visit i's k best routes, counting one empty route per
	// class (empty routes of a class are interchangeable).
	rank := func(i int) {
		top, topR := g.top[i*k:(i+1)*k], g.topR[i*k:(i+1)*k]
		for j := range top {
			top[j], topR[j] = noRoute, -1
		}
		g.class = g.class[:0]
		for r, d := range cost[i*nr : (i+1)*nr] {
			if d >= top[k-1] {
				continue
			}
			if s.routes[r].nv == 0 {
				cl := in.veh[s.routes[r].v].class
				if slices.Contains(g.class, cl) {
					continue
				}
				g.class = append(g.class, cl)
			}
			j := k - 1
			for j > 0 && top[j-1] > d {
				top[j], topR[j] = top[j-1], topR[j-1]
				j--
			}
			top[j], topR[j] = d, int32(r)
		}
	}
	// Empty routes of one class give the same figures: evaluate the first
	// and copy.
	g.rep = g.rep[:0]
	for r := range s.routes {
		rep := int32(-1)
		if s.routes[r].nv == 0 {
			cl := in.veh[s.routes[r].v].class
			for q := 0; q < r; q++ {
				if s.routes[q].nv == 0 && in.veh[s.routes[q].v].class == cl {
					rep = int32(q)
					break
				}
			}
		}
		g.rep = append(g.rep, rep)
	}
	for i := range pend {
		for r := 0; r < nr; r++ {
			if q := g.rep[r]; q >= 0 {
				cost[i*nr+r], pos[i*nr+r] = cost[i*nr+int(q)], pos[i*nr+int(q)]
				continue
			}
			eval(i, r)
		}
		rank(i)
	}
	drop := func(i, live int) {
		pend[i], pend[live] = pend[live], pend[i]
		copy(cost[i*nr:(i+1)*nr], cost[live*nr:(live+1)*nr])
		copy(pos[i*nr:(i+1)*nr], pos[live*nr:(live+1)*nr])
		copy(g.top[i*k:(i+1)*k], g.top[live*k:(live+1)*k])
		copy(g.topR[i*k:(i+1)*k], g.topR[live*k:(live+1)*k])
	}
	live := np
	for live > 0 {
		bi := -1
		var bw, breg, bc float64
		for i := 0; i < live; i++ {
			top := g.top[i*k : (i+1)*k]
			if g.topR[i*k] < 0 {
				// Fits nowhere any more: it stays unassigned.
				live--
				drop(i, live)
				i--
				continue
			}
			reg := 0.0
			for j := 1; j < k; j++ {
				reg += top[j] - top[0]
			}
			wt := in.weight[pend[i]]
			if bi < 0 || wt > bw || (wt == bw && (reg > breg || (reg == breg && top[0] < bc))) {
				bi, bw, breg, bc = i, wt, reg, top[0]
			}
		}
		if bi < 0 {
			break
		}
		c, br := pend[bi], int(g.topR[bi*k])
		rt := &s.routes[br]
		w.work += int64(len(rt.seq))
		rt.insert(in, c, int(pos[bi*nr+br]))
		s.where[c] = int32(br)
		live--
		drop(bi, live)
		for i := 0; i < live; i++ {
			eval(i, br)
			// Rescan when br was among the k best (its figure changed, or
			// it stopped being a stand-in for its empty class) or now
			// beats the k-th.
			top, topR := g.top[i*k:(i+1)*k], g.topR[i*k:(i+1)*k]
			if slices.Contains(topR, int32(br)) || cost[i*nr+br] < top[k-1] {
				rank(i)
			}
		}
	}
	s.total(in)
}
