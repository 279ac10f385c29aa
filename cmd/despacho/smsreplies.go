package main

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// smsReplies adapts the reports store to what inbound texts need (notify.Reports). Reads
// and events happen in the webhook's transaction, so a redelivered webhook does nothing
// twice; a new report is created through the reports store in its own transaction, keyed
// by Twilio's MessageSid so that a redelivery finds the same folio.
//
// Answers to an incident's restore notice go to the incident store; without one (incidents
// nil) "still down" finds no report and is kept as a note. A "service works" answer to the
// restore notice or to a visit's outcome text is recorded on the report while it is
// resolved.
type smsReplies struct {
	reports   *postgres.Reports
	events    *postgres.Events
	incidents *postgres.Incidents
}

var _ notify.Reports = smsReplies{}

const openStatuses = `('open', 'in_progress', 'awaiting_visit', 'waiting_customer')`

func (a smsReplies) LatestOpen(ctx context.Context, tx bun.Tx, phone string, answered int64) (notify.ReportRef, error) {
	var ref notify.ReportRef
	err := tx.QueryRowContext(ctx, `SELECT r.id, r.folio FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE c.phone = ? AND r.status IN `+openStatuses+` ORDER BY r.id = ? DESC, r.id DESC LIMIT 1`, phone, answered).Scan(&ref.ID, &ref.Folio)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, dispatch.NotFound("open report")
	}
	return ref, postgres.Wrap(err)
}

func (a smsReplies) OpenFromSMS(ctx context.Context, tx bun.Tx, messageSID, phone, body string) (notify.ReportRef, error) {
	in := dispatch.ReportInput{
		Channel:     string(dispatch.ChannelSMS),
		Kind:        string(dispatch.GuessKind(body)),
		Description: body,
		Customer:    dispatch.CustomerInput{Name: phone, Phone: phone},
	}
	nr, err := in.Validate(time.Now())
	if err != nil {
		return notify.ReportRef{}, err
	}
	key := &postgres.IdempotencyKey{Scope: "sms:inbound", Key: messageSID, Hash: postgres.RequestHash([]byte(phone + "\n" + body))}
	created, answer, err := a.reports.CreateTx(ctx, tx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Key: key})
	if err != nil {
		return notify.ReportRef{}, err
	}
	if created != nil {
		return notify.ReportRef{ID: created.Report.ID, Folio: created.Report.Folio}, nil
	}
	// A redelivery: the first creation's answer names the report.
	ref := notify.ReportRef{ID: answer.ReportID}
	err = tx.QueryRowContext(ctx, "SELECT folio FROM reports WHERE id = ?", answer.ReportID).Scan(&ref.Folio)
	return ref, postgres.Wrap(err)
}

func (a smsReplies) NoteFromSMS(ctx context.Context, tx bun.Tx, messageSID string, reportID int64, body string) error {
	ev := &dispatch.Event{Type: "report.noted", Actor: "customer", Channel: "sms", ReportID: reportID}
	return a.events.Append(ctx, tx, ev, map[string]string{"note": body, "message_sid": messageSID})
}

func (a smsReplies) ConfirmNextVisit(ctx context.Context, tx bun.Tx, phone string, visitID int64) (notify.ReportRef, error) {
	ref, _, err := a.nextVisitEvent(ctx, tx, phone, visitID, []string{"booked", "assigned"}, "visit.confirmed", time.Now())
	return ref, err
}

// RequestReschedule records the customer's "2" on the visit it is about and leaves the
// request pending on that visit (postgres.RequestReschedule), so that the dispatchers'
// queue shows it, whatever the visit's status and technician, until a new window is
// booked or a dispatcher clears it: a booked or assigned visit has a technician, and one
// that could not be completed has neither a window to keep nor a place in any queue.
func (a smsReplies) RequestReschedule(ctx context.Context, tx bun.Tx, phone string, visitID int64) (notify.ReportRef, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ref, id, err := a.nextVisitEvent(ctx, tx, phone, visitID, []string{"booked", "assigned", "not_completed", "unscheduled"}, "visit.reschedule_requested", now)
	if err != nil {
		return ref, err
	}
	return ref, postgres.RequestReschedule(ctx, tx, id, now)
}

