package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// planLockSpace is the first key of the transaction advisory locks that serialise changes
// to one business day's plan; the second is hashtext of the day.
const planLockSpace = 7413309

// Lock order. Transactions that change visits take their locks in one order, so that two of
// them never wait on each other (a deadlock, which PostgreSQL breaks after a second by
// failing one): the technicians' lock (exclusive for a change to what a technician can do,
// see lockTechnicians; shared, with the first day, for a change to a plan), a technician's
// row (position, profile), then the locks of the business days they touch, earliest first,
// then visit rows. A change to one visit therefore reads it
// unlocked, locks its days and only then locks its row (lockVisit). Some changes cannot know
// their days first (an incident holds the visits of its reports, whatever their days, after
// locking the reports); these and every change above run under RunInTxRetry, which reruns
// the transaction PostgreSQL picks to break a deadlock.

// lockDay serialises, until tx ends, every change to the plan of day. Taking it again in
// the same transaction is free.
func (s *Visits) lockDay(ctx context.Context, tx bun.Tx, day time.Time) error {
	return lockDayKey(ctx, tx, day.Format(time.DateOnly), false)
}

// lockDayShared takes the lock of day shared, until tx ends: for changes that follow the
// day's plan without changing it (ETAs), which may run together but not while the plan is
// being changed.
func (s *Visits) lockDayShared(ctx context.Context, tx bun.Tx, day time.Time) error {
	return lockDayKey(ctx, tx, day.Format(time.DateOnly), true)
}

// lockDayKey takes the lock of the day YYYY-MM-DD, exclusive or shared, until tx ends. An
// exclusive one, which a change to the plan takes, comes after the technicians' lock taken
// shared (see lockTechnicians), in the same statement: a change re-entering it is free.
func lockDayKey(ctx context.Context, tx bun.Tx, day string, shared bool) error {
	q := "SELECT pg_advisory_xact_lock_shared(?, 0), pg_advisory_xact_lock(?, hashtext(?))"
	args := []any{techLockSpace, planLockSpace, day}
	if shared {
		q, args = "SELECT pg_advisory_xact_lock_shared(?, hashtext(?))", args[1:]
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return Wrap(err)
}

// techLockSpace is the first key of the technicians' lock (the second is 0); see
// lockTechnicians.
const techLockSpace = planLockSpace + 1

// lockTechnicians takes, until tx ends, the technicians' lock exclusive: for a change to what
// a technician can do (active, shifts, skills, home, time off) and its re-plan of the days
// holding his visits. Every change to a plan takes it shared before its first day
// (lockDayKey), so the change waits for those under way and those after it wait for it.
// Without it a booking that had read him still active, and committed after the change had
// listed his days but before it committed, left its visit with a technician no longer
// working that day: nothing re-planned it.
func lockTechnicians(ctx context.Context, tx bun.Tx) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, 0)", techLockSpace)
	return Wrap(err)
}

// lockVisit locks visit id for the transaction after the days it belongs to (see Lock
// order), and the days also: its window's, hold's and plan's days, and any in also (where
// the change will put it).
func (s *Visits) lockVisit(ctx context.Context, tx bun.Tx, id int64, also ...time.Time) (*dispatch.Visit, error) {
	v, err := getVisit(ctx, tx, id, false)
	if err != nil {
		return nil, err
	}
	locked := map[string]bool{}
	lock := func(v *dispatch.Visit) error {
		days := slices.Clone(also)
		if v.Window != nil {
			days = append(days, v.Window.Start)
		}
		if v.Hold != nil {
			days = append(days, v.Hold.Start)
		}
		if !v.PlannedStart.IsZero() {
			days = append(days, v.PlannedStart)
		}
		keys := make([]string, 0, len(days))
		for _, d := range days {
			if k := s.cfg.Day(d).Format(time.DateOnly); !locked[k] {
				keys = append(keys, k)
				locked[k] = true
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := lockDayKey(ctx, tx, k, false); err != nil {
				return err
			}
		}
		return nil
	}
	if err := lock(v); err != nil {
		return nil, err
	}
	if v, err = getVisit(ctx, tx, id, true); err != nil {
		return nil, err
	}
	// Moved to another day between the two reads (rare): that day's lock comes late, out of
	// order; RunInTxRetry answers the deadlock that may follow.
	return v, lock(v)
}

// dayState loads what the plan of day is built from: active technicians, their exceptions
// that day, and the visits holding a place in it (planned, or holding an offered window at
// now), leaving out the visit except.
func (s *Visits) dayState(ctx context.Context, db bun.IDB, day, now time.Time, except int64) (planning.State, error) {
	var st planning.State
	next := s.cfg.NextDay(day)
	techs, err := listTechnicians(ctx, db, true)
	if err != nil {
		return st, err
	}
	exc, err := listExceptions(ctx, db, 0, day, next)
	if err != nil {
		return st, err
	}
	var rows []visitRow
	// Only what planning reads: a day holds hundreds of visits and this runs on every
	// slots and book request.
	err = db.NewSelect().Model(&rows).
		Column("id", "report_id", "status", "duration_min", "skills", "lat", "lon", "priority", "availability",
			"window_start", "window_end", "hold_start", "hold_end", "held_until", "technician_id", "route_position",
			"planned_arrival", "planned_start", "planned_end", "pinned", "eta", "at_risk", "version").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("v.status IN ('booked', 'assigned', 'en_route', 'on_site') AND ((v.window_start >= ? AND v.window_start < ?) OR v.plan_day = ?::date)",
				day, next, day.Format(time.DateOnly)).
				WhereOr("v.status IN ('unscheduled', 'not_completed') AND v.held_until > ? AND v.hold_start >= ? AND v.hold_start < ?", now, day, next)
		}).
		Where("v.id <> ?", except).
		Where("v.held_by_incident_id IS NULL"). // an open incident holds them: not dispatched
		Order("v.id").Scan(ctx)
	if err != nil {
		return st, Wrap(err)
	}
	st.Technicians, st.Exceptions, st.Visits = techs, exc, visitsOf(rows)
	return st, nil
}

// writeState is dayState for a change that writes route positions, inside tx: it also
// counts each technician's finished visits of the day (st.Done), which positions come
// after. Reads (slots) need no such count, so dayState does not pay for it.
func (s *Visits) writeState(ctx context.Context, tx bun.Tx, day, now time.Time, except int64) (planning.State, error) {
	st, err := s.dayState(ctx, tx, day, now, except)
	if err != nil {
		return st, err
	}
	var done []struct {
		TechnicianID int64 `bun:"technician_id"`
		N            int   `bun:"n"`
	}
	err = tx.NewRaw(`SELECT technician_id, count(*) AS n FROM visits
		WHERE plan_day = ?::date AND technician_id IS NOT NULL AND route_position IS NOT NULL
		  AND status IN ('completed', 'not_completed') AND id <> ?
		GROUP BY technician_id`, day.Format(time.DateOnly), except).Scan(ctx, &done)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, Wrap(err)
	}
	st.Done = map[int64]int{}
	for _, d := range done {
		st.Done[d.TechnicianID] = d.N
	}
	return st, nil
}

// afterDone shifts the positions of assignments made from st past each technician's
// finished visits of the day (st.Done), which keep the first places of his route: a plan
// numbers only what is left to do, the database numbers his whole day.
func afterDone(st planning.State, after map[int64]planning.Assignment) {
	for id, a := range after {
		if k := st.Done[a.TechnicianID]; k > 0 {
			a.Position += k
			after[id] = a
		}
	}
}

// currentPlan returns the plan of st on day, reusing the cached one when the state has not
// changed since it was built.
func (s *Visits) currentPlan(ctx context.Context, st planning.State, day, now time.Time) (*schedule.Plan, error) {
	key := day.Format(time.DateOnly)
	fp := planning.Fingerprint(st, now)
	if plan, ok := s.cached(key, fp); ok {
		return plan, nil
	}
	plan, err := planning.Current(ctx, s.cfg.Problem(st, day, 1, now), st)
	if err != nil {
		return nil, err
	}
	s.remember(key, fp, plan)
	return plan, nil
}

