package schedule

import (
	"context"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a search.
type Options struct {
	// TimeLimit bounds the search (together with ctx) and sets how long the
	// annealing is planned for; 0 means 1 s unless Work is set (then only
	// ctx bounds the search). The plan is turned into an
	// amount of work (see Work) by a fixed rate, so it does not depend on
	// how fast the machine happens to be.
	TimeLimit time.Duration
	// Work, when positive, is the planned amount of work per thread, in
	// insertion positions evaluated; it overrides the TimeLimit-derived
	// plan. With Work set and no deadline hit, results are reproducible
	// bit for bit for a given Seed and Threads.
	Work int64
	// Seed seeds every random choice.
	Seed uint64
	// Threads is the number of parallel searches; 0 means GOMAXPROCS.
	Threads int
	// Clock, when set (e.g. time.Now) with a TimeLimit and no Work, makes the
	// search use its time: after each epoch it re-plans its work to what its
	// pace so far fits in the time left, more on a fast machine or a problem
	// quick per unit, less on a busy machine (which also cools on time, so
	// that it reaches its final temperature by the deadline), and its last
	// epoch runs to the deadline. Results then depend on timing; nil keeps
	// the search a pure function of the work done.
	Clock func() time.Time
}

// workRate converts a time limit into planned work per thread. Measured on
// an idle 2-core x86 VM: Solomon instances (100 customers) do 60–120M
// positions/s per thread, so their plans finish within the limit; service
// days (hundreds of visits, breaks, a matrix beyond the caches) are slower
// and rely on Options.Clock to cool on time.
const workRate = 60e6

const epochs = 20

// A day that starts on manyRoutes routes or more ruins strings of at most
// manyRoutesMaxLen visits instead of SISR's 10, and so, for the same
// number of visits removed, up to 6 routes at a time instead of 4. On the
// generated town days (50 technicians, about 8 visits each in 2 h
// windows), where a visit trades places with visits of the same hours on
// other routes, towns 44 and 46 came out 1.3 % and 0.7 % shorter at 10 s
// (twelve seeds) and 1.0 % and 0.2 % at 60 s (six seeds), the other three
// about as long. On Solomon's instances (at most 25 vehicles, routes of up
// to 30 visits in classes C2, R2 and RC2) strings of 5 doubled the mean gap
// to the best known (0.20 % to 0.40 % at a 2 s-equivalent); they keep 10.
const (
	manyRoutes       = 30
	manyRoutesMaxLen = 5
)

// paceMargin is the share of the time left that a plan re-made from the pace so far fills:
// the rest absorbs a slower pace later on (the last epoch runs to the deadline anyway).
const paceMargin = 0.95

// Solve assigns and orders the problem's visits. It returns the best plan
// found when the planned work is done, TimeLimit passes or ctx ends,
// whichever is first. Visits that cannot be routed at all are returned as
// Unassigned with their Reason; err is only for a malformed Problem
// (ErrInvalid) or pinned visits that cannot be kept (ErrPinned).
func Solve(ctx context.Context, p *Problem, opt Options) (*Plan, error) {
	ctx, cancel := withLimit(ctx, opt)
	defer cancel()
	in, err := compile(p)
	if err != nil {
		return nil, err
	}
	start := newSol(in)
	if err := placeFixed(in, start, nil); err != nil {
		return nil, err
	}
	best := search(ctx, in, start, opt)
	return extract(in, best), nil
}

// withLimit bounds ctx by opt.TimeLimit (1 s when neither it nor Work is
// set).
func withLimit(ctx context.Context, opt Options) (context.Context, context.CancelFunc) {
	limit := opt.TimeLimit
	if limit <= 0 && opt.Work <= 0 {
		limit = time.Second
	}
	if limit <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, limit)
}

