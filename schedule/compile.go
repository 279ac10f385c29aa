package schedule

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

const eps = 1e-7

const (
	kindVisit uint8 = iota
	kindBreak
	kindStart
	kindEnd
)

// tw is a window on the solver clock (seconds since inst.origin).
type tw struct{ a, b float64 }

type node struct {
	loc    int32 // index into the travel tables; -1 for a break (it has no place of its own)
	kind   uint8
	fixed  bool // never removed by the search
	start  bool // started: nothing may go before it
	svc    float64
	dem    float64
	a0, b0 float64 // first window
	win    []tw    // all windows when there are several, else nil
	owner  int32   // vehicle of a break or depot; -1 for visits
}

type vehicle struct {
	tech, shift int
	start, end  int32 // depot nodes
	brk         int32 // break node or -1
	cap         float64
	class       int32 // vehicles of one class are interchangeable when empty
}

// inst is a Problem compiled for the search: dense travel tables over
// locations, nodes for visits, breaks and depots, and compatibility.
type inst struct {
	p        *Problem
	origin   time.Time
	m        int // visits are nodes [0, m)
	nodes    []node
	veh      []vehicle
	L        int
	dist     []float64
	dur      []float64
	cong     *congestion
	words    int
	okv      []uint64 // visit*words + vehicle/64
	weight   []float64
	reason   []int8 // per visit: -1 routable, else a Reason
	active   []int32
	nb       [][]int32 // per visit: other visits by increasing distance
	pinPos   []int     // per visit: Pin.Position or 0
	depotLoc int32     // reference location for "far/close" orderings
	locs     []Location
	ext      *ext
	skillIdx map[string]int
	tmask    []uint64
	tok      []bool
	techIdx  map[string]int

	// distIn and durIn hold the legs into each location as a row:
	// distIn[b*L+a] is dist[a*L+b]. Insertion evaluates one visit against
	// many places, so both of its legs are then read from rows of its own
	// instead of a column strided across the whole table. They alias dist
	// and dur when travel is symmetric.
	distIn []float64
	durIn  []float64

	// okr lists, per visit, the vehicles okv allows it on, in increasing
	// order: recreate walks these instead of every route.
	okr [][]int32
	// homeLegs[c][2k] is the distance from the start of vehicle okr[c][k]
	// to visit c, the next entry from c to its end: recreate bounds every
	// route it might try by them, so they sit in one row per visit. Set at
	// compile time only (an extension has no pruning to read them).
	homeLegs [][]float64
}

// travelSymmetric reports whether every leg is as long and takes as long
// both ways: compile then aliases the legs-in tables to the legs-out ones.
func (in *inst) travelSymmetric() bool {
	return len(in.distIn) > 0 && &in.distIn[0] == &in.dist[0]
}

func (in *inst) ok(c int32, v int32) bool {
	return in.okv[int(c)*in.words+int(v>>6)]&(1<<(uint(v)&63)) != 0
}

func (in *inst) sec(t time.Time) float64 { return t.Sub(in.origin).Seconds() }

func (in *inst) at(s float64) time.Time {
	return in.origin.Add(time.Duration(math.Round(s * 1e9)))
}

// distAt is the distance of the leg from location a to b.
func (in *inst) distAt(a, b int32) float64 {
	if in.ext == nil || (a < in.ext.base && b < in.ext.base) {
		return in.dist[int(a)*in.L+int(b)]
	}
	return in.ext.get(a, b, false)
}

// durAt is the free-flow duration of the leg from location a to b.
func (in *inst) durAt(a, b int32) float64 {
	if in.ext == nil || (a < in.ext.base && b < in.ext.base) {
		return in.dur[int(a)*in.L+int(b)]
	}
	return in.ext.get(a, b, true)
}

// ext holds the legs of locations added after compilation (Insert, Slots),
// so that adding one costs O(locations) instead of a new matrix. Rows are
// shared between plans and never written after creation.
type ext struct {
	base              int32 // first added location
	toDist, toDur     [][]float64
	fromDist, fromDur [][]float64 // [k][i]: from location i to base+k
}

