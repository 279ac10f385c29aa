package schedule

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// naive simulates a node sequence from scratch, independently of the
// route caches: earliest departure, wait for the first window that is still
// open, breaks where the technician stands. It returns feasibility and the
// distance of the legs.
func naive(in *inst, seq []int32) (bool, float64) {
	first := &in.nodes[seq[0]]
	t := first.a0
	at := first.loc
	legs, load := 0.0, 0.0
	for _, x := range seq[1:] {
		n := &in.nodes[x]
		if n.loc >= 0 {
			d := in.dur[int(at)*in.L+int(n.loc)]
			if in.cong != nil {
				t = in.cong.arrive(t, d)
			} else {
				t += d
			}
			legs += in.dist[int(at)*in.L+int(n.loc)]
			at = n.loc
		}
		ws := n.win
		if ws == nil {
			ws = []tw{{n.a0, n.b0}}
		}
		ok := false
		for _, w := range ws {
			if t <= w.b+eps {
				t = math.Max(t, w.a)
				ok = true
				break
			}
		}
		if !ok {
			return false, 0
		}
		t += n.svc
		load += n.dem
	}
	return load <= in.veh[in.nodes[seq[0]].owner].cap+eps, legs
}

// randomInst builds a small random instance with several windows per
// visit, breaks, capacities and, optionally, congestion.
func randomInst(rng *rand.Rand, m int, cong bool) *inst {
	return randomInstWith(rng, m, cong, 2, true, 2)
}

// randomInstWith: techs technicians (the first with a break if brk), and
// windows up to span hours long.
func randomInstWith(rng *rand.Rand, m int, cong bool, techs int, brk bool, span float64) *inst {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	hm := func(h float64) time.Time { return day.Add(time.Duration(h * float64(time.Hour))) }
	p := &Problem{Travel: Haversine{Speed: 8, Overhead: 2 * time.Minute}}
	for i := 0; i < m; i++ {
		v := Visit{ID: string(rune('a' + i)), Location: Location{Lat: 19.4 + rng.Float64()*0.1, Lon: -99.1 + rng.Float64()*0.1},
			Service: time.Duration(10+rng.IntN(50)) * time.Minute, Demand: rng.IntN(3)}
		for k := rng.IntN(3); k >= 0; k-- {
			s := 8 + rng.Float64()*9
			v.Windows = append(v.Windows, Window{hm(s), hm(s + 0.5 + rng.Float64()*span)})
		}
		p.Visits = append(p.Visits, v)
	}
	for k := 0; k < techs; k++ {
		t := Technician{ID: string(rune('A' + k)), Start: Location{Lat: 19.45, Lon: -99.05}, Capacity: 6}
		t.End = t.Start
		sh := Shift{Start: hm(8), End: hm(18)}
		if k == 0 && brk {
			sh.Break = &Break{Earliest: hm(13), Latest: hm(15), Duration: 30 * time.Minute}
		}
		t.Shifts = []Shift{sh}
		p.Technicians = append(p.Technicians, t)
	}
	if cong {
		p.Congestion = &Congestion{}
		for h := range p.Congestion.Factor {
			p.Congestion.Factor[h] = 0.7 + rng.Float64()*1.5
		}
	}
	in, err := compile(p)
	if err != nil {
		panic(err)
	}
	return in
}

// skew makes in's travel asymmetric: legs from a lower to a higher
// location take longer and are longer, as one-way streets would make them.
func skew(in *inst) {
	L := in.L
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			in.dist[i*L+j] *= 1.4
			in.dur[i*L+j] *= 1.4
		}
	}
	in.distIn, in.durIn = transpose(in.dist, L), transpose(in.dur, L)
}

