package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestIncidentEstimateToldWhenMaterial is issue 9's "one update when the estimate changes
// materially": with the default threshold (30 minutes), an incident opened with an estimate
// E tells its customers again only when a new estimate moves at least 30 minutes from the
// one they were last told. Nudges of 10 and 25 minutes are recorded (incident.estimate_changed,
// announced false) but write no report-level notice; 45 minutes is told; a later move of 5
// minutes from that is not, and one of 40 minutes back is. An incident opened without an
// estimate tells its first one whatever it is. A negative threshold is refused.
func TestIncidentEstimateToldWhenMaterial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	r := e.report(t, "fault", "5512349001", "NODO-EST", "300", clock.Add(-time.Hour), nil)
	started := clock.Add(-2 * time.Hour)
	est := clock.Add(2 * time.Hour)
	in, err := dispatch.IncidentInput{AccessPoint: "NODO-EST", Title: "Caída", StartedAt: &started, EstimatedRestoreAt: &est}.Validate(clock)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.incidents.Open(ctx, in, e.staff)
	if err != nil {
		t.Fatal(err)
	}
	told := func() int { return len(e.eventsOf(t, dispatch.EventReportIncidentEstimate)) }
	for i, step := range []struct {
		move     time.Duration // from the opening estimate
		announce bool
	}{
		{10 * time.Minute, false},
		{25 * time.Minute, false},
		{45 * time.Minute, true},
		{50 * time.Minute, false}, // 5 minutes from the 45 told
		{5 * time.Minute, true},   // 40 minutes back
	} {
		before := told()
		at := est.Add(step.move)
		got, err := e.incidents.SetEstimate(ctx, d.ID, &at, e.staff, clock.Add(time.Duration(i+1)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.EstimatedRestoreAt == nil || !got.EstimatedRestoreAt.Equal(at) {
			t.Fatalf("step %d: estimate = %v; want %s whether told or not", i, got.EstimatedRestoreAt, at)
		}
		if n := told() - before; (n == 1) != step.announce || n > 1 {
			t.Errorf("step %d (estimate +%s): %d report notices; want announced %t", i, step.move, n, step.announce)
		}
		evs := e.eventsOf(t, dispatch.EventIncidentEstimateChanged)
		var data struct{ Announced bool }
		if err := json.Unmarshal(evs[len(evs)-1].Data, &data); err != nil || data.Announced != step.announce {
			t.Errorf("step %d: incident.estimate_changed %s; want announced %t", i, evs[len(evs)-1].Data, step.announce)
		}
	}
	if notices := e.eventsOf(t, dispatch.EventReportIncidentEstimate); len(notices) != 2 || notices[0].ReportID != r.ID {
		t.Fatalf("report notices = %+v; want two, for report %d", notices, r.ID)
	}

	// Opened without an estimate: the first one is news, however close to now.
	e.report(t, "fault", "5512349002", "NODO-EST-2", "300", clock.Add(-time.Hour), nil)
	d2 := e.open(t, "NODO-EST-2", started)
	first := clock.Add(5 * time.Minute)
	before := told()
	if _, err := e.incidents.SetEstimate(ctx, d2.ID, &first, e.staff, clock); err != nil {
		t.Fatal(err)
	}
	if told()-before != 1 {
		t.Errorf("first estimate of an incident opened without one: %d notices; want 1", told()-before)
	}

	if _, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{EstimateChange: -time.Minute}); err == nil {
		t.Error("NewIncidents with a negative EstimateChange = nil error; want it refused")
	}
}
