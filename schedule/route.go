package schedule

import "math"

// route is one vehicle's sequence with the timing caches that make an
// insertion check constant-time: earliest start st and departure dep
// forward, latest feasible start ls backward (an arrival at position p is
// feasible for the rest of the route iff it is no later than ls[p]; with
// waiting allowed the feasible arrivals form a half-line even for several
// windows, and FIFO travel keeps it so under congestion).
type route struct {
	// What recreate reads of every route it considers for a visit comes
	// first, on one cache line: nv, the distance summary, the version.
	nv int // visits on the route
	// Distance summary for pruning insertions (see bound): the leg from
	// the start to the first visit, from the last visit to the end, and
	// the longest leg between two visits.
	headArc, tailArc, innerArc float64
	// ver names the route's content: update gives it a fresh version from
	// ctr, the counter of the worker that owns the route (versions of
	// different workers never meet), and copyFrom carries it along with
	// the content it names. A route without a counter has version 0,
	// which names nothing. Recreate keys what it learnt about a route by
	// its version (see worker.fails).
	ver uint64
	v   int32

	seq    []int32
	loc    []int32 // effective location: a break sits where the previous stop is
	st     []float64
	dep    []float64
	ls     []float64
	arc    []float64 // arc[p]: distance from loc[p] to loc[p+1]
	tarc   []float64 // tarc[p]: arc p's travel time, kept with plain travel (insertPlain)
	load   float64
	legs   float64 // sum of leg distances
	cost   float64 // legs, or 0 for a route without visits
	minIns int     // insert only after this position (last started visit)
	brk    int     // position of the break, or -1
	ok     bool
	evals  int64 // insertion positions evaluated, for the work count
	ctr    *uint64
}

// update recomputes the caches; it reports whether the route is feasible.
func (r *route) update(in *inst) bool {
	n := len(r.seq)
	r.loc = grow32(r.loc, n)
	r.st = grow64(r.st, n)
	r.dep = grow64(r.dep, n)
	r.ls = grow64(r.ls, n)
	r.arc = grow64(r.arc, n)
	r.ok = true
	r.load, r.legs, r.nv, r.minIns, r.brk = 0, 0, 0, 0, -1
	r.arc[n-1] = 0
	nd := &in.nodes[r.seq[0]]
	r.loc[0] = nd.loc
	r.st[0] = nd.a0
	r.dep[0] = nd.a0
	if in.ext == nil && in.cong == nil {
		r.updatePlain(in)
		return r.finish(in)
	}
	r.tarc = r.tarc[:0] // not kept: insert re-times from the tables
	for p := 1; p < n; p++ {
		nd = &in.nodes[r.seq[p]]
		var a float64
		if nd.loc < 0 {
			r.loc[p] = r.loc[p-1]
			a = r.dep[p-1]
			r.arc[p-1] = 0
			r.brk = p
		} else {
			r.loc[p] = nd.loc
			a = in.arrive(r.loc[p-1], nd.loc, r.dep[p-1])
			r.arc[p-1] = in.distAt(r.loc[p-1], nd.loc)
			r.legs += r.arc[p-1]
		}
		s := earliest(nd, a)
		if math.IsInf(s, 1) {
			r.ok = false
			s = a
		}
		r.st[p] = s
		r.dep[p] = s + nd.svc
		r.load += nd.dem
		if nd.kind == kindVisit {
			r.nv++
			if nd.start {
				r.minIns = p
			}
		}
	}
	r.ls[n-1] = latest(&in.nodes[r.seq[n-1]], math.Inf(1))
	for p := n - 2; p >= 0; p-- {
		nd = &in.nodes[r.seq[p]]
		var ld float64
		if in.nodes[r.seq[p+1]].loc < 0 {
			ld = r.ls[p+1]
		} else {
			ld = in.leave(r.loc[p], r.loc[p+1], r.ls[p+1])
		}
		r.ls[p] = latest(nd, ld-nd.svc)
	}
	r.summarize(in)
	return r.finish(in)
}

// finish checks the load and hands out a version once the caches are set.
func (r *route) finish(in *inst) bool {
	if r.load > in.veh[r.v].cap+eps {
		r.ok = false
	}
	r.ver = 0
	if r.ctr != nil {
		r.ver = *r.ctr
		*r.ctr += verStride
	}
	r.cost = r.legs
	if r.nv == 0 {
		r.cost = 0
	}
	return r.ok
}