// search runs the construction and the parallel annealing from start.
func search(ctx context.Context, in *inst, start *sol, opt Options) *sol {
	limit := opt.TimeLimit
	if limit <= 0 && opt.Work <= 0 {
		limit = time.Second
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	plan := opt.Work
	if plan <= 0 {
		plan = int64(limit.Seconds() * workRate)
	}
	// Construction: regret-3 insertion of everything not yet placed,
	// and cheapest insertion in priority order; the better start wins
	// (regret usually, by a few percent; greedy now and then).
	w0 := newWorker(in, opt.Seed, -1, start)
	w0.blinkRate = 0
	w0.removed = w0.removed[:0]
	w0.recreateRegret(w0.cur, 3)
	w0.best.copyFrom(w0.cur)
	w0.cur.copyFrom(start)
	w0.recreate(w0.cur)
	if w0.cur.better(w0.best) || !w0.best.ok {
		w0.best.copyFrom(w0.cur)
	}
	init := w0.best
	sc, ok := annealing(in, init, plan)
	if !ok {
		return w0.reinsertAlone(init)
	}
	if dl, ok := ctx.Deadline(); ok && opt.Clock != nil {
		sc.clock, sc.start = opt.Clock, opt.Clock()
		sc.span = dl.Sub(sc.start)
		if sc.span <= 0 {
			sc.clock = nil
		}
	}
	ws := make([]*worker, threads)
	for t := range ws {
		ws[t] = newWorker(in, opt.Seed, t, init)
	}
	m := meetings{plan: plan, timed: opt.Work <= 0 && sc.clock != nil}
	for e := int64(1); e <= epochs; e++ {
		target := m.target(e)
		var wg sync.WaitGroup
		// A timed search has no result to reproduce: a thread that reaches
		// the meeting point first anneals on until the others do. Waiting
		// there, the two threads of a timed 10 s town day used 18.4–19.2 of
		// their 20 CPU-seconds, given unequal shares of a busy machine.
		var behind *atomic.Int32
		if m.timed {
			behind = new(atomic.Int32)
			behind.Store(int32(threads))
		}
		for _, w := range ws {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(ctx, sc, target, behind)
			}()
		}
		wg.Wait()
		g := ws[0]
		for _, w := range ws[1:] {
			if w.best.better(g.best) {
				g = w
			}
		}
		// Polish the best with local search; annealing trajectories are
		// left alone (polishing every new best narrows them and costs
		// more than it gains).
		if g.best.ok {
			g.localSearch(g.best)
		}
		if ctx.Err() != nil || e == epochs {
			return g.best
		}
		if m.timed {
			m.replan(e, target, sc.clock().Sub(sc.start), sc.span)
			sc.plan = m.plan
		}
		for _, w := range ws {
			if w != g && g.best.better(w.best) {
				w.best.copyFrom(g.best)
				w.cur.copyFrom(g.best)
			} else if g.best.ok && w.cur.unw > g.best.unw+1e-9 && e >= epochs/2 {
				// The annealing prices a left-out visit, so a trajectory may
				// trade one for distance and never win it back: the best
				// plan would then be the one it left, early and unpolished.
				// Only in the second half: at every meeting point it
				// served less weight on 6 of 36 town days at 10 s
				// (doc.go).
				w.cur.copyFrom(g.best)
			}
		}
	}
	return ws[0].best
}

// meetings spreads a search's planned work over its epochs: epoch e ends
// at the meeting point where every thread has done target(e) units of
// work. A fixed-work search meets at plan*e/epochs. A timed search
// re-plans after each epoch (replan), because the plan from workRate suits
// no machine exactly: a faster one would finish it early and leave time
// unused, and a slower one would reach the deadline with meeting points
// still ahead, its last stretch neither shared between the threads nor
// polished (a town day on a VM half as fast as usual met 14-16 times of
// 20).
type meetings struct {
	plan  int64
	timed bool
	// The epochs after eBase share the work from base to plan evenly;
	// both are 0 until a re-plan.
	base, eBase int64
}

// target is the work at which epoch e (1 to epochs) ends. A timed search's
// last epoch runs to the deadline, whatever the forecast: its time is the
// coldest and best spent.
func (m *meetings) target(e int64) int64 {
	if m.timed && e == epochs {
		return math.MaxInt64
	}
	return m.base + (m.plan-m.base)*(e-m.eBase)/(epochs-m.eBase)
}

// replan sets the plan, after epoch e ended at done units of work took
// into a search of span, to the work the pace so far fits in paceMargin of
// the time left, shared evenly by the epochs still to come.
func (m *meetings) replan(e, done int64, took, span time.Duration) {
	if took <= 0 || took >= span || e >= epochs {
		return
	}
	left := float64(span-took) * paceMargin
	m.plan = done + int64(float64(done)*left/float64(took))
	m.base, m.eBase = done, e
}

// reinsertAlone returns s, or a better plan when s has a single visit the search may move
// and another place suits it better: one visit is not annealed (there is nothing to trade
// it with), yet the route it was given — at a booking, before a nearer technician's shift
// was added — may not be its best, and Reoptimize starts from that route. It is taken out
// and put back at its cheapest place (empty routes included).
func (w *worker) reinsertAlone(s *sol) *sol {
	in := w.in
	if len(in.active) != 1 || in.nodes[in.active[0]].fixed {
		return s
	}
	c := in.active[0]
	r := s.where[c]
	if r < 0 {
		return s
	}
	cand := w.cand
	cand.copyFrom(s)
	cand.removeVisits(in, int(r), []int32{c})
	w.removed = append(w.removed[:0], c)
	w.recreate(cand)
	if cand.better(s) {
		return cand
	}
	return s
}

