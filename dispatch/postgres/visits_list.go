package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
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
	// After is the cursor of the previous page ("" for the first).
	After string
	// Limit is the page size, 1 to 100; 0 means 50.
	Limit int
}

// List returns the visits matching f, oldest first (the order a queue is worked in), one
// page at a time, and the cursor of the next page ("" on the last). A cursor not made by a
// list is invalid ("after").
func (s *Visits) List(ctx context.Context, f VisitFilter) ([]*dispatch.Visit, string, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	var rows []visitRow
	q := selectVisits(s.db, &rows)
	if f.After != "" {
		id, ok := decodeCursor(f.After)
		if !ok {
			return nil, "", dispatch.Invalid("after", "is not a cursor returned by this list")
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
	if err := q.OrderExpr("v.id").Limit(int64(f.Limit + 1)).Scan(ctx); err != nil {
		return nil, "", Wrap(err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = encodeCursor(rows[len(rows)-1].ID)
	}
	return visitsOf(rows), next, nil
}
