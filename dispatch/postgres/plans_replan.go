package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// The reasons of the visit.unassigned a technician's re-plan writes for each visit nobody
// else can keep in its window (back to booking): codes, as every reason on a timeline is,
// which staff pages name in their reader's language (reason.technician_unavailable…).
const (
	ReasonTechnicianUnavailable = "technician_unavailable" // marked unavailable
	ReasonTechnicianAbsent      = "technician_absent"      // time off, a sick day, another absence
	ReasonTechnicianChanged     = "technician_changed"     // his shifts, skills, home base or activity changed
)

// ReplanResult says what re-planning a technician's days did to his visits not yet under
// way. Each visit appears in one list; every customer in Moved or Unbooked gets exactly one
// notification (visit.rescheduled or visit.unassigned).
type ReplanResult struct {
	// Moved are the visits another technician took, keeping their promised window.
	Moved []int64 `json:"moved"`
	// Unbooked are the visits nobody could take in their window: back to booking.
	Unbooked []int64 `json:"unbooked"`
	// Kept are the visits he still does, perhaps at new times within their window.
	Kept []int64 `json:"kept"`
}

func newReplanResult() ReplanResult {
	return ReplanResult{Moved: []int64{}, Unbooked: []int64{}, Kept: []int64{}}
}

// UnavailableResult says what marking a technician unavailable did to his visits.
type UnavailableResult struct {
	ExceptionID int64 `json:"exception_id"`
	ReplanResult
}

// MarkUnavailable records that a technician cannot work in [e.Start, e.End) and re-plans at
// once the days it touches (at most 14, else 422 end): his not-started visits in that span go to others
// where their promise can be kept (visit.rescheduled), stay with him where he can still keep
// them outside the span, and the rest go back to booking (visit.unassigned).
func (s *Visits) MarkUnavailable(ctx context.Context, techID int64, e dispatch.Exception, actor *dispatch.User, now time.Time) (*UnavailableResult, error) {
	if e.Reason == "" {
		e.Reason = dispatch.ExceptionUnavailable
	}
	if !e.Start.IsZero() && e.End.Sub(e.Start) > 14*24*time.Hour {
		return nil, dispatch.Invalid("end", "at most 14 days at once; record longer time off as an exception")
	}
	res, err := s.recordAbsence(ctx, techID, e, ReasonTechnicianUnavailable, actor, now)
	if err != nil {
		return nil, err
	}
	return &UnavailableResult{ExceptionID: res.ID, ReplanResult: res.ReplanResult}, nil
}

// TimeOffResult is an exception recorded by AddTimeOff, with what it did to the
// technician's visits.
type TimeOffResult struct {
	dispatch.Exception
	ReplanResult
}

// AddTimeOff records an exception of technician techID (time off, a sick day, another
// absence, of any length) and re-plans at once, as MarkUnavailable does, each day that holds
// his visits not yet under way in its span: each stays with him where he can still keep
// its promised window outside the span, else goes to another technician who can
// (visit.rescheduled), else back to booking (visit.unassigned). Recorded without the
// re-plan, a vacation entered on the admin page left his booked visits with him until the
// re-plan job reached their day, the day before: their reminders named him, and their
// customers learnt of the change the evening before.
func (s *Visits) AddTimeOff(ctx context.Context, techID int64, e dispatch.Exception, actor *dispatch.User, now time.Time) (*TimeOffResult, error) {
	return s.recordAbsence(ctx, techID, e, ReasonTechnicianAbsent, actor, now)
}

// recordAbsence records exception e of technician techID and, in the same transaction,
// re-plans (for reason) each day that holds his visits not yet under way within its span;
// see AddTimeOff.
func (s *Visits) recordAbsence(ctx context.Context, techID int64, e dispatch.Exception, reason string, actor *dispatch.User, now time.Time) (*TimeOffResult, error) {
	e.TechnicianID = techID
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var res *TimeOffResult
	techs := NewTechnicians(s.db, s.events)
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res = &TimeOffResult{Exception: e, ReplanResult: newReplanResult()}
		if err := lockTechnicians(ctx, tx); err != nil {
			return err
		}
		if err := techs.AddException(ctx, tx, &res.Exception, actor); err != nil {
			return err
		}
		// Only the days that hold his visits in the span: a month's vacation re-plans the
		// days he was booked on, not thirty. Days are locked earliest first (lock order).
		var days []time.Time
		err := tx.NewRaw(`SELECT DISTINCT plan_day FROM visits
			WHERE technician_id = ? AND status IN ('booked', 'assigned') AND plan_day IS NOT NULL
			  AND planned_start < ? AND planned_end > ? ORDER BY plan_day`, techID, e.End, e.Start).Scan(ctx, &days)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Wrap(err)
		}
		hit := func(v *dispatch.Visit) bool { return v.PlannedStart.Before(e.End) && v.PlannedEnd.After(e.Start) }
		return s.replanTechnicianDays(ctx, tx, techID, days, hit, reason, actor, now, &res.ReplanResult)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	return res, nil
}

