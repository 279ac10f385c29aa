package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// PublicOutage is the incident a report is attached to as the report's customer sees it on
// his status page: what the texts about it told him, and no more — no access point, no
// cause or notes of the incident's own, no staff.
type PublicOutage struct {
	Folio     string                  `bun:"folio"`
	Title     string                  `bun:"title"`
	Status    dispatch.IncidentStatus `bun:"status"`
	StartedAt time.Time               `bun:"started_at"`
	// EstimatedRestoreAt is the restore estimate customers were last told while the
	// incident is open (a smaller move of the estimate is not announced), nil when none was
	// and once it is resolved.
	EstimatedRestoreAt *time.Time `bun:"announced_restore_at"`
	RestoredAt         *time.Time `bun:"restored_at"`
}

// OutageForCustomer returns incident id as PublicOutage; not found when there is none.
func OutageForCustomer(ctx context.Context, db bun.IDB, id int64) (*PublicOutage, error) {
	var o PublicOutage
	err := db.NewRaw(`SELECT folio, title, status, started_at, announced_restore_at, restored_at FROM incidents WHERE id = ?`, id).Scan(ctx, &o)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	o.StartedAt = o.StartedAt.UTC()
	if o.Status != dispatch.IncidentOpen {
		o.EstimatedRestoreAt = nil
	}
	return &o, nil
}