// basePlan returns the plan of st on day that an offer or a placement starts from. A day
// that has begun is planned from now, as a re-plan is (see replanBase): a technician is not
// free before now, nor while he finishes a visit under way, whatever the morning's plan
// said. Both are cached; a plan from now serves the rest of the minute it was built in
// while the state holds (see fingerprint), so that today is not timed afresh on every
// request: a minute's lag only makes it see a technician free a little early, never a
// window before now (windows offered and booked start at now or later).
func (s *Visits) basePlan(ctx context.Context, st planning.State, day, now time.Time) (*schedule.Plan, error) {
	if now.Before(day) {
		return s.currentPlan(ctx, st, day, now)
	}
	key, fp := day.Format(time.DateOnly), s.fingerprint(st, day, now)
	if plan, ok := s.cached(key, fp); ok {
		return plan, nil
	}
	plan, err := planning.Current(ctx, s.cfg.Replan(st, day, now), st)
	if err != nil {
		return nil, err
	}
	s.remember(key, fp, plan)
	return plan, nil
}

// fingerprint keys the cached plan of st on day as basePlan builds it at now: the state's
// fingerprint, and for a day that has begun the minute of now as well.
func (s *Visits) fingerprint(st planning.State, day, now time.Time) uint64 {
	fp := planning.Fingerprint(st, now)
	if now.Before(day) {
		return fp
	}
	return fp ^ (uint64(now.Unix()/60)+1)*0x9e3779b97f4a7c15
}

// cached returns the plan cached for day key when it was built from a state with
// fingerprint fp, and marks it used.
func (s *Visits) cached(key string, fp uint64) (*schedule.Plan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.plans[key]
	if !ok || c.fp != fp {
		return nil, false
	}
	s.tick++
	c.used, c.usedAt = s.tick, time.Now()
	s.plans[key] = c
	return c.plan, true
}

// PlanCache reports the day plans cached now and the bytes their footprints add up to (the
// cache is bounded by cachedDays and cachedBytes).
func (s *Visits) PlanCache() (days int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.plans {
		bytes += c.bytes
	}
	return len(s.plans), bytes
}

// planIdle is how long a cached day plan is kept unused: a day nobody books or plans any
// more (yesterday, a quiet day next week) gives its memory back.
const planIdle = 10 * time.Minute

// ForgetIdlePlans drops the cached day plans unused for planIdle; the re-plan job calls it
// on every run, and remember on every new plan.
func (s *Visits) ForgetIdlePlans() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetIdle(time.Now())
}

func (s *Visits) forgetIdle(now time.Time) {
	for k, c := range s.plans {
		if now.Sub(c.usedAt) > planIdle {
			delete(s.plans, k)
		}
	}
}

// cachedDays and cachedBytes bound the plan cache: bookings look a few days ahead (slots
// offer five), and each plan holds its day's travel tables, which grow with the square of
// its visits and homes (71 MiB for a month of busy days in a load run before the day
// bound; 72 MiB for eight busy days of 200 technicians before the byte bound). The day just
// planned is kept whatever its size.
const (
	cachedDays  = 8
	cachedBytes = 48 << 20
)

func (s *Visits) remember(key string, fp uint64, plan *schedule.Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.forgetIdle(now)
	s.tick++
	s.plans[key] = cachedPlan{fp: fp, plan: plan, used: s.tick, usedAt: now, bytes: plan.Footprint()}
	for len(s.plans) > 1 {
		var total int64
		oldest, at := "", uint64(0)
		for k, c := range s.plans {
			total += c.bytes
			if k != key && (oldest == "" || c.used < at) {
				oldest, at = k, c.used
			}
		}
		if len(s.plans) <= cachedDays && total <= cachedBytes {
			break
		}
		// Make room by dropping the day used least recently.
		delete(s.plans, oldest)
	}
}

// rememberPlaced caches the plan a committed placement made, under the fingerprint of the
// state as it now stands in the database (the visit placed, the others' new places).
func (s *Visits) rememberPlaced(v *dispatch.Visit, w dispatch.Span, p *placed, now time.Time) {
	st := p.st
	st.Visits = make([]*dispatch.Visit, 0, len(p.st.Visits)+1)
	for _, o := range p.st.Visits {
		if _, was := p.before[o.ID]; was {
			c := *o
			a := p.after[o.ID]
			c.TechnicianID, c.RoutePosition = a.TechnicianID, a.Position
			st.Visits = append(st.Visits, &c)
			continue
		}
		st.Visits = append(st.Visits, o)
	}
	c := *v
	c.Status, c.Window, c.Hold, c.HeldUntil, c.Pinned = dispatch.VisitBooked, &w, nil, time.Time{}, false
	c.TechnicianID, c.RoutePosition = p.at.TechnicianID, p.at.Position
	st.Visits = append(st.Visits, &c)
	day := s.cfg.Day(w.Start)
	s.remember(day.Format(time.DateOnly), s.fingerprint(st, day, now), p.plan)
}

// replanBase returns the plan of st on day that a re-plan starts from: built with
// planning.Replan, so that no technician is planned before now (nor elsewhere than where he
// is). A day that has not begun reuses the cached current plan.
func (s *Visits) replanBase(ctx context.Context, st planning.State, day, now time.Time) (*schedule.Plan, error) {
	if now.Before(day) {
		return s.currentPlan(ctx, st, day, now)
	}
	return planning.Current(ctx, s.cfg.Replan(st, day, now), st)
}

// behindStarted shifts the positions in a re-plan's assignments (see planning.Replan) past
// the visits under way that it leaves out, so that each technician's route positions stay
// 1, 2, 3… and unchanged places compare equal to the stored ones.
func behindStarted(st planning.State, after map[int64]planning.Assignment) {
	n := map[int64]int{}
	for _, v := range st.Visits {
		if v.Status.Started() && v.TechnicianID != 0 {
			n[v.TechnicianID]++
		}
	}
	if len(n) == 0 {
		return
	}
	for id, a := range after {
		if k := n[a.TechnicianID]; k > 0 {
			a.Position += k
			after[id] = a
		}
	}
}

// stored returns the assignments the state's visits hold in the database.
func (s *Visits) stored(st planning.State) map[int64]planning.Assignment {
	out := map[int64]planning.Assignment{}
	for _, v := range st.Visits {
		if v.TechnicianID == 0 || !v.Status.Planned() || v.PlannedStart.IsZero() {
			continue
		}
		out[v.ID] = planning.Assignment{TechnicianID: v.TechnicianID, Position: v.RoutePosition, Day: s.cfg.Day(v.PlannedStart),
			Arrival: v.PlannedArrival, Start: v.PlannedStart, End: v.PlannedEnd}
	}
	return out
}

// sameAssignment compares at the database's precision (microseconds): the solver's
// nanoseconds would make every stored visit look moved.
func sameAssignment(a, b planning.Assignment) bool {
	eq := func(x, y time.Time) bool { return x.Truncate(time.Microsecond).Equal(y.Truncate(time.Microsecond)) }
	return a.TechnicianID == b.TechnicianID && a.Position == b.Position && eq(a.Arrival, b.Arrival) &&
		eq(a.Start, b.Start) && eq(a.End, b.End)
}

// writeAssignment stores a visit's place in the plan; a change of technician bumps the
// version (a dispatcher looking at the old one must reload).
func writeAssignment(ctx context.Context, tx bun.Tx, id int64, a planning.Assignment) error {
	_, err := tx.NewUpdate().Table("visits").
		Set("version = version + CASE WHEN technician_id IS DISTINCT FROM ? THEN 1 ELSE 0 END", a.TechnicianID).
		Set("technician_id = ?, plan_day = ?::date, route_position = ?", a.TechnicianID, a.Day.Format(time.DateOnly), a.Position).
		Set("planned_arrival = ?, planned_start = ?, planned_end = ?, updated_at = now()", a.Arrival, a.Start, a.End).
		Where("id = ? AND held_by_incident_id IS NULL", id).Exec(ctx) // an incident holding it took it off the routes
	return Wrap(err)
}

// clearAssignment takes a visit out of the plan.
func clearAssignment(ctx context.Context, tx bun.Tx, id int64) error {
	_, err := tx.NewUpdate().Table("visits").
		Set("version = version + CASE WHEN technician_id IS NOT NULL THEN 1 ELSE 0 END").
		Set("technician_id = NULL, plan_day = NULL, route_position = NULL, planned_arrival = NULL, planned_start = NULL, planned_end = NULL, eta = NULL, at_risk = false, updated_at = now()").
		Where("id = ?", id).Exec(ctx)
	return Wrap(err)
}

