// Package planning is the bridge between the stored state of dispatch (technicians, their
// shifts and exceptions, visits and their places in the plan) and the solver in schedule:
// it builds a schedule.Problem for a business day, turns a schedule.Plan back into the
// technician, order and times stored on each visit, and compares two plans to find the
// customers whose window or technician changed.
//
// It reads no clock and touches no database: callers pass the state and the time.
package planning

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/sla"
	"despacho/schedule"
)

// Config is how days are cut and travelled.
type Config struct {
	// Zone is the business time zone; nil means America/Mexico_City (UTC if unknown).
	Zone *time.Location
	// Hours are the business hours windows are offered in; zero means 08:00–18:00.
	Hours schedule.Hours
	// Travel is the travel model; nil means schedule.Haversine{} (30 km/h).
	Travel schedule.Travel
	// SlotWidth is the width of offered arrival windows; 0 means 2 h.
	SlotWidth time.Duration
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Zone == nil {
		z, err := time.LoadLocation("America/Mexico_City")
		if err != nil {
			z = time.UTC
		}
		c.Zone = z
	}
	if c.Hours.Close <= c.Hours.Open {
		c.Hours = schedule.Hours{Open: 8 * time.Hour, Close: 18 * time.Hour}
	}
	if c.Travel == nil {
		c.Travel = schedule.Haversine{}
	}
	if c.SlotWidth <= 0 {
		c.SlotWidth = 2 * time.Hour
	}
	return c
}

// Day returns the local midnight of t's business day.
func (c Config) Day(t time.Time) time.Time {
	l := t.In(c.Zone)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, c.Zone)
}

// ParseDay reads YYYY-MM-DD as a business day in the years the business calendar covers
// (sla.MinExceptionYear to MaxExceptionYear); field names it in errors. Year 0000, which Go
// reads, is 1 BC to PostgreSQL and was refused by it (a 500); days far from any plan are
// typing mistakes.
func (c Config) ParseDay(field, s string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, s, c.Zone)
	if err != nil {
		return time.Time{}, dispatch.Invalid(field, "must be a date YYYY-MM-DD")
	}
	if y := d.Year(); y < sla.MinExceptionYear || y > sla.MaxExceptionYear {
		return time.Time{}, dispatch.Invalid(field, "must be a date YYYY-MM-DD from %d to %d", sla.MinExceptionYear, sla.MaxExceptionYear)
	}
	return d, nil
}

// NextDay returns the midnight after day (days are not always 24 h long where DST applies).
func (c Config) NextDay(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, c.Zone)
}

// CheckWindow applies the rules for a window offered to or chosen by a customer: not in the
// past, inside business hours of one day, and not shorter than the visit.
func (c Config) CheckWindow(w dispatch.Span, visit time.Duration, now time.Time) error {
	if w.Start.IsZero() || w.End.IsZero() {
		return dispatch.Invalid("start", "start and end are required (RFC 3339)")
	}
	if !w.End.After(w.Start) {
		return dispatch.Invalid("end", "must be after start")
	}
	if w.Start.Before(now) {
		return dispatch.Invalid("start", "is in the past")
	}
	if w.End.Sub(w.Start) < visit {
		return dispatch.Invalid("end", "the window is shorter than the visit (%d min)", int(visit/time.Minute))
	}
	day := c.Day(w.Start)
	if w.Start.Before(day.Add(c.Hours.Open)) || w.End.After(day.Add(c.Hours.Close)) {
		return dispatch.Invalid("start", "the window must lie within business hours (%s–%s)", clock(c.Hours.Open), clock(c.Hours.Close))
	}
	return nil
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// State is what a day's plan is built from: the technicians (inactive ones are left out),
// their exceptions overlapping the day, and the visits that hold a place in the day —
// planned ones and those holding an offered window.
type State struct {
	Technicians []*dispatch.Technician
	Exceptions  []dispatch.Exception
	Visits      []*dispatch.Visit
	// Done counts, per technician, the visits of the day he has already finished
	// (completed or not): they are not planned, but hold the first places of his route, so
	// the positions of a plan come after them. It does not change the plan itself, so
	// Fingerprint leaves it out (a visit finishing leaves Visits anyway).
	Done map[int64]int
}

// TechID and VisitID name technicians and visits in a schedule.Problem.
func TechID(id int64) string  { return "t" + strconv.FormatInt(id, 10) }
func VisitID(id int64) string { return "v" + strconv.FormatInt(id, 10) }

// ParseID reads back an id made by TechID or VisitID.
func ParseID(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimLeft(s, "tv"), 10, 64)
	return n
}

