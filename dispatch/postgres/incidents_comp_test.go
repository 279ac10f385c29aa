package postgres_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// textedIncidentEnv is newIncidentEnv with the SMS outbox hooked to the event log, as serve
// wires it, a technician, and the visits store.
type textedIncidentEnv struct {
	*incidentEnv
	visits *postgres.Visits
	tech   *dispatch.Technician
}

func newTextedIncidentEnv(tb testing.TB) *textedIncidentEnv {
	tb.Helper()
	e := newIncidentEnv(tb, dispatch.IncidentRule{}, false)
	cfg, err := notify.ConfigFromEnv(func(k string) string {
		return map[string]string{"PUBLIC_BASE_URL": "https://despacho.example.mx"}[k]
	})
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Location, _ = time.LoadLocation("America/Mexico_City")
	e.events.AddHook(notify.NewOutbox(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))).Hook)
	t := &dispatch.Technician{Name: "Luis Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 3, Start: "06:00", End: "20:00"}}}
	if err := postgres.NewTechnicians(e.db, e.events).Create(context.Background(), t, nil); err != nil {
		tb.Fatal(err)
	}
	return &textedIncidentEnv{incidentEnv: e, visits: postgres.NewVisits(e.db, e.events, e.reports, planning.Config{}), tech: t}
}