// writeShifts stores the new places of visits already in the plan (times and positions
// shift when a visit is inserted before them); visits the new plan leaves out keep theirs,
// but for the hour. A plan from now leaves the visits under way where they were and leaves
// out those whose window can no longer be kept, yet times their technician from when he is
// really free; where it gives him the hour such a visit of st still holds (he arrived early,
// or the visit was never started), that visit's planned times give way: a visit under way
// takes the hour it really has (from its ETA), any other is left without planned times. It
// stays his either way: the database refuses two visits of one technician at once, and the
// stale hour would otherwise refuse every change to the day.
//
// Each technician whose visits it re-times or takes away gets one route.changed (his
// technician_id, the visit_ids): those visits' own events, if any, name only the visit
// that moved and its new technician, and his phone shows his day from what he was last
// sent. from names, for visits placed anew and so not in st, the technician each had (0:
// none).
func (s *Visits) writeShifts(ctx context.Context, tx bun.Tx, st planning.State, before, after map[int64]planning.Assignment, from map[int64]int64, now time.Time) (int, error) {
	changed := map[int64][]int64{} // technician → his visits re-timed, taken or given
	touch := func(tech, id int64) {
		if tech != 0 && !slices.Contains(changed[tech], id) {
			changed[tech] = append(changed[tech], id)
		}
	}
	busy := map[int64][]dispatch.Span{}
	for _, a := range after {
		busy[a.TechnicianID] = append(busy[a.TechnicianID], dispatch.Span{Start: a.Start, End: a.End})
	}
	overlaps := func(tech int64, start, end time.Time) bool {
		return slices.ContainsFunc(busy[tech], func(b dispatch.Span) bool { return b.Start.Before(end) && b.End.After(start) })
	}
	var stale []int64
	wrote := 0
	for _, started := range []bool{true, false} { // the visits under way first: the others must give way to their new hours too
		for _, v := range st.Visits {
			if _, in := after[v.ID]; in || v.TechnicianID == 0 || !v.Status.Planned() || v.Status.Started() != started ||
				v.PlannedStart.IsZero() || !overlaps(v.TechnicianID, v.PlannedStart, v.PlannedEnd) {
				continue
			}
			if start, end := v.ETA, v.ETA.Add(v.Duration()); started && !v.ETA.IsZero() && !overlaps(v.TechnicianID, start, end) {
				_, err := tx.NewUpdate().Table("visits").
					Set("planned_arrival = ?, planned_start = ?, planned_end = ?, updated_at = now()", start, start, end).
					Where("id = ?", v.ID).Exec(ctx)
				if err != nil {
					return 0, Wrap(err)
				}
				wrote++
				touch(v.TechnicianID, v.ID)
				busy[v.TechnicianID] = append(busy[v.TechnicianID], dispatch.Span{Start: start, End: end})
				continue
			}
			stale = append(stale, v.ID)
			touch(v.TechnicianID, v.ID)
		}
	}
	if len(stale) > 0 {
		_, err := tx.NewUpdate().Table("visits").
			Set("planned_arrival = NULL, planned_start = NULL, planned_end = NULL, updated_at = now()").
			Where("id IN (?)", bun.In(stale)).Exec(ctx)
		if err != nil {
			return 0, Wrap(err)
		}
		wrote += len(stale)
	}
	ids := make([]int64, 0, len(after))
	for id := range after {
		if b, ok := before[id]; ok && !sameAssignment(b, after[id]) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := writeAssignment(ctx, tx, id, after[id]); err != nil {
			return 0, err
		}
		touch(before[id].TechnicianID, id)
		touch(after[id].TechnicianID, id)
	}
	// A visit given to another technician (an assignment, a move) is announced by its own
	// event to the new one only: the one who had it is told here.
	had := maps.Clone(from)
	for _, v := range st.Visits {
		if _, ok := had[v.ID]; !ok {
			if had == nil {
				had = map[int64]int64{}
			}
			had[v.ID] = v.TechnicianID
		}
	}
	for id, tech := range had {
		if a, ok := after[id]; ok && tech != 0 && tech != a.TechnicianID {
			touch(tech, id)
		}
	}
	techs := slices.Sorted(maps.Keys(changed))
	for _, tech := range techs {
		slices.Sort(changed[tech])
		ev := &dispatch.Event{Type: EventRouteChanged, At: now, Actor: "system", TechnicianID: tech}
		if err := s.events.Append(ctx, tx, ev, map[string]any{"visit_ids": changed[tech]}); err != nil {
			return 0, err
		}
	}
	return wrote + len(ids), nil
}

// EventRouteChanged tells a technician (only his technician_id) that the times or the
// visits of his day changed without an event of their own: see writeShifts.
const EventRouteChanged = "route.changed"

func techNames(st planning.State) map[int64]string {
	out := map[int64]string{}
	for _, t := range st.Technicians {
		out[t.ID] = t.Name
	}
	return out
}

func qualified(st planning.State, skills []string) bool {
	for _, t := range st.Technicians {
		ok := true
		for _, k := range skills {
			ok = ok && slices.Contains(t.Skills, k)
		}
		if ok && len(t.Shifts) > 0 {
			return true
		}
	}
	return false
}

func noSkill(skills []string) error {
	return dispatch.Invalid("skills", "no technician has every skill required (%v)", skills)
}

// width is the width of offered windows for a visit: the configured width, or more for a
// visit longer than that.
func (s *Visits) width(v *dispatch.Visit) time.Duration {
	w := s.cfg.SlotWidth
	for w < v.Duration() {
		w += 30 * time.Minute
	}
	return w
}

// reschedulable reports whether a window may be booked (or changed) for a visit.
func reschedulable(st dispatch.VisitStatus) bool {
	return st.Bookable() || st == dispatch.VisitBooked || st == dispatch.VisitAssigned
}

// Slots returns the windows in which visit id could be booked on the days from day first
// on: only windows the current plan can keep alongside every promise already made, not
// before now.
func (s *Visits) Slots(ctx context.Context, id int64, first time.Time, days int, now time.Time) ([]dispatch.Span, error) {
	if days < 1 || days > 14 {
		return nil, dispatch.Invalid("days", "must be 1 to 14")
	}
	v, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !reschedulable(v.Status) {
		return nil, dispatch.Conflict("illegal_transition", "a %s visit cannot be booked", v.Status)
	}
	if err := plannable(ctx, s.db, v, false); err != nil {
		return nil, err
	}
	sv := s.cfg.Visit(v)
	sv.Windows = nil
	width := s.width(v)
	out := []dispatch.Span{}
	for d, day := 0, first; d < days; d, day = d+1, s.cfg.NextDay(day) {
		if !s.cfg.NextDay(day).After(now) {
			continue
		}
		st, err := s.dayState(ctx, s.db, day, now, v.ID)
		if err != nil {
			return nil, err
		}
		if d == 0 && !qualified(st, v.Skills) {
			return nil, noSkill(v.Skills)
		}
		plan, err := s.basePlan(ctx, st, day, now)
		if err != nil {
			return nil, err
		}
		from := day
		if now.After(from) {
			from = now
		}
		ws, err := schedule.Slots(plan, sv, from, 1, width)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			out = append(out, dispatch.Span{Start: w.Start.UTC(), End: w.End.UTC()})
		}
	}
	return out, nil
}

// placed is the outcome of fitting one visit into a day's plan.
type placed struct {
	st     planning.State
	before map[int64]planning.Assignment
	after  map[int64]planning.Assignment
	at     planning.Assignment
	plan   *schedule.Plan
}

