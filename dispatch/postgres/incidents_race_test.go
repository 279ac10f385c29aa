package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// duringEvent runs fileReport, in its own goroutine and transaction, while the transaction
// that appends the first event of type typ is still open (from an event hook of e), and lets
// that transaction go on once fileReport has finished or waits on a lock (the open
// transaction holds it). It returns a function that waits for fileReport and returns its
// report.
func duringEvent(tb testing.TB, e *incidentEnv, typ string, fileReport func() (*dispatch.Report, error)) func() *dispatch.Report {
	tb.Helper()
	var once sync.Once
	done := make(chan struct{})
	var got *dispatch.Report
	var ferr error
	e.events.AddHook(func(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
		if ev.Type != typ {
			return nil
		}
		once.Do(func() {
			go func() {
				defer close(done)
				got, ferr = fileReport()
			}()
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				var waiting bool
				err := e.db.NewRaw(`SELECT EXISTS (SELECT 1 FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(context.Background(), &waiting)
				if err != nil || waiting {
					return
				}
			}
		})
		return nil
	})
	return func() *dispatch.Report {
		tb.Helper()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			tb.Fatal("the report filed meanwhile never finished")
		}
		if ferr != nil {
			tb.Fatal(ferr)
		}
		return got
	}
}

// fileFault files a fault report for phone on access point ap at now, as the report API does.
func (e *incidentEnv) fileFault(phone, ap string, now time.Time) (*dispatch.Report, error) {
	p := 300.0
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente " + phone, Phone: phone, AccessPoint: ap, PlanPrice: &p}}
	nr, err := in.Validate(now)
	if err != nil {
		return nil, err
	}
	c, _, err := e.reports.Create(context.Background(), nr, e.staff, postgres.CreateOptions{Trusted: true})
	if err != nil {
		return nil, err
	}
	return c.Report, nil
}

// TestFaultFiledWhileIncidentResolves: a fault report of the access point filed while the
// incident is being resolved (a dispatcher's resolve of hundreds of reports takes a second)
// used to read the incident as open and attach to it, committing after the resolution: it
// was left active on a resolved incident, never resolved, never compensated, never attached
// to the next incident of its access point, its customer texted about an outage already
// over. Now it comes strictly before the resolution (resolved with the others) or after it
// (not attached).
func TestFaultFiledWhileIncidentResolves(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, true)
	ctx := context.Background()
	e.report(t, "fault", "5512347001", "TORRE-CARRERA", "300", clock.Add(-time.Hour), nil)
	d := e.open(t, "TORRE-CARRERA", clock.Add(-2*time.Hour))
	wait := duringEvent(t, e, dispatch.EventReportResolved, func() (*dispatch.Report, error) {
		return e.fileFault("5512347002", "TORRE-CARRERA", clock)
	})
	restored := clock.Add(-10 * time.Minute)
	if _, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	late := wait()
	st, inc := e.status(t, late.ID)
	_, cerr := postgres.ReportCompensation(ctx, e.db, late.ID)
	switch {
	case inc == 0 && st == "open":
		// After the resolution: a report of its own.
	case inc == d.ID && st == "resolved" && cerr == nil:
		// Before it: resolved and compensated with the others.
	default:
		t.Fatalf("report filed during the resolve: status %s, incident %d (compensation: %v); want open and unattached, or resolved with incident %d",
			st, inc, cerr, d.ID)
	}
}

// TestFaultFiledWhileEstimateChanges: a fault report attached while a dispatcher sets a new
// estimate used to be told the old estimate (read before the change committed) and missed
// the new one (the change listed the attached reports before this one committed): its
// customer kept an estimate that was no longer true. Now its customer is told the new one.
func TestFaultFiledWhileEstimateChanges(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, true)
	ctx := context.Background()
	e.report(t, "fault", "5512347011", "TORRE-ESTIMADA", "300", clock.Add(-time.Hour), nil)
	started, first := clock.Add(-2*time.Hour), clock.Add(time.Hour)
	in, err := dispatch.IncidentInput{AccessPoint: "TORRE-ESTIMADA", Title: "Caída", StartedAt: &started, EstimatedRestoreAt: &first}.Validate(clock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.incidents.Open(ctx, in, e.staff)
	if err != nil {
		t.Fatal(err)
	}
	wait := duringEvent(t, e, dispatch.EventIncidentEstimateChanged, func() (*dispatch.Report, error) {
		return e.fileFault("5512347012", "TORRE-ESTIMADA", clock)
	})
	second := clock.Add(5 * time.Hour)
	if _, err := e.incidents.SetEstimate(ctx, d.ID, &second, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	late := wait()
	if _, inc := e.status(t, late.ID); inc != d.ID {
		t.Fatalf("report filed during the estimate change attached to %d, want %d", inc, d.ID)
	}
	// The last estimate its customer is told, by either event, is the new one.
	var last *time.Time
	var lastID int64
	for _, typ := range []string{dispatch.EventReportAttached, dispatch.EventReportIncidentEstimate} {
		for _, ev := range e.eventsOf(t, typ) {
			if ev.ReportID != late.ID {
				continue
			}
			var data struct {
				EstimatedRestoreAt *time.Time `json:"estimated_restore_at"`
			}
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			if data.EstimatedRestoreAt != nil && ev.ID > lastID {
				last, lastID = data.EstimatedRestoreAt, ev.ID
			}
		}
	}
	if last == nil || !last.Equal(second) {
		t.Fatalf("estimate told to the report filed during the change = %v; want %s", last, second)
	}
}

// TestAttachWhileFaultsFiled: a dispatcher attaching reports by hand while customers of the
// same access point file faults. Attaching used to lock the incident and then the access
// point, while a new fault's hook holds the access point and then waits on the incident (to
// attach): the two deadlocked, and PostgreSQL aborted one after a second — when it was the
// report's creation, the customer's report was refused. Now both take the access point
// first: no deadlock, every report filed, every attach done or a conflict.
func TestAttachWhileFaultsFiled(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, true)
	ctx := context.Background()
	d := e.open(t, "TORRE-NUDO", clock.Add(-2*time.Hour))
	const n = 12
	strays := make([]*dispatch.Report, n)
	for i := range strays {
		strays[i] = e.report(t, "fault", fmt.Sprintf("55123472%02d", i), "", "300", clock.Add(-time.Hour), nil)
	}
	// Their customers are put on the access point afterwards: unattached faults of it.
	if _, err := e.db.ExecContext(ctx, `UPDATE customers SET access_point = 'TORRE-NUDO' WHERE access_point IS NULL`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.incidents.Attach(ctx, d.ID, strays[i].Folio, e.staff, clock)
			if err != nil && dispatch.ErrorKind(err) != dispatch.KindConflict {
				errs <- fmt.Errorf("attach %s: %w", strays[i].Folio, err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := e.fileFault(fmt.Sprintf("55123473%02d", i), "TORRE-NUDO", clock); err != nil {
				errs <- fmt.Errorf("fault filed: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := e.incidents.Get(ctx, d.ID)
	if err != nil || got.Attached != 2*n {
		t.Fatalf("attached = %d (%v); want %d", got.Attached, err, 2*n)
	}
}
