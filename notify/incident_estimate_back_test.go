package notify_test

import (
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestIncidentEstimateBackIsTold: the restore estimate goes 14:00 → 18:00 → 14:00. The
// update was keyed by the estimate alone, so the third change, back to 14:00, was dropped as
// a duplicate of the first and the customer kept believing 18:00. Each change is told once;
// the same change for the customer's second report, and a replay, are not.
func TestIncidentEstimateBackIsTold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	const inc = "I-2026-000001"
	cust := customer(t, db, phone(), "es", false)
	first, firstFolio := report(t, db, cust, "fault", "phone")
	second, secondFolio := report(t, db, cust, "fault", "web")
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	two := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC) // 14:00 in Mexico City
	six := two.Add(4 * time.Hour)
	change := func(to time.Time, prev *time.Time) {
		at = at.Add(10 * time.Minute)
		for _, r := range []struct {
			id    int64
			folio string
		}{{first, firstFolio}, {second, secondFolio}, {first, firstFolio}} { // both reports, then a replay
			appendEvent(t, db, events, dispatch.Event{Type: dispatch.EventReportIncidentEstimate, At: at, ReportID: r.id},
				map[string]any{"folio": r.folio, "incident_folio": inc, "estimated_restore_at": to, "previous": prev})
		}
	}
	change(two, nil)
	change(six, &two)
	change(two, &six)
	var got []string
	for _, r := range outbox(t, db) {
		if r.Kind == "incident_estimate" {
			got = append(got, r.Body)
		}
	}
	if len(got) != 3 {
		t.Fatalf("estimate updates = %d %q; want 3, one per change", len(got), got)
	}
	for i, want := range []string{"14:00", "18:00", "14:00"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("update %d = %q; want %s", i+1, got[i], want)
		}
	}
}