// Shifts returns the working spans of t on day: his weekly shifts of that weekday minus the
// exceptions. A break is kept where it still fits in a piece.
func (c Config) Shifts(t *dispatch.Technician, exc []dispatch.Exception, day time.Time) []schedule.Shift {
	if !t.Active {
		return nil
	}
	// A clock time is read on the wall of that day: midnight plus the offset is another hour
	// on a day the clocks change, where the zone keeps DST (see NextDay).
	at := func(d time.Duration) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, day.Location())
	}
	var out []schedule.Shift
	for _, ws := range t.Shifts {
		if ws.Weekday != int(day.Weekday()) {
			continue
		}
		a, b := ws.Span()
		pieces := []dispatch.Span{{Start: at(a), End: at(b)}}
		for _, e := range exc {
			if e.TechnicianID != t.ID {
				continue
			}
			pieces = subtract(pieces, dispatch.Span{Start: e.Start, End: e.End})
		}
		for _, p := range pieces {
			sh := schedule.Shift{Start: p.Start, End: p.End}
			if br := ws.Break; br != nil {
				x, _ := dispatch.ParseClock(br.Start)
				y, _ := dispatch.ParseClock(br.End)
				e, l := maxTime(at(x), p.Start), minTime(at(y), p.End)
				d := time.Duration(br.Minutes) * time.Minute
				if l.Sub(e) >= d && p.End.Sub(p.Start) > 2*d {
					sh.Break = &schedule.Break{Earliest: e, Latest: l, Duration: d}
				}
			}
			out = append(out, sh)
		}
	}
	slices.SortFunc(out, func(a, b schedule.Shift) int { return a.Start.Compare(b.Start) })
	return out
}

