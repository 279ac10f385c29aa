package schedule

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
)

// sol is a complete assignment: one route per vehicle.
type sol struct {
	routes []route
	where  []int32 // visit → route, -1 when unassigned
	// out holds every unassigned routable visit, so that the search need
	// not look through all of them for the few left out: total makes it
	// exact and ascending from what it held, removeVisits appends, and a
	// visit placed since may still be in it (check where).
	out  []int32
	unw  float64 // weight of unassigned routable visits
	cost float64 // total distance
	ok   bool
}

func newSol(in *inst) *sol {
	s := &sol{routes: make([]route, len(in.veh)), where: make([]int32, in.m), out: slices.Clone(in.active)}
	for i := range s.where {
		s.where[i] = -1
	}
	for v := range s.routes {
		s.routes[v].empty(in, int32(v))
	}
	s.total(in)
	return s
}

// copyFrom makes s a copy of o. A route already at o's version (see
// route.ver) holds the same content and is left alone: a step changes a
// few routes, and copying the plan back for the next step copies those.
// So is an empty route without a version when o's is one too, an empty
// route of a vehicle being always the same (TestEmptyRoutesAlike): a
// worker's routes that newSol made and no step changed have none, and on
// a day that leaves many technicians at home those were half the routes
// copied.
func (s *sol) copyFrom(o *sol) {
	for i := range s.routes {
		r, or := &s.routes[i], &o.routes[i]
		if r.ver != or.ver || r.ver == 0 && (r.nv != 0 || or.nv != 0) {
			r.copyFrom(or)
		}
	}
	copy(s.where, o.where)
	s.out = append(s.out[:0], o.out...)
	s.unw, s.cost, s.ok = o.unw, o.cost, o.ok
}

func (s *sol) total(in *inst) {
	s.cost, s.ok = 0, true
	for i := range s.routes {
		s.cost += s.routes[i].cost
		s.ok = s.ok && s.routes[i].ok
	}
	// The visits left out are among those s.out held (see sol.out).
	where, out := s.where, s.out[:0]
	for _, c := range s.out {
		if where[c] < 0 {
			out = append(out, c)
		}
	}
	if len(out) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	unw, weight := 0.0, in.weight
	for _, c := range out {
		unw += weight[c]
	}
	s.unw, s.out = unw, out
}

// better orders solutions hierarchically: feasible, then assigned weight,
// then distance.
func (s *sol) better(o *sol) bool {
	if s.ok != o.ok {
		return s.ok
	}
	if s.unw != o.unw {
		return s.unw < o.unw
	}
	return s.cost < o.cost-1e-9
}

// remove takes the visits at the given positions (sorted, any order) out of route r.
func (s *sol) removeVisits(in *inst, r int, cs []int32) {
	rt := &s.routes[r]
	out := rt.seq[:0]
	for _, x := range rt.seq {
		if slices.Contains(cs, x) {
			s.where[x] = -1
			s.out = append(s.out, x)
			continue
		}
		out = append(out, x)
	}
	rt.seq = out
	rt.update(in)
}

// worker is one annealing search with its own random stream.
type worker struct {
	in        *inst
	rng       *rand.Rand
	cur, cand *sol
	best      *sol
	work      int64 // insertion positions evaluated: the clock of the schedule
	removed   []int32
	seen      []bool // route ruined this iteration
	blinkRate float64
	blinkLeft int
	timeFrac  float64 // share of the time to the deadline gone, with a clock
	tmp       []route // scratch for local search
	first     int32   // visit recreate inserts first, or -1
	order     []int32
	pos       []int   // scratch for ruin
	take      []int32 // scratch for ruin
	// classMark[k] is cstamp when recreate has tried the current visit on
	// an empty route of vehicle class k (empty routes of one class are
	// interchangeable); remMark[c] is rstamp when visit c is among the
	// removed of the current recreate.
	classMark, remMark []uint32
	cstamp, rstamp     uint32
	// pruneK is how many of a visit's nearest neighbours recreate walks
	// to find the routes it tries first (0: try every route).
	pruneK  int
	mark    []uint32 // per route: stamp of the visit recreate last tried it for
	stamp   uint32
	tries   int64 // routes recreate has tried a visit on
	sortKey []float64
	regret  regretScratch
	// ver counts the route versions this worker hands out (see
	// route.ver); fails[c*routes+r] is the version of route r on which
	// visit c was last found to have no feasible place at all. Content
	// decides feasibility, so recreate skips c on a route still at that
	// version: a visit left out is otherwise tried on every route it may
	// go to, every iteration, and on days that leave visits out that was
	// a third of the search.
	ver    uint64
	fails  []uint64
	blinks int64 // positions skipped by blinks
	// limit, when finite, is the distance at which step rejects the
	// candidate recreate is building unless it serves more weight than
	// the plan it came from: recreate stops as soon as it can no longer
	// be accepted. Insertions only add distance (triangle inequality),
	// so the candidates it stops on are exactly those step would have
	// rejected, at the cost of the rest of their recreate.
	limit float64
	// stopEarly lets step set limit; it is on where pruning is (travel
	// symmetric, the triangle inequality assumed). stops counts the
	// candidates recreate gave up on.
	stopEarly bool
	stops     int64
}

