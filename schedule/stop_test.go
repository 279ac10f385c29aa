package schedule

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// lockstep gives two workers the same plans and the same random stream.
func lockstep(a, b *worker, seed, it uint64) {
	b.cur.copyFrom(a.cur)
	b.cand.copyFrom(a.cand)
	b.best.copyFrom(a.best)
	b.work = a.work
	a.rng = rand.New(rand.NewPCG(seed, it))
	b.rng = rand.New(rand.NewPCG(seed, it))
	a.blinkLeft, b.blinkLeft = 0, 0
}

// TestStopEarlyOnlyDropsRejected: from the same plan and random stream, a
// step whose recreate gives up on its candidate is one where the step
// without giving up rejects it, and every other step ends the same way.
func TestStopEarlyOnlyDropsRejected(t *testing.T) {
	var stops, accepted int
	for seed := uint64(0); seed < 6; seed++ {
		in := homesInst(rand.New(rand.NewPCG(seed, 4)), 150, 8+2*int(seed%2)) // some days too full
		start := newSol(in)
		a := newWorker(in, seed, 0, start)
		b := newWorker(in, seed, 1, start)
		if !a.stopEarly {
			t.Fatal("stopping early is off on a symmetric instance")
		}
		b.stopEarly = false
		// Skipping routes by what a worker learnt before would make the
		// two draw different blinks.
		a.fails, b.fails = nil, nil
		a.recreate(a.cur)
		a.best.copyFrom(a.cur)
		sc := schedule{t0: 2000, tf: 20, plan: 600 * 2000, avgRemoved: 8, maxLen: 10, price: 20000}
		for it := uint64(0); it < 600; it++ {
			lockstep(a, b, seed, it)
			s0 := a.stops
			curA, curB := a.cur, b.cur
			a.step(sc)
			b.step(sc)
			if a.stops > s0 {
				stops++
				if b.cur != curB {
					t.Fatalf("seed %d step %d: recreate gave up on a candidate the full step accepts", seed, it)
				}
				if a.cur != curA {
					t.Fatalf("seed %d step %d: a candidate given up on was accepted", seed, it)
				}
				continue
			}
			if (a.cur != curA) != (b.cur != curB) || math.Abs(a.cur.cost-b.cur.cost) > 1e-6 || a.cur.unw != b.cur.unw {
				t.Fatalf("seed %d step %d: %v/%v with stopping, %v/%v without", seed, it, a.cur.cost, a.cur.unw, b.cur.cost, b.cur.unw)
			}
			if a.cur != curA {
				accepted++
			}
			checkSol(t, in, a.cur, "step")
		}
	}
	if stops < 100 || accepted < 100 {
		t.Fatalf("%d candidates given up on, %d accepted: the test no longer exercises both", stops, accepted)
	}
	t.Logf("%d candidates given up on, %d accepted", stops, accepted)
}

