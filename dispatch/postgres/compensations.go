package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/uptrace/bun"
)

// keepCompensation adds to data, the event of a change that reopens report reportID or
// resolves it again, the compensation an earlier resolution computed for it, under
// "compensation_kept" ({"amount","currency","as_of","incident_id","incident_folio",
// "outage_start","outage_end"}): the change keeps it owed as it was, neither cancelled nor
// computed again (dispatch.Compensation says why). It adds nothing when none is stored.
//
// The key is not "compensation": report.resolved with a compensation and an incident's
// folio is the incident's restore notice, which the customer was texted once already.
func keepCompensation(ctx context.Context, db bun.IDB, reportID int64, data map[string]any) error {
	var row compensationRow
	err := db.NewRaw(`SELECT `+compensationColumns+` FROM compensations AS k WHERE k.report_id = ?`, reportID).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return Wrap(err)
	}
	c := row.compensation()
	kept := map[string]any{"amount": c.Amount, "currency": c.Currency, "as_of": c.AsOf,
		"outage_start": c.OutageStart, "outage_end": c.OutageEnd}
	if c.IncidentID != 0 {
		kept["incident_id"], kept["incident_folio"] = c.IncidentID, c.IncidentFolio
	}
	data["compensation_kept"] = kept
	return nil
}