// UpdateTechnician stores a change to technician t (at t.Version, as Technicians.Update
// does) and, when it changes what he can do — active, shifts, skills or home base —
// re-plans in the same transaction every upcoming day holding his visits not yet under way,
// as MarkUnavailable does: each stays with him where he can still keep its promised window,
// else goes to another technician who can, else back to booking. The result is nil when no
// re-plan was needed.
func (s *Visits) UpdateTechnician(ctx context.Context, t *dispatch.Technician, actor *dispatch.User, now time.Time) (*ReplanResult, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	techs := NewTechnicians(s.db, s.events)
	var res *ReplanResult
	version := t.Version // update moves it on; a rerun starts from the caller's
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		res, t.Version = nil, version
		if err := lockTechnicians(ctx, tx); err != nil {
			return err
		}
		old, err := techs.get(ctx, tx, t.ID, true)
		if err != nil {
			return err
		}
		if err := techs.update(ctx, tx, t, actor); err != nil {
			return err
		}
		if !replanNeeded(old, t) {
			return nil
		}
		var days []time.Time
		err = tx.NewRaw(`SELECT DISTINCT plan_day FROM visits
			WHERE technician_id = ? AND status IN ('booked', 'assigned') AND plan_day >= ?::date ORDER BY plan_day`,
			t.ID, s.cfg.Day(now).Format(time.DateOnly)).Scan(ctx, &days)
		if err != nil {
			return Wrap(err)
		}
		r := newReplanResult()
		res = &r
		return s.replanTechnicianDays(ctx, tx, t.ID, days, nil, ReasonTechnicianChanged, actor, now, res)
	})
	if err != nil {
		return nil, Wrap(overlapError(err))
	}
	return res, nil
}

// replanNeeded reports whether a change to a technician can break his planned days.
func replanNeeded(old, new *dispatch.Technician) bool {
	return old.Active != new.Active || old.Home != new.Home || !slices.Equal(old.Skills, new.Skills) ||
		!slices.EqualFunc(old.Shifts, new.Shifts, func(a, b dispatch.WeeklyShift) bool {
			return a.Weekday == b.Weekday && a.Start == b.Start && a.End == b.End &&
				(a.Break == nil) == (b.Break == nil) && (a.Break == nil || *a.Break == *b.Break)
		})
}

// replanTechnicianDays re-plans for technician techID each of days (plan_day dates as the
// database returns them, earliest first: the order days are locked in) with
// replanTechnicianDay, adding to res, and then runs the beforeTechnicianCommit hook (tests)
// at the end of the transaction.
func (s *Visits) replanTechnicianDays(ctx context.Context, tx bun.Tx, techID int64, days []time.Time, hit func(*dispatch.Visit) bool,
	reason string, actor *dispatch.User, now time.Time, res *ReplanResult) error {
	for _, d := range days {
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, s.cfg.Zone)
		if err := s.replanTechnicianDay(ctx, tx, techID, day, hit, reason, actor, now, res); err != nil {
			return err
		}
	}
	if s.beforeTechnicianCommit != nil {
		s.beforeTechnicianCommit()
	}
	return nil
}