// place fits visit v into day's plan with window w (inside tx, the day locked): every
// promise already made is kept. pin, when not zero, restricts it to one technician;
// force drops the window. An impossible placement is a conflict naming why.
func (s *Visits) place(ctx context.Context, tx bun.Tx, v *dispatch.Visit, w *dispatch.Span, pin int64, force bool, now time.Time) (*placed, error) {
	if err := plannable(ctx, tx, v, true); err != nil {
		return nil, err
	}
	day := s.cfg.Day(w.Start)
	if err := s.lockDay(ctx, tx, day); err != nil {
		return nil, err
	}
	st, err := s.writeState(ctx, tx, day, now, v.ID)
	if err != nil {
		return nil, err
	}
	if !qualified(st, v.Skills) {
		return nil, noSkill(v.Skills)
	}
	plan, err := s.basePlan(ctx, st, day, now)
	if err != nil {
		return nil, err
	}
	sv := s.cfg.Visit(v)
	sv.Windows = []schedule.Window{{Start: w.Start, End: w.End}}
	if force {
		sv.Windows = nil
	}
	if pin != 0 {
		sv.Pin = &schedule.Pin{Technician: planning.TechID(pin)}
	}
	next, err := schedule.Insert(plan, sv)
	if errors.Is(err, schedule.ErrNoInsertion) {
		msg := "the window can no longer be kept: it was taken meanwhile"
		if pin != 0 {
			msg = "the technician cannot take this visit while keeping every promised window and rule"
		}
		return nil, dispatch.Conflict("window_unavailable", "%s (%v)", msg, err)
	}
	if err != nil {
		return nil, err
	}
	after := s.cfg.Assignments(next)
	if !now.Before(day) {
		behindStarted(st, after) // planned from now: the visits under way are not in it
	}
	afterDone(st, after)
	at, ok := after[v.ID]
	if !ok {
		return nil, fmt.Errorf("inserted visit %d missing from the plan", v.ID)
	}
	return &placed{st: st, before: s.stored(st), after: after, at: at, plan: next}, nil
}

// commitPlace writes a placement: the visit's own row and the shifted others. An other
// visit the placement gives to another technician (the day's stored routes could not be
// kept as they stood: time off recorded over them, say) is announced like a re-plan's move.
func (s *Visits) commitPlace(ctx context.Context, tx bun.Tx, v *dispatch.Visit, p *placed, actor *dispatch.User, now time.Time) error {
	if _, err := s.writeShifts(ctx, tx, p.st, p.before, p.after, map[int64]int64{v.ID: v.TechnicianID}, now); err != nil {
		return err
	}
	if err := s.announceMoves(ctx, tx, p.st, p.before, p.after, map[int64]bool{v.ID: true}, actor, now); err != nil {
		return err
	}
	return writeAssignment(ctx, tx, v.ID, p.at)
}

// announceMoves writes one visit.rescheduled for each visit of st with a promised window,
// other than those in skip, that after gives to another technician than before (as
// writeShifts stored it): its customer is told who comes (the text is skipped when the
// window is the one he was told) and every board hears of it.
func (s *Visits) announceMoves(ctx context.Context, tx bun.Tx, st planning.State, before, after map[int64]planning.Assignment,
	skip map[int64]bool, actor *dispatch.User, now time.Time) error {
	names := techNames(st)
	for _, o := range st.Visits {
		b, was := before[o.ID]
		a, is := after[o.ID]
		if !was || !is || skip[o.ID] || o.Window == nil || a.TechnicianID == b.TechnicianID {
			continue
		}
		c := *o
		c.TechnicianID = a.TechnicianID
		if err := s.rescheduled(ctx, tx, &c, names[a.TechnicianID], actor, now); err != nil {
			return err
		}
	}
	return nil
}

// rescheduled writes visit.rescheduled for v, whose promised window stays and whose
// technician is now v.TechnicianID, named name: its customer is told who comes (no text
// when the window is the one he was told, see notify) and every board hears of it.
func (s *Visits) rescheduled(ctx context.Context, tx bun.Tx, v *dispatch.Visit, name string, actor *dispatch.User, now time.Time) error {
	return s.events.Append(ctx, tx, visitEvent(v, "visit.rescheduled", actor, now), map[string]any{
		"window_start": v.Window.Start.UTC(), "window_end": v.Window.End.UTC(), "technician_name": name,
	})
}

// toldTechnician returns the technician that visit v's customer was last told of: the one
// its latest visit.booked or visit.rescheduled named (0 for none), or, when it has neither
// event, its own technician. A change that gives v to anyone else announces him with
// visit.rescheduled: v's own technician is no guide, since a dispatcher's unassign leaves it
// without one while its texts, its pending reminder among them, still name the old one.
func toldTechnician(ctx context.Context, tx bun.Tx, v *dispatch.Visit) (int64, error) {
	var ids []int64
	err := tx.NewRaw(`SELECT coalesce(technician_id, 0) FROM events
		WHERE visit_id = ? AND type IN ('visit.booked', 'visit.rescheduled') ORDER BY id DESC LIMIT 1`, v.ID).Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, Wrap(err)
	}
	if len(ids) == 0 {
		return v.TechnicianID, nil
	}
	return ids[0], nil
}

// Book promises window w for visit id: re-checked inside the transaction with the day's
// plan locked, so two customers can never get the same last place. A window that can no
// longer be kept is a conflict (window_unavailable). Booking a booked visit again moves its
// promise (visit.rescheduled).
//
// A window outside the customer's stated availability is invalid (422 window): slots never
// offer one. Only an admin may book one anyway, with ForceBook.
func (s *Visits) Book(ctx context.Context, id int64, w dispatch.Span, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	return s.bookAs(ctx, id, w, actor, "", false, now)
}

// ForceBook is Book by an admin for a window outside the customer's stated availability
// (he agreed to it on the phone); the event records force. Every other rule of Book holds,
// and any other actor is forbidden.
func (s *Visits) ForceBook(ctx context.Context, id int64, w dispatch.Span, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if actor == nil || actor.Role != dispatch.RoleAdmin {
		return nil, dispatch.Forbidden("only an admin may book outside the customer's availability")
	}
	return s.bookAs(ctx, id, w, actor, "", true, now)
}

// BookByCustomer is Book by the customer himself (holder of the folio's access code, which
// the caller has checked); the event's actor is "customer".
func (s *Visits) BookByCustomer(ctx context.Context, id int64, w dispatch.Span, now time.Time) (*dispatch.Visit, error) {
	return s.bookAs(ctx, id, w, nil, "customer", false, now)
}

func (s *Visits) bookAs(ctx context.Context, id int64, w dispatch.Span, actor *dispatch.User, origin string, force bool, now time.Time) (*dispatch.Visit, error) {
	var onCommit func()
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		onCommit = nil
		v, err := s.lockVisit(ctx, tx, id, w.Start)
		if err != nil {
			return err
		}
		if !reschedulable(v.Status) {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot be booked", v.Status)
		}
		if err := s.cfg.CheckWindow(w, v.Duration(), now); err != nil {
			return err
		}
		if !force {
			if err := v.CheckAvailable(w); err != nil {
				return err
			}
		}
		origin := bookOrigin{actor: origin, force: force}
		return s.book(ctx, tx, v, w, actor, origin, now, &onCommit)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	if onCommit != nil {
		onCommit()
	}
	return s.Get(ctx, id)
}

// bookOrigin is who booked when it was not the signed-in actor ("customer"), and whether an
// admin forced a window outside the customer's availability.
type bookOrigin struct {
	actor string
	force bool
}

// book places v in window w and records it; it sets *onCommit to what to run once the
// transaction has committed (caching the new plan).
//
// A not_completed visit is booked again only while its report has no other open visit
// (409 open_visit): one was created meanwhile.
func (s *Visits) book(ctx context.Context, tx bun.Tx, v *dispatch.Visit, w dispatch.Span, actor *dispatch.User, origin bookOrigin, now time.Time, onCommit *func()) error {
	if !v.Status.Open() && v.ReportID != 0 {
		if err := noOtherOpenVisit(ctx, tx, v.ReportID, v.Folio, v.ID); err != nil {
			return err
		}
	}
	p, err := s.place(ctx, tx, v, &w, 0, false, now)
	if err != nil {
		return err
	}
	if err := s.commitPlace(ctx, tx, v, p, actor, now); err != nil {
		return err
	}
	pre := *v
	*onCommit = func() { s.rememberPlaced(&pre, w, p, now) }
	status := dispatch.VisitBooked
	typ := "visit.booked"
	if v.Status == dispatch.VisitBooked || v.Status == dispatch.VisitAssigned {
		typ = "visit.rescheduled"
	}
	// The ETA and the risk were of the old window (or attempt): the new one starts with
	// neither, so that running late on it is announced (visit.at_risk) again.
	_, err = tx.NewUpdate().Table("visits").
		Set("status = ?, window_start = ?, window_end = ?", status, w.Start, w.End).
		Set("hold_start = NULL, hold_end = NULL, held_until = NULL, pinned = false, not_done_reason = NULL, eta = NULL, at_risk = false").
		Set("version = version + 1, updated_at = now()").
		Where("id = ?", v.ID).Exec(ctx)
	if err != nil {
		return Wrap(err)
	}
	v.TechnicianID = p.at.TechnicianID
	ev := visitEvent(v, typ, actor, now)
	if origin.actor != "" {
		ev.Actor = origin.actor
	}
	data := map[string]any{
		"window_start": w.Start.UTC(), "window_end": w.End.UTC(), "technician_name": techNames(p.st)[p.at.TechnicianID],
	}
	if origin.force {
		data["force"] = true
	}
	return s.events.Append(ctx, tx, ev, data)
}

