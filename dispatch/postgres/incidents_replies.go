package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// ReopenStillDownReport answers, inside the inbound text's tx, a customer who replies to the
// restore notice of report reportID that service is still down: the report, resolved
// through its resolved incident, is reopened with a normal visit as ReopenStillDown says
// (channel sms, actor "customer"). A report already active again (the customer said so
// twice) is left as it is and its folio returned, so a repeated answer does nothing twice.
// NotFound when the report is not one an incident resolved.
func (s *Incidents) ReopenStillDownReport(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (folio string, err error) {
	r, err := lockIncidentReport(ctx, tx, reportID)
	if err != nil {
		return "", err
	}
	if r.Status.Active() {
		return r.Folio, nil
	}
	if err := s.reopen(ctx, tx, r, dispatch.ChannelSMS, Origin{Actor: "customer"}, now); err != nil {
		return "", err
	}
	return r.Folio, nil
}

// ConfirmRestored records, inside the inbound text's tx, that the customer of report
// reportID answered the restore notice that service is back: restored_confirmed_at is set
// to now and report.restore_confirmed written. A report reopened meanwhile, or confirmed
// before, changes nothing. NotFound when the report is not one an incident resolved.
func (s *Incidents) ConfirmRestored(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (folio string, err error) {
	r, err := lockIncidentReport(ctx, tx, reportID)
	if err != nil {
		return "", err
	}
	if r.Status.Active() {
		return r.Folio, nil
	}
	var already bool
	if err := tx.NewRaw(`SELECT EXISTS (SELECT 1 FROM events WHERE report_id = ? AND type = ? AND id > coalesce(
			(SELECT max(id) FROM events WHERE report_id = ? AND type = ?), 0))`,
		r.ID, dispatch.EventReportRestoreConfirmed, r.ID, dispatch.EventReportResolved).Scan(ctx, &already); err != nil {
		return "", Wrap(err)
	}
	if already {
		return r.Folio, nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	if _, err := tx.NewRaw(`UPDATE reports SET restored_confirmed_at = ?, updated_at = ? WHERE id = ?`, now, now, r.ID).Exec(ctx); err != nil {
		return "", Wrap(err)
	}
	ev := &dispatch.Event{Type: dispatch.EventReportRestoreConfirmed, At: now, Actor: "customer", Channel: string(dispatch.ChannelSMS),
		ReportID: r.ID, IncidentID: r.IncidentID}
	return r.Folio, s.events.Append(ctx, tx, ev, map[string]any{"folio": r.Folio})
}

// lockIncidentReport reads, for update, report id as attached to a resolved incident; not
// found when it is not attached to one.
func lockIncidentReport(ctx context.Context, tx bun.Tx, id int64) (*dispatch.Report, error) {
	var row incidentReportRow
	err := tx.NewSelect().Model(&row).
		Where("r.id = ? AND EXISTS (SELECT 1 FROM incidents AS i WHERE i.id = r.incident_id AND i.status = 'resolved')", id).
		For("UPDATE OF r").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("report resolved through an incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return &row.Report, nil
}