// TestInsertDeltaMatchesBruteForce checks the constant-time insertion test
// (forward departures, backward latest starts, the break walk) against a
// full re-simulation for every visit and position of random routes, with
// symmetric travel and, on every third seed, asymmetric.
func TestInsertDeltaMatchesBruteForce(t *testing.T) {
	checked, feasible, plain := 0, 0, 0
	for seed := uint64(0); seed < 150; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		in := randomInst(rng, 9, seed%2 == 1)
		if seed%3 == 2 {
			skew(in)
		}
		for v := range in.veh {
			r := &route{}
			r.empty(in, int32(v))
			// Grow a random feasible route.
			perm := rng.Perm(in.m)
			for _, c := range perm[:rng.IntN(in.m)] {
				var opts []int
				for p := 0; p < len(r.seq)-1; p++ {
					if !math.IsInf(r.insertDelta(in, int32(c), p, math.Inf(1)), 1) {
						opts = append(opts, p)
					}
				}
				if len(opts) > 0 && r.load+in.nodes[c].dem <= in.veh[v].cap {
					r.insert(in, int32(c), opts[rng.IntN(len(opts))])
				}
			}
			ok, legs := naive(in, r.seq)
			if !ok || !r.ok {
				t.Fatalf("seed %d: grown route infeasible (naive %v, cached %v)", seed, ok, r.ok)
			}
			if math.Abs(legs-r.legs) > 1e-6 {
				t.Fatalf("seed %d: legs %v, naive %v", seed, r.legs, legs)
			}
			base := r.cost
			for c := int32(0); int(c) < in.m; c++ {
				on := false
				for _, x := range r.seq {
					on = on || x == c
				}
				if on {
					continue
				}
				bruteBest := math.Inf(1)
				for p := 0; p < len(r.seq)-1; p++ {
					if _, wl := naive(in, append(append(append([]int32{}, r.seq[:p+1]...), c), r.seq[p+1:]...)); true {
						if ok, _ := naive(in, append(append(append([]int32{}, r.seq[:p+1]...), c), r.seq[p+1:]...)); ok {
							bruteBest = math.Min(bruteBest, wl-base)
						}
					}
					got := r.insertDelta(in, c, p, math.Inf(1))
					// A bound may only cut short a position no better than it:
					// one below it still gives its delta, and an infeasible one
					// never gives a delta below any bound.
					if b := got + 1e-3; !math.IsInf(got, 1) && r.insertDelta(in, c, p, b) != got {
						t.Fatalf("seed %d: insert %d at %d: delta %v with bound %v, %v without", seed, c, p, r.insertDelta(in, c, p, b), b, got)
					}
					if b := got - 1e-3; math.IsInf(got, 1) {
						if d := r.insertDelta(in, c, p, 1e12); d < 1e12 {
							t.Fatalf("seed %d: insert %d at %d: infeasible, %v under a bound", seed, c, p, d)
						}
					} else if d := r.insertDelta(in, c, p, b); d < b {
						t.Fatalf("seed %d: insert %d at %d: delta %v under bound %v, %v without", seed, c, p, d, b, got)
					}
					seq := append(append(append([]int32{}, r.seq[:p+1]...), c), r.seq[p+1:]...)
					wantOK, wantLegs := naive(in, seq)
					wantOK = wantOK || r.load+in.nodes[c].dem > in.veh[v].cap // capacity is bestInsert's job
					checked++
					if math.IsInf(got, 1) {
						if wantOK && r.load+in.nodes[c].dem <= in.veh[v].cap {
							t.Fatalf("seed %d: insert %d at %d in %v: rejected, brute force feasible", seed, c, p, r.seq)
						}
						continue
					}
					feasible++
					if !wantOK {
						t.Fatalf("seed %d: insert %d at %d in %v: accepted, brute force infeasible", seed, c, p, r.seq)
					}
					if math.Abs(got-(wantLegs-base)) > 1e-6 {
						t.Fatalf("seed %d: insert %d at %d: delta %v, brute force %v", seed, c, p, got, wantLegs-base)
					}
				}
				// bestInsert prunes positions by time; it must still find
				// the brute-force best.
				if got, _ := r.bestInsert(in, c, math.Inf(1), nil); math.Abs(got-bruteBest) > 1e-6 && !(math.IsInf(got, 1) && math.IsInf(bruteBest, 1)) {
					t.Fatalf("seed %d: bestInsert %d = %v, brute force %v", seed, c, got, bruteBest)
				}
				// The inlined scan for single windows without congestion
				// gives bit for bit what the general one does, bounded or not.
				if r.load+in.nodes[c].dem <= in.veh[v].cap {
					for _, b := range []float64{math.Inf(1), bruteBest, bruteBest + 1e-3} {
						d1, p1 := r.bestInsert(in, c, b, nil)
						d2, p2 := r.bestInsertAny(in, c, b, nil)
						if d1 != d2 || p1 != p2 {
							t.Fatalf("seed %d: bestInsert %d under %v: %v at %d, general scan %v at %d", seed, c, b, d1, p1, d2, p2)
						}
						if in.cong == nil && in.nodes[c].win == nil {
							plain++
						}
					}
				}
			}
		}
	}
	if feasible == 0 || feasible == checked {
		t.Fatalf("degenerate test: %d of %d insertions feasible", feasible, checked)
	}
	if plain < 500 {
		t.Fatalf("degenerate test: bestInsert's inlined scan compared %d times", plain)
	}
}