func subtract(ps []dispatch.Span, x dispatch.Span) []dispatch.Span {
	var out []dispatch.Span
	for _, p := range ps {
		if !x.Start.Before(p.End) || !x.End.After(p.Start) {
			out = append(out, p)
			continue
		}
		if x.Start.After(p.Start) {
			out = append(out, dispatch.Span{Start: p.Start, End: x.Start})
		}
		if x.End.Before(p.End) {
			out = append(out, dispatch.Span{Start: x.End, End: p.End})
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Problem builds the routing problem of the days [first, first+days) from st. Only what a
// re-plan must not move is pinned: visits under way (started, first on their route) and
// visits a dispatcher pinned (their technician and order). Promised windows are the
// visits' only windows, so every plan keeps them; a held window counts like a promise.
func (c Config) Problem(st State, first time.Time, days int, now time.Time) *schedule.Problem {
	p := &schedule.Problem{Travel: c.Travel, Zone: c.Zone, Hours: c.Hours}
	for _, t := range st.Technicians {
		if !t.Active {
			continue
		}
		home := schedule.Location{Lat: t.Home.Lat, Lon: t.Home.Lon}
		tech := schedule.Technician{ID: TechID(t.ID), Start: home, End: home, Skills: t.Skills}
		for d, day := 0, first; d < days; d, day = d+1, c.NextDay(day) {
			tech.Shifts = append(tech.Shifts, c.Shifts(t, st.Exceptions, day)...)
		}
		p.Technicians = append(p.Technicians, tech)
	}
	// Planned visits in route order, so that pinned ones keep the stored order.
	vs := slices.Clone(st.Visits)
	slices.SortStableFunc(vs, func(a, b *dispatch.Visit) int {
		if x := cmp.Compare(a.TechnicianID, b.TechnicianID); x != 0 {
			return x
		}
		return a.PlannedStart.Compare(b.PlannedStart)
	})
	pos := map[int64]int{}
	for _, v := range vs {
		sv := c.Visit(v)
		switch {
		case v.Status.Planned() && v.TechnicianID != 0:
			pos[v.TechnicianID]++
			if v.Status.Started() {
				sv.Pin = &schedule.Pin{Technician: TechID(v.TechnicianID), Position: pos[v.TechnicianID]}
				sv.Started = true
				sv.Windows = nil
			} else if v.Pinned {
				sv.Pin = &schedule.Pin{Technician: TechID(v.TechnicianID), Position: pos[v.TechnicianID]}
			}
		case v.Status.Planned() && v.Window != nil:
			// Booked but off every route (unassigned by a dispatcher): free, window kept.
		case v.HeldAt(now):
			sv.Windows = []schedule.Window{{Start: v.Hold.Start, End: v.Hold.End}}
		default:
			continue
		}
		p.Visits = append(p.Visits, sv)
	}
	return p
}

// Visit returns v as a schedule visit with its promised window (if any) as its only window.
func (c Config) Visit(v *dispatch.Visit) schedule.Visit {
	sv := schedule.Visit{
		ID:       VisitID(v.ID),
		Location: schedule.Location{Lat: v.Lat, Lon: v.Lon},
		Service:  v.Duration(),
		Skills:   v.Skills,
		Priority: v.Priority,
	}
	if v.Window != nil {
		sv.Windows = []schedule.Window{{Start: v.Window.Start, End: v.Window.End}}
	}
	for _, a := range v.Availability {
		sv.Availability = append(sv.Availability, schedule.Window{Start: a.Start, End: a.End})
	}
	return sv
}

// Stored returns the stored routes of st's visits on the shifts of p (built by Problem from
// the same state): per technician shift, the planned visits in order of planned start.
// A visit whose planned start lies in no shift of its technician goes to his next shift if
// its promised window ends after that shift starts; otherwise it is left out.
func Stored(p *schedule.Problem, st State) []schedule.Assignment {
	type key struct {
		tech  string
		shift int
	}
	in := map[string]bool{}
	for _, v := range p.Visits {
		in[v.ID] = true
	}
	techs := map[string]*schedule.Technician{}
	for i := range p.Technicians {
		techs[p.Technicians[i].ID] = &p.Technicians[i]
	}
	vs := slices.Clone(st.Visits)
	slices.SortStableFunc(vs, func(a, b *dispatch.Visit) int { return a.PlannedStart.Compare(b.PlannedStart) })
	routes := map[key]*schedule.Assignment{}
	var order []key
	for _, v := range vs {
		if v.TechnicianID == 0 || !v.Status.Planned() || v.PlannedStart.IsZero() || !in[VisitID(v.ID)] {
			continue
		}
		t := techs[TechID(v.TechnicianID)]
		if t == nil {
			continue
		}
		si := slices.IndexFunc(t.Shifts, func(sh schedule.Shift) bool {
			return !v.PlannedStart.Before(sh.Start) && !v.PlannedStart.After(sh.End)
		})
		if si < 0 {
			// Planned before a shift that now starts later (a re-plan starts the day at
			// now, and the technician is behind): the visit waits for that shift.
			// Only while its promised window can still be met there.
			si = slices.IndexFunc(t.Shifts, func(sh schedule.Shift) bool {
				return v.PlannedStart.Before(sh.Start) && (v.Window == nil || v.Window.End.After(sh.Start))
			})
		}
		if si < 0 {
			continue
		}
		k := key{t.ID, si}
		if routes[k] == nil {
			routes[k] = &schedule.Assignment{Technician: t.ID, Shift: si}
			order = append(order, k)
		}
		routes[k].Visits = append(routes[k].Visits, VisitID(v.ID))
	}
	out := make([]schedule.Assignment, 0, len(order))
	for _, k := range order {
		out = append(out, *routes[k])
	}
	return out
}

// Current times the stored plan of st (see Stored) on problem p. When the stored routes
// cannot be kept as they stand (a technician lost his shift, a visit ran long), it falls
// back to placing the visits afresh, each keeping its promised window; visits that fit
// nowhere are the plan's Unassigned.
func Current(ctx context.Context, p *schedule.Problem, st State) (*schedule.Plan, error) {
	// Visits on no stored route (holds, booked visits a dispatcher took off a route) are
	// inserted after the stored routes are timed, most important first.
	as := Stored(p, st)
	routed := map[string]bool{}
	for _, a := range as {
		for _, id := range a.Visits {
			routed[id] = true
		}
	}
	q := *p
	q.Visits = nil
	var loose []schedule.Visit
	for _, v := range p.Visits {
		if routed[v.ID] || v.Pin != nil {
			q.Visits = append(q.Visits, v)
		} else {
			loose = append(loose, v)
		}
	}
	plan, err := schedule.NewPlan(&q, as)
	if err == nil {
		slices.SortStableFunc(loose, func(a, b schedule.Visit) int { return b.Priority - a.Priority })
		for _, v := range loose {
			next, err := schedule.Insert(plan, v)
			if err == nil {
				plan = next
			} else if !errors.Is(err, schedule.ErrNoInsertion) {
				return nil, err
			}
		}
		return plan, nil
	}
	if !errors.Is(err, schedule.ErrPinned) {
		return nil, err
	}
	// Keep as much as can be kept: first each visit pinned to its technician in order,
	// then only the dispatcher's pins, then nothing pinned but what is under way.
	opt := schedule.Options{Work: 1, Threads: 1, Seed: 1}
	q = *p
	q.Visits = slices.Clone(p.Visits)
	pos := map[string]int{}
	for _, a := range Stored(p, st) {
		for _, id := range a.Visits {
			pos[id] = len(pos) + 1
			for i := range q.Visits {
				if q.Visits[i].ID == id && q.Visits[i].Pin == nil {
					q.Visits[i].Pin = &schedule.Pin{Technician: a.Technician, Position: pos[id]}
				}
			}
		}
	}
	plan, err = schedule.Solve(ctx, &q, opt)
	if err == nil && len(plan.Unassigned) > 0 {
		// A visit its stored technician can no longer do (he is late, his shift shrank) is
		// left out rather than refused: free it for anyone who can keep its window.
		out := map[string]bool{}
		for _, u := range plan.Unassigned {
			out[u.ID] = true
		}
		freed := false
		for i, v := range q.Visits {
			if out[v.ID] && v.Pin != nil && !v.Started && p.Visits[i].Pin == nil {
				q.Visits[i].Pin, freed = nil, true
			}
		}
		if freed {
			plan, err = schedule.Solve(ctx, &q, opt)
		}
	}
	if errors.Is(err, schedule.ErrPinned) {
		// The stored order cannot be kept (a visit ran long, a technician is late): plan
		// afresh, but what a dispatcher pinned stays with its technician and in its order,
		// as in every re-plan; another visit of his may go to someone else instead.
		q.Visits = slices.Clone(p.Visits)
		plan, err = schedule.Solve(ctx, &q, opt)
	}
	if errors.Is(err, schedule.ErrPinned) {
		// Not even the pinned visits can be kept as pinned: only what is under way stays.
		q.Visits = slices.Clone(p.Visits)
		for i := range q.Visits {
			if !q.Visits[i].Started {
				q.Visits[i].Pin = nil
			}
		}
		plan, err = schedule.Solve(ctx, &q, opt)
	}
	return plan, err
}

// Assignment is a visit's place in a plan.
type Assignment struct {
	TechnicianID int64
	Day          time.Time
	Position     int // 1-based within the technician's day
	Arrival      time.Time
	Start, End   time.Time
}

// Assignments reads each assigned visit's place out of plan; visits left out are absent.
func (c Config) Assignments(plan *schedule.Plan) map[int64]Assignment {
	out := map[int64]Assignment{}
	type key struct {
		tech int64
		day  time.Time
	}
	next := map[key]int{}
	p := plan.Problem()
	for _, r := range plan.Routes {
		tid := ParseID(r.Technician)
		for _, s := range r.Stops {
			if s.Visit < 0 {
				continue
			}
			day := c.Day(s.Start)
			k := key{tid, day}
			next[k]++
			out[ParseID(s.ID)] = Assignment{
				TechnicianID: tid, Day: day, Position: next[k],
				// The customer is told when the technician rings: the start of service, not
				// an early arrival spent waiting in the van.
				Arrival: s.Start, Start: s.Start, End: s.Start.Add(p.Visits[s.Visit].Service),
			}
		}
	}
	return out
}

// Unassigned returns the ids of the visits plan leaves out, with why.
func Unassigned(plan *schedule.Plan) map[int64]schedule.Reason {
	out := map[int64]schedule.Reason{}
	for _, u := range plan.Unassigned {
		out[ParseID(u.ID)] = u.Reason
	}
	return out
}

// Change is a visit whose technician changed between two plans (windows never change in a
// re-plan: they are promises).
type Change struct {
	VisitID       int64
	From, To      int64 // technician ids; 0 = none
	Before, After Assignment
}

// Diff lists, by visit id, the visits whose technician differs between before and after,
// and counts the visits whose technician or position changed (moved).
func Diff(before, after map[int64]Assignment) (changes []Change, moved int) {
	ids := make([]int64, 0, len(before)+len(after))
	for id := range before {
		ids = append(ids, id)
	}
	for id := range after {
		if _, ok := before[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		b, a := before[id], after[id]
		if b.TechnicianID != a.TechnicianID || b.Position != a.Position || !b.Day.Equal(a.Day) {
			moved++
		}
		if b.TechnicianID != a.TechnicianID {
			changes = append(changes, Change{VisitID: id, From: b.TechnicianID, To: a.TechnicianID, Before: b, After: a})
		}
	}
	return changes, moved
}

// Improve re-optimises cur (see schedule.Reoptimize): started and pinned visits stay,
// every promised window holds, and the result is never worse than cur.
//
// told is, by visit id, the technician its customer has been texted as his (nil: none
// kept, as for a dispatcher's explicit optimisation, where any visit not pinned nor under
// way may move). Each of those visits that cur still gives to that technician stays with
// him, its place in his day free to change: the periodic re-plan moves a customer's visit
// to another technician only when needed — the one he was told can no longer do it (cur,
// timed as stored, already lost it), or keeping him leaves a visit out, in which case a
// search free of those pins runs as well and its plan is taken if it places more (a
// promise comes before the churn).
func Improve(ctx context.Context, cur *schedule.Plan, opt schedule.Options, told map[int64]int64) (*schedule.Plan, error) {
	base, kept := keepTold(cur, told)
	if !kept {
		return schedule.Reoptimize(ctx, cur, opt)
	}
	best, err := schedule.Reoptimize(ctx, base, opt)
	if err != nil || len(best.Unassigned) == 0 {
		return best, err
	}
	free, err := schedule.Reoptimize(ctx, cur, opt)
	if err != nil {
		return nil, err
	}
	if free.Weight > best.Weight {
		return free, nil
	}
	return best, nil
}

// Fingerprint sums up, as of now, everything of st that decides the plan Current builds:
// the technicians (id, version, active), the exceptions, and the visits' ids, statuses,
// technicians, positions, pins, promised windows and live holds. Two states with the same
// fingerprint give the same plan, so a plan can be reused while the fingerprint holds.
func Fingerprint(st State, now time.Time) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(xs ...int64) {
		for _, x := range xs {
			binary.LittleEndian.PutUint64(b[:], uint64(x))
			h.Write(b[:])
		}
	}
	micro := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMicro()
	}
	put(int64(len(st.Technicians)))
	for _, t := range st.Technicians {
		put(t.ID, int64(t.Version), boolInt(t.Active))
	}
	put(int64(len(st.Exceptions)))
	for _, e := range st.Exceptions {
		put(e.ID, micro(e.Start), micro(e.End))
	}
	vs := slices.Clone(st.Visits)
	slices.SortFunc(vs, func(a, b *dispatch.Visit) int { return cmp.Compare(a.ID, b.ID) })
	put(int64(len(vs)))
	for _, v := range vs {
		h.Write([]byte(v.Status))
		put(v.ID, v.TechnicianID, int64(v.RoutePosition), boolInt(v.Pinned),
			int64(v.DurationMin), int64(v.Priority))
		if v.Window != nil {
			put(micro(v.Window.Start), micro(v.Window.End))
		}
		if v.HeldAt(now) {
			put(micro(v.Hold.Start), micro(v.Hold.End))
		}
	}
	return h.Sum64()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
