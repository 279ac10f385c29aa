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