func newWorker(in *inst, seed uint64, thread int, start *sol) *worker {
	w := &worker{in: in, rng: rand.New(rand.NewPCG(seed, uint64(thread)*0x9E3779B97F4A7C15+1)), blinkRate: 0.01}
	w.blinkLeft = 100
	w.first = -1
	w.limit = math.Inf(1)
	w.cur = newSol(in)
	w.cand = newSol(in)
	w.best = newSol(in)
	if id := thread + 2; id < verStride {
		w.ver = uint64(id)
		w.fails = make([]uint64, in.m*len(in.veh))
		for _, s := range []*sol{w.cur, w.cand, w.best} {
			for i := range s.routes {
				s.routes[i].ctr = &w.ver
			}
		}
	}
	w.cur.copyFrom(start)
	w.best.copyFrom(start)
	w.seen = make([]bool, len(in.veh))
	w.mark = make([]uint32, len(in.veh))
	w.sortKey = make([]float64, in.m)
	classes := int32(0)
	for i := range in.veh {
		classes = max(classes, in.veh[i].class+1)
	}
	w.classMark = make([]uint32, classes)
	w.remMark = make([]uint32, in.m)
	if in.travelSymmetric() && in.ext == nil {
		w.pruneK = pruneNeighbors
		w.stopEarly = true
	}
	return w
}

// blink reports whether to skip the next insertion position. Gaps between
// blinks are drawn geometrically, one random number per blink rather than
// per position.
func (w *worker) blink() bool {
	if w.blinkLeft > 0 {
		w.blinkLeft--
		return false
	}
	return w.blinkDraw()
}

// blinkDraw draws the gap to the next blink; kept out of blink so that
// the common case inlines into the insertion loop.
func (w *worker) blinkDraw() bool {
	u := 1 - w.rng.Float64() // (0, 1]
	w.blinks++
	w.blinkLeft = int(math.Log(u) / math.Log1p(-w.blinkRate))
	return true
}

