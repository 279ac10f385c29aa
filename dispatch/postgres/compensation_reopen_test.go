package postgres_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// keptData is the "compensation_kept" of a report's event: the compensation an earlier
// resolution computed, which the change keeps owed as it was.
type keptData struct {
	Kept *struct {
		Amount        string    `json:"amount"`
		Currency      string    `json:"currency"`
		AsOf          time.Time `json:"as_of"`
		IncidentFolio string    `json:"incident_folio"`
	} `json:"compensation_kept"`
	Compensation  json.RawMessage `json:"compensation"`
	IncidentFolio string          `json:"incident_folio"`
}

// lastEvent returns the data of report id's last event of type typ.
func (e *incidentEnv) lastEvent(tb testing.TB, reportID int64, typ string) keptData {
	tb.Helper()
	var raw string
	if err := e.db.NewRaw(`SELECT data FROM events WHERE report_id = ? AND type = ? ORDER BY id DESC LIMIT 1`, reportID, typ).
		Scan(context.Background(), &raw); err != nil {
		tb.Fatal(err)
	}
	var d keptData
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestReopenedReportKeepsItsCompensation: a report resolved through its incident owes the
// customer the compensation for the outage until the incident's restore. Reopened (the
// customer says service is still down, or staff reopen it), the report kept showing that
// compensation as if it were the outcome of the report as it now stands, and its timeline
// said nothing of it. The rule (dispatch.Compensation): the amount stays owed, unchanged and
// once, as of the resolution that computed it — the report says it is of an earlier
// resolution, the reopening and each later resolution say on the timeline that it is kept
// (not recomputed, not added again), and the billing export and the incident's total do not
// change.
func TestReopenedReportKeepsItsCompensation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	start := clock.Add(-12 * time.Hour)
	// 300.00 a month, November (30 d): 12 h = 5.00 + 20 % = 6.00.
	a := e.report(t, "fault", "5512349001", "TORRE-REABRE", "300", start.Add(10*time.Minute), nil)
	b := e.report(t, "fault", "5512349002", "TORRE-REABRE", "300", start.Add(20*time.Minute), nil)
	inc := e.open(t, "TORRE-REABRE", start)
	restored := clock
	res := dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}
	if _, err := e.incidents.Resolve(ctx, inc.ID, res, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	owed := func(r *dispatch.Report, earlier bool) {
		t.Helper()
		c, err := postgres.ReportCompensation(ctx, e.db, r.ID)
		if err != nil || c.Amount != 600 || !c.AsOf.Equal(clock) || c.IncidentID != inc.ID || c.IncidentFolio != inc.Folio ||
			c.EarlierResolution != earlier {
			t.Fatalf("report %s owed %+v, %v; want 6.00 as of %s (incident %s), earlier resolution %v", r.Folio, c, err, clock, inc.Folio, earlier)
		}
	}
	owed(a, false)
	owed(b, false)

	// The customer of a says service is still down: reopened, his compensation kept.
	if _, err := e.incidents.ReopenStillDown(ctx, a.Folio, dispatch.ChannelSMS, postgres.Origin{Actor: "customer"}, clock.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	owed(a, true)
	d := e.lastEvent(t, a.ID, dispatch.EventReportReopened)
	if d.Kept == nil || d.Kept.Amount != "6.00" || d.Kept.Currency != "MXN" || !d.Kept.AsOf.Equal(clock) || d.Kept.IncidentFolio != inc.Folio {
		t.Errorf("report.reopened of %s = %+v; want compensation_kept 6.00 MXN as of %s (incident %s)", a.Folio, d, clock, inc.Folio)
	}
	// A technician restores him; the report is resolved again: nothing computed again.
	yes := true
	if _, err := e.reports.Change(ctx, a.Folio, dispatch.Change{Action: dispatch.ActionResolve, Cause: "ONT dañada; se cambió",
		Verdict: "upheld", ServiceRestored: &yes}, e.staff, clock.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	owed(a, true)
	d = e.lastEvent(t, a.ID, dispatch.EventReportResolved)
	if d.Kept == nil || d.Kept.Amount != "6.00" || !d.Kept.AsOf.Equal(clock) {
		t.Errorf("second report.resolved of %s = %+v; want compensation_kept 6.00 as of %s", a.Folio, d, clock)
	}
	// Not the incident's restore notice: no "compensation", no "incident_folio" of its own.
	if len(d.Compensation) != 0 || d.IncidentFolio != "" {
		t.Errorf("second report.resolved of %s = %+v; want no compensation nor incident_folio (it would text the restore notice again)", a.Folio, d)
	}

	// Staff reopen b and close it again: the same.
	if _, err := e.reports.Change(ctx, b.Folio, dispatch.Change{Action: dispatch.ActionReopen, Reason: "sigue intermitente"}, e.staff, clock.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	owed(b, true)
	if d := e.lastEvent(t, b.ID, dispatch.EventReportReopened); d.Kept == nil || d.Kept.Amount != "6.00" {
		t.Errorf("report.reopened of %s by staff = %+v; want compensation_kept 6.00", b.Folio, d)
	}

	// Owed once each: the incident's total and its billing export are as at the resolution.
	got, err := e.incidents.Get(ctx, inc.ID)
	if err != nil || got.CompensationTotal != 1200 {
		t.Fatalf("incident total = %v (%v); want 12.00", got, err)
	}
	var buf bytes.Buffer
	if err := e.incidents.CompensationCSV(ctx, inc.ID, &buf); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(lines) != 3 || lines[1][12] != "6.00" || lines[2][12] != "6.00" {
		t.Fatalf("billing export = %v (%v); want one line of 6.00 per report", lines, err)
	}
	var rows int
	if err := e.db.NewRaw(`SELECT count(*) FROM compensations WHERE report_id IN (?, ?)`, a.ID, b.ID).Scan(ctx, &rows); err != nil || rows != 2 {
		t.Fatalf("compensations = %d (%v); want 2", rows, err)
	}
}
