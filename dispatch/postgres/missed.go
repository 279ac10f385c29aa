package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// EventVisitWindowMissed records that a visit's promised window ended with nobody on the
// way (see MarkMissedWindows); its data carries the folio and the window missed.
const EventVisitWindowMissed = "visit.window_missed"

// MissedGrace is how long after a promised window ends MarkMissedWindows waits before it
// records the window as missed (and the customer is texted an apology): a technician a few
// minutes late still sets out, and the customer then gets "va en camino" instead of an
// apology followed at once by the technician at his door.
const MissedGrace = 15 * time.Minute

// MissedLookBack is how far back MarkMissedWindows looks: a window that ended longer ago
// than this is not marked (nor its customer texted) by a sweep that runs late — the first
// after this was deployed, or after the service was down for a day. An apology for a
// window of last week would come as news to a customer long since called, and the board's
// queue lists the visit all the same (VisitFilter.Missed has no such bound).
const MissedLookBack = 12 * time.Hour

// missedSQL is the rule of a missed window at ?0, over visits AS v LEFT JOIN reports AS r:
// booked or assigned (never set out for), the window ended, not held by an incident (an
// outage put it off, and its customer was told so), the report (if any) still open. The
// board's list (VisitFilter.Missed) and MarkMissedWindows share it.
const missedSQL = `v.status IN ('booked', 'assigned') AND v.window_end <= ?0 AND v.held_by_incident_id IS NULL
	AND (v.report_id IS NULL OR r.status NOT IN ('resolved', 'closed', 'cancelled'))`

// unmarkedSQL keeps the visits whose current window has no visit.window_missed yet.
const unmarkedSQL = `NOT EXISTS (SELECT 1 FROM events AS e WHERE e.visit_id = v.id AND e.type = '` + EventVisitWindowMissed + `'
	AND (e.data->>'window_start')::timestamptz = v.window_start AND (e.data->>'window_end')::timestamptz = v.window_end)`

// MarkMissedWindows appends one visit.window_missed per visit whose promised window ended
// MissedGrace or more before now, and less than MissedLookBack, and that is missed by the
// board's rule (VisitFilter.Missed), and returns how many it marked. Each visit's window is
// marked at most once, whatever runs it, however often and however many at once: the mark
// is written under the visit's row lock after checking, in the same transaction, that no
// mark of that window exists. A visit booked again and missed again is marked again (its
// window is another). The mark does not change the visit (nor bump its version).
func (s *Visits) MarkMissedWindows(ctx context.Context, now time.Time) (int, error) {
	const batch = 200
	now = now.UTC().Truncate(time.Microsecond)
	cutoff := now.Add(-MissedGrace)
	marked := 0
	after := int64(0)
	for {
		var ids []int64
		err := s.db.NewSelect().TableExpr("visits AS v").Column("v.id").
			Join("LEFT JOIN reports AS r ON r.id = v.report_id").
			Where(missedSQL, cutoff).Where("v.window_end > ?", now.Add(-MissedLookBack)).Where(unmarkedSQL).Where("v.id > ?", after).
			OrderExpr("v.id").Limit(batch).Scan(ctx, &ids)
		if err != nil {
			return marked, Wrap(err)
		}
		for _, id := range ids {
			ok, err := s.markMissed(ctx, id, cutoff, now)
			if err != nil {
				return marked, err
			}
			if ok {
				marked++
			}
			after = id
		}
		if len(ids) < batch {
			return marked, nil
		}
	}
}

// markMissed marks visit id's window missed at now, unless, once its row is locked, it is
// no longer missed at cutoff or its window is already marked.
func (s *Visits) markMissed(ctx context.Context, id int64, cutoff, now time.Time) (bool, error) {
	var marked bool
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		marked = false
		if _, err := tx.ExecContext(ctx, "SELECT 1 FROM visits WHERE id = ? FOR UPDATE", id); err != nil {
			return Wrap(err)
		}
		// A statement of its own, so that it sees what committed while the lock was awaited:
		// a step that set out for the visit, another sweep's mark.
		var rows []visitRow
		err := selectVisits(tx, &rows).Where("v.id = ?", id).Where(missedSQL, cutoff).Where(unmarkedSQL).Scan(ctx)
		if err != nil {
			return Wrap(err)
		}
		if len(rows) == 0 {
			return nil
		}
		v := rows[0].visit()
		ev := visitEvent(v, EventVisitWindowMissed, nil, now)
		data := map[string]any{"window_start": v.Window.Start.UTC(), "window_end": v.Window.End.UTC(), "status": string(v.Status)}
		if v.Folio != "" {
			data["folio"] = v.Folio
		}
		if v.IncidentFolio != "" {
			data["incident_folio"] = v.IncidentFolio
		}
		if err := s.events.Append(ctx, tx, ev, data); err != nil {
			return err
		}
		marked = true
		return nil
	})
	return marked, err
}