// Hold keeps window w for visit id until now+HoldFor, while the customer decides: the hold
// takes capacity like a booking and lapses by itself. The window is checked like a booking.
func (s *Visits) Hold(ctx context.Context, id int64, w dispatch.Span, now time.Time) (*dispatch.Visit, error) {
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisit(ctx, tx, id, w.Start)
		if err != nil {
			return err
		}
		if !v.Status.Bookable() {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot hold a window", v.Status)
		}
		if err := s.cfg.CheckWindow(w, v.Duration(), now); err != nil {
			return err
		}
		if err := v.CheckAvailable(w); err != nil {
			return err
		}
		if _, err := s.place(ctx, tx, v, &w, 0, false, now); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Table("visits").
			Set("hold_start = ?, hold_end = ?, held_until = ?, updated_at = now()", w.Start, w.End, now.Add(s.HoldFor)).
			Where("id = ?", v.ID).Exec(ctx)
		return Wrap(err)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// InsertUrgent puts visit id into today's plan at once, with the rest of today's business
// hours as its window, and marks it urgent; a day that cannot take it is a conflict. The customer's stated
// availability does not bind it: an urgent visit is inserted with his agreement.
func (s *Visits) InsertUrgent(ctx context.Context, id int64, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	day := s.cfg.Day(now)
	w := dispatch.Span{Start: now.Truncate(time.Minute).Add(time.Minute), End: day.Add(s.cfg.Hours.Close)}
	var onCommit func()
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		onCommit = nil
		v, err := s.lockVisit(ctx, tx, id, w.Start)
		if err != nil {
			return err
		}
		if !v.Status.Bookable() {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot be inserted", v.Status)
		}
		if !w.End.After(w.Start) || w.Start.Before(day.Add(s.cfg.Hours.Open)) {
			return dispatch.Conflict("outside_hours", "today's business hours are over or not begun; book a window instead")
		}
		// Marked urgent in the same transaction: every list and board that hears of the
		// booking sees it first in line.
		if _, err := tx.NewRaw(`UPDATE visits SET urgent = true WHERE id = ? AND NOT urgent`, id).Exec(ctx); err != nil {
			return err
		}
		return s.book(ctx, tx, v, w, actor, bookOrigin{}, now, &onCommit)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	if onCommit != nil {
		onCommit()
	}
	return s.Get(ctx, id)
}

// bodyTechnician reads the technician a request's body gives a visit to (assign, move): an
// unknown id is an invalid value of the body (422 technician_id), not a missing resource of
// the path, which 404 would say of the visit; so is a technician who is not active, who
// takes no visits (a move to him was refused further on as 409 breaks_rule, "does not work
// that day", which pointed at his shifts), and one who lacks any of skills (those the visit
// requires; none where they are not asked of him).
func bodyTechnician(ctx context.Context, tx bun.Tx, id int64, skills []string) (*dispatch.Technician, error) {
	t, err := (&Technicians{}).get(ctx, tx, id, false)
	if dispatch.ErrorKind(err) == dispatch.KindNotFound {
		return nil, dispatch.Invalid("technician_id", "no technician has id %d", id)
	}
	if err != nil {
		return nil, err
	}
	if !t.Active {
		return nil, dispatch.Invalid("technician_id", "the technician is not active")
	}
	for _, k := range skills {
		if !slices.Contains(t.Skills, k) {
			return nil, dispatch.Invalid("technician_id", "the technician lacks the skill %q", k)
		}
	}
	return t, nil
}

// overlapError turns the database's refusal of overlapping visits, of a second open visit
// for one report (a not_completed visit booked again while a new one was created), or a
// serialisation failure into a conflict.
func overlapError(err error) error {
	switch {
	case IsUniqueViolation(err) && Constraint(err) == openVisitIndex:
		return dispatch.Conflict("open_visit", "the report has another open visit; finish or cancel it before booking this one again")
	case IsExclusionViolation(err):
		return dispatch.Conflict("overlap", "the technician already has a visit at that time")
	case SQLState(err) == "40001" || SQLState(err) == "40P01":
		return dispatch.Conflict("busy", "another change to the same plan won; retry")
	}
	return err
}

// AssignRequest is a dispatcher's choice of technician for a visit.
type AssignRequest struct {
	TechnicianID int64 `json:"technician_id"`
	Version      int   `json:"version"`
	// Force (admins only) places the visit even where it breaks its window; recorded in the
	// event.
	Force bool `json:"force"`
}

// Assign gives booked visit id to a technician, placed where his day can take it while every
// promise holds. A stale version, or a technician who cannot take it, is a conflict; with
// force an admin may break the visit's own window (never another's, never an overlap). A
// technician other than the one its customer was last told of (see toldTechnician) is
// announced with visit.rescheduled.
func (s *Visits) Assign(ctx context.Context, id int64, req AssignRequest, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if req.Force && (actor == nil || actor.Role != dispatch.RoleAdmin) {
		return nil, dispatch.Forbidden("only an admin may force an assignment")
	}
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisitAt(ctx, tx, id, req.Version)
		if err != nil {
			return err
		}
		if v.Status != dispatch.VisitBooked && v.Status != dispatch.VisitAssigned {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot be assigned; book a window first", v.Status)
		}
		// Force breaks the visit's own window, never a skill: the plan gives no visit to a
		// technician without its skills, and said so as 409 window_unavailable, which sent
		// the admin looking at the hours instead.
		t, err := bodyTechnician(ctx, tx, req.TechnicianID, v.Skills)
		if err != nil {
			return err
		}
		p, err := s.place(ctx, tx, v, v.Window, t.ID, req.Force, now)
		if err != nil {
			return err
		}
		if err := s.commitPlace(ctx, tx, v, p, actor, now); err != nil {
			return err
		}
		data := map[string]any{"technician_id": t.ID, "planned_arrival": p.at.Arrival.UTC()}
		if req.Force {
			data["force"] = true
		}
		return s.assignedTo(ctx, tx, v, t, data, actor, now)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	return s.Get(ctx, id)
}

// assignedTo finishes giving visit v (locked, its placement written) to technician t, for
// Assign and Move: v is assigned and its version moves on, visit.assigned records data, and
// t, when he is not the technician v's customer was last told of (see toldTechnician), is
// announced with visit.rescheduled.
func (s *Visits) assignedTo(ctx context.Context, tx bun.Tx, v *dispatch.Visit, t *dispatch.Technician, data map[string]any, actor *dispatch.User, now time.Time) error {
	told, err := toldTechnician(ctx, tx, v)
	if err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Table("visits").Set("status = 'assigned', version = version + 1, updated_at = now()").Where("id = ?", v.ID).Exec(ctx); err != nil {
		return Wrap(err)
	}
	v.TechnicianID = t.ID
	if err := s.events.Append(ctx, tx, visitEvent(v, "visit.assigned", actor, now), data); err != nil {
		return err
	}
	if told != t.ID {
		return s.rescheduled(ctx, tx, v, t.Name, actor, now)
	}
	return nil
}

// Unassign takes a booked or assigned visit off its technician; its promised window stays,
// and the next re-plan (or a dispatcher) gives it to someone who can keep it: one other
// than the technician its customer was told of is announced with visit.rescheduled.
// version is the one the caller read, as for Assign: missing is 422 version, stale is 409
// stale_version.
func (s *Visits) Unassign(ctx context.Context, id int64, version int, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisitAt(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if v.TechnicianID == 0 || (v.Status != dispatch.VisitBooked && v.Status != dispatch.VisitAssigned) {
			return dispatch.Conflict("illegal_transition", "a %s visit without a technician to take off", v.Status)
		}
		if err := clearAssignment(ctx, tx, v.ID); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Table("visits").Set("status = 'booked', pinned = false").Where("id = ?", v.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		return s.events.Append(ctx, tx, visitEvent(v, "visit.unassigned", actor, now), map[string]any{"technician_id": v.TechnicianID})
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// SetPinned pins (or unpins) a planned visit to its technician and place: re-plans leave it
// there. version is the one the caller read, as for Assign: missing is 422 version, stale is
// 409 stale_version.
func (s *Visits) SetPinned(ctx context.Context, id int64, pinned bool, version int, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisitAt(ctx, tx, id, version)
		if err != nil {
			return err
		}
		if pinned && (v.TechnicianID == 0 || !v.Status.Planned()) {
			return dispatch.Conflict("illegal_transition", "only a visit with a technician can be pinned")
		}
		if v.Pinned == pinned {
			return nil
		}
		if _, err := tx.NewUpdate().Table("visits").Set("pinned = ?, version = version + 1, updated_at = now()", pinned).Where("id = ?", v.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		typ := "visit.unpinned"
		if pinned {
			typ = "visit.pinned"
		}
		return s.events.Append(ctx, tx, visitEvent(v, typ, actor, now), nil)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// Cancel cancels an open visit.
func (s *Visits) Cancel(ctx context.Context, id int64, reason string, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if len(reason) > 1000 {
		return nil, dispatch.Invalid("reason", "at most 1000 characters")
	}
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisit(ctx, tx, id)
		if err != nil {
			return err
		}
		if !dispatch.CanMoveVisit(v.Status, dispatch.VisitCancelled) {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot be cancelled", v.Status)
		}
		if _, err := tx.NewUpdate().Table("visits").Set("status = 'cancelled', hold_start = NULL, hold_end = NULL, held_until = NULL, version = version + 1, updated_at = now()").
			Where("id = ?", v.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		return s.events.Append(ctx, tx, visitEvent(v, "visit.cancelled", actor, now), map[string]any{"reason": reason})
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// OptimizeResult is what a re-plan of one day did.
type OptimizeResult struct {
	Day string `json:"day"`
	// Moved counts the visits whose technician or position changed.
	Moved int `json:"moved"`
	// Changed lists the visits whose technician changed: one visit.rescheduled each.
	Changed      []int64 `json:"changed"`
	MetersBefore float64 `json:"meters_before"`
	MetersAfter  float64 `json:"meters_after"`
	Visits       int     `json:"visits"`
	// Redone says the day changed while the search ran (a booking came in), so the plan
	// written came from a short search on the day as it then was.
	Redone bool `json:"redone,omitempty"`
}

// Optimize re-plans day: not-yet-started visits may change technician and order, pinned and
// started ones stay, and every promised window holds. The result is kept only if it travels
// less (or places more) and leaves out nothing the current plan has. Customers whose
// technician changed get exactly one visit.rescheduled each; the day gets plan.optimized,
// unless the re-plan job (no actor) changed nothing.
//
// A call for a day already being optimised in this process waits for that re-plan and
// returns its result (its events name the first caller); when that one was cancelled (its
// client went away), or was the re-plan job's, which keeps visits with their told
// technicians (see Reoptimize), the waiting call runs its own once it is written.
func (s *Visits) Optimize(ctx context.Context, day time.Time, opt schedule.Options, actor *dispatch.User, now time.Time) (*OptimizeResult, error) {
	return s.optimizeShared(ctx, day, opt, actor, now, nil)
}

// optimizeShared is Optimize keeping told's visits with their technicians (see
// planning.Improve).
func (s *Visits) optimizeShared(ctx context.Context, day time.Time, opt schedule.Options, actor *dispatch.User, now time.Time, told map[int64]int64) (*OptimizeResult, error) {
	key := day.Format(time.DateOnly)
	for {
		s.optMu.Lock()
		c := s.optimizing[key]
		if c == nil {
			c = &optimizeCall{done: make(chan struct{}), cautious: told != nil}
			s.optimizing[key] = c
			s.optMu.Unlock()
			c.res, c.err = s.optimize(ctx, day, opt, actor, now, told)
			s.optMu.Lock()
			delete(s.optimizing, key)
			s.optMu.Unlock()
			close(c.done)
			return c.res, c.err
		}
		c.waiting++
		s.optMu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err != nil && (errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded)) {
			continue // the first caller gave up, not the re-plan: run one
		}
		if c.cautious && told == nil {
			continue // the job's re-plan kept what this one may move
		}
		if c.err != nil {
			return nil, c.err
		}
		res := *c.res
		res.Changed = slices.Clone(c.res.Changed)
		return &res, nil
	}
}

// optimize is optimizeShared without the sharing of a running re-plan.
func (s *Visits) optimize(ctx context.Context, day time.Time, opt schedule.Options, actor *dispatch.User, now time.Time, told map[int64]int64) (*OptimizeResult, error) {
	started := time.Now()
	res := &OptimizeResult{Day: day.Format(time.DateOnly), Changed: []int64{}}
	// The search runs on a snapshot of the day, outside the day's lock, so that bookings of
	// the day (which take that lock) do not wait seconds for it. Its result is written under
	// the lock only if the day is still as the search saw it; when it changed meanwhile (a
	// booking came in), a short search from the day as it now is replaces it.
	snap, err := s.dayState(ctx, s.db, day, now, 0)
	if err != nil {
		return nil, Wrap(err)
	}
	base, err := s.replanBase(ctx, snap, day, now)
	if err != nil {
		return nil, Wrap(err)
	}
	budget := opt.TimeLimit
	// The time limit bounds the whole re-plan: the search gets what loading and timing the
	// day left of it, less a tenth kept for writing the result.
	if opt.TimeLimit > 0 {
		rest := opt.TimeLimit - time.Since(started) - opt.TimeLimit/10
		opt.TimeLimit = max(rest, opt.TimeLimit/4)
	}
	solved, err := planning.Improve(ctx, base, opt, told)
	if err != nil {
		return nil, Wrap(err)
	}
	seen := planning.Fingerprint(snap, now)
	if s.afterSearch != nil {
		s.afterSearch()
	}
	err = s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		*res = OptimizeResult{Day: res.Day, Changed: []int64{}}
		if err := s.lockDay(ctx, tx, day); err != nil {
			return err
		}
		st, err := s.writeState(ctx, tx, day, now, 0)
		if err != nil {
			return err
		}
		cur, next := base, solved
		if planning.Fingerprint(st, now) != seen {
			if cur, err = s.replanBase(ctx, st, day, now); err != nil {
				return err
			}
			short := opt
			short.Work, short.TimeLimit = 0, time.Second
			if budget > 0 {
				short.TimeLimit = min(max(budget/10, 200*time.Millisecond), 2*time.Second)
			}
			if next, err = planning.Improve(ctx, cur, short, told); err != nil {
				return err
			}
			res.Redone = true
		}
		res.MetersBefore, res.MetersAfter = cur.Meters, next.Meters
		before := s.stored(st)
		for _, v := range st.Visits {
			if v.Status.Started() {
				delete(before, v.ID) // under way: not part of the re-plan
			}
		}
		after := s.cfg.Assignments(next)
		behindStarted(st, after)
		afterDone(st, after)
		res.Visits = len(after)
		byID := map[int64]*dispatch.Visit{}
		for _, v := range st.Visits {
			byID[v.ID] = v
		}
		// Booked visits off every route that the new plan places join the comparison.
		wrote := 0
		for id, a := range after {
			if _, ok := before[id]; !ok && byID[id] != nil && byID[id].Status.Planned() {
				if err := writeAssignment(ctx, tx, id, a); err != nil {
					return err
				}
				wrote++
			}
		}
		placedNow := map[int64]planning.Assignment{}
		for id := range after {
			if byID[id] != nil && byID[id].Status.Planned() {
				placedNow[id] = after[id]
			}
		}
		changes, moved := planning.Diff(before, placedNow)
		res.Moved = moved
		n, err := s.writeShifts(ctx, tx, st, before, after, nil, now)
		if err != nil {
			return err
		}
		wrote += n
		names := techNames(st)
		for _, c := range changes {
			v := byID[c.VisitID]
			if v == nil || v.Window == nil || c.To == 0 {
				continue
			}
			res.Changed = append(res.Changed, v.ID)
			v.TechnicianID = c.To
			if err := s.rescheduled(ctx, tx, v, names[c.To], actor, now); err != nil {
				return err
			}
		}
		if actor == nil && wrote == 0 {
			// The re-plan job found nothing better: no event, which every open board would
			// reload for and list ("Plan optimizado" twice every five minutes).
			return nil
		}
		name, uid := dispatch.ActorOf(actor)
		return s.events.Append(ctx, tx, &dispatch.Event{Type: "plan.optimized", At: now, Actor: name, ActorUserID: uid},
			map[string]any{"day": res.Day, "moved": res.Moved, "meters_before": res.MetersBefore, "meters_after": res.MetersAfter})
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	return res, nil
}

// UpdatePosition stores a technician's position and recomputes the ETAs of his remaining
// visits today from it (see refreshETAs). Positions of many technicians are taken together;
// a change to today's plan (a booking, the re-plan) waits for them and they for it.
//
// A position taken while he is off shift (dispatch.SharesPositionAt: evenings, days off,
// time off, sick days) is refused with Conflict "off_shift" and nothing is stored: where he
// is then is nobody's business, and no ETA can be drawn from it.
func (s *Visits) UpdatePosition(ctx context.Context, techID int64, pos dispatch.Position, now time.Time) error {
	return Wrap(s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := s.checkOnShift(ctx, tx, techID, pos.At); err != nil {
			return err
		}
		if err := (&Technicians{}).SetPosition(ctx, tx, techID, pos); err != nil {
			return err
		}
		if err := s.lockDayShared(ctx, tx, s.cfg.Day(now)); err != nil {
			return err
		}
		return s.refreshETAs(ctx, tx, techID, schedule.Location{Lat: pos.Lat, Lon: pos.Lon}, now, now)
	}))
}

// checkOnShift refuses (409 off_shift) a position technician techID took at at while off
// shift. His working spans are those the plan gives him (Config.Shifts: weekly shifts minus
// exceptions) on at's business day and the days either side, as a margin may cross
// midnight; a visit of his under way that day keeps him on shift whatever the clock says.
func (s *Visits) checkOnShift(ctx context.Context, tx bun.Tx, techID int64, at time.Time) error {
	t, err := (&Technicians{}).get(ctx, tx, techID, false)
	if err != nil {
		return err
	}
	day := s.cfg.Day(at)
	first := time.Date(day.Year(), day.Month(), day.Day()-1, 0, 0, 0, 0, s.cfg.Zone)
	end := s.cfg.NextDay(s.cfg.NextDay(day))
	exc, err := listExceptions(ctx, tx, techID, first, end)
	if err != nil {
		return err
	}
	var spans []dispatch.Span
	for d := first; d.Before(end); d = s.cfg.NextDay(d) {
		for _, sh := range s.cfg.Shifts(t, exc, d) {
			spans = append(spans, dispatch.Span{Start: sh.Start, End: sh.End})
		}
	}
	if dispatch.SharesPositionAt(at, spans, false) {
		return nil
	}
	underWay, err := tx.NewSelect().Table("visits").
		Where("technician_id = ? AND status IN ('en_route', 'on_site') AND plan_day = ?::date", techID, day.Format(time.DateOnly)).
		Exists(ctx)
	if err != nil {
		return Wrap(err)
	}
	if !dispatch.SharesPositionAt(at, spans, underWay) {
		return dispatch.Conflict("off_shift", "off shift: a position is taken from %d min before a shift to %d min after it, or while a visit is under way",
			int(dispatch.PositionMargin/time.Minute), int(dispatch.PositionMargin/time.Minute))
	}
	return nil
}

// refreshETAs recomputes, with the travel model, the ETAs of a technician's remaining
// visits today, leaving from here at t; a visit he has not set out for is reached no
// sooner than the plan's arrival (he does not leave before his shift starts, nor get ahead
// of his plan). An ETA that moves by 5 min or more on a visit under way is
// visit.eta_changed; a visit whose ETA passes the end of its window is visit.at_risk
// (once). A visit running late thus pushes the ETAs of the next ones.
func (s *Visits) refreshETAs(ctx context.Context, tx bun.Tx, techID int64, here schedule.Location, t, now time.Time) error {
	travel := s.cfg.Travel
	day := s.cfg.Day(now)
	var rows []visitRow
	err := selectVisits(tx, &rows).Where("v.technician_id = ?", techID).
		Where("v.status IN ('booked', 'assigned', 'en_route', 'on_site')").
		Where("v.plan_day = ?::date", day.Format(time.DateOnly)).
		Order("v.planned_start").For("UPDATE OF v").Scan(ctx)
	if err != nil {
		return Wrap(err)
	}
	for _, v := range visitsOf(rows) {
		if v.Status == dispatch.VisitOnSite {
			arrived := v.PlannedStart
			if !v.ETA.IsZero() {
				arrived = v.ETA
			}
			t = maxT(t, arrived.Add(v.Duration()))
			here = schedule.Location{Lat: v.Lat, Lon: v.Lon}
			continue
		}
		sec, _ := travel.Leg(here, schedule.Location{Lat: v.Lat, Lon: v.Lon})
		eta := t.Add(time.Duration(sec * float64(time.Second))).Truncate(time.Second)
		if v.Status != dispatch.VisitEnRoute && eta.Before(v.PlannedArrival) {
			// He has not set out for it: he keeps to the plan (his shift's start, the
			// window's), so he is not there sooner than it says, only later.
			eta = v.PlannedArrival
		}
		start := eta
		if v.Window != nil && start.Before(v.Window.Start) {
			start = v.Window.Start
		}
		t, here = start.Add(v.Duration()), schedule.Location{Lat: v.Lat, Lon: v.Lon}
		risk := v.Window != nil && eta.After(v.Window.End)
		if _, err := tx.NewUpdate().Table("visits").Set("eta = ?, at_risk = ?", eta, risk).Where("id = ?", v.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		if v.Status == dispatch.VisitEnRoute && (v.ETA.IsZero() || absDur(eta.Sub(v.ETA)) >= 5*time.Minute) {
			if err := s.events.Append(ctx, tx, visitEvent(v, "visit.eta_changed", nil, now), map[string]any{"eta": eta.UTC()}); err != nil {
				return err
			}
		}
		if risk && !v.AtRisk {
			if err := s.events.Append(ctx, tx, visitEvent(v, "visit.at_risk", nil, now), map[string]any{"eta": eta.UTC(), "window_end": v.Window.End.UTC()}); err != nil {
				return err
			}
		}
	}
	return nil
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// MoveRequest puts a visit at a place of a technician's day, as a dispatcher drags it.
type MoveRequest struct {
	TechnicianID int64 `json:"technician_id"`
	// Position is 1-based in the technician's route that day; past the end means last.
	Position int `json:"position"`
	Version  int `json:"version"`
	// Force (admins only) lets the move break this visit's promised window; recorded in the
	// event. It never breaks another visit's window, a shift or a skill.
	Force bool `json:"force"`
}

// Move puts booked visit id at position req.Position of technician req.TechnicianID's route
// on the visit's day, every other visit keeping its order. A move that breaks a promised
// window, a shift or the break is refused (409 breaks_rule, with the reason); one that would
// put the visit before a visit under way, or reorder pinned visits, is refused (409
// breaks_pin, see keepsPins); a missing skill, or a technician not active, is 422
// technician_id, as for Assign. A pinned visit stays pinned at its new place. A technician
// other than the one its customer was last told of (see toldTechnician) is announced with
// visit.rescheduled.
func (s *Visits) Move(ctx context.Context, id int64, req MoveRequest, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if req.Force && (actor == nil || actor.Role != dispatch.RoleAdmin) {
		return nil, dispatch.Forbidden("only an admin may force a move")
	}
	if req.Position < 1 {
		return nil, dispatch.Invalid("position", "must be 1 or more")
	}
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := s.lockVisitAt(ctx, tx, id, req.Version)
		if err != nil {
			return err
		}
		if v.Status != dispatch.VisitBooked && v.Status != dispatch.VisitAssigned {
			return dispatch.Conflict("illegal_transition", "a %s visit cannot be moved", v.Status)
		}
		if err := plannable(ctx, tx, v, true); err != nil {
			return err
		}
		t, err := bodyTechnician(ctx, tx, req.TechnicianID, v.Skills)
		if err != nil {
			return err
		}
		day := s.cfg.Day(v.Window.Start)
		if err := s.lockDay(ctx, tx, day); err != nil {
			return err
		}
		st, err := s.writeState(ctx, tx, day, now, v.ID)
		if err != nil {
			return err
		}
		// A day that has begun is timed from now, as a booking's (see basePlan): the visits
		// under way are not in the problem, and stay before whatever is moved.
		begun := !now.Before(day)
		p := s.cfg.Problem(st, day, 1, now)
		var under []*dispatch.Visit
		if begun {
			p = s.cfg.Replan(st, day, now)
			for _, o := range st.Visits {
				if o.TechnicianID == t.ID && o.Status.Started() {
					under = append(under, o)
				}
			}
			if first := st.Done[t.ID] + len(under) + 1; len(under) > 0 && req.Position < first {
				return dispatch.Conflict("breaks_pin", "visit %d is under way and stays first: choose position %d or later", under[0].ID, first)
			}
		}
		sv := s.cfg.Visit(v)
		if req.Force {
			sv.Windows = nil
		}
		p.Visits = append(p.Visits, sv)
		as := planning.Stored(p, st)
		tid := planning.TechID(t.ID)
		if begun {
			// Only his routes are timed afresh: another technician running late must not
			// stop the move (nor is his day re-timed by it); the route the visit leaves
			// keeps its times.
			as = slices.DeleteFunc(as, func(a schedule.Assignment) bool { return a.Technician != tid })
		}
		own := slices.Clone(as) // his routes as they stand, to tell his lateness from the move's fault
		shift := -1
		for _, pt := range p.Technicians {
			if pt.ID != tid {
				continue
			}
			for si, sh := range pt.Shifts {
				if shift < 0 || !v.Window.Start.Before(sh.Start) && !v.Window.Start.After(sh.End) {
					shift = si
				}
			}
		}
		if shift < 0 {
			return dispatch.Conflict("breaks_rule", "%s does not work that day", t.Name)
		}
		placed := false
		for i := range as {
			if as[i].Technician == tid && as[i].Shift == shift {
				// req.Position numbers his whole day, finished visits first, then those under
				// way (when they are not in the route).
				pos := min(max(req.Position-1-st.Done[t.ID]-len(under), 0), len(as[i].Visits))
				if err := keepsPins(as[i].Visits, pos, v, st); err != nil {
					return err
				}
				as[i].Visits = slices.Insert(slices.Clone(as[i].Visits), pos, sv.ID)
				placed = true
			}
		}
		if !placed {
			as = append(as, schedule.Assignment{Technician: tid, Shift: shift, Visits: []string{sv.ID}})
		}
		plan, err := schedule.NewPlan(p, as)
		if errors.Is(err, schedule.ErrPinned) {
			if begun {
				if _, e := schedule.NewPlan(p, own); errors.Is(e, schedule.ErrPinned) {
					return dispatch.Conflict("breaks_rule", "%s's day as planned can no longer be kept from now (a visit ran long, or he is late): optimise the day first (%v)", t.Name, e)
				}
			}
			return dispatch.Conflict("breaks_rule", "the move breaks a promised window, the shift or the break (%v)", err)
		}
		if err != nil {
			return err
		}
		before := s.stored(st)
		after := s.cfg.Assignments(plan)
		if begun {
			behindStarted(st, after)
		}
		afterDone(st, after)
		if _, err := s.writeShifts(ctx, tx, st, before, after, map[int64]int64{v.ID: v.TechnicianID}, now); err != nil {
			return err
		}
		at := after[v.ID]
		if err := writeAssignment(ctx, tx, v.ID, at); err != nil {
			return err
		}
		data := map[string]any{"technician_id": t.ID, "planned_arrival": at.Arrival.UTC(), "position": at.Position}
		if req.Force {
			data["force"] = true
		}
		return s.assignedTo(ctx, tx, v, t, data, actor, now)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	return s.Get(ctx, id)
}

// keepsPins refuses (409 breaks_pin, naming the visit in the way) putting v at index pos of
// route, the target route without v: a visit under way stays first, and pinned visits keep
// their order — when v is pinned on this route, the pinned visits before it stay before it
// and those after stay after. Unpinned visits may go between pinned ones, as in a re-plan.
func keepsPins(route []string, pos int, v *dispatch.Visit, st planning.State) error {
	byID := make(map[string]*dispatch.Visit, len(st.Visits))
	for _, o := range st.Visits {
		byID[planning.VisitID(o.ID)] = o
	}
	for j, id := range route {
		o := byID[id]
		if o == nil {
			continue
		}
		if o.Status.Started() && j >= pos {
			return dispatch.Conflict("breaks_pin", "visit %d is under way and stays first: choose position %d or later", o.ID, j+2)
		}
		if !v.Pinned || !o.Pinned || o.TechnicianID != v.TechnicianID {
			continue
		}
		wasBefore, isBefore := o.PlannedStart.Before(v.PlannedStart), j < pos
		if wasBefore != isBefore {
			where := "after"
			if wasBefore {
				where = "before"
			}
			return dispatch.Conflict("breaks_pin", "visit %d is pinned %s this one, which is pinned too: keep their order or unpin one of them", o.ID, where)
		}
	}
	return nil
}

// plannable refuses to plan visit v while an open incident holds it (see notHeld) or while
// its report is not being worked on (see reportOpen, which takes lock).
func plannable(ctx context.Context, db bun.IDB, v *dispatch.Visit, lock bool) error {
	if err := notHeld(ctx, db, v.ID); err != nil {
		return err
	}
	return reportOpen(ctx, db, v, lock)
}

// notHeld refuses to plan a visit that an open incident holds: one visit for the incident
// replaces the individual ones until it is resolved.
func notHeld(ctx context.Context, db bun.IDB, visitID int64) error {
	var held bool
	if err := db.NewRaw("SELECT held_by_incident_id IS NOT NULL FROM visits WHERE id = ?", visitID).Scan(ctx, &held); err != nil {
		return Wrap(err)
	}
	if held {
		return dispatch.Conflict("held_by_incident", "the visit is held while its report's incident is open")
	}
	return nil
}

// reportOpen refuses (409 report_closed) to plan visit v while its report is not being
// worked on (resolved, closed or cancelled): nobody is to be sent, nor the customer texted
// an appointment for it. An incident's own visit has no report. lock (inside a change)
// takes the report's row shared until the transaction ends, so that the report cannot be
// closed between the check and the booking's commit.
func reportOpen(ctx context.Context, db bun.IDB, v *dispatch.Visit, lock bool) error {
	if v.ReportID == 0 {
		return nil
	}
	q := "SELECT status FROM reports WHERE id = ?"
	if lock {
		q += " FOR SHARE"
	}
	var status dispatch.Status
	if err := db.NewRaw(q, v.ReportID).Scan(ctx, &status); err != nil {
		return Wrap(err)
	}
	if !status.Active() {
		return dispatch.Conflict("report_closed", "report %s is %s: reopen it to plan its visit", v.Folio, status)
	}
	return nil
}

// lockVisitAt locks visit id for the transaction (see lockVisit) and checks that it is still
// at the version the caller read; a stale version is a conflict, so two dispatchers never
// both win. A missing version (0) is invalid: every dispatcher control says which visit it
// saw.
func (s *Visits) lockVisitAt(ctx context.Context, tx bun.Tx, id int64, version int) (*dispatch.Visit, error) {
	if version <= 0 {
		return nil, dispatch.Invalid("version", "is required: the version you read")
	}
	v, err := s.lockVisit(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if version != v.Version {
		return nil, dispatch.Conflict("stale_version", "the visit changed (version %d, you sent %d); reload it", v.Version, version)
	}
	return v, nil
}