// updatePlain is update's timing and summary for matrix travel without
// congestion (every compiled location, constant durations): the legs are
// read straight from the matrices into arc and tarc, then timePlain
// makes the same sums in the same order as update.
func (r *route) updatePlain(in *inst) {
	n := len(r.seq)
	L := in.L
	dist, dur := in.dist, in.dur
	r.tarc = grow64(r.tarc, n)
	r.tarc[n-1] = 0
	for p := 1; p < n; p++ {
		nd := &in.nodes[r.seq[p]]
		if nd.loc < 0 {
			r.loc[p] = r.loc[p-1]
			r.arc[p-1], r.tarc[p-1] = 0, 0
		} else {
			k := int(r.loc[p-1])*L + int(nd.loc)
			r.loc[p] = nd.loc
			r.arc[p-1], r.tarc[p-1] = dist[k], dur[k]
		}
	}
	r.timePlain(in)
}

// timePlain is updatePlain's timing and summary from loc, arc and tarc,
// once the fields update resets are reset and position 0 is timed.
func (r *route) timePlain(in *inst) {
	n := len(r.seq)
	seq, nodes := r.seq[:n], in.nodes
	arc, tarc := r.arc[:n], r.tarc[:n]
	st, dep, ls := r.st[:n], r.dep[:n], r.ls[:n]
	// The sums and counts are kept in locals (from what the caller reset)
	// and stored once: as fields, the compiler would load and store them
	// at every stop, the stores to st, dep and ls being maybe to them.
	legs, load, nv, minIns, brk, ok := r.legs, r.load, r.nv, r.minIns, r.brk, r.ok
	fv, lv := -1, -1
	for p := 1; p < n; p++ {
		nd := &nodes[seq[p]]
		var a float64
		if nd.loc < 0 {
			a = dep[p-1]
			brk = p
		} else {
			a = dep[p-1] + tarc[p-1]
			legs += arc[p-1]
			if p < n-1 {
				if fv < 0 {
					fv = p
				}
				lv = p
			}
		}
		var s float64
		if nd.win == nil {
			// earliest, inlined for a single window.
			s = math.Inf(1)
			if a <= nd.b0+eps {
				s = a
				if a < nd.a0 {
					s = nd.a0
				}
			}
		} else {
			s = earliest(nd, a)
		}
		if math.IsInf(s, 1) {
			ok = false
			s = a
		}
		st[p] = s
		dep[p] = s + nd.svc
		load += nd.dem
		if nd.kind == kindVisit {
			nv++
			if nd.start {
				minIns = p
			}
		}
	}
	r.legs, r.load, r.nv, r.minIns, r.brk, r.ok = legs, load, nv, minIns, brk, ok
	next := &nodes[seq[n-1]]
	ls[n-1] = latest(next, math.Inf(1))
	for p := n - 2; p >= 0; p-- {
		nd := &nodes[seq[p]]
		var ld float64
		if next.loc < 0 {
			ld = ls[p+1]
		} else {
			ld = ls[p+1] - tarc[p]
		}
		if t := ld - nd.svc; nd.win == nil {
			// latest, inlined for a single window.
			ls[p] = math.Inf(-1)
			if nd.a0 <= t+eps {
				ls[p] = t
				if t > nd.b0 {
					ls[p] = nd.b0
				}
			}
		} else {
			ls[p] = latest(nd, t)
		}
		next = nd
	}
	r.arcSummary(fv, lv)
}

// arcSummary sets headArc, tailArc and innerArc from the arcs, given the
// positions of the first and last stops with a place of their own between
// the start and the end (-1: none).
func (r *route) arcSummary(fv, lv int) {
	n := len(r.seq)
	r.headArc, r.tailArc, r.innerArc = 0, 0, 0
	if fv < 0 {
		return
	}
	arc := r.arc[:n]
	head, tail, inner := 0.0, 0.0, 0.0 // in locals, as timePlain's sums
	for p := 0; p < fv; p++ {
		head += arc[p]
	}
	for p := lv; p < n-1; p++ {
		tail += arc[p]
	}
	for p := fv; p < lv; p++ {
		inner = max(inner, arc[p])
	}
	r.headArc, r.tailArc, r.innerArc = head, tail, inner
}

// summarize sets headArc, tailArc and innerArc.
func (r *route) summarize(in *inst) {
	n := len(r.seq)
	fv, lv := -1, -1
	for p := 1; p < n-1; p++ {
		if in.nodes[r.seq[p]].loc >= 0 {
			if fv < 0 {
				fv = p
			}
			lv = p
		}
	}
	r.arcSummary(fv, lv)
}