// TestCongestionFIFO: leaving later never arrives earlier, and leave
// inverts arrive.
func TestCongestionFIFO(t *testing.T) {
	c := &congestion{offset: 3 * 3600}
	for h := range c.f {
		c.f[h] = 0.5 + float64(h%5)
	}
	for _, d := range []float64{0, 60, 1000, 3600, 20000} {
		prev := math.Inf(-1)
		for t0 := 0.0; t0 < 2*86400; t0 += 97 {
			a := c.arrive(t0, d)
			if a < prev-1e-9 {
				t.Fatalf("d=%v: leaving at %v arrives %v, before %v", d, t0, a, prev)
			}
			if a < t0+d*0.5-1e-9 {
				t.Fatalf("d=%v: arrival %v faster than the fastest factor", d, a)
			}
			prev = a
			if back := c.leave(a, d); math.Abs(back-t0) > 1e-6 && d > 0 {
				t.Fatalf("d=%v: leave(arrive(%v)) = %v", d, t0, back)
			}
		}
	}
}

// TestExtendMatchesCompile: a visit added through the leg extension is
// judged exactly as when the whole problem is compiled with it.
func TestExtendMatchesCompile(t *testing.T) {
	for seed := uint64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		in := randomInst(rng, 8, seed%2 == 0)
		s := newSol(in)
		w := newWorker(in, seed, 0, s)
		w.blinkRate = 0
		w.removed = append(w.removed[:0], in.active...)
		w.recreate(w.cur)
		seqs := make([][]int32, len(w.cur.routes))
		for i := range w.cur.routes {
			seqs[i] = w.cur.routes[i].seq
		}
		cur := in
		for k := 0; k < 2; k++ { // extend twice: extension of an extension
			v := in.p.Visits[rng.IntN(in.m)]
			v.ID = "new" + string(rune('0'+k))
			v.Location.Lat += 0.01 * rng.Float64()
			ex, err := cur.extend(v)
			if err != nil {
				t.Fatal(err)
			}
			seqs = shiftSeqs(seqs, cur.m)
			cur = ex
		}
		fresh, err := compile(cur.p)
		if err != nil {
			t.Fatal(err)
		}
		a, err := state(cur, seqs)
		if err != nil {
			t.Fatal(err)
		}
		b, err := state(fresh, seqs)
		if err != nil {
			t.Fatal(err)
		}
		for c := int32(cur.m - 2); int(c) < cur.m; c++ {
			if cur.reason[c] != fresh.reason[c] {
				t.Fatalf("seed %d: reason %d vs %d", seed, cur.reason[c], fresh.reason[c])
			}
			for ri := range a.routes {
				for p := 0; p < len(a.routes[ri].seq)-1; p++ {
					x := a.routes[ri].insertDelta(cur, c, p, math.Inf(1))
					y := b.routes[ri].insertDelta(fresh, c, p, math.Inf(1))
					if x != y && math.Abs(x-y) > 1e-6 {
						t.Fatalf("seed %d: visit %d route %d pos %d: extended %v, compiled %v", seed, c, ri, p, x, y)
					}
				}
			}
		}
	}
}