// TestFailCacheIsExact: recreate skipping routes on which a visit found no
// place, at the same version, places every visit where recreate without
// the cache does, on days too full to serve every visit (no blinks, so
// both are deterministic), and it tries fewer routes.
func TestFailCacheIsExact(t *testing.T) {
	var cached, full int64
	leftOut := 0
	for seed := uint64(0); seed < 10; seed++ {
		in := homesInst(rand.New(rand.NewPCG(seed, 5)), 150, 8)
		start := newSol(in)
		a := newWorker(in, seed, 0, start)
		b := newWorker(in, seed, 1, start)
		a.blinkRate, b.blinkRate = 0, 0
		b.fails = nil
		a.recreate(a.cur)
		for it := uint64(0); it < 50; it++ {
			lockstep(a, b, seed, it)
			a.cand.copyFrom(a.cur)
			a.ruin(a.cand, 8, 10)
			b.cand.copyFrom(a.cand)
			b.removed = append(b.removed[:0], a.removed...)
			a.rng = rand.New(rand.NewPCG(seed, 1000+it))
			b.rng = rand.New(rand.NewPCG(seed, 1000+it))
			t0, t1 := a.tries, b.tries
			a.recreate(a.cand)
			b.recreate(b.cand)
			cached += a.tries - t0
			full += b.tries - t1
			if math.Abs(a.cand.cost-b.cand.cost) > 1e-6 || a.cand.unw != b.cand.unw || !slices.Equal(a.cand.where, b.cand.where) {
				t.Fatalf("seed %d iteration %d: with the cache %v/%v, without %v/%v", seed, it, a.cand.cost, a.cand.unw, b.cand.cost, b.cand.unw)
			}
			if a.cand.unw > 0 {
				leftOut++
			}
			a.cur.copyFrom(a.cand)
		}
	}
	if leftOut < 100 {
		t.Fatalf("only %d plans left visits out: the cache is not exercised", leftOut)
	}
	if cached >= full {
		t.Fatalf("the cache tried %d routes, without it %d", cached, full)
	}
	t.Logf("routes tried: %d with the cache, %d without", cached, full)
}

// TestSameVersionSameRoute: wherever two of a worker's plans hold a route
// at the same version, they hold the same route, so that copying can skip
// it; checked after every step of a search whose threads share plans.
func TestSameVersionSameRoute(t *testing.T) {
	in := homesInst(rand.New(rand.NewPCG(9, 6)), 150, 12)
	start := newSol(in)
	ws := []*worker{newWorker(in, 9, 0, start), newWorker(in, 9, 1, start)}
	ws[0].recreate(ws[0].cur)
	ws[1].cur.copyFrom(ws[0].cur)
	sc := schedule{t0: 2000, tf: 20, plan: 2000 * 2000, avgRemoved: 8, maxLen: 10, price: 20000}
	same := 0
	for it := 0; it < 2000; it++ {
		w := ws[it%2]
		w.step(sc)
		if it%100 == 99 {
			// A meeting point: the other thread adopts this one's best.
			o := ws[(it+1)%2]
			o.cur.copyFrom(w.best)
			o.best.copyFrom(w.best)
			o.localSearch(o.best)
		}
		var sols []*sol
		for _, w := range ws {
			sols = append(sols, w.cur, w.cand, w.best)
		}
		for i, x := range sols {
			for _, y := range sols[i+1:] {
				for ri := range x.routes {
					r, q := &x.routes[ri], &y.routes[ri]
					if r.ver == 0 || r.ver != q.ver {
						continue
					}
					same++
					if !slices.Equal(r.seq, q.seq) || !slices.Equal(r.st, q.st) || !slices.Equal(r.ls, q.ls) || r.legs != q.legs || r.cost != q.cost {
						t.Fatalf("step %d: route %d at version %d differs between plans", it, ri, r.ver)
					}
				}
			}
		}
	}
	if same == 0 {
		t.Fatal("no route was ever shared")
	}
}

// TestAnnealingStringLength checks that a day of many routes ruins
// shorter strings than SISR's and a day of few keeps them.
func TestAnnealingStringLength(t *testing.T) {
	for _, c := range []struct {
		visits, techs, want int
	}{{900, 60, manyRoutesMaxLen}, {100, 10, 10}} {
		in := homesInst(rand.New(rand.NewPCG(3, 3)), c.visits, c.techs)
		w := newWorker(in, 1, 0, newSol(in))
		w.blinkRate = 0
		w.recreate(w.cur)
		used := 0
		for i := range w.cur.routes {
			if w.cur.routes[i].nv > 0 {
				used++
			}
		}
		sc, ok := annealing(in, w.cur, 1e6)
		if !ok || sc.maxLen != c.want {
			t.Errorf("%d visits on %d technicians (%d routes used): maxLen %d, ok %v; want %d", c.visits, c.techs, used, sc.maxLen, ok, c.want)
		}
	}
}