// annealing sets the annealing parameters for a search of plan work
// units from init; ok is false when there is nothing to search (no
// visit routed, or fewer than two to move).
func annealing(in *inst, init *sol, plan int64) (sc schedule, ok bool) {
	arcs, used := 0, 0
	for i := range init.routes {
		if init.routes[i].nv > 0 {
			arcs += init.routes[i].nv + 1
			used++
		}
	}
	if arcs == 0 || len(in.active) < 2 {
		return sc, false
	}
	avg := init.cost / float64(arcs)
	// The temperature falls from 3 to 0.09 mean legs. With 0.003 (before
	// 2026-11-26) both 10 s and 60 s runs of a town day froze half-way,
	// near 0.1 mean legs, and spent the rest of their work on one plan.
	sc = schedule{t0: 3 * avg, tf: 0.09 * avg, plan: plan, avgRemoved: 10, maxLen: 10, price: 10 * avg}
	if n := len(in.active); float64(n) < 2*sc.avgRemoved {
		sc.avgRemoved = math.Max(1, float64(n)/2)
	}
	if used >= manyRoutes {
		sc.maxLen = manyRoutesMaxLen
	}
	return sc, true
}

// placeFixed puts started and position-pinned visits on their technicians'
// routes, started first, then by Position. keep, when set, holds visits
// already on routes (Reoptimize): those are left alone.
func placeFixed(in *inst, s *sol, keep []bool) error {
	var fixed []int32
	for _, c := range in.active {
		if in.nodes[c].fixed && (keep == nil || !keep[c]) {
			fixed = append(fixed, c)
		}
	}
	sort.SliceStable(fixed, func(i, j int) bool {
		a, b := fixed[i], fixed[j]
		if in.nodes[a].start != in.nodes[b].start {
			return in.nodes[a].start
		}
		return in.pinPos[a] < in.pinPos[b]
	})
	for _, c := range fixed {
		placed := false
		for ri := range s.routes {
			rt := &s.routes[ri]
			if !in.ok(c, rt.v) && !(in.nodes[c].start && in.p.Technicians[in.veh[rt.v].tech].ID == in.p.Visits[c].Pin.Technician) {
				continue
			}
			// After the last fixed visit already there.
			from := 0
			for p, x := range rt.seq {
				if in.nodes[x].kind == kindVisit && in.nodes[x].fixed {
					from = p
				}
			}
			var d float64
			var p int
			if in.nodes[c].start {
				// A started visit goes right after the depot, before any break.
				if from != 0 {
					continue
				}
				d, p = rt.insertDelta(in, c, 0, math.Inf(1)), 0
			} else {
				old := rt.minIns
				rt.minIns = from
				d, p = rt.bestInsert(in, c, math.Inf(1), nil)
				rt.minIns = old
			}
			if p >= 0 && !math.IsInf(d, 1) {
				rt.insert(in, c, p)
				s.where[c] = int32(ri)
				placed = true
				break
			}
		}
		if !placed {
			return ErrPinned
		}
	}
	s.total(in)
	return nil
}

// extract turns a solution into a Plan.
func extract(in *inst, s *sol) *Plan {
	pl := &Plan{problem: in.p, in: in, seqs: make([][]int32, len(s.routes))}
	for ri := range s.routes {
		rt := &s.routes[ri]
		pl.seqs[ri] = append([]int32(nil), rt.seq...)
		if rt.nv == 0 {
			continue
		}
		ve := in.veh[rt.v]
		r := Route{Technician: in.p.Technicians[ve.tech].ID, Shift: ve.shift, Meters: rt.legs}
		n := len(rt.seq)
		r.Depart = in.at(rt.dep[0])
		r.Return = in.at(rt.st[n-1])
		var drive float64
		for p := 1; p < n-1; p++ {
			x := rt.seq[p]
			nd := &in.nodes[x]
			arr := rt.dep[p-1]
			if nd.loc >= 0 {
				arr = in.arrive(rt.loc[p-1], nd.loc, rt.dep[p-1])
				drive += arr - rt.dep[p-1]
			}
			st := Stop{Visit: -1, Arrival: in.at(arr), Start: in.at(rt.st[p]), Departure: in.at(rt.dep[p])}
			st.Wait = st.Start.Sub(st.Arrival)
			if nd.kind == kindVisit {
				st.Visit, st.ID = int(x), in.p.Visits[x].ID
			}
			r.Stops = append(r.Stops, st)
		}
		drive += in.arrive(rt.loc[n-2], rt.loc[n-1], rt.dep[n-2]) - rt.dep[n-2]
		r.Travel = time.Duration(math.Round(drive * 1e9))
		pl.Meters += rt.legs
		pl.Routes = append(pl.Routes, r)
	}
	for c := 0; c < in.m; c++ {
		if s.where[c] >= 0 {
			pl.Weight += int(in.weight[c])
			continue
		}
		why := NoRoom
		if in.reason[c] >= 0 {
			why = Reason(in.reason[c])
		}
		pl.Unassigned = append(pl.Unassigned, Unassigned{Visit: c, ID: in.p.Visits[c].ID, Reason: why})
	}
	return pl
}
