package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// EventVisitRescheduleCleared is written when staff clear a customer's request for another
// time without booking one (ClearRescheduleRequest).
const EventVisitRescheduleCleared = "visit.reschedule_request_cleared"

// RequestReschedule records, inside tx (the inbound text's, which writes its
// visit.reschedule_requested), that the customer of visit id asked at at for another time.
// The visit then waits in the dispatchers' queue with its request (VisitFilter
// RescheduleRequested) until the request is answered: a new window booked (re-booked, or
// booked again after it could not be completed), the visit completed or cancelled — the
// database clears it with that change, whichever path makes it (see the migration
// visit_reschedule_requests) — or staff clear it (ClearRescheduleRequest). A pending
// request keeps its first time: the customer has waited since then. NotFound when the
// visit is not one a window can be booked for (unscheduled, booked, assigned,
// not_completed).
func RequestReschedule(ctx context.Context, tx bun.Tx, id int64, at time.Time) error {
	res, err := tx.NewRaw(`UPDATE visits SET reschedule_requested_at = coalesce(reschedule_requested_at, ?)
		WHERE id = ? AND status IN ('unscheduled', 'booked', 'assigned', 'not_completed')`,
		at.UTC().Truncate(time.Microsecond), id).Exec(ctx)
	if err != nil {
		return Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dispatch.NotFound("visit that can be booked again")
	}
	return nil
}

// ClearRescheduleRequest records that staff answered the customer's pending request for
// another time of visit id without a new window (on the phone he kept the one he has, or
// it was dealt with otherwise): the request is cleared and visit.reschedule_request_cleared
// written, with when it was made, for the timeline and every board. A visit without a
// pending request is left as it is and nothing is written, so that two dispatchers
// clearing it at once clear it once.
func (s *Visits) ClearRescheduleRequest(ctx context.Context, id int64, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		v, err := getVisit(ctx, tx, id, true)
		if err != nil {
			return err
		}
		var at bun.NullTime
		if err := tx.NewRaw(`SELECT reschedule_requested_at FROM visits WHERE id = ?`, id).Scan(ctx, &at); err != nil {
			return Wrap(err)
		}
		if at.IsZero() {
			return nil
		}
		if _, err := tx.NewRaw(`UPDATE visits SET reschedule_requested_at = NULL WHERE id = ?`, id).Exec(ctx); err != nil {
			return Wrap(err)
		}
		return s.events.Append(ctx, tx, visitEvent(v, EventVisitRescheduleCleared, actor, now),
			map[string]any{"requested_at": at.Time.UTC(), "folio": v.Folio})
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}