// TestLocalSearch: polishing keeps every route feasible (by brute force),
// every visit exactly where `where` says, and never costs more; on random
// starts it must improve at least sometimes.
func TestLocalSearch(t *testing.T) {
	improved := 0
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		// Every other instance: more vehicles, no breaks and wide windows,
		// so that tails can move.
		in := randomInst(rng, 12, seed%3 == 0)
		if seed%2 == 0 {
			in = randomInstWith(rng, 16, seed%3 == 0, 4, false, 6)
		}
		w := newWorker(in, seed, 0, newSol(in))
		w.removed = append(w.removed[:0], in.active...)
		w.recreate(w.cur) // with blinks: a deliberately sloppy start
		s := w.cur
		before, unw := s.cost, s.unw
		w.localSearch(s)
		if s.unw != unw {
			t.Fatalf("seed %d: unassigned weight %v → %v", seed, unw, s.unw)
		}
		if s.cost > before+1e-9 {
			t.Fatalf("seed %d: cost %v → %v", seed, before, s.cost)
		}
		if s.cost < before-1e-9 {
			improved++
		}
		for ri := range s.routes {
			r := &s.routes[ri]
			if ok, legs := naive(in, r.seq); !ok || math.Abs(legs-r.legs) > 1e-6 {
				t.Fatalf("seed %d: route %d infeasible or mis-costed after local search", seed, ri)
			}
			for _, x := range r.seq {
				if int(x) < in.m && s.where[x] != int32(ri) {
					t.Fatalf("seed %d: visit %d on route %d, where says %d", seed, x, ri, s.where[x])
				}
			}
		}
	}
	if improved == 0 {
		t.Fatal("local search never improved a sloppy start")
	}
	t.Logf("improved %d of 60", improved)
}

// homesInst is a random instance where every technician has a home of
// their own (start and end differ) and a lunch break: 2-opt* must then
// keep each route's end and break while trading tails.
func homesInst(rng *rand.Rand, m, techs int) *inst {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	hm := func(h float64) time.Time { return day.Add(time.Duration(h * float64(time.Hour))) }
	loc := func() Location { return Location{Lat: 19.4 + rng.Float64()*0.1, Lon: -99.1 + rng.Float64()*0.1} }
	p := &Problem{Travel: Haversine{Speed: 8, Overhead: 2 * time.Minute}}
	for i := 0; i < m; i++ {
		s := 8 + rng.Float64()*8
		p.Visits = append(p.Visits, Visit{ID: string(rune('a' + i)), Location: loc(),
			Service: time.Duration(10+rng.IntN(30)) * time.Minute,
			Windows: []Window{{hm(s), hm(s + 1 + rng.Float64()*5)}}})
	}
	for k := 0; k < techs; k++ {
		p.Technicians = append(p.Technicians, Technician{ID: string(rune('A' + k)), Start: loc(), End: loc(),
			Shifts: []Shift{{Start: hm(8), End: hm(18),
				Break: &Break{Earliest: hm(12 + rng.Float64()), Latest: hm(14 + rng.Float64()), Duration: 30 * time.Minute}}}})
	}
	in, err := compile(p)
	if err != nil {
		panic(err)
	}
	return in
}

// checkSol checks every route by brute force, that each route holds its
// own vehicle's break and ends at its own end, and that where matches.
func checkSol(t *testing.T, in *inst, s *sol, what string) {
	t.Helper()
	for ri := range s.routes {
		r := &s.routes[ri]
		if ok, legs := naive(in, r.seq); !ok || math.Abs(legs-r.legs) > 1e-6 {
			t.Fatalf("%s: route %d infeasible or mis-costed", what, ri)
		}
		ve := &in.veh[r.v]
		if r.seq[0] != ve.start || r.seq[len(r.seq)-1] != ve.end {
			t.Fatalf("%s: route %d does not run from its own start to its own end", what, ri)
		}
		breaks := 0
		for _, x := range r.seq {
			if in.nodes[x].kind == kindBreak {
				if x != ve.brk {
					t.Fatalf("%s: route %d holds another vehicle's break", what, ri)
				}
				breaks++
			}
			if int(x) < in.m && s.where[x] != int32(ri) {
				t.Fatalf("%s: visit %d on route %d, where says %d", what, x, ri, s.where[x])
			}
		}
		if (ve.brk >= 0) != (breaks == 1) || breaks > 1 {
			t.Fatalf("%s: route %d has %d breaks", what, ri, breaks)
		}
	}
	checkOut(t, in, s, what)
}