// ruin removes strings of visits around a random seed visit (SISR).
func (w *worker) ruin(s *sol, avgRemoved float64, maxLen int) {
	in := w.in
	w.removed = w.removed[:0]
	// Average number of removable visits per used route.
	used, cnt := 0, 0
	for i := range s.routes {
		if s.routes[i].nv > 0 {
			used++
			cnt += s.routes[i].nv
		}
	}
	if used == 0 || len(in.active) == 0 {
		return
	}
	lsMax := math.Min(float64(maxLen), float64(cnt)/float64(used))
	ksMax := 4*avgRemoved/(1+lsMax) - 1
	ks := int(w.rng.Float64()*ksMax) + 1
	for i := range w.seen {
		w.seen[i] = false
	}
	seed := in.active[w.rng.IntN(len(in.active))]
	ruined := 0
	try := func(c int32) {
		r := s.where[c]
		if r < 0 || w.seen[r] || in.nodes[c].fixed {
			return
		}
		w.seen[r] = true
		ruined++
		rt := &s.routes[r]
		// Removable positions of the route, in order.
		pos := w.pos[:0]
		at := -1
		for p, x := range rt.seq {
			if n := &in.nodes[x]; n.kind == kindVisit && !n.fixed {
				if x == c {
					at = len(pos)
				}
				pos = append(pos, p)
			}
		}
		lmax := int(math.Min(float64(len(pos)), lsMax))
		l := int(w.rng.Float64()*float64(lmax)) + 1
		if l > len(pos) {
			l = len(pos)
		}
		take := w.take[:0]
		if w.rng.Float64() < 0.5 || l >= len(pos) {
			// A string of l containing c.
			lo := at - w.rng.IntN(l)
			lo = max(0, min(lo, len(pos)-l))
			for i := lo; i < lo+l; i++ {
				take = append(take, rt.seq[pos[i]])
			}
		} else {
			// Split string: a string of l+m with m consecutive kept.
			m := 1
			for l+m < len(pos) && w.rng.Float64() > 0.01 && m < 10 {
				m++
			}
			span := l + m
			lo := at - w.rng.IntN(span)
			lo = max(0, min(lo, len(pos)-span))
			keep := lo + w.rng.IntN(span-m+1)
			for i := lo; i < lo+span; i++ {
				if i >= keep && i < keep+m {
					continue
				}
				take = append(take, rt.seq[pos[i]])
			}
		}
		w.pos, w.take = pos, take
		w.removed = append(w.removed, take...)
		s.removeVisits(in, int(r), take)
	}
	try(seed)
	for _, c := range in.nb[seed] {
		if ruined >= ks {
			break
		}
		try(c)
	}
}

// roomRate is the share of iterations that, while the current plan leaves
// a visit out, ruin around that visit (makeRoom) instead of SISR's strings;
// roomRoutes bounds the routes such a ruin empties a window on.
const (
	roomRate   = 0.35
	roomRoutes = 4
)

// makeRoom ruins s to make room for unassigned visit u: on up to k routes
// that could serve it, those of u's nearest neighbours first, it removes
// the visits whose service overlaps u's windows, and has recreate insert
// u first. A visit left out is typically blocked by a time slot that its
// skilled technicians have filled with work others could do; string
// removals around it rarely clear that slot on enough routes at once.
func (w *worker) makeRoom(s *sol, u int32, k int) {
	in := w.in
	w.removed = w.removed[:0]
	for i := range w.seen {
		w.seen[i] = false
	}
	n := &in.nodes[u]
	lo, hi := n.a0, n.b0
	if n.win != nil {
		hi = n.win[len(n.win)-1].b
	}
	hi += n.svc
	ruined := 0
	for _, c := range in.nb[u] {
		if ruined >= k {
			break
		}
		r := s.where[c]
		if r < 0 || w.seen[r] || !in.ok(u, s.routes[r].v) {
			continue
		}
		w.seen[r] = true
		ruined++
		rt := &s.routes[r]
		take := w.take[:0]
		for p, x := range rt.seq {
			if nd := &in.nodes[x]; nd.kind == kindVisit && !nd.fixed && rt.st[p] < hi && rt.dep[p] > lo {
				take = append(take, x)
			}
		}
		w.take = take
		w.removed = append(w.removed, take...)
		s.removeVisits(in, int(r), take)
	}
	w.first = u
}

// refits reports whether some visit that c leaves out and cur does not
// would fit on one of c's routes after all (recreate's blinks skipped its
// places).
func (w *worker) refits(c, cur *sol) bool {
	in := w.in
	for _, x := range in.active {
		if c.where[x] >= 0 || cur.where[x] < 0 {
			continue
		}
		for _, v := range in.okr[x] {
			ri := int(v) // route ri is vehicle ri's
			rt := &c.routes[ri]
			if w.knownFull(x, ri, rt) {
				continue
			}
			e0 := rt.evals
			_, p := rt.bestInsert(in, x, math.Inf(1), nil)
			w.work += 4 + rt.evals - e0
			if p >= 0 {
				return true
			}
			w.noteFull(x, ri, rt)
		}
	}
	return false
}

// knownFull reports whether visit c found no feasible place at all on
// route ri (rt) at its current version (see worker.fails).
func (w *worker) knownFull(c int32, ri int, rt *route) bool {
	return w.fails != nil && rt.ver != 0 && w.fails[int(c)*len(w.in.veh)+ri] == rt.ver
}

