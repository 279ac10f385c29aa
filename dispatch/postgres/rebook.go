package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// RebookableOnline is the one rule of whether the customer of report reportID may move its
// visit himself on the booking page (/estado/{folio}/horario): the SMS answer to "another
// time, please" links that page only when it holds, and the page's slots and booking refuse
// with its conflict when it does not. It returns the visit the page books, which is the
// report's latest visit that is not cancelled (the one its status page shows), when
//
//   - that visit waits for a window (unscheduled, not_completed) or has one (booked,
//     assigned): 409 illegal_transition otherwise, and 409 no_visit when there is none;
//   - no incident holds it (held_by_incident_id unset: an open incident holds the visits of
//     the reports attached to it, and cancels them when resolved): 409 held_by_incident;
//   - the report is being worked on (open, in_progress, awaiting_visit, waiting_customer;
//     dispatch.Status.Active): 409 report_closed when resolved, closed or cancelled;
//   - being not_completed, it is the report's only visit not finished: another one open
//     (booked again by staff since) is what the booking would refuse, 409 open_visit.
//
// These are the checks that Slots and Book make, in their order, read without locks: Book
// makes them again inside its transaction, so a change between the two is still refused.
func RebookableOnline(ctx context.Context, db bun.IDB, reportID int64) (*dispatch.Visit, error) {
	var row visitRow
	err := selectVisits(db, &row).Where("v.report_id = ? AND v.status <> ?", reportID, dispatch.VisitCancelled).
		OrderExpr("v.id DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.Conflict("no_visit", "this report has no visit to book")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	v := row.visit()
	if !reschedulable(v.Status) {
		return nil, dispatch.Conflict("illegal_transition", "a %s visit cannot be booked", v.Status)
	}
	if err := notHeld(ctx, db, v.ID); err != nil {
		return nil, err
	}
	if err := reportOpen(ctx, db, v, false); err != nil {
		return nil, err
	}
	if !v.Status.Open() {
		if err := noOtherOpenVisit(ctx, db, v.ReportID, v.Folio, v.ID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// CanRebookOnline reports whether RebookableOnline holds for report reportID: false for its
// refusals (conflicts), an error only when the rule could not be read. The SMS answer to
// "another time" links the booking page, and the status page offers its button, by it.
func CanRebookOnline(ctx context.Context, db bun.IDB, reportID int64) (bool, error) {
	_, err := RebookableOnline(ctx, db, reportID)
	switch {
	case dispatch.ErrorKind(err) == dispatch.KindConflict:
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}