func (e *ext) get(a, b int32, dur bool) float64 {
	switch {
	case a == b:
		return 0
	case a > b:
		k := a - e.base
		if dur {
			return e.toDur[k][b]
		}
		return e.toDist[k][b]
	default:
		k := b - e.base
		if dur {
			return e.fromDur[k][a]
		}
		return e.fromDist[k][a]
	}
}

// arrive is the arrival at location b leaving location a at t.
func (in *inst) arrive(a, b int32, t float64) float64 {
	d := in.durAt(a, b)
	if in.cong == nil {
		return t + d
	}
	return in.cong.arrive(t, d)
}

// leave is the latest departure from a that reaches b by t.
func (in *inst) leave(a, b int32, t float64) float64 {
	d := in.durAt(a, b)
	if in.cong == nil {
		return t - d
	}
	return in.cong.leave(t, d)
}

// earliest is the earliest start of service at n for an arrival at t, or +Inf.
func earliest(n *node, t float64) float64 {
	if n.win == nil {
		if t <= n.b0+eps {
			if t < n.a0 {
				return n.a0
			}
			return t
		}
		return math.Inf(1)
	}
	for _, w := range n.win {
		if t <= w.b+eps {
			return math.Max(t, w.a)
		}
	}
	return math.Inf(1)
}

// latest is the latest start of service at n no later than t, or -Inf.
func latest(n *node, t float64) float64 {
	if n.win == nil {
		if n.a0 <= t+eps {
			if t > n.b0 {
				return n.b0
			}
			return t
		}
		return math.Inf(-1)
	}
	for i := len(n.win) - 1; i >= 0; i-- {
		if w := n.win[i]; w.a <= t+eps {
			return math.Min(t, w.b)
		}
	}
	return math.Inf(-1)
}

func (n *node) setWindows(ws []tw) {
	n.win = nil
	if len(ws) == 0 {
		n.a0, n.b0 = -1e15, 1e15
		return
	}
	n.a0, n.b0 = ws[0].a, ws[0].b
	if len(ws) > 1 {
		n.win = ws
	}
}

// mergeWindows sorts and merges overlapping windows.
func mergeWindows(ws []tw) []tw {
	sort.Slice(ws, func(i, j int) bool { return ws[i].a < ws[j].a })
	out := ws[:0]
	for _, w := range ws {
		if k := len(out) - 1; k >= 0 && w.a <= out[k].b {
			out[k].b = math.Max(out[k].b, w.b)
			continue
		}
		out = append(out, w)
	}
	return out
}

// validate checks the model and returns an ErrInvalid naming the culprit.
func validate(p *Problem) error {
	tech := map[string]bool{}
	for i, t := range p.Technicians {
		if tech[t.ID] {
			return invalidf("technician %d: duplicate ID %q", i, t.ID)
		}
		tech[t.ID] = true
		if t.Capacity < 0 {
			return invalidf("technician %q: negative capacity", t.ID)
		}
		for j, s := range t.Shifts {
			if s.End.Before(s.Start) {
				return invalidf("technician %q shift %d: ends before it starts", t.ID, j)
			}
			if b := s.Break; b != nil {
				if b.Duration < 0 || b.Latest.Sub(b.Earliest) < b.Duration {
					return invalidf("technician %q shift %d: break does not fit its window", t.ID, j)
				}
			}
		}
	}
	ids := map[string]bool{}
	for i, v := range p.Visits {
		if ids[v.ID] {
			return invalidf("visit %d: duplicate ID %q", i, v.ID)
		}
		ids[v.ID] = true
		if v.Service < 0 {
			return invalidf("visit %q: negative service duration", v.ID)
		}
		if v.Demand < 0 || v.Priority < 0 {
			return invalidf("visit %q: negative demand or priority", v.ID)
		}
		for _, w := range append(slices.Clip(v.Windows), v.Availability...) {
			if w.End.Before(w.Start) {
				return invalidf("visit %q: window ends before it starts", v.ID)
			}
		}
		if v.Started && (v.Pin == nil || v.Pin.Technician == "") {
			return invalidf("visit %q: started but not pinned to a technician", v.ID)
		}
	}
	return nil
}