// noteFull records that visit c has no feasible place at all on route ri
// (rt) at its current version.
func (w *worker) noteFull(c int32, ri int, rt *route) {
	if w.fails != nil {
		w.fails[int(c)*len(w.in.veh)+ri] = rt.ver
	}
}

// pickUnassigned is a random unassigned routable visit of s (s has one).
func (w *worker) pickUnassigned(s *sol) int32 {
	n := 0
	for _, c := range s.out { // each once here: total made it, and nothing was taken out since
		if s.where[c] < 0 {
			n++
		}
	}
	k := w.rng.IntN(n)
	for _, c := range s.out {
		if s.where[c] < 0 {
			if k == 0 {
				return c
			}
			k--
		}
	}
	return -1
}

// pruneNeighbors is how many of a visit's nearest neighbours recreate
// walks before it judges the other routes by their distance bound. Fewer
// make the bound weaker (the neighbours seen are nearer); more cost a walk
// longer than the routes it saves.
const pruneNeighbors = 40

// recreate inserts the removed (and any unassigned) visits one by one at
// their cheapest position, with blinks; w.first, when set, goes first.
//
// With symmetric travel it tries first the routes of the visit's nearest
// neighbours, which usually hold its cheapest place, and then only those
// other routes whose distance bound (see route.bound) is below the best
// found: every visit of such a route is at least as far as the last
// neighbour walked; a route met in the walk is judged the same way, by
// the distance of its first visit met. Under the triangle inequality this
// finds the same places as trying every route (TestPrunedRecreateMatchesFull)
// in fewer tries: 40 % fewer on BenchmarkRecreate's day, about 60 % fewer
// on a generated town day.
//
// It skips a visit on a route whose version it found no place on before
// (worker.fails), and it stops, returning false with s half rebuilt and
// its totals stale, once the candidate can no longer pass step's
// acceptance threshold (worker.limit).
func (w *worker) recreate(s *sol) bool {
	in := w.in
	w.collectPending(s)
	w.sortOrder()
	// What recreate may give up on (see worker.limit): the distance so
	// far, the weight it must place to serve more than before the ruin,
	// and the weight still to place or placed.
	var cost, need, left, placed float64
	stop := !math.IsInf(w.limit, 1)
	if stop {
		for i := range s.routes {
			cost += s.routes[i].cost
		}
		for _, c := range w.removed {
			need += in.weight[c]
		}
		for _, c := range w.order {
			left += in.weight[c]
		}
	}
	if w.first >= 0 {
		if i := slices.Index(w.order, w.first); i > 0 {
			copy(w.order[1:i+1], w.order[:i])
			w.order[0] = w.first
		}
		w.first = -1
	}
	blink := w
	if w.blinkRate == 0 {
		blink = nil
	}
	L := in.L
	for _, c := range w.order {
		best, br, bp := math.Inf(1), -1, -1
		pr := in.probe(c)
		try := func(ri int) {
			rt := &s.routes[ri]
			if w.knownFull(c, ri, rt) {
				w.work++
				return
			}
			w.tries++
			e0, b0 := rt.evals, w.blinks
			var d float64
			var p int
			if pr.plain {
				d, p = rt.bestInsertPlain(in, &pr, best, blink) // bestInsertProbe's common case
			} else {
				d, p = rt.bestInsertProbe(in, &pr, best, blink)
			}
			w.work += 4 + rt.evals - e0
			if p >= 0 && d < best {
				best, br, bp = d, ri, p
			} else if p < 0 && math.IsInf(best, 1) && w.blinks == b0 {
				w.noteFull(c, ri, rt) // no bound and no blink cut the scan short
			}
		}
		if w.cstamp++; w.cstamp == 0 { // wrapped: old marks would match again
			clear(w.classMark)
			w.cstamp = 1
		}
		cl := int(in.nodes[c].loc)
		// pays reports whether route rt, whose visits are all at least
		// far from c and whose legs from home and back are at least
		// fromStart and toEnd long, could offer a place cheaper than the
		// best so far.
		pays := func(rt *route, fromStart, toEnd, far float64) bool {
			w.work++
			return rt.bound(fromStart, toEnd, far) < best
		}
		far := -1.0 // no bound: try every route
		// A visit the plan already left out found no place on any route
		// it was last tried on; only routes changed since can take it, and
		// try skips the others at once, which is cheaper than the walk.
		leftOut := w.fails != nil && w.remMark[c] != w.rstamp
		// The walk and the loop below read the marks through locals:
		// try is a call, after which the compiler would load w's fields
		// again at every route.
		mark := w.mark
		if w.pruneK > 0 && !leftOut {
			if w.stamp++; w.stamp == 0 { // wrapped: old marks would match again
				clear(mark)
				w.stamp = 1
			}
			stamp, where := w.stamp, s.where
			nb := in.nb[c]
			nb = nb[:min(len(nb), w.pruneK)]
			k := 0
			for ; k < len(nb); k++ {
				x := int(nb[k])
				r := where[x]
				if r < 0 || mark[r] == stamp {
					continue
				}
				mark[r] = stamp
				rt := &s.routes[r]
				if !in.ok(c, rt.v) {
					continue
				}
				// x is the nearest of r's visits to c: none came before.
				// Both legs read from c's own rows.
				if best < math.Inf(1) && !pays(rt, in.distIn[cl*L+int(rt.loc[0])], in.dist[cl*L+int(rt.loc[len(rt.seq)-1])], in.dist[int(c)*L+x]) {
					continue
				}
				try(int(r))
			}
			w.work += int64(k)
			if k > 0 {
				// Every visit not walked is at least as far as the last one
				// walked (travel is symmetric here).
				far = in.dist[int(c)*L+int(nb[k-1])]
			}
		}
		home := in.homeLegs[c]
		walked := far >= 0
		stamp, classMark, cstamp := w.stamp, w.classMark, w.cstamp
		routes, veh := s.routes, in.veh
		for k, v := range in.okr[c] {
			ri := int(v) // route ri is vehicle ri's
			rt := &routes[ri]
			if walked && mark[ri] == stamp {
				continue
			}
			if rt.nv == 0 {
				class := veh[ri].class
				if classMark[class] == cstamp {
					continue
				}
				classMark[class] = cstamp
			} else if walked && !pays(rt, home[2*k], home[2*k+1], far) {
				continue
			}
			try(ri)
		}
		if br >= 0 {
			w.work += int64(len(s.routes[br].seq))
			s.routes[br].insert(in, c, bp)
			s.where[c] = int32(br)
		}
		if stop {
			left -= in.weight[c]
			if br >= 0 {
				placed += in.weight[c]
				cost += best
			}
			if cost > w.limit && placed+left <= need+1e-9 {
				w.stops++
				return false
			}
		}
	}
	s.total(in)
	return true
}

