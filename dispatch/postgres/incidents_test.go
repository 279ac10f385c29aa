package postgres_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

// clock is the tests' now: a Wednesday in November 2026, 12:00 in Mexico City.
var clock = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

type incidentEnv struct {
	db        *bun.DB
	events    *postgres.Events
	reports   *postgres.Reports
	incidents *postgres.Incidents
	staff     postgres.Origin
}

func newIncidentEnv(tb testing.TB, rule dispatch.IncidentRule, hook bool) *incidentEnv {
	tb.Helper()
	db := dispatchtest.DB(tb)
	events := postgres.NewEvents()
	inc, err := postgres.NewIncidents(db, events, postgres.IncidentsConfig{Rule: rule})
	if err != nil {
		tb.Fatal(err)
	}
	if hook {
		events.AddHook(inc.ReportHook)
	}
	u, err := dispatch.NewUser("despacho@example.mx", "Dora Despacho", dispatch.RoleDispatcher, "contraseña-segura")
	if err != nil {
		tb.Fatal(err)
	}
	if err := postgres.NewUsers(db).Create(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
	return &incidentEnv{db: db, events: events, reports: postgres.NewReports(db, events, dispatch.SLA{}), incidents: inc, staff: postgres.Origin{User: u}}
}

// report files a report for the customer with phone on access point ap (plan price in
// pesos, "" for none) at now, with its outage reported to have started at outage.
func (e *incidentEnv) report(tb testing.TB, kind, phone, ap, price string, now time.Time, outage *time.Time) *dispatch.Report {
	tb.Helper()
	in := dispatch.ReportInput{Channel: "phone", Kind: kind, Description: "Sin internet desde la mañana", OutageStartedAt: outage,
		Customer: dispatch.CustomerInput{Name: "Cliente " + phone, Phone: phone, AccessPoint: ap}}
	if price != "" {
		var p float64
		fmt.Sscan(price, &p)
		in.Customer.PlanPrice = &p
	}
	nr, err := in.Validate(now)
	if err != nil {
		tb.Fatal(err)
	}
	c, _, err := e.reports.Create(context.Background(), nr, e.staff, postgres.CreateOptions{Trusted: true})
	if err != nil {
		tb.Fatal(err)
	}
	return c.Report
}

// visit adds an unscheduled visit to report id and returns its id.
func (e *incidentEnv) visit(tb testing.TB, reportID int64) int64 {
	tb.Helper()
	var id int64
	err := e.db.NewRaw(`INSERT INTO visits (report_id, duration_min, address, lat, lon) VALUES (?, 60, 'Calle 1', 19.4, -99.1) RETURNING id`, reportID).
		Scan(context.Background(), &id)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func (e *incidentEnv) open(tb testing.TB, ap string, started time.Time) *dispatch.IncidentDetail {
	tb.Helper()
	in, err := dispatch.IncidentInput{AccessPoint: ap, Title: "Caída de la torre", StartedAt: &started}.Validate(clock)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := e.incidents.Open(context.Background(), in, e.staff)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func (e *incidentEnv) eventsOf(tb testing.TB, typ string) []dispatch.Event {
	tb.Helper()
	var evs []dispatch.Event
	err := e.db.NewRaw(`SELECT id, type, at, actor, report_id, visit_id, incident_id, data FROM events WHERE type = ? ORDER BY id`, typ).
		Scan(context.Background(), &evs)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func (e *incidentEnv) status(tb testing.TB, reportID int64) (status string, incidentID int64) {
	tb.Helper()
	var row struct {
		Status     string `bun:"status"`
		IncidentID int64  `bun:"incident_id,nullzero"`
	}
	if err := e.db.NewRaw(`SELECT status, incident_id FROM reports WHERE id = ?`, reportID).Scan(context.Background(), &row); err != nil {
		tb.Fatal(err)
	}
	return row.Status, row.IncidentID
}

func wantErr(tb testing.TB, err error, kind dispatch.Kind, field string) {
	tb.Helper()
	var de *dispatch.Error
	if err == nil {
		tb.Fatalf("error = nil, want %s %s", kind, field)
	}
	de, ok := err.(*dispatch.Error)
	if !ok || de.Kind != kind || (field != "" && de.Field != field) {
		tb.Fatalf("error = %v, want %s %s", err, kind, field)
	}
}

func TestIncidentOpenAttachesFaultsOfItsAccessPoint(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	start := clock.Add(-3 * time.Hour)
	a := e.report(t, "fault", "5512345601", "TORRE-NORTE", "300", clock.Add(-2*time.Hour), nil)
	b := e.report(t, "fault", "5512345602", "TORRE-NORTE", "300", clock.Add(-time.Hour), nil)
	complaint := e.report(t, "complaint", "5512345603", "TORRE-NORTE", "300", clock.Add(-time.Hour), nil)
	other := e.report(t, "fault", "5512345604", "TORRE-SUR", "300", clock.Add(-time.Hour), nil)
	va := e.visit(t, a.ID)

	d := e.open(t, "TORRE-NORTE", start)
	if !strings.HasPrefix(d.Folio, "I-2026-") || d.Status != dispatch.IncidentOpen || d.Attached != 2 {
		t.Fatalf("opened = %+v, want folio I-2026-…, open, 2 attached", d.Incident)
	}
	for _, r := range []*dispatch.Report{a, b} {
		if _, inc := e.status(t, r.ID); inc != d.ID {
			t.Errorf("report %s incident = %d, want %d", r.Folio, inc, d.ID)
		}
	}
	for _, r := range []*dispatch.Report{complaint, other} {
		if _, inc := e.status(t, r.ID); inc != 0 {
			t.Errorf("report %s attached to %d, want none", r.Folio, inc)
		}
	}
	var held int64
	if err := e.db.NewRaw(`SELECT coalesce(held_by_incident_id, 0) FROM visits WHERE id = ?`, va).Scan(ctx, &held); err != nil || held != d.ID {
		t.Fatalf("visit held by = %d (%v), want %d", held, err, d.ID)
	}
	// A held visit is not dispatched: no slots, no booking.
	vs := postgres.NewVisits(e.db, nil, nil, planning.Config{})
	// The incident's visits are the ones it holds.
	listed, _, err := vs.List(ctx, postgres.VisitFilter{Incident: d.Folio})
	if err != nil || len(listed) != 1 || listed[0].ID != va {
		t.Fatalf("visits of incident %s = %+v (%v), want the held visit %d", d.Folio, listed, err, va)
	}
	heldErr := func(err error) bool {
		var de *dispatch.Error
		return errors.As(err, &de) && de.Code == "held_by_incident"
	}
	if _, err := vs.Slots(ctx, va, clock, 2, clock); !heldErr(err) {
		t.Fatalf("slots of a held visit: %v, want a conflict", err)
	}
	w := dispatch.Span{Start: clock.Add(24 * time.Hour), End: clock.Add(26 * time.Hour)}
	if _, err := vs.Book(ctx, va, w, nil, clock); !heldErr(err) {
		t.Fatalf("booking a held visit: %v, want a conflict", err)
	}
	opened := e.eventsOf(t, dispatch.EventIncidentOpened)
	if len(opened) != 1 || opened[0].IncidentID != d.ID {
		t.Fatalf("incident.opened events = %+v", opened)
	}
	var od map[string]any
	_ = json.Unmarshal(opened[0].Data, &od)
	if od["folio"] != d.Folio || od["access_point"] != "TORRE-NORTE" {
		t.Fatalf("incident.opened data = %v", od)
	}
	attached := e.eventsOf(t, dispatch.EventReportAttached)
	if len(attached) != 2 {
		t.Fatalf("got %d report.attached_to_incident events, want 2", len(attached))
	}
	var ad struct {
		IncidentFolio string  `json:"incident_folio"`
		HeldVisits    []int64 `json:"held_visits"`
	}
	_ = json.Unmarshal(attached[0].Data, &ad)
	if attached[0].ReportID != a.ID || attached[0].IncidentID != d.ID || ad.IncidentFolio != d.Folio || len(ad.HeldVisits) != 1 || ad.HeldVisits[0] != va {
		t.Fatalf("first attached event = %+v %s", attached[0], attached[0].Data)
	}

	// A second incident on the same access point is refused; another access point is fine.
	in, _ := dispatch.IncidentInput{AccessPoint: "TORRE-NORTE", Title: "Otra vez", StartedAt: &start}.Validate(clock)
	_, err = e.incidents.Open(ctx, in, e.staff)
	wantErr(t, err, dispatch.KindConflict, "")
	d2 := e.open(t, "TORRE-SUR", start)
	if d2.Attached != 1 || d2.Folio == d.Folio {
		t.Fatalf("second incident = %+v", d2.Incident)
	}

	// Attaching by hand: another access point's report, a complaint, one attached already.
	_, err = e.incidents.Attach(ctx, d.ID, other.Folio, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	late := e.report(t, "fault", "5512345605", "TORRE-OESTE", "", clock, nil)
	_, err = e.incidents.Attach(ctx, d.ID, late.Folio, e.staff, clock)
	wantErr(t, err, dispatch.KindInvalid, "folio")
	_, err = e.incidents.Attach(ctx, d.ID, complaint.Folio, e.staff, clock)
	wantErr(t, err, dispatch.KindInvalid, "folio")
	_, err = e.incidents.Attach(ctx, d.ID, a.Folio, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	_, err = e.incidents.Attach(ctx, d.ID, "R-2026-999999", e.staff, clock)
	wantErr(t, err, dispatch.KindInvalid, "folio")
	// A new fault on the access point, attached by hand (no hook wired here).
	c := e.report(t, "fault", "5512345606", "TORRE-NORTE", "250", clock, nil)
	got, err := e.incidents.Attach(ctx, d.ID, strings.ToLower(c.Folio), e.staff, clock)
	if err != nil || got.Attached != 3 {
		t.Fatalf("attach = %v, %v; want 3 attached", got, err)
	}
	// A visit created for it now is held from the start.
	vc := e.visit(t, c.ID)
	if err := e.db.NewRaw(`SELECT coalesce(held_by_incident_id, 0) FROM visits WHERE id = ?`, vc).Scan(ctx, &held); err != nil || held != d.ID {
		t.Fatalf("new visit held by = %d (%v), want %d", held, err, d.ID)
	}
}

func TestIncidentResolveComputesCompensation(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)     // 00:00 in Mexico City
	restored := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // 12 h later
	lateStart := start.Add(6 * time.Hour)
	a := e.report(t, "fault", "5512345611", "NODO-7", "300", start.Add(time.Hour), nil)
	b := e.report(t, "fault", "5512345612", "NODO-7", "300", start.Add(7*time.Hour), &lateStart)
	va := e.visit(t, a.ID)
	d := e.open(t, "NODO-7", start)

	// Estimates: in the past or before the start are refused; a good one notifies each report.
	past := clock.Add(-time.Hour)
	_, err := e.incidents.SetEstimate(ctx, d.ID, &past, e.staff, clock)
	wantErr(t, err, dispatch.KindInvalid, "estimated_restore_at")
	est := clock.Add(4 * time.Hour)
	if _, err := e.incidents.SetEstimate(ctx, d.ID, &est, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	if n := len(e.eventsOf(t, dispatch.EventReportIncidentEstimate)); n != 2 {
		t.Fatalf("got %d report estimate events, want 2", n)
	}

	// Bad resolutions change nothing.
	before := restored.Add(-13 * time.Hour)
	bad := []struct {
		res   dispatch.IncidentResolution
		field string
	}{
		{dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &before}, "restored_at"},
		{dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld"}, "restored_at"},
		{dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "maybe", RestoredAt: &restored}, "verdict"},
		{dispatch.IncidentResolution{Cause: " ", Verdict: "upheld", RestoredAt: &restored}, "cause"},
	}
	for _, c := range bad {
		_, err := e.incidents.Resolve(ctx, d.ID, c.res, e.staff, clock)
		wantErr(t, err, dispatch.KindInvalid, c.field)
	}

	res := dispatch.IncidentResolution{Cause: "Fibra cortada por obra municipal", Verdict: "upheld", RestoredAt: &restored}
	got, err := e.incidents.Resolve(ctx, d.ID, res, e.staff, clock)
	if err != nil {
		t.Fatal(err)
	}
	// 300.00 a month, November (30 d): 12 h = 5.00 + 20 % = 6.00; 6 h = 2.50 + 20 % = 3.00.
	want := map[string]dispatch.Centavos{a.Folio: 600, b.Folio: 300}
	if got.Status != dispatch.IncidentResolved || got.CompensationTotal != 900 || len(got.Reports) != 2 {
		t.Fatalf("resolved = %+v, total %s; want resolved, 9.00", got.Incident, got.CompensationTotal)
	}
	for _, r := range got.Reports {
		if r.Status != dispatch.StatusResolved || r.Compensation == nil || r.Compensation.Amount != want[r.Folio] || r.Compensation.Currency != "MXN" {
			t.Errorf("report %s = %+v, want resolved owed %s", r.Folio, r, want[r.Folio])
		}
	}
	c, err := postgres.ReportCompensation(ctx, e.db, b.ID)
	if err != nil || c.Amount != 300 || !c.OutageStart.Equal(lateStart) || !c.OutageEnd.Equal(restored) || c.BonusBP != 2000 {
		t.Fatalf("ReportCompensation = %+v, %v", c, err)
	}
	detail, err := e.reports.Get(ctx, a.Folio)
	if err != nil {
		t.Fatal(err)
	}
	r := detail.Report
	if r.Cause != res.Cause || r.Verdict != dispatch.VerdictUpheld || r.ServiceRestoredAt == nil || !r.ServiceRestoredAt.Equal(restored) {
		t.Fatalf("report after resolve = status %s cause %q verdict %s restored %v", r.Status, r.Cause, r.Verdict, r.ServiceRestoredAt)
	}
	var vstatus string
	if err := e.db.NewRaw(`SELECT status FROM visits WHERE id = ?`, va).Scan(ctx, &vstatus); err != nil || vstatus != "cancelled" {
		t.Fatalf("held visit = %s (%v), want cancelled", vstatus, err)
	}
	// The cancellation is on the visit's timeline, in the resolving transaction.
	cancels := e.eventsOf(t, "visit.cancelled")
	var cd struct {
		Reason        string `json:"reason"`
		From          string `json:"from"`
		IncidentFolio string `json:"incident_folio"`
	}
	if len(cancels) != 1 || cancels[0].VisitID != va || cancels[0].IncidentID != d.ID || json.Unmarshal(cancels[0].Data, &cd) != nil ||
		cd.Reason != dispatch.ReasonIncidentResolved || cd.From != "unscheduled" || cd.IncidentFolio != d.Folio {
		t.Fatalf("visit.cancelled events = %+v (data %+v); want one for visit %d, reason incident_resolved, from unscheduled", cancels, cd, va)
	}
	resolved := e.eventsOf(t, dispatch.EventReportResolved)
	if len(resolved) != 2 {
		t.Fatalf("got %d report.resolved events, want 2", len(resolved))
	}
	var rd struct {
		IncidentFolio string `json:"incident_folio"`
		Compensation  struct {
			Amount   string `json:"amount"`
			Currency string `json:"currency"`
		} `json:"compensation"`
	}
	_ = json.Unmarshal(resolved[0].Data, &rd)
	if rd.IncidentFolio != d.Folio || rd.Compensation.Amount != "6.00" || rd.Compensation.Currency != "MXN" {
		t.Fatalf("report.resolved data = %s", resolved[0].Data)
	}
	if n := len(e.eventsOf(t, dispatch.EventIncidentResolved)); n != 1 {
		t.Fatalf("got %d incident.resolved events, want 1", n)
	}

	// Twice is a conflict.
	_, err = e.incidents.Resolve(ctx, d.ID, res, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")

	// The billing export.
	var buf bytes.Buffer
	if err := e.incidents.CompensationCSV(ctx, d.ID, &buf); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(lines) != 3 {
		t.Fatalf("csv = %v (%v)", lines, err)
	}
	if row := lines[1]; row[1] != a.Folio || row[6] != "300.00" || row[9] != "720" || row[10] != "20.00" || row[12] != "6.00" || row[13] != "MXN" {
		t.Fatalf("csv line = %v", row)
	}

	// The customer says service is still down: the report reopens with a new visit.
	rep, err := e.incidents.ReopenStillDown(ctx, a.Folio, dispatch.ChannelSMS, postgres.Origin{Actor: "customer"}, clock.Add(time.Hour))
	if err != nil || rep.Status != dispatch.StatusOpen {
		t.Fatalf("reopen = %+v, %v", rep, err)
	}
	var visits int
	if err := e.db.NewRaw(`SELECT count(*) FROM visits WHERE report_id = ? AND status = 'unscheduled' AND held_by_incident_id IS NULL`, a.ID).Scan(ctx, &visits); err != nil || visits != 1 {
		t.Fatalf("new visits = %d (%v), want 1", visits, err)
	}
	_, err = e.incidents.ReopenStillDown(ctx, a.Folio, dispatch.ChannelSMS, postgres.Origin{Actor: "customer"}, clock.Add(time.Hour))
	wantErr(t, err, dispatch.KindConflict, "")

	// The same from an inbound text, by phone, inside the webhook's transaction.
	byPhone := func() (int64, string, error) {
		var id int64
		var folio string
		err := e.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) (err error) {
			id, folio, err = e.incidents.ReopenStillDownByPhone(ctx, tx, "+525512345612", clock.Add(2*time.Hour))
			return err
		})
		return id, folio, err
	}
	if id, folio, err := byPhone(); err != nil || id != b.ID || folio != b.Folio {
		t.Fatalf("reopen by phone = %d %s %v, want %s", id, folio, err, b.Folio)
	}
	if st, _ := e.status(t, b.ID); st != "open" {
		t.Fatalf("report %s = %s, want open", b.Folio, st)
	}
	if _, _, err := byPhone(); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("second reopen by phone: %v, want not found", err)
	}
	reopened := e.eventsOf(t, dispatch.EventReportReopened)
	if len(reopened) != 2 || reopened[1].Actor != "customer" {
		t.Fatalf("report.reopened events = %+v", reopened)
	}
}

func TestIncidentResolveNeedsPlanPrices(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	start := clock.Add(-5 * time.Hour)
	priced := e.report(t, "fault", "5512345621", "OLT-3", "399", clock.Add(-4*time.Hour), nil)
	unpriced := e.report(t, "fault", "5512345622", "OLT-3", "", clock.Add(-4*time.Hour), nil)
	d := e.open(t, "OLT-3", start)
	restored := clock.Add(-time.Hour)

	_, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Falla eléctrica", Verdict: "upheld", RestoredAt: &restored}, e.staff, clock)
	wantErr(t, err, dispatch.KindInvalid, "plan_price")
	if !strings.Contains(err.Error(), unpriced.Folio) || strings.Contains(err.Error(), priced.Folio) {
		t.Fatalf("error %q should name %s only", err, unpriced.Folio)
	}
	// Nothing half-applied.
	for _, r := range []*dispatch.Report{priced, unpriced} {
		if st, _ := e.status(t, r.ID); st != "open" {
			t.Fatalf("report %s = %s after a refused resolve, want open", r.Folio, st)
		}
	}
	if _, err := postgres.ReportCompensation(ctx, e.db, priced.ID); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("compensation after a refused resolve: %v, want not found", err)
	}

	// Not upheld: nothing is owed, so no price is needed.
	got, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Corte programado avisado", Verdict: "not_upheld", RestoredAt: &restored}, e.staff, clock)
	if err != nil {
		t.Fatal(err)
	}
	if got.CompensationTotal != 0 || got.Reports[1].Compensation == nil || got.Reports[1].Compensation.Amount != 0 {
		t.Fatalf("not upheld = %+v", got)
	}
}

func TestIncidentRuleOpensOnRepeatedFaults(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{Threshold: 3, Window: 30 * time.Minute}, true)
	ctx := context.Background()
	// An old fault outside the window, then three within it.
	old := e.report(t, "fault", "5512345630", "TORRE-ESTE", "300", clock.Add(-2*time.Hour), nil)
	e.report(t, "fault", "5512345631", "TORRE-ESTE", "300", clock.Add(-20*time.Minute), nil)
	e.report(t, "complaint", "5512345632", "TORRE-ESTE", "300", clock.Add(-15*time.Minute), nil)
	e.report(t, "fault", "5512345633", "TORRE-ESTE", "300", clock.Add(-10*time.Minute), nil)
	if list, _ := e.incidents.List(ctx, postgres.IncidentFilter{}); len(list) != 0 {
		t.Fatalf("incidents after 2 faults in the window: %d, want 0", len(list))
	}
	third := e.report(t, "fault", "5512345634", "TORRE-ESTE", "300", clock.Add(-5*time.Minute), nil)
	list, err := e.incidents.List(ctx, postgres.IncidentFilter{Status: dispatch.IncidentOpen})
	if err != nil || len(list) != 1 {
		t.Fatalf("open incidents = %v (%v), want 1", list, err)
	}
	inc := list[0]
	// Every active fault of the access point attaches, the old one too; the start is the
	// earliest outage within the window.
	if inc.OpenedBy != dispatch.OpenedByRule || inc.Attached != 4 || !inc.StartedAt.Equal(clock.Add(-20*time.Minute)) {
		t.Fatalf("incident = %+v attached %d", inc.Incident, inc.Attached)
	}
	if _, id := e.status(t, old.ID); id != inc.ID {
		t.Fatalf("old fault attached to %d, want %d", id, inc.ID)
	}
	if _, id := e.status(t, third.ID); id != inc.ID {
		t.Fatalf("third fault attached to %d, want %d", id, inc.ID)
	}
	// A new fault on the access point attaches on creation.
	next := e.report(t, "fault", "5512345635", "TORRE-ESTE", "300", clock, nil)
	if _, id := e.status(t, next.ID); id != inc.ID {
		t.Fatalf("new fault attached to %d, want %d", id, inc.ID)
	}

	// Sweep catches a fault whose customer was put on the access point later.
	stray := e.report(t, "fault", "5512345636", "", "300", clock, nil)
	var cid int64
	_ = e.db.NewRaw(`SELECT customer_id FROM reports WHERE id = ?`, stray.ID).Scan(ctx, &cid)
	if _, err := postgres.NewAccessPoints(e.db).Set(ctx, cid, "TORRE-ESTE", nil); err != nil {
		t.Fatal(err)
	}
	opened, attached, err := e.incidents.Sweep(ctx, clock)
	if err != nil || opened != 0 || attached != 1 {
		t.Fatalf("sweep = %d opened, %d attached, %v; want 0, 1", opened, attached, err)
	}
}

func TestAccessPointImport(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	a := e.report(t, "fault", "5512345641", "", "", clock, nil)
	e.report(t, "fault", "5512345642", "", "199", clock, nil)
	var aid int64
	_ = e.db.NewRaw(`SELECT customer_id FROM reports WHERE id = ?`, a.ID).Scan(ctx, &aid)
	aps := postgres.NewAccessPoints(e.db)

	bad := "phone,access_point,plan_price\n55 1234 5641,TORRE-1,349\n5599999999,TORRE-1,\n(55) 1234-5641,TORRE-2,\n"
	rows, err := dispatch.ParseAccessPointCSV(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	_, err = aps.Import(ctx, rows)
	le, ok := err.(*dispatch.LinesError)
	if !ok || len(le.Lines) != 2 || le.Lines[0].Line != 3 || le.Lines[1].Line != 4 {
		t.Fatalf("import error = %v, want lines 3 and 4", err)
	}
	list, _ := aps.List(ctx)
	if len(list) != 0 {
		t.Fatalf("a refused import changed %v", list)
	}

	good := fmt.Sprintf("Customer_ID, Access Point ,plan_price\n%d,TORRE-1,\"1,349.50\"\n", aid) +
		"\n" + "" // blank line
	rows, err = dispatch.ParseAccessPointCSV(strings.NewReader(good + "x,y\n"))
	if le, ok := err.(*dispatch.LinesError); !ok || le.Lines[0].Line != 4 || le.Lines[0].Field != "customer_id" {
		t.Fatalf("bad id line: %v", err)
	}
	rows, err = dispatch.ParseAccessPointCSV(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	rows2, err := dispatch.ParseAccessPointCSV(strings.NewReader("phone,access_point\n5512345642,TORRE-1\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := aps.Import(ctx, append(rows, rows2...))
	if err != nil || n != 2 {
		t.Fatalf("import = %d, %v; want 2", n, err)
	}
	c, err := postgres.NewCustomers(e.db).ByID(ctx, aid)
	if err != nil || c.AccessPoint != "TORRE-1" || c.PlanPrice == nil || *c.PlanPrice != 1349.5 {
		t.Fatalf("customer = %+v, %v", c, err)
	}
	list, _ = aps.List(ctx)
	if len(list) != 1 || list[0].Customers != 2 || list[0].WithoutPrice != 0 {
		t.Fatalf("access points = %+v", list)
	}
	if _, err := aps.Set(ctx, 999999, "TORRE-1", nil); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("set unknown customer: %v", err)
	}
}

// bigAccessPoint loads 5,000 customers on one access point, 800 of them with an open fault
// report filed an hour before clock.
func bigAccessPoint(tb testing.TB, e *incidentEnv) {
	tb.Helper()
	ctx := context.Background()
	_, err := e.db.ExecContext(ctx, `INSERT INTO customers (name, phone, access_point, plan_price)
		SELECT 'Cliente ' || g, '+5255' || lpad(g::text, 8, '0'), 'TORRE-GRANDE', 349 FROM generate_series(1, 5000) AS g`)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = e.db.ExecContext(ctx, `INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash, outage_started_at, created_at)
		SELECT 'R-2026-' || lpad(c.id::text, 6, '0'), 'fault', 'phone', 'technical', c.id, 'Sin servicio', '\x00'::bytea, ?, ?
		FROM customers AS c ORDER BY c.id LIMIT 800`, clock.Add(-time.Hour), clock.Add(-time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkIncidentOpen800 opens an incident on an access point of 5,000 customers, 800 of
// them with an open fault report: attaching them all and writing the 801 events (with the
// hooks wired in newIncidentEnv).
func BenchmarkIncidentOpen800(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		e := newIncidentEnv(b, dispatch.IncidentRule{}, true)
		bigAccessPoint(b, e)
		b.StartTimer()
		d := e.open(b, "TORRE-GRANDE", clock.Add(-2*time.Hour))
		if d.Attached != 800 {
			b.Fatalf("attached %d, want 800", d.Attached)
		}
	}
}

// BenchmarkIncidentResolve800 resolves that incident: 800 reports resolved, compensated and
// announced.
func BenchmarkIncidentResolve800(b *testing.B) {
	restored := clock.Add(-10 * time.Minute)
	for b.Loop() {
		b.StopTimer()
		e := newIncidentEnv(b, dispatch.IncidentRule{}, true)
		bigAccessPoint(b, e)
		d := e.open(b, "TORRE-GRANDE", clock.Add(-2*time.Hour))
		b.StartTimer()
		got, err := e.incidents.Resolve(context.Background(), d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}, e.staff, clock)
		if err != nil || got.CompensationTotal == 0 {
			b.Fatalf("resolve = %v, %v", got, err)
		}
	}
}

func TestIncidentOpenConcurrently(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	e.report(t, "fault", "5512345651", "TORRE-X", "300", clock.Add(-time.Hour), nil)
	start := clock.Add(-2 * time.Hour)
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() {
			in, err := dispatch.IncidentInput{AccessPoint: "TORRE-X", Title: "Caída", StartedAt: &start}.Validate(clock)
			if err == nil {
				_, err = e.incidents.Open(context.Background(), in, e.staff)
			}
			errs <- err
		}()
	}
	opened := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			opened++
		case dispatch.ErrorKind(err) != dispatch.KindConflict:
			t.Errorf("concurrent open: %v, want nil or conflict", err)
		}
	}
	if opened != 1 {
		t.Fatalf("%d incidents opened at once on one access point, want 1", opened)
	}
	if n := len(e.eventsOf(t, dispatch.EventReportAttached)); n != 1 {
		t.Fatalf("report attached %d times, want once", n)
	}
}

// TestIncidentTextAccessPointChoice: the provider's default decides whether an incident
// texts its whole access point, the dispatcher may override it, and only such incidents
// write incident.area_notice, after the report-level events of opening, estimating and
// resolving.
func TestIncidentTextAccessPointChoice(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	all, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{TextAccessPoint: true})
	if err != nil {
		t.Fatal(err)
	}
	e.report(t, "fault", "5512345671", "TORRE-A", "300", clock.Add(-time.Hour), nil)
	start, no := clock.Add(-2*time.Hour), false
	open := func(ap string, choice *bool) *dispatch.IncidentDetail {
		t.Helper()
		in, err := dispatch.IncidentInput{AccessPoint: ap, Title: "Caída", StartedAt: &start, TextAccessPoint: choice}.Validate(clock)
		if err != nil {
			t.Fatal(err)
		}
		d, err := all.Open(ctx, in, e.staff)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := open("TORRE-A", nil)
	b := open("TORRE-B", &no)
	if a.TextAccessPoint == nil || !*a.TextAccessPoint || b.TextAccessPoint == nil || *b.TextAccessPoint {
		t.Fatalf("text_access_point = %v and %v; want the default (true), then the dispatcher's false", a.TextAccessPoint, b.TextAccessPoint)
	}
	est := clock.Add(3 * time.Hour)
	restored := clock.Add(-10 * time.Minute)
	for _, d := range []*dispatch.IncidentDetail{a, b} {
		if _, err := all.SetEstimate(ctx, d.ID, &est, e.staff, clock); err != nil {
			t.Fatal(err)
		}
		if _, err := all.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}, e.staff, clock); err != nil {
			t.Fatal(err)
		}
	}
	notices := e.eventsOf(t, dispatch.EventIncidentAreaNotice)
	var got []string
	for _, ev := range notices {
		var d struct {
			Notice string `json:"notice"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		if ev.IncidentID != a.ID {
			t.Errorf("area notice of incident %d; want only %d's", ev.IncidentID, a.ID)
		}
		got = append(got, d.Notice)
	}
	if g := strings.Join(got, " "); g != "opened estimate restored" {
		t.Fatalf("area notices = %q; want \"opened estimate restored\"", g)
	}
	// Each comes after the report-level event of its step.
	attached := e.eventsOf(t, dispatch.EventReportAttached)
	if len(attached) != 1 || attached[0].ID > notices[0].ID {
		t.Errorf("report.attached_to_incident %+v not before the opening notice %d", attached, notices[0].ID)
	}
}

// TestIncidentResolvedRefusesChanges: a resolved incident cannot be resolved again, take a
// new estimate or attach a report; each refusal is a conflict that writes nothing.
func TestIncidentResolvedRefusesChanges(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	ctx := context.Background()
	e.report(t, "fault", "5512345681", "NODO-9", "300", clock.Add(-time.Hour), nil)
	d := e.open(t, "NODO-9", clock.Add(-2*time.Hour))
	restored := clock.Add(-10 * time.Minute)
	res := dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}
	if _, err := e.incidents.Resolve(ctx, d.ID, res, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	var before int
	if err := e.db.NewRaw("SELECT count(*) FROM events").Scan(ctx, &before); err != nil {
		t.Fatal(err)
	}
	later := restored.Add(time.Minute)
	_, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Otra causa", Verdict: "not_upheld", RestoredAt: &later}, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	est := clock.Add(time.Hour)
	_, err = e.incidents.SetEstimate(ctx, d.ID, &est, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	late := e.report(t, "fault", "5512345682", "NODO-9", "300", clock, nil)
	_, err = e.incidents.Attach(ctx, d.ID, late.Folio, e.staff, clock)
	wantErr(t, err, dispatch.KindConflict, "")
	var after int
	if err := e.db.NewRaw("SELECT count(*) FROM events WHERE type <> 'report.created'").Scan(ctx, &after); err != nil {
		t.Fatal(err)
	}
	if after != before-1 { // the first report's report.created is not counted here
		t.Errorf("events after refused changes = %d; want %d", after, before-1)
	}
	got, err := e.incidents.Get(ctx, d.ID)
	if err != nil || got.Cause != "Fibra cortada" || got.Verdict != dispatch.VerdictUpheld || got.Attached != 1 || got.EstimatedRestoreAt != nil {
		t.Fatalf("incident after refused changes = %+v, %v; want the first resolution, one report, no estimate", got, err)
	}
}

// TestIncidentRuleCountsCustomers: one customer filing the same fault five times (the web
// form sent again and again, or an agent filing each of his calls) opened a mass outage
// for his whole access point, which took every booked visit there off the routes and
// texted his neighbours. The rule counts customers: his five reports are one, and the
// outage opens when enough others report too.
func TestIncidentRuleCountsCustomers(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{Threshold: 3, Window: 30 * time.Minute}, true)
	ctx := context.Background()
	for i := range 5 {
		e.report(t, "fault", "5512345640", "TORRE-SUR", "300", clock.Add(time.Duration(i-25)*time.Minute), nil)
	}
	e.report(t, "fault", "5512345641", "TORRE-SUR", "300", clock.Add(-15*time.Minute), nil)
	if list, _ := e.incidents.List(ctx, postgres.IncidentFilter{}); len(list) != 0 {
		t.Fatalf("incidents after six reports of two customers: %d (%s), want 0", len(list), list[0].Title)
	}
	e.report(t, "fault", "5512345642", "TORRE-SUR", "300", clock.Add(-5*time.Minute), nil)
	list, err := e.incidents.List(ctx, postgres.IncidentFilter{Status: dispatch.IncidentOpen})
	if err != nil || len(list) != 1 || !strings.Contains(list[0].Title, "3 clientes") {
		t.Fatalf("open incidents after a third customer = %+v (%v); want one, of 3 customers", list, err)
	}
	if list[0].Attached != 7 || !list[0].StartedAt.Equal(clock.Add(-25*time.Minute)) {
		t.Errorf("incident attached %d reports from %s; want all 7, from the first customer's first report", list[0].Attached, list[0].StartedAt)
	}
}