func skillMask(idx map[string]int, skills []string, add bool) (uint64, bool) {
	var m uint64
	for _, s := range skills {
		k, ok := idx[s]
		if !ok {
			if !add {
				return 0, false
			}
			k = len(idx)
			if k >= 64 {
				return 0, false
			}
			idx[s] = k
		}
		m |= 1 << uint(k)
	}
	return m, true
}

// compile builds the search instance. It computes every leg once.
func compile(p *Problem) (*inst, error) {
	if err := validate(p); err != nil {
		return nil, err
	}
	in := &inst{p: p, m: len(p.Visits)}
	// The clock origin: the earliest shift start keeps numbers small.
	first := true
	for _, t := range p.Technicians {
		for _, s := range t.Shifts {
			if first || s.Start.Before(in.origin) {
				in.origin, first = s.Start, false
			}
		}
	}
	travel := p.Travel
	if travel == nil {
		travel = Haversine{}
	}
	// Locations: one per visit, then each technician's start and end.
	locs := make([]Location, 0, in.m+2*len(p.Technicians))
	for _, v := range p.Visits {
		locs = append(locs, v.Location)
	}
	techLoc := make([][2]int32, len(p.Technicians))
	// Home bases are shared by location: technicians leaving from the same
	// place are interchangeable for 2-opt* and for empty routes.
	base := map[Location]int32{}
	place := func(l Location) int32 {
		if k, ok := base[l]; ok {
			return k
		}
		k := int32(len(locs))
		base[l] = k
		locs = append(locs, l)
		return k
	}
	for i, t := range p.Technicians {
		techLoc[i][0] = place(t.Start)
		techLoc[i][1] = place(t.End)
	}
	in.L = len(locs)
	in.locs = locs
	in.dist = make([]float64, in.L*in.L)
	in.dur = make([]float64, in.L*in.L)
	for i, a := range locs {
		for j, b := range locs {
			if i != j {
				s, m := travel.Leg(a, b)
				in.dur[i*in.L+j], in.dist[i*in.L+j] = s, m
			}
		}
	}
	in.distIn, in.durIn = in.dist, in.dur
	if !symmetric(in.dist, in.L) || !symmetric(in.dur, in.L) {
		in.distIn, in.durIn = transpose(in.dist, in.L), transpose(in.dur, in.L)
	}
	if p.Congestion != nil {
		zone := p.Zone
		if zone == nil {
			zone = time.UTC
		}
		_, off := in.origin.In(zone).Zone()
		u := in.origin.Unix() + int64(off)
		c := &congestion{f: p.Congestion.Factor}
		c.offset = float64(((u%86400)+86400)%86400) + float64(in.origin.Nanosecond())/1e9
		in.cong = c
	}
	// Visit nodes.
	in.nodes = make([]node, in.m, in.m+3*8)
	in.weight = make([]float64, in.m)
	in.pinPos = make([]int, in.m)
	for i, v := range p.Visits {
		n := &in.nodes[i]
		n.loc, n.kind, n.owner = int32(i), kindVisit, -1
		n.svc = v.Service.Seconds()
		n.dem = float64(v.Demand)
		ws := make([]tw, 0, len(v.Windows))
		for _, w := range v.Windows {
			ws = append(ws, tw{in.sec(w.Start), in.sec(w.End)})
		}
		n.setWindows(mergeWindows(ws))
		in.weight[i] = float64(1 + v.Priority)
		if v.Pin != nil {
			in.pinPos[i] = v.Pin.Position
			n.fixed = v.Pin.Position > 0 || v.Started
			n.start = v.Started
		}
	}
	// Vehicles: one per technician shift, each with its own depot nodes.
	classes := map[[8]float64]int32{}
	classOf := techClasses(p)
	for ti, t := range p.Technicians {
		for si, s := range t.Shifts {
			vi := int32(len(in.veh))
			ve := vehicle{tech: ti, shift: si, brk: -1, cap: math.Inf(1)}
			if t.Capacity > 0 {
				ve.cap = float64(t.Capacity)
			}
			sh := tw{in.sec(s.Start), in.sec(s.End)}
			ve.start = int32(len(in.nodes))
			in.nodes = append(in.nodes, node{loc: techLoc[ti][0], kind: kindStart, a0: sh.a, b0: sh.b, owner: vi, fixed: true})
			ve.end = int32(len(in.nodes))
			in.nodes = append(in.nodes, node{loc: techLoc[ti][1], kind: kindEnd, a0: sh.a, b0: sh.b, owner: vi, fixed: true})
			key := [8]float64{float64(ti), float64(techLoc[ti][0]), float64(techLoc[ti][1]), sh.a, sh.b, ve.cap}
			if b := s.Break; b != nil {
				ve.brk = int32(len(in.nodes))
				bs := in.sec(b.Earliest)
				be := in.sec(b.Latest) - b.Duration.Seconds()
				in.nodes = append(in.nodes, node{loc: -1, kind: kindBreak, svc: b.Duration.Seconds(), a0: bs, b0: be, owner: vi, fixed: true})
				key[6], key[7] = bs, be
			}
			// Empty routes of one class are interchangeable: same skill
			// set, places, shift, capacity and break.
			key[0] = float64(classOf[ti])
			c, ok := classes[key]
			if !ok {
				c = int32(len(classes))
				classes[key] = c
			}
			ve.class = c
			in.veh = append(in.veh, ve)
		}
	}
	in.depotLoc = 0
	if len(in.veh) > 0 {
		in.depotLoc = in.nodes[in.veh[0].start].loc
	}
	in.compat()
	in.neighbors()
	in.legsHome()
	return in, nil
}