// replanTechnicianDay re-plans day (locked inside tx) for technician techID as the database
// now describes him: his planned visits not under way that day for which hit holds (all of
// them when hit is nil) leave the plan, which is otherwise timed as stored from now on; each
// is then put back, most important first — with him if he can still keep its window, else
// with whoever can — or, when nobody can, returned to booking. reason (one of the
// ReasonTechnician… codes) goes in the visit.unassigned events.
func (s *Visits) replanTechnicianDay(ctx context.Context, tx bun.Tx, techID int64, day time.Time, hit func(*dispatch.Visit) bool,
	reason string, actor *dispatch.User, now time.Time, res *ReplanResult) error {
	if err := s.lockDay(ctx, tx, day); err != nil {
		return err
	}
	st, err := s.writeState(ctx, tx, day, now, 0)
	if err != nil {
		return err
	}
	var his []*dispatch.Visit
	for _, v := range st.Visits {
		if v.TechnicianID == techID && v.Status.Planned() && !v.Status.Started() && (hit == nil || hit(v)) {
			his = append(his, v)
		}
	}
	if len(his) == 0 {
		return nil
	}
	isHis := map[int64]bool{}
	for _, v := range his {
		isHis[v.ID] = true
	}
	rest := st
	rest.Visits = nil
	for _, v := range st.Visits {
		if !isHis[v.ID] {
			rest.Visits = append(rest.Visits, v)
		}
	}
	plan, err := planning.Current(ctx, s.cfg.Replan(rest, day, now), rest)
	if err != nil {
		return err
	}
	// He may still keep some: try him first, in his stored order, then anyone.
	working := slices.ContainsFunc(plan.Problem().Technicians, func(t schedule.Technician) bool { return t.ID == planning.TechID(techID) })
	slices.SortStableFunc(his, func(a, b *dispatch.Visit) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return a.PlannedStart.Compare(b.PlannedStart)
	})
	for _, v := range his {
		sv := s.cfg.Visit(v)
		if working {
			pinned := sv
			pinned.Pin = &schedule.Pin{Technician: planning.TechID(techID)}
			next, err := schedule.Insert(plan, pinned)
			if err == nil {
				plan = next
				continue
			}
			if !errors.Is(err, schedule.ErrNoInsertion) {
				return err
			}
		}
		next, err := schedule.Insert(plan, sv)
		if err == nil {
			plan = next
		} else if !errors.Is(err, schedule.ErrNoInsertion) {
			return err
		}
	}
	after := s.cfg.Assignments(plan)
	behindStarted(st, after)
	afterDone(st, after)
	before := s.stored(st)
	for _, v := range his {
		delete(before, v.ID)
	}
	if _, err := s.writeShifts(ctx, tx, st, before, after, nil, now); err != nil {
		return err
	}
	if err := s.announceMoves(ctx, tx, st, before, after, isHis, actor, now); err != nil {
		return err
	}
	names := techNames(st)
	slices.SortFunc(his, func(a, b *dispatch.Visit) int { return int(a.ID - b.ID) })
	for _, v := range his {
		a, ok := after[v.ID]
		switch {
		case ok && a.TechnicianID == techID:
			if err := writeAssignment(ctx, tx, v.ID, a); err != nil {
				return err
			}
			res.Kept = append(res.Kept, v.ID)
		case ok:
			if err := writeAssignment(ctx, tx, v.ID, a); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Table("visits").Set("status = 'booked', pinned = false").Where("id = ?", v.ID).Exec(ctx); err != nil {
				return Wrap(err)
			}
			res.Moved = append(res.Moved, v.ID)
			v.TechnicianID = a.TechnicianID
			if err := s.rescheduled(ctx, tx, v, names[a.TechnicianID], actor, now); err != nil {
				return err
			}
		default:
			if err := clearAssignment(ctx, tx, v.ID); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Table("visits").
				Set("status = 'unscheduled', window_start = NULL, window_end = NULL, pinned = false").Where("id = ?", v.ID).Exec(ctx); err != nil {
				return Wrap(err)
			}
			res.Unbooked = append(res.Unbooked, v.ID)
			if err := s.events.Append(ctx, tx, visitEvent(v, "visit.unassigned", actor, now), map[string]any{
				"technician_id": techID, "reason": reason,
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Reoptimize is Optimize as the periodic re-plan job runs it (no actor): a visit whose
// customer has been texted the technician it now has — its latest booking event
// (visit.booked, visit.rescheduled) names him, and a text naming a technician (booked,
// rescheduled, technician, reminder) went after it (sms.sent) — stays with him, its
// place in his day free to change. It goes to another only when needed: he can no longer
// keep it (the day as stored cannot be timed with it), or keeping him would leave a
// promised visit out (see planning.Improve). Without this, a sick-day re-plan followed
// five minutes later by the job moved the same visits again, and their customers got a
// second "cambio de técnico". A dispatcher's explicit Optimize still moves anyone not
// pinned. A text still waiting (the quiet hours, a backlog) does not keep the visit: the
// next move withdraws it, so the customer hears of the newest technician alone.
func (s *Visits) Reoptimize(ctx context.Context, day time.Time, opt schedule.Options, now time.Time) (*OptimizeResult, error) {
	told, err := toldTechnicians(ctx, s.db, day, s.cfg.NextDay(day))
	if err != nil {
		return nil, err
	}
	return s.optimizeShared(ctx, day, opt, nil, now, told)
}

// toldTechnicians returns, by visit id, the technician of each booked visit of the day
// [day, next) not pinned nor held whose customer has been texted that technician (see
// Reoptimize).
func toldTechnicians(ctx context.Context, db bun.IDB, day, next time.Time) (map[int64]int64, error) {
	var rows []struct {
		ID           int64 `bun:"id"`
		TechnicianID int64 `bun:"technician_id"`
	}
	err := db.NewRaw(`
		SELECT v.id, v.technician_id FROM visits AS v
		JOIN LATERAL (SELECT id, technician_id FROM events
		              WHERE visit_id = v.id AND type IN ('visit.booked', 'visit.rescheduled')
		              ORDER BY id DESC LIMIT 1) AS b ON b.technician_id = v.technician_id
		WHERE v.status IN ('booked', 'assigned') AND v.technician_id IS NOT NULL AND NOT v.pinned
		  AND v.held_by_incident_id IS NULL
		  AND ((v.window_start >= ? AND v.window_start < ?) OR v.plan_day = ?::date)
		  AND EXISTS (SELECT 1 FROM events AS t WHERE t.visit_id = v.id AND t.id > b.id AND t.type = 'sms.sent'
		              AND t.data->>'kind' IN ('booked', 'rescheduled', 'technician', 'reminder'))`,
		day, next, day.Format(time.DateOnly)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.TechnicianID
	}
	return out, nil
}
