package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// CreateForIncident adds a visit planned for the open incident incidentID itself: the repair
// at its access point, with no report and no customer. An access point has no address of
// its own, so nv must give lat and lon (invalid "lat" otherwise). The visit is never held
// (it is the work that ends the outage); it is planned, booked and worked like any visit,
// and its events carry the incident's id. Not found when there is no such incident; a
// resolved incident is a conflict (incident_resolved).
func (s *Visits) CreateForIncident(ctx context.Context, incidentID int64, nv dispatch.NewVisit, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if err := nv.Validate(); err != nil {
		return nil, err
	}
	if nv.Lat == nil {
		return nil, dispatch.Invalid("lat", "an incident's visit needs lat and lon: its access point has no address of its own")
	}
	var id int64
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		// Locked so that a resolution running at the same time comes strictly before or after.
		inc, err := lockIncident(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		if inc.Status != dispatch.IncidentOpen {
			return dispatch.Conflict("incident_resolved", "incident %s is %s: it gets no more visits", inc.Folio, inc.Status)
		}
		row := &visitRow{IncidentID: inc.ID, Status: string(dispatch.VisitUnscheduled), DurationMin: nv.DurationMin, Skills: nv.Skills,
			Address: nv.Address, Lat: *nv.Lat, Lon: *nv.Lon, Priority: nv.Priority, Urgent: nv.Urgent, Availability: nv.Availability}
		if actor != nil {
			row.CreatedBy = actor.ID
		}
		if _, err := tx.NewInsert().Model(row).
			Column("incident_id", "status", "duration_min", "skills", "address", "lat", "lon", "priority", "urgent", "availability", "created_by").
			Returning("id").Exec(ctx); err != nil {
			return Wrap(err)
		}
		id = row.ID
		v := row.visit()
		v.IncidentFolio = inc.Folio
		return s.events.Append(ctx, tx, visitEvent(v, "visit.created", actor, now), map[string]any{
			"duration_min": v.DurationMin, "skills": v.Skills, "urgent": v.Urgent,
			"incident_folio": inc.Folio, "access_point": inc.AccessPoint,
		})
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// ByIncident returns the visits planned for incident incidentID itself (not those of its
// attached reports), oldest first.
func (s *Visits) ByIncident(ctx context.Context, incidentID int64) ([]*dispatch.Visit, error) {
	var rows []visitRow
	if err := selectVisits(s.db, &rows).Where("v.incident_id = ?", incidentID).Order("v.id").Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	return visitsOf(rows), nil
}