// symmetric reports whether the L×L table t equals its transpose.
func symmetric(t []float64, L int) bool {
	for i := 0; i < L; i++ {
		for j := i + 1; j < L; j++ {
			if t[i*L+j] != t[j*L+i] {
				return false
			}
		}
	}
	return true
}

func transpose(t []float64, L int) []float64 {
	out := make([]float64, len(t))
	for i := 0; i < L; i++ {
		for j := 0; j < L; j++ {
			out[j*L+i] = t[i*L+j]
		}
	}
	return out
}

// techClasses numbers technicians by skill set; a technician with pinned
// visits gets a class of its own, being never interchangeable.
func techClasses(p *Problem) []int {
	pinned := map[string]bool{}
	for _, v := range p.Visits {
		if v.Pin != nil {
			pinned[v.Pin.Technician] = true
		}
	}
	first := map[string]int{}
	out := make([]int, len(p.Technicians))
	for i, t := range p.Technicians {
		if pinned[t.ID] {
			out[i] = 1<<20 + i
			continue
		}
		k := strings.Join(sortedCopy(t.Skills), "\x00")
		if j, ok := first[k]; ok {
			out[i] = j
			continue
		}
		first[k] = i
		out[i] = i
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return slices.Compact(c)
}

// compat fills okv, reason and active.
func (in *inst) compat() {
	p := in.p
	nv := len(in.veh)
	in.words = (nv + 63) / 64
	in.okv = make([]uint64, in.m*in.words)
	in.reason = make([]int8, in.m)
	in.active = in.active[:0]
	in.skillIdx = map[string]int{}
	in.tmask = make([]uint64, len(p.Technicians))
	in.tok = make([]bool, len(p.Technicians))
	for i, t := range p.Technicians {
		in.tmask[i], in.tok[i] = skillMask(in.skillIdx, t.Skills, true)
	}
	in.techIdx = map[string]int{}
	for i, t := range p.Technicians {
		in.techIdx[t.ID] = i
	}
	r := &route{}
	in.okr = make([][]int32, in.m)
	for c := 0; c < in.m; c++ {
		if in.compatOne(int32(c), r) {
			in.active = append(in.active, int32(c))
		}
		in.okr[c] = in.okList(int32(c))
	}
}

// okList lists the vehicles visit c may go on, by okv.
func (in *inst) okList(c int32) []int32 {
	var l []int32
	for v := range in.veh {
		if in.ok(c, int32(v)) {
			l = append(l, int32(v))
		}
	}
	return l
}

// legsHome fills homeLegs.
func (in *inst) legsHome() {
	in.homeLegs = make([][]float64, in.m)
	for _, c := range in.active {
		cl := int(in.nodes[c].loc)
		hl := make([]float64, 0, 2*len(in.okr[c]))
		for _, v := range in.okr[c] {
			ve := &in.veh[v]
			hl = append(hl, in.dist[int(in.nodes[ve.start].loc)*in.L+cl], in.dist[cl*in.L+int(in.nodes[ve.end].loc)])
		}
		in.homeLegs[c] = hl
	}
}

// compatOne sets visit c's row of okv and its reason; it reports whether c
// can be routed at all.
func (in *inst) compatOne(c int32, r *route) bool {
	v := in.p.Visits[c]
	row := in.okv[int(c)*in.words : int(c+1)*in.words]
	clear(row)
	need, known := skillMask(in.skillIdx, v.Skills, false)
	pin := -1
	if v.Pin != nil && v.Pin.Technician != "" {
		ti, ok := in.techIdx[v.Pin.Technician]
		if !ok || !known || in.tmask[ti]&need != need {
			in.reason[c] = int8(BadPin)
			return false
		}
		pin = ti
	}
	skilled, shifted, capOK, reach := false, false, false, false
	n := &in.nodes[c]
	for vi := range in.veh {
		ve := &in.veh[vi]
		if !known || !in.tok[ve.tech] || in.tmask[ve.tech]&need != need || (pin >= 0 && ve.tech != pin) {
			continue
		}
		skilled = true
		sa, sb := in.nodes[ve.start].a0, in.nodes[ve.start].b0
		if latest(n, sb) < sa-eps || earliest(n, sa) > sb+eps {
			continue
		}
		shifted = true
		if n.dem > ve.cap {
			continue
		}
		capOK = true
		if !n.start && !r.alone(in, int32(vi), c) {
			continue
		}
		reach = true
		row[vi>>6] |= 1 << (uint(vi) & 63)
	}
	switch {
	case !skilled:
		in.reason[c] = int8(NoSkill)
	case !shifted:
		in.reason[c] = int8(NoShift)
	case !capOK:
		in.reason[c] = int8(OverCapacity)
	case !reach:
		in.reason[c] = int8(WindowUnreachable)
	default:
		in.reason[c] = -1
		return true
	}
	return false
}

// neighbors sorts, for every visit, the other routable visits by distance
// (both directions), for the string removals.
func (in *inst) neighbors() {
	in.nb = make([][]int32, in.m)
	const maxNb = 100
	// The keys are worked out once per pair, not at every comparison (the
	// sort made about 20 of them per pair on a 400-visit day), and sorted
	// with their visits: by distance, then by visit, a total order.
	type keyed struct {
		k float64
		d int32
	}
	lst := make([]keyed, 0, len(in.active))
	for _, c := range in.active {
		lst = lst[:0]
		for _, d := range in.active {
			if d != c {
				lst = append(lst, keyed{in.dist[int(c)*in.L+int(d)] + in.dist[int(d)*in.L+int(c)], d})
			}
		}
		slices.SortFunc(lst, func(a, b keyed) int {
			if a.k != b.k {
				if a.k < b.k {
					return -1
				}
				return 1
			}
			return cmp.Compare(a.d, b.d)
		})
		// Its own list, no longer than it keeps: a cached day plan keeps
		// its lists for as long as it is cached.
		nb := make([]int32, min(len(lst), maxNb))
		for i := range nb {
			nb[i] = lst[i].d
		}
		in.nb[c] = nb
	}
}