// checkOut fails t unless every visit s leaves out is in s.out.
func checkOut(t *testing.T, in *inst, s *sol, what string) {
	t.Helper()
	for _, c := range in.active {
		if s.where[c] < 0 && !slices.Contains(s.out, c) {
			t.Fatalf("%s: visit %d is unassigned and not in the plan's list of them", what, c)
		}
	}
}

// TestTwoOptStarHomesAndBreaks: with distinct homes and a break on every
// route, 2-opt* still finds improving moves, and every route stays
// feasible with its own break and end.
func TestTwoOptStarHomesAndBreaks(t *testing.T) {
	moved := 0
	for seed := uint64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		in := homesInst(rng, 24, 4)
		w := newWorker(in, seed, 0, newSol(in))
		w.tmp = make([]route, 2)
		w.removed = append(w.removed[:0], in.active...)
		w.recreate(w.cur)
		s := w.cur
		before, unw := s.cost, s.unw
		if w.twoOptStar(s) {
			moved++
		}
		s.total(in)
		if s.unw != unw || s.cost > before+1e-9 {
			t.Fatalf("seed %d: unassigned %v → %v, cost %v → %v", seed, unw, s.unw, before, s.cost)
		}
		checkSol(t, in, s, "2-opt*")
	}
	if moved == 0 {
		t.Fatal("2-opt* never applied across distinct homes and breaks")
	}
	t.Logf("2-opt* improved %d of 40", moved)
}

// TestRegretConstruction: regret insertion yields feasible routes that
// agree with where, an unassigned weight that matches the visits left out,
// and the same solution every time.
func TestRegretConstruction(t *testing.T) {
	for seed := uint64(0); seed < 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 6))
		in := homesInst(rng, 30, 3)
		if seed%2 == 1 {
			in = randomInst(rng, 14, seed%3 == 0)
		}
		var costs [2]float64
		for k := range costs {
			w := newWorker(in, seed, -1, newSol(in))
			w.blinkRate = 0
			w.recreateRegret(w.cur, 3)
			checkSol(t, in, w.cur, "regret")
			var unw float64
			for _, c := range in.active {
				if w.cur.where[c] < 0 {
					unw += in.weight[c]
				}
			}
			if unw != w.cur.unw {
				t.Fatalf("seed %d: unassigned weight %v, counted %v", seed, w.cur.unw, unw)
			}
			costs[k] = w.cur.cost
		}
		if costs[0] != costs[1] {
			t.Fatalf("seed %d: regret construction not deterministic: %v vs %v", seed, costs[0], costs[1])
		}
	}
}

// TestLegsIntoLocations: compile keeps the legs into each location as rows,
// sharing the tables when travel is symmetric and transposing them when not.
func TestLegsIntoLocations(t *testing.T) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for _, asym := range []bool{false, true} {
		m := &Matrix{N: 3, Seconds: make([]float64, 9), Meters: make([]float64, 9)}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				if i != j {
					m.Seconds[i*3+j], m.Meters[i*3+j] = float64(10*(i+j)), float64(100*(i+j))
					if asym && i < j {
						m.Seconds[i*3+j], m.Meters[i*3+j] = m.Seconds[i*3+j]+7, m.Meters[i*3+j]+70
					}
				}
			}
		}
		p := &Problem{Travel: m, Visits: []Visit{{ID: "a", Location: Location{ID: 0}}, {ID: "b", Location: Location{ID: 1}}},
			Technicians: []Technician{{ID: "T", Start: Location{ID: 2}, End: Location{ID: 2}, Shifts: []Shift{{Start: day, End: day.Add(time.Hour)}}}}}
		in, err := compile(p)
		if err != nil {
			t.Fatal(err)
		}
		if shared := in.travelSymmetric(); shared == asym {
			t.Errorf("asymmetric %v: tables shared %v", asym, shared)
		}
		for a := 0; a < in.L; a++ {
			for b := 0; b < in.L; b++ {
				if in.distIn[b*in.L+a] != in.dist[a*in.L+b] || in.durIn[b*in.L+a] != in.dur[a*in.L+b] {
					t.Fatalf("asymmetric %v: leg %d→%d: into-row %v/%v, table %v/%v", asym, a, b, in.distIn[b*in.L+a], in.durIn[b*in.L+a], in.dist[a*in.L+b], in.dur[a*in.L+b])
				}
			}
		}
	}
}

