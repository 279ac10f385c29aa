package schedule

// Local search: 2-opt* (exchange route tails) and relocate (move one visit
// to its best place anywhere), first improvement, over neighbour lists. It
// polishes each new best plan of an annealing thread. Candidates are
// filtered on distance first, so the O(route) re-timing that decides
// feasibility runs only for moves that would pay.

const lsNeighbors = 20

func (w *worker) localSearch(s *sol) {
	// Polishing is outside the annealing's work plan: it must not shift
	// the schedule of the trajectory it polishes.
	defer func(work int64) { w.work = work }(w.work)
	if w.tmp == nil {
		w.tmp = make([]route, 2)
	}
	for pass := 0; pass < 20; pass++ {
		a := w.twoOptStar(s)
		b := w.relocate(s)
		if !a && !b {
			break
		}
	}
	s.total(w.in)
}

func position(seq []int32, x int32) int {
	for i, y := range seq {
		if y == x {
			return i
		}
	}
	return -1
}

// movable reports whether the nodes of seq, but for the break at index
// brk (-1: none), are visits the search may move to vehicle v.
func (w *worker) movable(seq []int32, v int32, brk int) bool {
	for k, x := range seq {
		if k == brk {
			continue
		}
		n := &w.in.nodes[x]
		if n.kind != kindVisit || n.fixed || !w.in.ok(x, v) {
			return false
		}
	}
	return true
}

// twoOptStar tries, for each visit a and close visit b on another route,
// making b follow a: route 1 keeps its head up to a and takes route 2's tail
// from b; route 2 keeps its head before b and takes route 1's tail. Each
// route keeps its own end (home bases may differ) and its own break: when
// both breaks fall in the tails, they trade places; when only one does, the
// move is skipped.
func (w *worker) twoOptStar(s *sol) bool {
	in := w.in
	improved := false
	for _, a := range in.active {
		for k, b := range in.nb[a] {
			if k >= lsNeighbors {
				break
			}
			r1, r2 := s.where[a], s.where[b]
			if r1 < 0 || r2 < 0 || r1 == r2 {
				continue
			}
			R1, R2 := &s.routes[r1], &s.routes[r2]
			n1, n2 := len(R1.seq), len(R2.seq)
			i := position(R1.seq, a)
			j := position(R2.seq, b) - 1
			if i < R1.minIns || j < R2.minIns || j < 0 {
				continue
			}
			w.work += 4
			delta := w.join(R1, i, R2, j) + w.join(R2, j, R1, i) - w.join(R1, i, R1, i) - w.join(R2, j, R2, j)
			if delta > -1e-7 {
				continue
			}
			t1, t2 := R1.seq[i+1:n1-1], R2.seq[j+1:n2-1]
			k1, k2 := breakAt(in, t1), breakAt(in, t2)
			if (k1 < 0) != (k2 < 0) || !w.movable(t1, R2.v, k1) || !w.movable(t2, R1.v, k2) {
				continue
			}
			x, y := &w.tmp[0], &w.tmp[1]
			x.v, y.v = R1.v, R2.v
			x.seq = append(append(append(x.seq[:0], R1.seq[:i+1]...), t2...), R1.seq[n1-1])
			y.seq = append(append(append(y.seq[:0], R2.seq[:j+1]...), t1...), R2.seq[n2-1])
			if k1 >= 0 {
				x.seq[i+1+k2] = R1.seq[i+1+k1]
				y.seq[j+1+k1] = R2.seq[j+1+k2]
			}
			w.work += int64(n1 + n2)
			if !x.update(in) || !y.update(in) || x.cost+y.cost > R1.cost+R2.cost-1e-7 {
				continue
			}
			// t1 and t2 alias the old sequences: re-home from the new ones.
			for _, c := range x.seq[i+1 : len(x.seq)-1] {
				if int(c) < in.m {
					s.where[c] = r1
				}
			}
			for _, c := range y.seq[j+1 : len(y.seq)-1] {
				if int(c) < in.m {
					s.where[c] = r2
				}
			}
			R1.copyFrom(x)
			R2.copyFrom(y)
			improved = true
		}
	}
	return improved
}

// join is the distance of the legs a 2-opt* move decides when route R's
// head up to position i is followed by route T's tail after position j and
// R's end: the junction and the leg home (the tail's inner legs do not
// change). It screens moves on real locations; breaks add no distance.
func (w *worker) join(R *route, i int, T *route, j int) float64 {
	in := w.in
	L := in.L
	a := int(R.loc[i])
	end := int(R.loc[len(R.seq)-1])
	nT := len(T.seq)
	for q := j + 1; q < nT-1; q++ {
		if f := in.nodes[T.seq[q]].loc; f >= 0 {
			return in.dist[a*L+int(f)] + in.dist[int(T.loc[nT-2])*L+end]
		}
	}
	return in.dist[a*L+end]
}

// breakAt is the index of the break node in seq, or -1.
func breakAt(in *inst, seq []int32) int {
	for k, x := range seq {
		if in.nodes[x].kind == kindBreak {
			return k
		}
	}
	return -1
}

// relocate moves single visits to a cheaper feasible place, on any route.
func (w *worker) relocate(s *sol) bool {
	in := w.in
	improved := false
	for _, c := range in.active {
		r := s.where[c]
		if r < 0 || in.nodes[c].fixed {
			continue
		}
		R := &s.routes[r]
		p := position(R.seq, c)
		L := in.L
		prev, next := R.loc[p-1], R.loc[p+1]
		if in.nodes[R.seq[p+1]].loc < 0 {
			continue // before a break: the saving is not local
		}
		cl := in.nodes[c].loc
		gain := in.dist[int(prev)*L+int(cl)] + in.dist[int(cl)*L+int(next)] - in.dist[int(prev)*L+int(next)]
		if R.nv == 1 {
			gain = R.cost
		}
		if gain < 1e-7 {
			continue
		}
		// Cheap screen: some neighbour's route must offer a cheaper spot.
		best, br, bp := gain-1e-7, -1, -1
		x := &w.tmp[0]
		x.v = R.v
		x.seq = append(append(x.seq[:0], R.seq[:p]...), R.seq[p+1:]...)
		removed, feasible := false, true
		for k, d := range in.nb[c] {
			if k >= lsNeighbors {
				break
			}
			rd := s.where[d]
			if rd < 0 || !in.ok(c, s.routes[rd].v) {
				continue
			}
			var cand *route
			if rd == r {
				if !removed {
					feasible = x.update(in)
					removed = true
				}
				if !feasible {
					break
				}
				cand = x
			} else {
				cand = &s.routes[rd]
			}
			w.work += int64(len(cand.seq))
			if dd, pp := cand.bestInsert(in, c, best, nil); pp >= 0 && dd < best {
				best, br, bp = dd, int(rd), pp
			}
		}
		if br < 0 || !feasible {
			continue
		}
		if br == int(r) {
			x.insert(in, c, bp)
			R.copyFrom(x)
		} else {
			if !removed && !x.update(in) {
				continue
			}
			R.copyFrom(x)
			s.routes[br].insert(in, c, bp)
			s.where[c] = int32(br)
		}
		improved = true
	}
	return improved
}