// collectPending sets w.order to the removed visits, then the other
// unassigned ones, and marks the removed ones (remMark).
func (w *worker) collectPending(s *sol) {
	if w.rstamp++; w.rstamp == 0 { // wrapped: old marks would match again
		clear(w.remMark)
		w.rstamp = 1
	}
	for _, c := range w.removed {
		w.remMark[c] = w.rstamp
	}
	w.order = append(w.order[:0], w.removed...)
	n := len(w.order)
	for _, c := range s.out {
		if s.where[c] < 0 && w.remMark[c] != w.rstamp {
			w.order = append(w.order, c)
		}
	}
	// As they come in the plan's visits: ascending, each once.
	if len(w.order)-n > 1 {
		slices.Sort(w.order[n:])
		w.order = w.order[:n+len(slices.Compact(w.order[n:]))]
	}
}

// sortOrder orders w.order by priority, then by one of SISR's orders
// (random, demand, far, close; weights 4:4:2:1).
func (w *worker) sortOrder() {
	in := w.in
	w.rng.Shuffle(len(w.order), func(i, j int) { w.order[i], w.order[j] = w.order[j], w.order[i] })
	k := w.rng.IntN(11)
	for _, c := range w.order {
		var key float64
		d := in.dist[int(in.depotLoc)*in.L+int(in.nodes[c].loc)]
		switch {
		case k < 4:
			key = 0
		case k < 8:
			key = -in.nodes[c].dem
		case k < 10:
			key = -d
		default:
			key = d
		}
		w.sortKey[c] = key - 1e12*in.weight[c]
	}
	sortByKey(w.order, w.sortKey)
}