// bound is a lower bound on the added distance of inserting a visit into
// r (with visits), given its distances from r's start and to r's end and
// a lower bound far on its distance to and from every visit of r. It
// holds when distances obey the triangle inequality: a visit that lands
// between a and b adds d(a,c)+d(c,b)-d(a,b), at least 2·far less the
// longest leg between visits, or the same with a home leg.
func (r *route) bound(fromStart, toEnd, far float64) float64 {
	return min(fromStart+far-r.headArc, far+toEnd-r.tailArc, 2*far-r.innerArc)
}

func grow32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n, 2*n)
	}
	return s[:n]
}

func grow64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n, 2*n)
	}
	return s[:n]
}

// empty makes r the empty route of vehicle v.
func (r *route) empty(in *inst, v int32) {
	ve := &in.veh[v]
	r.v = v
	r.seq = append(r.seq[:0], ve.start)
	if ve.brk >= 0 {
		r.seq = append(r.seq, ve.brk)
	}
	r.seq = append(r.seq, ve.end)
	r.update(in)
}

// alone reports whether visit c fits on vehicle v's otherwise empty route.
func (r *route) alone(in *inst, v, c int32) bool {
	r.empty(in, v)
	best, _ := r.bestInsert(in, c, math.Inf(1), nil)
	return !math.IsInf(best, 1)
}

// insertDelta is the added distance of putting visit c between positions p
// and p+1, or +Inf when infeasible. bound lets the caller skip the timing
// check when the distance alone is no better.
func (r *route) insertDelta(in *inst, c int32, p int, bound float64) float64 {
	cn := &in.nodes[c]
	cl := int(cn.loc)
	a := int(r.loc[p])
	nx := &in.nodes[r.seq[p+1]]
	base := 0.0
	if r.nv == 0 {
		base = r.legs
	}
	L := in.L
	if nx.loc >= 0 && in.ext == nil {
		// Both of c's legs come from c's rows (distIn: into c), which stay
		// in cache while c is tried along every route.
		b := int(nx.loc)
		dd := in.distIn[cl*L+a] + in.dist[cl*L+b] - r.arc[p] + base
		if dd >= bound {
			return math.Inf(1)
		}
		var t float64
		if in.cong == nil {
			t = r.dep[p] + in.durIn[cl*L+a]
		} else {
			t = in.cong.arrive(r.dep[p], in.durIn[cl*L+a])
		}
		var s float64
		if cn.win == nil {
			// earliest, inlined for the common single window.
			if t > cn.b0+eps {
				return math.Inf(1)
			}
			s = t
			if s < cn.a0 {
				s = cn.a0
			}
		} else if s = earliest(cn, t); math.IsInf(s, 1) {
			return s
		}
		t = s + cn.svc
		if in.cong == nil {
			t += in.dur[cl*L+b]
		} else {
			t = in.cong.arrive(t, in.dur[cl*L+b])
		}
		if t > r.ls[p+1]+eps {
			return math.Inf(1)
		}
		return dd
	}
	// The next stop is a break (it moves to c's place), or c is a location
	// added after compilation: the distance is decided by the next real
	// stop, and is checked against bound before the walk that times it.
	q := p + 1
	for q < len(r.seq) && in.nodes[r.seq[q]].loc < 0 {
		q++
	}
	if q == len(r.seq) {
		return math.Inf(1)
	}
	nl := in.nodes[r.seq[q]].loc
	var added float64
	if in.ext == nil {
		// The legs between p and q add up to p's leg to q: a break has
		// none of its own.
		var pq float64
		for k := p; k < q; k++ {
			pq += r.arc[k]
		}
		added = in.distIn[cl*L+a] + (in.dist[cl*L+int(nl)] - pq)
	} else {
		added = in.distAt(r.loc[p], cn.loc) + (in.distAt(cn.loc, nl) - in.distAt(r.loc[p], nl))
	}
	if added+base >= bound {
		return math.Inf(1)
	}
	t := in.arrive(r.loc[p], cn.loc, r.dep[p])
	s := earliest(cn, t)
	if math.IsInf(s, 1) {
		return s
	}
	t = s + cn.svc
	for k := p + 1; k < q; k++ {
		nd := &in.nodes[r.seq[k]]
		if s = earliest(nd, t); math.IsInf(s, 1) {
			return s
		}
		t = s + nd.svc
	}
	if in.arrive(cn.loc, nl, t) > r.ls[q]+eps {
		return math.Inf(1)
	}
	return added + base
}