func (a smsReplies) StillDown(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (notify.ReportRef, error) {
	if a.incidents == nil {
		return notify.ReportRef{}, dispatch.NotFound("incident store")
	}
	folio, err := a.incidents.ReopenStillDownReport(ctx, tx, reportID, now)
	return notify.ReportRef{ID: reportID, Folio: folio}, err
}

func (a smsReplies) RestoreConfirmed(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (notify.ReportRef, error) {
	if a.incidents != nil {
		folio, err := a.incidents.ConfirmRestored(ctx, tx, reportID, now)
		if dispatch.ErrorKind(err) != dispatch.KindNotFound {
			return notify.ReportRef{ID: reportID, Folio: folio}, err
		}
	}
	return a.confirmOutcome(ctx, tx, reportID, now)
}

// confirmOutcome records that the customer answered the outcome text of report reportID,
// resolved by its visit or by staff, that service works: restored_confirmed_at is set and
// report.restore_confirmed written, once per resolution. NotFound when the report is not
// resolved or closed (reopened meanwhile: the answer is then kept as a note).
func (a smsReplies) confirmOutcome(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (notify.ReportRef, error) {
	ref := notify.ReportRef{ID: reportID}
	var already bool
	err := tx.QueryRowContext(ctx, `SELECT r.folio, EXISTS (SELECT 1 FROM events AS e WHERE e.report_id = r.id AND e.type = ?
			AND e.id > coalesce((SELECT max(id) FROM events WHERE report_id = r.id AND type = ?), 0))
		FROM reports AS r WHERE r.id = ? AND r.status IN ('resolved', 'closed') FOR UPDATE OF r`,
		dispatch.EventReportRestoreConfirmed, dispatch.EventReportResolved, reportID).Scan(&ref.Folio, &already)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, dispatch.NotFound("resolved report")
	}
	if err != nil || already {
		return ref, postgres.Wrap(err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, `UPDATE reports SET restored_confirmed_at = ?, updated_at = ? WHERE id = ?`, now, now, reportID); err != nil {
		return ref, postgres.Wrap(err)
	}
	ev := &dispatch.Event{Type: dispatch.EventReportRestoreConfirmed, At: now, Actor: "customer", Channel: string(dispatch.ChannelSMS), ReportID: reportID}
	return ref, a.events.Append(ctx, tx, ev, map[string]any{"folio": ref.Folio})
}

// nextVisitEvent records typ on answered, the visit of the text the customer answers, while
// it is the phone's and in one of statuses; otherwise on the customer's next booked visit.
// With two open folios, "1" or "2" is about the one last texted, not the earliest. It
// returns the visit the event went on.
func (a smsReplies) nextVisitEvent(ctx context.Context, tx bun.Tx, phone string, answered int64, statuses []string, typ string, now time.Time) (notify.ReportRef, int64, error) {
	var ref notify.ReportRef
	var visitID int64
	var techID sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT r.id, r.folio, v.id, v.technician_id FROM visits AS v
		JOIN reports AS r ON r.id = v.report_id JOIN customers AS c ON c.id = r.customer_id
		WHERE c.phone = ? AND ((v.id = ? AND v.status IN (?))
		   OR (v.status IN ('booked', 'assigned') AND v.window_start IS NOT NULL))
		ORDER BY v.id = ? DESC, v.window_start LIMIT 1`, phone, answered, bun.In(statuses), answered).Scan(&ref.ID, &ref.Folio, &visitID, &techID)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, 0, dispatch.NotFound("booked visit")
	}
	if err != nil {
		return ref, 0, postgres.Wrap(err)
	}
	ev := &dispatch.Event{Type: typ, At: now, Actor: "customer", Channel: "sms", ReportID: ref.ID, VisitID: visitID, TechnicianID: techID.Int64}
	return ref, visitID, a.events.Append(ctx, tx, ev, map[string]string{"folio": ref.Folio})
}