// sortByKey sorts visits o by key[visit], stably. A ruin takes out about
// ten visits: an insertion sort puts them in the order SortStableFunc
// does, without its call per comparison.
func sortByKey(o []int32, key []float64) {
	if len(o) > 32 {
		slices.SortStableFunc(o, func(a, b int32) int { return cmp.Compare(key[a], key[b]) })
		return
	}
	for i := 1; i < len(o); i++ {
		x, kx := o[i], key[o[i]]
		j := i
		for ; j > 0 && kx < key[o[j-1]]; j-- {
			o[j] = o[j-1]
		}
		o[j] = x
	}
}

// schedule holds the annealing parameters.
type schedule struct {
	// clock, when set, lets a starved search cool on time: start and span
	// are the search's start and its time to the deadline.
	clock func() time.Time
	start time.Time
	span  time.Duration

	t0, tf     float64
	plan       int64 // work units the temperature is spread over
	avgRemoved float64
	maxLen     int
	// price is the distance one unit of unassigned weight is worth to
	// the annealing: a plan that leaves more weight out may still be
	// accepted, at a temperature that makes the price small (early).
	// The best plan is still judged lexicographically.
	price float64
}

// temp is the temperature after work units, or later when the clock says
// the time is further along than the work (a starved machine).
func (sc schedule) temp(work int64, timeFrac float64) float64 {
	f := max(float64(work)/float64(sc.plan), timeFrac)
	if f > 1 {
		f = 1
	}
	return sc.t0 * math.Pow(sc.tf/sc.t0, f)
}

// step runs one ruin-and-recreate iteration with annealing acceptance.
func (w *worker) step(sc schedule) {
	// Copying and ruining cost about a visit each; a floor keeps tiny
	// problems from spinning through millions of trivial iterations.
	w.work += int64(max(500, len(w.in.active)+4*len(w.cur.routes)))
	w.cand.copyFrom(w.cur)
	if w.cur.unw > 0 && w.rng.Float64() < roomRate {
		w.makeRoom(w.cand, w.pickUnassigned(w.cand), 1+w.rng.IntN(roomRoutes))
	} else {
		w.ruin(w.cand, sc.avgRemoved, sc.maxLen)
	}
	c, cur := w.cand, w.cur
	// The acceptance threshold is drawn before recreate, which then
	// stops on a candidate as soon as it cannot pass it.
	t := sc.temp(w.work, w.timeFrac)
	limit := cur.cost - t*math.Log(w.rng.Float64())
	if w.stopEarly {
		w.limit = limit
	}
	done := w.recreate(w.cand)
	w.limit = math.Inf(1)
	accept := false
	switch {
	case !done || !c.ok:
	case c.unw < cur.unw:
		accept = true
	case c.unw > cur.unw:
		if w.refits(c, cur) {
			break // a blink left it out, not a full day: no trade to make
		}
		accept = c.cost+sc.price*(c.unw-cur.unw) < limit
	default:
		accept = c.cost < limit
	}
	if accept {
		w.cur, w.cand = w.cand, w.cur
		if w.cur.better(w.best) {
			w.best.copyFrom(w.cur)
		}
	}
}

// run anneals until the planned work is done, target is reached or ctx ends;
// it returns false when it stopped because of ctx. With behind set (a
// timed search), a worker that reaches target counts itself off and goes on
// annealing until no worker is behind, instead of idling at the meeting point
// while another, given less of the machine, catches up.
func (w *worker) run(ctx context.Context, sc schedule, target int64, behind *atomic.Int32) bool {
	counted := false
	for i := 0; ; i++ {
		if w.work >= target {
			if behind == nil {
				return true
			}
			if !counted {
				counted = true
				if behind.Add(-1) <= 0 {
					return true
				}
			} else if behind.Load() <= 0 {
				return true
			}
		}
		if i&15 == 0 {
			if ctx.Err() != nil {
				return false
			}
			if sc.clock != nil {
				w.timeFrac = float64(sc.clock().Sub(sc.start)) / float64(sc.span)
			}
		}
		w.step(sc)
	}
}
