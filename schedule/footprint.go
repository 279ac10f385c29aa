package schedule

// Footprint estimates the bytes of memory the plan keeps alive: its compiled travel tables
// (which grow with the square of its visits and distinct home bases), the neighbour lists
// of the search, its nodes and routes. A cache of plans bounds itself by it.
func (p *Plan) Footprint() int64 {
	if p == nil {
		return 0
	}
	var n int64
	for _, s := range p.seqs {
		n += 4 * int64(cap(s))
	}
	for _, r := range p.Routes {
		n += 128 * int64(len(r.Stops)+1)
	}
	in := p.in
	if in == nil {
		return n
	}
	n += 8 * int64(cap(in.dist)+cap(in.dur))
	if !in.travelSymmetric() {
		n += 8 * int64(cap(in.distIn)+cap(in.durIn))
	}
	for _, l := range in.nb {
		n += 4 * int64(cap(l))
	}
	n += 96 * int64(len(in.nodes)+len(in.locs))
	n += 8 * int64(cap(in.okv)+cap(in.tmask))
	for c, l := range in.okr {
		n += 4 * int64(cap(l))
		if c < len(in.homeLegs) {
			n += 8 * int64(cap(in.homeLegs[c]))
		}
	}
	if e := in.ext; e != nil {
		for _, t := range [][][]float64{e.toDist, e.toDur, e.fromDist, e.fromDur} {
			for _, r := range t {
				n += 8 * int64(cap(r))
			}
		}
	}
	return n
}
