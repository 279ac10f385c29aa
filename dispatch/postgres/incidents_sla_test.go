package postgres_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// faultPolicies is a policy set whose faults must be resolved within d of wall-clock time.
func faultPolicies(tb testing.TB, d time.Duration) *sla.Policies {
	tb.Helper()
	ps, err := sla.NewPolicies(sla.Policy{FirstResponse: sla.Wall(time.Hour), Resolution: sla.Wall(72 * time.Hour)},
		sla.Policy{Kind: sla.KindFault, FirstResponse: sla.Wall(30 * time.Minute), Resolution: sla.Wall(d)})
	if err != nil {
		tb.Fatal(err)
	}
	return ps
}

// dueAt reads report id's stored resolution due time.
func (e *incidentEnv) dueAt(tb testing.TB, id int64) time.Time {
	tb.Helper()
	var due time.Time
	if err := e.db.NewRaw("SELECT due_at FROM reports WHERE id = ?", id).Scan(context.Background(), &due); err != nil {
		tb.Fatal(err)
	}
	return due.UTC()
}

// TestIncidentsUseStoredSLAPolicies: the incident store measures reports by the SLA
// policies stored in PostgreSQL, read as the reports store reads them (wired as serve
// wires it, through IncidentsConfig.Reports), not by the policies it was configured with.
// An admin replaces the fault policy while an incident is open: a fault report filed then,
// attached by the incident hook, is due by the new policy; after the incident is resolved
// the admin replaces it again, and a report the incident resolved is reopened (the customer
// says service is still down) with a due time from the newest policy at once — its clock
// paused while it was resolved. The reopened report is one filed before policies were
// fixed on reports (sla_policy NULL), so its due time comes from the current policies.
func TestIncidentsUseStoredSLAPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	e := &incidentEnv{db: base.db, events: postgres.NewEvents(), staff: base.staff}
	e.reports = postgres.NewReports(e.db, e.events, dispatch.SLA{})
	var err error
	// Configured with other policies: only the stored ones may count.
	configured := dispatch.SLA{Policies: faultPolicies(t, 100*time.Hour)}
	if e.incidents, err = postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{SLA: configured, Reports: e.reports}); err != nil {
		t.Fatal(err)
	}
	e.events.AddHook(e.incidents.ReportHook)

	old := e.report(t, "fault", "5512340001", "NODO-SLA", "300", clock.Add(-2*time.Hour), nil)
	if _, err := e.db.NewRaw("UPDATE reports SET sla_policy = NULL WHERE id = ?", old.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	d := e.open(t, "NODO-SLA", clock.Add(-3*time.Hour))
	if _, err := e.reports.Policies().Replace(ctx, faultPolicies(t, 5*time.Hour), e.staff, clock); err != nil {
		t.Fatal(err)
	}
	filed := clock.Add(10 * time.Minute)
	during := e.report(t, "fault", "5512340002", "NODO-SLA", "300", filed, nil)
	if _, inc := e.status(t, during.ID); inc != d.ID {
		t.Fatalf("report filed during the incident attached to %d; want %d", inc, d.ID)
	}
	if got, want := e.dueAt(t, during.ID), filed.Add(5*time.Hour); !got.Equal(want) {
		t.Errorf("attached report due at %s; want %s (the stored 5 h policy)", got, want)
	}

	restored := clock.Add(time.Hour)
	res := dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}
	if _, err := e.incidents.Resolve(ctx, d.ID, res, e.staff, restored); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reports.Policies().Replace(ctx, faultPolicies(t, 7*time.Hour), e.staff, restored); err != nil {
		t.Fatal(err)
	}
	reopened := clock.Add(2 * time.Hour)
	r, err := e.incidents.ReopenStillDown(ctx, old.Folio, dispatch.ChannelSMS, postgres.Origin{Actor: "customer"}, reopened)
	if err != nil {
		t.Fatal(err)
	}
	// Filed at clock-2h, 7 h budget, paused for the hour it was resolved.
	want := old.CreatedAt.Add(7 * time.Hour).Add(reopened.Sub(restored))
	if r.Status != dispatch.StatusOpen || r.DueAt == nil || !r.DueAt.Equal(want) {
		t.Fatalf("reopened report = %s due %v; want open, due %s (the stored 7 h policy)", r.Status, r.DueAt, want)
	}
	if got := e.dueAt(t, old.ID); !got.Equal(want) {
		t.Errorf("stored due time of the reopened report = %s; want %s", got, want)
	}
}