// bestInsert returns the cheapest feasible insertion of c into r (bounded by
// bound), skipping each position with the blink probability of the worker
// blink when it is not nil.
func (r *route) bestInsert(in *inst, c int32, bound float64, blink *worker) (float64, int) {
	pr := in.probe(c)
	return r.bestInsertProbe(in, &pr, bound, blink)
}

// probe is what an insertion scan reads of one visit at every position:
// its node, and when bestInsertPlain applies, its rows of the travel
// tables and its window. A caller that tries one visit on many routes
// (recreate) makes it once.
type probe struct {
	c     int32
	node  *node
	plain bool // matrix travel without congestion and a single window
	// The visit's rows (set when plain): dIn[a] and tIn[a] are the leg
	// from location a to the visit, dOut[b] and tOut[b] the leg from it
	// to b.
	dIn, dOut, tIn, tOut []float64
}

// probe prepares visit c for insertion scans.
func (in *inst) probe(c int32) probe {
	cn := &in.nodes[c]
	pr := probe{c: c, node: cn}
	if in.ext == nil && in.cong == nil && cn.win == nil {
		L := in.L
		row := int(cn.loc) * L
		pr.plain = true
		pr.dIn, pr.dOut = in.distIn[row:row+L], in.dist[row:row+L]
		pr.tIn, pr.tOut = in.durIn[row:row+L], in.dur[row:row+L]
	}
	return pr
}

// bestInsertProbe is bestInsert for a visit already prepared by probe.
func (r *route) bestInsertProbe(in *inst, pr *probe, bound float64, blink *worker) (float64, int) {
	if pr.plain {
		return r.bestInsertPlain(in, pr, bound, blink)
	}
	if r.overloads(in, pr.node) {
		return math.Inf(1), -1
	}
	return r.bestInsertAny(in, pr.c, bound, blink)
}

// overloads reports whether visit cn would take r over its vehicle's
// capacity.
func (r *route) overloads(in *inst, cn *node) bool {
	return r.load+cn.dem > in.veh[r.v].cap+eps
}

// bestInsertAny is bestInsert's scan for any travel and windows, position
// by position through insertDelta; the load is checked.
func (r *route) bestInsertAny(in *inst, c int32, bound float64, blink *worker) (float64, int) {
	best, bp := bound, -1
	cn := &in.nodes[c]
	// Departures and latest starts never decrease along a route, so c
	// cannot follow a stop left after its last window closes, nor precede
	// one whose latest start comes before c could even be done.
	lastDue, done := cn.b0, cn.a0+cn.svc
	if cn.win != nil {
		lastDue = cn.win[len(cn.win)-1].b
	}
	for p := r.minIns; p < len(r.seq)-1; p++ {
		if r.dep[p] > lastDue+eps {
			break
		}
		if r.ls[p+1] < done-eps && p+1 != r.brk {
			continue
		}
		if blink != nil && blink.blink() {
			continue
		}
		r.evals++
		if d := r.insertDelta(in, c, p, best); d < best {
			best, bp = d, p
		}
	}
	if bp < 0 {
		return math.Inf(1), -1
	}
	return best, bp
}

// bestInsertPlain is bestInsert for the common case: matrix travel
// without congestion and a visit with a single window. It reads c's rows
// of the matrices (from pr) and times every position inline, the one before
// the break (which moves to c's place) included. It finds what
// bestInsertAny finds, with the same arithmetic in the same order
// (TestInsertDeltaMatchesBruteForce). It checks the load itself:
// recreate calls it directly when pr.plain, one call fewer for every
// route it tries.
//
// It is the innermost loop of the search. The scan over the positions is
// scanPlain, which calls nothing; it leaves to bestInsertPlainRest the
// positions where the blinks' countdown runs out (a draw, as
// worker.blink), and the one before the break when its distance does not
// rule it out (beforeBreak).
func (r *route) bestInsertPlain(in *inst, pr *probe, bound float64, blink *worker) (float64, int) {
	if r.overloads(in, pr.node) {
		return math.Inf(1), -1
	}
	base := 0.0
	if r.nv == 0 {
		base = r.legs
	}
	from := math.MaxInt // without blinks the countdown never runs out
	if blink != nil {
		from = blink.blinkLeft
	}
	p, left, best, bp := r.scanPlain(pr, r.minIns, from, bound, -1, base)
	if p < len(r.seq)-1 {
		return r.bestInsertPlainRest(in, pr, p, from, left, best, bp, base, blink)
	}
	// Every position evaluated took one off the countdown.
	r.evals += int64(from - left)
	if blink != nil {
		blink.blinkLeft = left
	}
	if bp < 0 {
		return math.Inf(1), -1
	}
	return best, bp
}