// onSite adds a visit of report id that the technician is at since at, and returns its id.
func (e *textedIncidentEnv) onSite(tb testing.TB, reportID int64, at time.Time) int64 {
	tb.Helper()
	var id int64
	err := e.db.NewRaw(`INSERT INTO visits (report_id, status, technician_id, duration_min, address, lat, lon, started_at, arrived_at)
		VALUES (?, 'on_site', ?, 60, 'Calle 1', 19.4, -99.1, ?, ?) RETURNING id`, reportID, e.tech.ID, at.Add(-30*time.Minute), at).
		Scan(context.Background(), &id)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// complete completes visit id at at, service restored or not: its report is resolved.
func (e *textedIncidentEnv) complete(tb testing.TB, visitID int64, restored bool, at time.Time) {
	tb.Helper()
	o := dispatch.Outcome{Status: dispatch.VisitCompleted, Cause: "ONT reiniciada", Verdict: "upheld", ServiceRestored: &restored}
	if _, err := e.visits.SetStatus(context.Background(), visitID, o, nil, at); err != nil {
		tb.Fatal(err)
	}
}

type textRow struct {
	Kind string `bun:"kind"`
	Body string `bun:"body"`
}

// texts returns the texts queued for phone (E.164), oldest first, cancelled ones left out.
func (e *textedIncidentEnv) texts(tb testing.TB, phone string) []textRow {
	tb.Helper()
	var rows []textRow
	err := e.db.NewRaw(`SELECT kind, body FROM sms_outbox WHERE to_phone = ? AND state <> 'cancelled' ORDER BY id`, phone).
		Scan(context.Background(), &rows)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func kinds(rows []textRow) string {
	k := make([]string, len(rows))
	for i, r := range rows {
		k[i] = r.Kind
	}
	return strings.Join(k, " ")
}

// TestIncidentCompensatesReportsClosedDuringIt: a customer whose fault report was resolved
// by his own visit while the incident was still open suffered the outage too. When the
// incident resolves he is owed from the incident's start until his service came back (the
// technician's restore), or until the incident's restore when his visit could not restore
// it; his report stays as it is, and he gets one text, the incident's restore notice with
// his bonus. A customer with two reports (one closed by its visit, one still active) is
// owed and texted once; a report compensated before is not compensated again; resolving
// twice changes nothing.
func TestIncidentCompensatesReportsClosedDuringIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTextedIncidentEnv(t)
	start := clock.Add(-6 * time.Hour) // 06:00 in Mexico City
	at := func(d time.Duration) time.Time { return start.Add(d) }
	// 300.00 a month, November (30 days) with the 20 % bonus: 0.50 an hour.
	a := e.report(t, "fault", "5512348001", "TORRE-VISITA", "300", at(10*time.Minute), nil)
	b := e.report(t, "fault", "5512348002", "TORRE-VISITA", "300", at(20*time.Minute), nil)
	c := e.report(t, "fault", "5512348003", "TORRE-VISITA", "300", at(30*time.Minute), nil)
	d1 := e.report(t, "fault", "5512348004", "TORRE-VISITA", "300", at(40*time.Minute), nil)
	x := e.report(t, "fault", "5512348005", "TORRE-VISITA", "300", at(45*time.Minute), nil)
	va, vc, vd, vx := e.onSite(t, a.ID, at(50*time.Minute)), e.onSite(t, c.ID, at(50*time.Minute)),
		e.onSite(t, d1.ID, at(50*time.Minute)), e.onSite(t, x.ID, at(50*time.Minute))

	in, err := dispatch.IncidentInput{AccessPoint: "TORRE-VISITA", Title: "Caída de la torre", StartedAt: &start}.Validate(at(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := e.incidents.Open(ctx, in, e.staff)
	if err != nil || inc.Attached != 5 {
		t.Fatalf("open = %+v, %v; want 5 attached", inc, err)
	}
	// The technicians already at the customers' homes finish there.
	e.complete(t, vd, true, at(time.Hour+5*time.Minute))    // d1: back after 1 h 5 min
	e.complete(t, va, true, at(2*time.Hour))                // a: back after 2 h
	e.complete(t, vc, false, at(3*time.Hour))               // c: not restored by the visit
	e.complete(t, vx, true, at(3*time.Hour+10*time.Minute)) // x: back after 3 h 10 min
	if _, err := e.reports.Change(ctx, c.Folio, dispatch.Change{Action: dispatch.ActionClose}, e.staff, at(3*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The customer of d1 reports again later; a dispatcher attaches it.
	d2 := e.report(t, "fault", "5512348004", "TORRE-VISITA", "300", at(4*time.Hour), nil)
	if _, err := e.incidents.Attach(ctx, inc.ID, d2.Folio, e.staff, at(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// x was compensated by other means (a credit an agent gave when the visit restored him).
	if _, err := e.db.ExecContext(ctx, `INSERT INTO compensations (report_id, customer_id, outage_start, outage_end, plan_price, bonus_bp, upheld, amount, computed_at)
		SELECT id, customer_id, ?, ?, 300, 2000, true, 1.60, ? FROM reports WHERE id = ?`, at(5*time.Minute), at(3*time.Hour+10*time.Minute), at(3*time.Hour+20*time.Minute), x.ID); err != nil {
		t.Fatal(err)
	}
	statusOf := map[int64]string{}
	for _, r := range []*dispatch.Report{a, c, d1, x} {
		statusOf[r.ID], _ = e.status(t, r.ID)
	}
	if statusOf[a.ID] != "resolved" || statusOf[c.ID] != "closed" {
		t.Fatalf("before the resolution: a %s, c %s; want resolved, closed", statusOf[a.ID], statusOf[c.ID])
	}

	restored := clock
	res := dispatch.IncidentResolution{Cause: "Fibra troncal cortada", Verdict: "upheld", RestoredAt: &restored}
	got, err := e.incidents.Resolve(ctx, inc.ID, res, e.staff, clock)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		amount dispatch.Centavos
		end    time.Time
	}{
		a.Folio:  {100, at(2 * time.Hour)},           // 2 h, until the technician restored him
		b.Folio:  {300, restored},                    // 6 h, resolved by the incident
		c.Folio:  {300, restored},                    // 6 h: his visit did not restore him
		d1.Folio: {300, restored},                    // his first report carries his largest amount (d2's 6 h)
		d2.Folio: {0, at(time.Hour + 5*time.Minute)}, // and his other report nothing
	}
	for _, r := range got.Reports {
		w, ok := want[r.Folio]
		if r.Folio == x.Folio {
			if r.Compensation != nil {
				t.Errorf("report %s, compensated before, got %+v from the incident; want nothing more", r.Folio, r.Compensation)
			}
			continue
		}
		if !ok || r.Compensation == nil || r.Compensation.Amount != w.amount || !r.Compensation.OutageStart.Equal(start) || !r.Compensation.OutageEnd.Equal(w.end) {
			t.Errorf("report %s owed %+v; want %s from %s to %s", r.Folio, r.Compensation, w.amount, start, w.end)
		}
	}
	if got.CompensationTotal != 1000 {
		t.Errorf("compensation total %s; want 10.00", got.CompensationTotal)
	}
	if prev, err := postgres.ReportCompensation(ctx, e.db, x.ID); err != nil || prev.Amount != 160 {
		t.Errorf("x's earlier compensation = %+v, %v; want it kept (1.60)", prev, err)
	}
	// The reports closed before keep their status; the active one is resolved.
	for id, st := range statusOf {
		if now, _ := e.status(t, id); now != st {
			t.Errorf("report %d went from %s to %s at the resolution; want it left as it was", id, st, now)
		}
	}
	if st, _ := e.status(t, b.ID); st != "resolved" {
		t.Errorf("report %s = %s; want resolved", b.Folio, st)
	}

	// Texts, per customer, as queued: the restore notice (with the bonus) once each.
	restore := func(amount string) func(textRow) bool {
		return func(r textRow) bool {
			return r.Kind == "incident_restored" && strings.Contains(r.Body, inc.Folio) && strings.Contains(r.Body, "$"+amount)
		}
	}
	for _, c := range []struct {
		phone, kinds string
		last         func(textRow) bool
	}{
		{"+525512348001", "folio incident completed incident_restored", restore("1.00")},
		{"+525512348002", "folio incident incident_restored", restore("3.00")},
		{"+525512348003", "folio incident completed incident_restored", restore("3.00")},
		{"+525512348004", "folio incident completed folio incident_restored", restore("3.00")},
		{"+525512348005", "folio incident completed", nil},
	} {
		rows := e.texts(t, c.phone)
		if got := kinds(rows); got != c.kinds {
			t.Errorf("texts to %s: %q; want %q", c.phone, got, c.kinds)
			continue
		}
		if c.last != nil && !c.last(rows[len(rows)-1]) {
			t.Errorf("last text to %s = %q; want the restore notice of %s with the bonus", c.phone, rows[len(rows)-1].Body, inc.Folio)
		}
	}
	// The report closed by its visit has the incident's resolution on its timeline, with
	// what it is owed; its own resolution is untouched.
	var evs []struct {
		Type string          `bun:"type"`
		Data json.RawMessage `bun:"data"`
	}
	if err := e.db.NewRaw(`SELECT type, data FROM events WHERE report_id = ? AND type = ? ORDER BY id`, a.ID, dispatch.EventReportResolved).Scan(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	var last struct {
		IncidentFolio string `json:"incident_folio"`
		Compensation  struct {
			Amount string `json:"amount"`
		} `json:"compensation"`
		To string `json:"to"`
	}
	if len(evs) != 2 || json.Unmarshal(evs[1].Data, &last) != nil || last.IncidentFolio != inc.Folio || last.Compensation.Amount != "1.00" || last.To != "" {
		var got []string
		for _, ev := range evs {
			got = append(got, string(ev.Data))
		}
		t.Fatalf("report.resolved events of %s = %s; want its visit's, then the incident's with 1.00 and no status change", a.Folio, got)
	}
	detail, err := e.reports.Get(ctx, a.Folio)
	if err != nil || detail.Report.Cause != "ONT reiniciada" || detail.Report.ServiceRestoredAt == nil || !detail.Report.ServiceRestoredAt.Equal(at(2*time.Hour)) {
		t.Fatalf("report %s after the incident = %+v, %v; want its visit's outcome kept", a.Folio, detail, err)
	}

	// Resolving again is refused and changes nothing: no second compensation, no text.
	count := func(q string) int {
		var n int
		if err := e.db.NewRaw(q).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	comps, texts := count(`SELECT count(*) FROM compensations`), count(`SELECT count(*) FROM sms_outbox`)
	_, err = e.incidents.Resolve(ctx, inc.ID, res, e.staff, clock.Add(time.Minute))
	wantErr(t, err, dispatch.KindConflict, "")
	if c2, t2 := count(`SELECT count(*) FROM compensations`), count(`SELECT count(*) FROM sms_outbox`); c2 != comps || t2 != texts {
		t.Fatalf("a second resolve left %d compensations and %d texts; want %d and %d", c2, t2, comps, texts)
	}
	again, err := e.incidents.Get(ctx, inc.ID)
	if err != nil || again.CompensationTotal != got.CompensationTotal {
		t.Fatalf("after a second resolve: total %v (%v); want %s", again, err, got.CompensationTotal)
	}
}