// TestIncidentResolveRecordsLateBreaches: resolving an incident resolves its reports and is
// their first response; a deadline that passed since the SLA job's last run is recorded
// then (state and event), as when one report is resolved, instead of never.
func TestIncidentResolveRecordsLateBreaches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	e := &incidentEnv{db: base.db, events: postgres.NewEvents(), staff: base.staff}
	e.reports = postgres.NewReports(e.db, e.events, dispatch.SLA{})
	var err error
	if e.incidents, err = postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: e.reports}); err != nil {
		t.Fatal(err)
	}
	e.events.AddHook(e.incidents.ReportHook)
	// Faults: first response within 30 minutes, resolution within 2 h, wall clock.
	if _, err := e.reports.Policies().Replace(ctx, faultPolicies(t, 2*time.Hour), e.staff, clock.Add(-4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	d := e.open(t, "NODO-TARDE", clock.Add(-3*time.Hour))
	early := e.report(t, "fault", "5512340011", "NODO-TARDE", "300", clock, nil)
	later := e.report(t, "fault", "5512340012", "NODO-TARDE", "300", clock.Add(89*time.Minute+30*time.Second), nil)
	for _, r := range []*dispatch.Report{early, later} {
		if _, inc := e.status(t, r.ID); inc != d.ID {
			t.Fatalf("report %s attached to %d; want %d", r.Folio, inc, d.ID)
		}
	}
	// The job last ran a minute before the resolution deadline of the first report, 30
	// seconds before the first-response deadline of the second.
	if m, err := e.reports.MarkSLATargets(ctx, clock.Add(2*time.Hour-time.Minute)); err != nil || m.Breached != 0 || m.FirstResponseBreached != 1 {
		t.Fatalf("MarkSLATargets = %+v, %v", m, err)
	}
	now := clock.Add(2*time.Hour + 20*time.Second)
	res := dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &now}
	if _, err := e.incidents.Resolve(ctx, d.ID, res, e.staff, now); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r                   *dispatch.Report
		state, frState      string
		breaches, frBreachs int
	}{
		{early, "breached", "breached", 1, 1}, // 2 h 20 s after filing: both deadlines missed
		{later, "ok", "breached", 0, 1},       // 30 minutes 50 s: only the first response late
	} {
		var row struct {
			State   string `bun:"sla_state"`
			FRState string `bun:"first_response_state"`
		}
		if err := e.db.NewRaw("SELECT sla_state, first_response_state FROM reports WHERE id = ?", c.r.ID).Scan(ctx, &row); err != nil {
			t.Fatal(err)
		}
		count := func(typ string) int {
			n := 0
			for _, ev := range e.eventsOf(t, typ) {
				if ev.ReportID == c.r.ID {
					n++
				}
			}
			return n
		}
		b, fb := count(dispatch.EventReportSLABreached), count(dispatch.EventReportFirstResponseBreached)
		if row.State != c.state || row.FRState != c.frState || b != c.breaches || fb != c.frBreachs {
			t.Errorf("report %s: sla %s, first response %s, %d and %d breach events; want %s, %s, %d and %d",
				c.r.Folio, row.State, row.FRState, b, fb, c.state, c.frState, c.breaches, c.frBreachs)
		}
	}
}

// TestUnfixedReportsMeasuredByStoredPolicies: a report filed before policies were fixed on
// reports (sla_policy NULL) is measured by the policies stored now, not by those the store
// was configured with, by the SLA job and by SLAOf (the board and the desk) alike — as the
// incidents measure it (TestIncidentsUseStoredSLAPolicies).
func TestUnfixedReportsMeasuredByStoredPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	e := &incidentEnv{db: base.db, events: postgres.NewEvents(), staff: base.staff}
	// Configured with a 100 h fault policy; the stored one is 5 h.
	e.reports = postgres.NewReports(e.db, e.events, dispatch.SLA{Policies: faultPolicies(t, 100*time.Hour)})
	var err error
	if e.incidents, err = postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: e.reports}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reports.Policies().Replace(ctx, faultPolicies(t, 5*time.Hour), e.staff, clock.Add(-7*time.Hour)); err != nil {
		t.Fatal(err)
	}
	old := e.report(t, "fault", "5512340021", "NODO-VIEJO", "300", clock.Add(-6*time.Hour), nil)
	if _, err := e.db.NewRaw("UPDATE reports SET sla_policy = NULL WHERE id = ?", old.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := e.reports.Get(ctx, old.Folio)
	if err != nil {
		t.Fatal(err)
	}
	if d.Report.SLAPolicy != nil {
		t.Fatalf("report read back with policy %+v; want none fixed", d.Report.SLAPolicy)
	}
	m, err := e.reports.SLAOf(ctx, d.Report)
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Report.SLAStatus(m, clock); st.State != sla.StateBreached {
		t.Errorf("SLAOf: state %s at 6 h; want breached (the stored 5 h policy)", st.State)
	}
	marks, err := e.reports.MarkSLATargets(ctx, clock)
	if err != nil {
		t.Fatal(err)
	}
	if marks.Breached != 1 {
		t.Errorf("SLA job marked %+v; want the report breached (the stored 5 h policy)", marks)
	}
	if got, want := e.dueAt(t, old.ID), old.CreatedAt.Add(5*time.Hour); !got.Equal(want) {
		t.Errorf("stored due time %s; want %s", got, want)
	}
}