// TestInsertPlainMatchesUpdate: insert's re-timing from the cached legs
// (insertPlain) leaves every cache bit for bit as a full update of the
// same sequence does, at every position, feasible or not, before and
// after breaks, with one window or several.
func TestInsertPlainMatchesUpdate(t *testing.T) {
	same := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				return false
			}
		}
		return true
	}
	checked := 0
	for seed := uint64(0); seed < 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		in := homesInst(rng, 30, 3)
		if seed%2 == 1 {
			in = randomInst(rng, 30, false)
		}
		for v := range in.veh {
			r := &route{}
			r.empty(in, int32(v))
			for _, c := range rng.Perm(in.m)[:1+rng.IntN(12)] {
				p := rng.IntN(len(r.seq) - 1)
				r.insert(in, int32(c), p)
				if len(r.tarc) != len(r.seq) {
					t.Fatalf("seed %d: insertPlain not used (tarc %d, seq %d)", seed, len(r.tarc), len(r.seq))
				}
				f := &route{}
				f.copyFrom(r)
				f.update(in)
				if !slices.Equal(r.seq, f.seq) || !slices.Equal(r.loc, f.loc) || !same(r.st, f.st) || !same(r.dep, f.dep) ||
					!same(r.ls, f.ls) || !same(r.arc, f.arc) || !same(r.tarc, f.tarc) ||
					!same([]float64{r.load, r.legs, r.cost, r.headArc, r.tailArc, r.innerArc}, []float64{f.load, f.legs, f.cost, f.headArc, f.tailArc, f.innerArc}) ||
					r.nv != f.nv || r.minIns != f.minIns || r.brk != f.brk || r.ok != f.ok {
					t.Fatalf("seed %d: insert %d at %d: insertPlain %+v, update %+v", seed, c, p, *r, *f)
				}
				checked++
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d insertions checked", checked)
	}
}

// TestEmptyRoutesAlike checks that every empty route of a search is, bit
// for bit, the one route.empty makes for its vehicle: sol.copyFrom skips
// copying one without a version onto another.
func TestEmptyRoutesAlike(t *testing.T) {
	in := homesInst(rand.New(rand.NewPCG(5, 5)), 120, 20)
	w := newWorker(in, 3, 0, newSol(in))
	w.recreate(w.cur)
	sc := schedule{t0: 100, tf: 1, plan: 2000 * 1000, avgRemoved: 10, maxLen: 10, price: 1000}
	same := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
				return false
			}
		}
		return true
	}
	empties := 0
	for i := 0; i < 2000; i++ {
		w.step(sc)
		for _, s := range []*sol{w.cur, w.cand, w.best} {
			for v := range s.routes {
				r := &s.routes[v]
				if r.nv != 0 {
					continue
				}
				empties++
				e := &route{}
				e.empty(in, int32(v))
				if !slices.Equal(r.seq, e.seq) || !slices.Equal(r.loc, e.loc) || !same(r.st, e.st) || !same(r.dep, e.dep) ||
					!same(r.ls, e.ls) || !same(r.arc, e.arc) || !same(r.tarc, e.tarc) ||
					r.load != e.load || r.legs != e.legs || r.cost != e.cost || r.minIns != e.minIns || r.brk != e.brk || r.ok != e.ok ||
					r.headArc != e.headArc || r.tailArc != e.tailArc || r.innerArc != e.innerArc {
					t.Fatalf("step %d: empty route %d is not route.empty's", i, v)
				}
			}
		}
	}
	if empties == 0 {
		t.Fatal("no empty route")
	}
}
