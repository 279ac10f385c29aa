package schedule_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"despacho/schedule"
)

// zone is Mexico City's standard time; fixed so tests need no tzdata.
var zone = time.FixedZone("CST", -6*3600)

var day0 = time.Date(2026, 11, 26, 0, 0, 0, 0, zone)

func hm(day int, h float64) time.Time {
	return day0.AddDate(0, 0, day).Add(time.Duration(h * float64(time.Hour)))
}

var allSkills = []string{"fiber", "wireless", "install", "copper"}

// town generates a realistic service day (or days): technicians with
// 08:00–17:00 or 09:00–18:00 shifts and a 30 min lunch within 13:00–15:00,
// home bases around a town of radius ~8 km, visits with 2 h windows,
// 20–60 min of work, one required skill and a priority.
func town(seed uint64, techs, visits, days int) *schedule.Problem {
	rng := rand.New(rand.NewPCG(seed, 99))
	pt := func(id int) schedule.Location {
		return schedule.Location{ID: id, Lat: 19.43 + (rng.Float64()-0.5)*0.15, Lon: -99.13 + (rng.Float64()-0.5)*0.15}
	}
	p := &schedule.Problem{
		Travel: schedule.Haversine{Speed: 25 / 3.6, Overhead: 3 * time.Minute},
		Zone:   zone,
		Hours:  schedule.Hours{Open: 8 * time.Hour, Close: 18 * time.Hour},
	}
	for i := 0; i < techs; i++ {
		home := pt(0)
		t := schedule.Technician{ID: fmt.Sprintf("T%02d", i), Start: home, End: home}
		perm := rng.Perm(len(allSkills))
		for _, k := range perm[:2+rng.IntN(2)] {
			t.Skills = append(t.Skills, allSkills[k])
		}
		start := 8.0 + float64(rng.IntN(2))
		for d := 0; d < days; d++ {
			t.Shifts = append(t.Shifts, schedule.Shift{
				Start: hm(d, start), End: hm(d, start+9),
				Break: &schedule.Break{Earliest: hm(d, 13), Latest: hm(d, 15), Duration: 30 * time.Minute},
			})
		}
		p.Technicians = append(p.Technicians, t)
	}
	for i := 0; i < visits; i++ {
		d := rng.IntN(days)
		s := 8 + 2*float64(rng.IntN(5))
		p.Visits = append(p.Visits, schedule.Visit{
			ID:       fmt.Sprintf("V%03d", i),
			Location: pt(0),
			Service:  time.Duration(20+rng.IntN(41)) * time.Minute,
			Skills:   []string{allSkills[rng.IntN(len(allSkills))]},
			Priority: rng.IntN(3),
			Windows:  []schedule.Window{{Start: hm(d, s), End: hm(d, s+2)}},
		})
	}
	return p
}

// legTime drives a leg independently of the solver: free-flow seconds from
// Travel, slowed by Congestion integrated in one-second steps.
func legTime(p *schedule.Problem, a, b schedule.Location, depart time.Time) time.Duration {
	tr := p.Travel
	if tr == nil {
		tr = schedule.Haversine{}
	}
	s, _ := tr.Leg(a, b)
	if p.Congestion == nil || s == 0 {
		return time.Duration(s * float64(time.Second))
	}
	z := p.Zone
	if z == nil {
		z = time.UTC
	}
	left, t := s, 0.0
	for left > 0 {
		now := depart.Add(time.Duration(t * float64(time.Second))).In(z)
		f := p.Congestion.Factor[now.Hour()]
		if f <= 0 {
			f = 1
		}
		hourEnd := time.Date(now.Year(), now.Month(), now.Day(), now.Hour(), 0, 0, 0, z).Add(time.Hour)
		step := math.Min(math.Min(1, left*f), hourEnd.Sub(now).Seconds()+1e-9)
		left -= step / f
		t += step
	}
	return time.Duration(t * float64(time.Second))
}