// bestInsertPlainRest is bestInsertPlain once scanPlain has stopped at
// position p, before the end, with the blinks' countdown at left (from at
// the start) and the best place so far best at bp: it draws or times p
// and scans on, until the end. Kept out of bestInsertPlain, which would
// otherwise spend on the loop at every route it scans.
func (r *route) bestInsertPlainRest(in *inst, pr *probe, p, from, left int, best float64, bp int, base float64, blink *worker) (float64, int) {
	n := len(r.seq) - 1
	evals := int64(0)
	for p < n {
		if left <= 0 {
			// The blink skips p, as worker.blink does.
			evals += int64(from - left)
			blink.blinkDraw()
			left = blink.blinkLeft
			from = left
		} else {
			// p is the position before the break.
			left--
			if d := r.beforeBreak(in, pr.node, p, best, pr.dIn, pr.dOut, pr.tIn, pr.tOut, base); d < best {
				best, bp = d, p
			}
		}
		p, left, best, bp = r.scanPlain(pr, p+1, left, best, bp, base)
	}
	evals += int64(from - left)
	if blink != nil {
		blink.blinkLeft = left
	}
	r.evals += evals
	if bp < 0 {
		return math.Inf(1), -1
	}
	return best, bp
}

// scanPlain is bestInsertPlain's scan of the positions from p on, given
// the blinks' countdown left and the best place so far (best at bp); it
// returns where it stopped and the countdown and best place then. It
// stops at the end of the route, or at a position that leaves too late
// for the visit (as does every later one: departures never decrease), and
// returns then the end; and it stops at a position where the countdown
// has run out (the caller draws) and at the one before the break if its
// distance (as beforeBreak reckons it) does not rule it out, and returns
// that position. It takes one off the countdown for every position it
// evaluates, which is how the caller counts them.
//
// It calls nothing, so that the compiler keeps its values in registers
// from one position to the next: in a loop with a call in it, it saves
// them to the stack at every position.
func (r *route) scanPlain(pr *probe, p, left int, best float64, bp int, base float64) (int, int, float64, int) {
	n := len(r.seq) - 1
	loc, dep, ls, arc := r.loc[:n+1], r.dep[:n+1], r.ls[:n+1], r.arc[:n+1]
	dIn := pr.dIn
	dOut := pr.dOut[:len(dIn)] // the same length: one bound for both
	cn := pr.node
	a0, svc := cn.a0, cn.svc
	due, done := cn.b0+eps, a0+svc-eps
	brk := r.brk - 1 // the position before the break, or below any
	// p is never below 0 (minIns); max tells the compiler so, and it then
	// checks no index of the route's fields in the loop.
	for p = max(p, 0); p < n; p++ {
		if dep[p] > due {
			return n, left, best, bp
		}
		if p == brk {
			if left <= 0 {
				return p, left, best, bp // a blink
			}
			// beforeBreak's distance, the same arithmetic: it rules out
			// most places before the break, and the caller times the rest.
			if q := p + 2; q <= n {
				pq := 0.0
				pq += arc[p]
				pq += arc[p+1]
				if dIn[loc[p]]+(dOut[loc[q]]-pq)+base >= best {
					left--
					continue
				}
			}
			return p, left, best, bp
		}
		if ls[p+1] < done {
			continue
		}
		if left <= 0 {
			return p, left, best, bp // a blink
		}
		left--
		a, b := loc[p], loc[p+1]
		dd := dIn[a] + dOut[b] - arc[p] + base
		if dd >= best {
			continue
		}
		// The travel times are read through pr: seldom needed, they
		// would take registers the loop has too few of.
		t := dep[p] + pr.tIn[a]
		if t > due {
			continue
		}
		s := t
		if s < a0 {
			s = a0
		}
		t = s + svc
		t += pr.tOut[b]
		if t > ls[p+1]+eps {
			continue
		}
		best, bp = dd, p
	}
	return n, left, best, bp
}

