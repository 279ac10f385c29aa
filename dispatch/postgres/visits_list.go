package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/sla"
)

// VisitFilter selects visits for the dispatch board's lists. Zero fields do not filter.
type VisitFilter struct {
	Statuses []dispatch.VisitStatus
	// Day keeps the visits of one business day (its local midnight): promised a window
	// starting that day, or planned on it.
	Day time.Time
	// TechnicianID keeps the visits of one technician.
	TechnicianID int64
	// Unassigned keeps the visits without a technician.
	Unassigned bool
	// Folio keeps the visits of one report.
	Folio string
	// Incident keeps the visits of one incident (by its folio): its own repair visits and
	// the visits of its reports that it holds.
	Incident string
	// RescheduleRequested keeps the visits whose customer asked for another time and has
	// not been answered yet (see RequestReschedule), whatever their status and technician.
	RescheduleRequested bool
	// ToRebook keeps the visits that could not be done (not_completed) while their report
	// is still open and has no other visit planned or under way: the customer was told "we
	// will call you", so someone has to, and book a visit again.
	ToRebook bool
	// Missed keeps the visits whose promised window ended at Now with nobody on the way:
	// booked or assigned, never set out for, not held by an incident, their report (if any)
	// still open. The customer waited in vain; someone has to call him and book again.
	Missed bool
	// After is the cursor of the previous page ("" for the first).
	After string
	// Limit is the page size, 1 to 100; 0 means 50.
	Limit int
	// Now is the clock the reports' SLA states are read at; zero means time.Now.
	Now time.Time
}

// ListedVisit is a visit as the board's lists show it: with its report's resolution due
// time and SLA state, so that a queue can be ordered and coloured by the report's deadline,
// which may be at risk long before the visit's own window is.
type ListedVisit struct {
	*dispatch.Visit
	// ReportDueAt is when the report's resolution budget runs out; nil while the report
	// waits on the customer (its clock is stopped) or has no resolution target.
	ReportDueAt *time.Time
	// ReportSLAState is the report's resolution SLA state at VisitFilter.Now: the state the
	// SLA job last recorded, raised to at_risk or breached as soon as a report still being
	// worked on passes its risk or due time, without waiting for the job's next run.
	ReportSLAState sla.State
	// RescheduleRequestedAt is when the customer asked for another time (an SMS reply "2"),
	// while nobody has answered it; nil when there is no pending request.
	RescheduleRequestedAt *time.Time
}

// listRow is a visit with its report's SLA columns.
type listRow struct {
	visitRow `bun:",extend"`

	ReportDueAt    bun.NullTime `bun:"report_due_at,scanonly"`
	ReportSLAState string       `bun:"report_sla_state,scanonly"`

	RescheduleRequestedAt bun.NullTime `bun:"reschedule_requested_at,scanonly"`
}

// reportSLAStateSQL is the report's SLA state at ?: breached or at risk once recorded;
// for a report still being worked on (the statuses the SLA job marks) also once its due or
// risk time has passed.
const reportSLAStateSQL = `CASE
	WHEN r.sla_state = 'breached' THEN 'breached'
	WHEN r.status IN ('open', 'in_progress', 'awaiting_visit') AND r.due_at <= ?0 THEN 'breached'
	WHEN r.sla_state = 'at_risk' THEN 'at_risk'
	WHEN r.status IN ('open', 'in_progress', 'awaiting_visit') AND r.sla_risk_at <= ?0 THEN 'at_risk'
	ELSE 'ok' END`

// List returns the visits matching f with their reports' SLA due times and states, oldest
// first (the order a queue is worked in), one page at a time, and the cursor of the next
// page ("" on the last). A cursor not made by a list is invalid ("after").
func (s *Visits) List(ctx context.Context, f VisitFilter) ([]ListedVisit, string, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	if f.Now.IsZero() {
		f.Now = time.Now()
	}
	var rows []listRow
	q := selectVisits(s.db, &rows).
		ColumnExpr("r.due_at AS report_due_at").
		ColumnExpr(reportSLAStateSQL+" AS report_sla_state", f.Now.UTC())
	if f.After != "" {
		id, err := decodeCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("v.id > ?", id)
	}
	if len(f.Statuses) > 0 {
		sts := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			sts[i] = string(st)
		}
		q = q.Where("v.status IN (?)", bun.In(sts))
	}
	if !f.Day.IsZero() {
		q = q.Where("((v.window_start >= ? AND v.window_start < ?) OR v.plan_day = ?::date)",
			f.Day, s.cfg.NextDay(f.Day), f.Day.Format(time.DateOnly))
	}
	if f.TechnicianID != 0 {
		q = q.Where("v.technician_id = ?", f.TechnicianID)
	}
	if f.Unassigned {
		q = q.Where("v.technician_id IS NULL")
	}
	if f.Folio != "" {
		q = q.Where("r.folio = ?", f.Folio)
	}
	if f.Incident != "" {
		q = q.Where("(v.incident_id = (SELECT id FROM incidents WHERE folio = ?0) OR v.held_by_incident_id = (SELECT id FROM incidents WHERE folio = ?0))", f.Incident)
	}
	if f.RescheduleRequested {
		q = q.Where("v.reschedule_requested_at IS NOT NULL")
	}
	if f.ToRebook {
		q = q.Where("v.status = 'not_completed' AND r.status NOT IN ('resolved', 'closed', 'cancelled')").
			Where(`NOT EXISTS (SELECT 1 FROM visits AS o WHERE o.report_id = v.report_id AND o.id <> v.id
				AND o.status NOT IN ('completed', 'not_completed', 'cancelled'))`)
	}
	if f.Missed {
		q = q.Where(missedSQL, f.Now.UTC())
	}
	if err := q.OrderExpr("v.id").Limit(int64(f.Limit + 1)).Scan(ctx); err != nil {
		return nil, "", Wrap(err)
	}
	rows, next := nextPage(rows, f.Limit, func(i int) int64 { return rows[i].ID })
	out := make([]ListedVisit, len(rows))
	for i := range rows {
		out[i] = ListedVisit{Visit: rows[i].visit(), ReportSLAState: sla.State(rows[i].ReportSLAState)}
		if !rows[i].ReportDueAt.IsZero() {
			due := rows[i].ReportDueAt.Time.UTC()
			out[i].ReportDueAt = &due
		}
		if !rows[i].RescheduleRequestedAt.IsZero() {
			at := rows[i].RescheduleRequestedAt.Time.UTC()
			out[i].RescheduleRequestedAt = &at
		}
	}
	return out, next, nil
}