// verify checks a plan against its problem without the solver's code: every
// visit once (routed or unassigned), skills and pins, shift bounds, windows,
// travel times, breaks in their window and not overlapping work, capacity.
func verify(tb testing.TB, p *schedule.Problem, pl *schedule.Plan) {
	tb.Helper()
	const slack = 2 * time.Millisecond
	seen := map[int]bool{}
	techs := map[string]schedule.Technician{}
	for _, t := range p.Technicians {
		techs[t.ID] = t
	}
	for _, r := range pl.Routes {
		t, ok := techs[r.Technician]
		if !ok || r.Shift >= len(t.Shifts) {
			tb.Fatalf("route of unknown technician %q shift %d", r.Technician, r.Shift)
		}
		sh := t.Shifts[r.Shift]
		if r.Depart.Before(sh.Start.Add(-slack)) {
			tb.Errorf("%s: departs %v before shift start %v", r.Technician, r.Depart, sh.Start)
		}
		at, now, load, breaks := t.Start, r.Depart, 0, 0
		for i, s := range r.Stops {
			if s.Visit < 0 {
				breaks++
				b := sh.Break
				if b == nil {
					tb.Fatalf("%s: break stop without a break", r.Technician)
				}
				if s.Start.Before(now.Add(-slack)) || s.Start.Before(b.Earliest.Add(-slack)) || s.Departure.After(b.Latest.Add(slack)) || s.Departure.Sub(s.Start) != b.Duration {
					tb.Errorf("%s: break %v–%v outside %v–%v or overlapping (free from %v)", r.Technician, s.Start, s.Departure, b.Earliest, b.Latest, now)
				}
				now = s.Departure
				continue
			}
			v := p.Visits[s.Visit]
			if seen[s.Visit] {
				tb.Fatalf("visit %s routed twice", v.ID)
			}
			seen[s.Visit] = true
			for _, k := range v.Skills {
				if !slices.Contains(t.Skills, k) {
					tb.Errorf("visit %s needs %s, technician %s lacks it", v.ID, k, t.ID)
				}
			}
			if v.Pin != nil && v.Pin.Technician != t.ID {
				tb.Errorf("visit %s pinned to %s, on %s", v.ID, v.Pin.Technician, t.ID)
			}
			if v.Started && i != 0 {
				tb.Errorf("started visit %s is stop %d of %s", v.ID, i, t.ID)
			}
			arr := now.Add(legTime(p, at, v.Location, now))
			if d := s.Arrival.Sub(arr); d > slack || d < -slack {
				tb.Errorf("visit %s: arrival %v, independent %v", v.ID, s.Arrival, arr)
			}
			if s.Start.Before(arr.Add(-slack)) {
				tb.Errorf("visit %s starts %v before arriving %v", v.ID, s.Start, arr)
			}
			if len(v.Windows) > 0 {
				in := false
				for _, w := range v.Windows {
					in = in || (!s.Start.Before(w.Start.Add(-slack)) && !s.Start.After(w.End.Add(slack)))
				}
				if !in {
					tb.Errorf("visit %s starts %v outside its windows %v", v.ID, s.Start, v.Windows)
				}
			}
			if d := s.Departure.Sub(s.Start) - v.Service; d > slack || d < -slack {
				tb.Errorf("visit %s: served %v, want %v", v.ID, s.Departure.Sub(s.Start), v.Service)
			}
			load += v.Demand
			now, at = s.Departure, v.Location
		}
		if sh.Break != nil && breaks != 1 {
			tb.Errorf("%s: %d breaks, want 1", t.ID, breaks)
		}
		back := now.Add(legTime(p, at, t.End, now))
		if back.After(sh.End.Add(slack)) {
			tb.Errorf("%s: back %v after shift end %v", t.ID, back, sh.End)
		}
		if t.Capacity > 0 && load > t.Capacity {
			tb.Errorf("%s: load %d over %d", t.ID, load, t.Capacity)
		}
	}
	for _, u := range pl.Unassigned {
		if seen[u.Visit] {
			tb.Fatalf("visit %d both routed and unassigned", u.Visit)
		}
		seen[u.Visit] = true
	}
	if len(seen) != len(p.Visits) {
		tb.Fatalf("%d of %d visits accounted for", len(seen), len(p.Visits))
	}
}

// sequences returns, per technician shift, the visit IDs in order.
func sequences(pl *schedule.Plan) map[string][]string {
	out := map[string][]string{}
	for _, r := range pl.Routes {
		k := fmt.Sprintf("%s/%d", r.Technician, r.Shift)
		for _, s := range r.Stops {
			if s.Visit >= 0 {
				out[k] = append(out[k], s.ID)
			}
		}
	}
	return out
}