// beforeBreak is insertDelta for bestInsertPlain's position p right before
// the break, given c's node and its rows of the matrices (the legs out of
// c and into c, dIn[a] being a's leg to c): c takes the break's place,
// the break follows it there, and the distance is decided by the stop
// after the break. The same arithmetic as insertDelta's, so the same
// result, bit for bit.
func (r *route) beforeBreak(in *inst, cn *node, p int, bound float64, dIn, dOut, tIn, tOut []float64, base float64) float64 {
	// A route has one break, so the next stop with a place is right after
	// it (there is always one: the route ends at its end depot).
	q := p + 2
	if q >= len(r.seq) {
		return math.Inf(1)
	}
	a, nl := r.loc[p], r.loc[q]
	// The legs between p and q add up to p's leg to q: a break has none of
	// its own.
	pq := 0.0
	pq += r.arc[p]
	pq += r.arc[p+1]
	added := dIn[a] + (dOut[nl] - pq)
	if added+base >= bound {
		return math.Inf(1)
	}
	t := r.dep[p] + tIn[a]
	if t > cn.b0+eps {
		return math.Inf(1)
	}
	s := t
	if s < cn.a0 {
		s = cn.a0
	}
	t = s + cn.svc
	bn := &in.nodes[r.seq[p+1]]
	if s = earliest(bn, t); math.IsInf(s, 1) {
		return s
	}
	t = s + bn.svc
	if t+tOut[nl] > r.ls[q]+eps {
		return math.Inf(1)
	}
	return added + base
}

// insert puts c after position p and refreshes the caches.
func (r *route) insert(in *inst, c int32, p int) {
	r.seq = append(r.seq, 0)
	copy(r.seq[p+2:], r.seq[p+1:])
	r.seq[p+1] = c
	if in.ext == nil && in.cong == nil && len(r.tarc) == len(r.seq)-1 {
		r.insertPlain(in, c, p)
		return
	}
	r.update(in)
}

// insertPlain is update after insert (c is at p+1) for matrix travel
// without congestion: the legs of the other stops are those the route
// had, shifted by one, so only c's legs are read from the tables (from
// c's rows, the same values), and timePlain re-times the route from
// them. The result is update's, bit for bit.
func (r *route) insertPlain(in *inst, c int32, p int) {
	n := len(r.seq)
	cl := in.nodes[c].loc
	L := in.L
	row := int(cl) * L
	r.loc = append(r.loc, 0)
	copy(r.loc[p+2:], r.loc[p+1:])
	r.arc = append(r.arc, 0)
	copy(r.arc[p+2:], r.arc[p+1:])
	r.tarc = append(r.tarc, 0)
	copy(r.tarc[p+2:], r.tarc[p+1:])
	r.st = grow64(r.st, n)
	r.dep = grow64(r.dep, n)
	r.ls = grow64(r.ls, n)
	nd := &in.nodes[r.seq[0]]
	r.st[0], r.dep[0] = nd.a0, nd.a0 // as update: grow64 may have moved them
	a := int(r.loc[p])
	r.loc[p+1] = cl
	r.arc[p], r.tarc[p] = in.distIn[row+a], in.durIn[row+a]
	q := p + 2 // the next stop with a place of its own
	if in.nodes[r.seq[q]].loc < 0 {
		// The break that followed p now follows c, where it sits; a
		// route has one break, and a stop with a place after it.
		r.loc[q] = cl
		r.arc[p+1], r.tarc[p+1] = 0, 0
		q++
	}
	b := int(r.loc[q])
	r.arc[q-1], r.tarc[q-1] = in.dist[row+b], in.dur[row+b]
	r.ok = true
	r.load, r.legs, r.nv, r.minIns, r.brk = 0, 0, 0, 0, -1
	r.timePlain(in)
	r.finish(in)
}

func (r *route) copyFrom(o *route) {
	r.v = o.v
	r.seq = append(r.seq[:0], o.seq...)
	r.loc = append(r.loc[:0], o.loc...)
	r.st = append(r.st[:0], o.st...)
	r.dep = append(r.dep[:0], o.dep...)
	r.ls = append(r.ls[:0], o.ls...)
	r.arc = append(r.arc[:0], o.arc...)
	r.tarc = append(r.tarc[:0], o.tarc...)
	r.load, r.legs, r.cost, r.nv, r.minIns, r.brk, r.ok = o.load, o.legs, o.cost, o.nv, o.minIns, o.brk, o.ok
	r.headArc, r.tailArc, r.innerArc = o.headArc, o.tailArc, o.innerArc
	r.ver = o.ver
}

// verStride spaces the versions one worker hands out, so that workers
// numbered below it, each counting from its own number, never hand out
// the same one.
const verStride = 1 << 12
