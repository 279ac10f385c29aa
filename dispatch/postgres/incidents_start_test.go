package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// ruleIncident returns the one open incident on ap, failing when there is none.
func (e *incidentEnv) ruleIncident(tb testing.TB, ap string) *dispatch.IncidentDetail {
	tb.Helper()
	list, err := e.incidents.List(context.Background(), postgres.IncidentFilter{Status: dispatch.IncidentOpen, AccessPoint: ap})
	if err != nil || len(list) != 1 {
		tb.Fatalf("open incidents on %s = %+v (%v), want 1", ap, list, err)
	}
	d, err := e.incidents.Get(context.Background(), list[0].ID)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func ago(d time.Duration) *time.Time { t := clock.Add(-d); return &t }

// TestIncidentRuleStartIgnoresOneWildStart: one customer of a burst of fault reports says
// his service has been down for a month ("sin servicio desde el mes pasado"). The rule's
// incident starts at the burst's first report, not a month ago: one uncorroborated claim
// does not move the start every affected customer is compensated from. Two backlog faults
// of the access point filed days before the burst attach too, but say nothing of when the
// burst's outage began. At the resolution the customers are owed from that start.
func TestIncidentRuleStartIgnoresOneWildStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{Threshold: 3, Window: 30 * time.Minute}, true)
	e.report(t, "fault", "5512347001", "TORRE-MES", "300", clock.Add(-50*time.Hour), nil)
	e.report(t, "fault", "5512347002", "TORRE-MES", "300", clock.Add(-49*time.Hour), nil)
	wild := e.report(t, "fault", "5512347003", "TORRE-MES", "300", clock.Add(-20*time.Minute), ago(30*24*time.Hour))
	e.report(t, "fault", "5512347004", "TORRE-MES", "300", clock.Add(-10*time.Minute), nil)
	e.report(t, "fault", "5512347005", "TORRE-MES", "300", clock.Add(-5*time.Minute), nil)
	d := e.ruleIncident(t, "TORRE-MES")
	if want := clock.Add(-20 * time.Minute); d.OpenedBy != dispatch.OpenedByRule || !d.StartedAt.Equal(want) || d.Attached != 5 {
		t.Fatalf("rule incident started %s (opened by %s, %d attached); want %s, by rule, 5 attached", d.StartedAt, d.OpenedBy, d.Attached, want)
	}
	var od struct {
		StartedAt time.Time `json:"started_at"`
	}
	opened := e.eventsOf(t, dispatch.EventIncidentOpened)
	if len(opened) != 1 || json.Unmarshal(opened[0].Data, &od) != nil || !od.StartedAt.Equal(d.StartedAt) {
		t.Fatalf("incident.opened = %+v; want one, started_at %s", opened, d.StartedAt)
	}
	// A later fault with no stated start changes nothing.
	e.report(t, "fault", "5512347006", "TORRE-MES", "300", clock, nil)
	if got := e.ruleIncident(t, "TORRE-MES"); !got.StartedAt.Equal(d.StartedAt) || got.Attached != 6 {
		t.Fatalf("after a late fault: started %s, %d attached; want %s, 6", got.StartedAt, got.Attached, d.StartedAt)
	}
	if n := len(e.eventsOf(t, dispatch.EventIncidentStartChanged)); n != 0 {
		t.Fatalf("%d incident.start_changed events; want none", n)
	}

	restored := clock.Add(10 * time.Minute)
	got, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}, e.staff, restored)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got.Reports {
		if r.Compensation == nil || !r.Compensation.OutageStart.Equal(d.StartedAt) {
			t.Errorf("report %s owed from %v; want from the incident's start %s", r.Folio, r.Compensation, d.StartedAt)
		}
		if r.Folio == wild.Folio && r.Compensation != nil && r.Compensation.OutageMinutes() != 30 {
			t.Errorf("the customer who said a month is owed %d minutes; want 30", r.Compensation.OutageMinutes())
		}
	}
}

// TestIncidentRuleStartCorroborated: the start moves before the burst's first report only
// when at least two reports say the outage had begun by then, and never more than the
// rule's MaxLead (24 hours by default) before that first report. It applies however the
// reports come: at the rule's opening, attached later by a dispatcher, or by the sweep;
// each move is written as incident.start_changed.
func TestIncidentRuleStartCorroborated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{Threshold: 4, Window: 30 * time.Minute}, false)
	// Two customers say the morning (3 h and 2 h 50 min before); two say nothing.
	e.report(t, "fault", "5512347101", "NODO-ACUERDO", "300", clock.Add(-25*time.Minute), nil)
	e.report(t, "fault", "5512347102", "NODO-ACUERDO", "300", clock.Add(-20*time.Minute), ago(3*time.Hour))
	e.report(t, "fault", "5512347103", "NODO-ACUERDO", "300", clock.Add(-15*time.Minute), ago(170*time.Minute))
	e.report(t, "fault", "5512347104", "NODO-ACUERDO", "300", clock.Add(-10*time.Minute), nil)
	if opened, _, err := e.incidents.Sweep(ctx, clock); err != nil || opened != 1 {
		t.Fatalf("sweep opened %d (%v); want 1", opened, err)
	}
	d := e.ruleIncident(t, "NODO-ACUERDO")
	// Down by 2 h 50 min ago, say two reports (one of them says earlier still).
	if want := clock.Add(-170 * time.Minute); !d.StartedAt.Equal(want) {
		t.Fatalf("rule incident started %s; want %s, the earliest start two reports corroborate", d.StartedAt, want)
	}

	// A dispatcher attaches a fault filed since, whose customer says 4 h: with the 3 h
	// report, two now say 3 h.
	late := e.report(t, "fault", "5512347105", "NODO-ACUERDO", "300", clock.Add(time.Minute), ago(4*time.Hour))
	if _, err := e.incidents.Attach(ctx, d.ID, late.Folio, e.staff, clock.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	d = e.ruleIncident(t, "NODO-ACUERDO")
	if want := clock.Add(-3 * time.Hour); !d.StartedAt.Equal(want) {
		t.Fatalf("after the attach the incident started %s; want %s", d.StartedAt, want)
	}
	changed := e.eventsOf(t, dispatch.EventIncidentStartChanged)
	var cd struct {
		StartedAt time.Time  `json:"started_at"`
		Previous  *time.Time `json:"previous"`
	}
	if len(changed) != 1 || changed[0].IncidentID != d.ID || json.Unmarshal(changed[0].Data, &cd) != nil ||
		!cd.StartedAt.Equal(d.StartedAt) || cd.Previous == nil || !cd.Previous.Equal(clock.Add(-170*time.Minute)) {
		t.Fatalf("incident.start_changed = %+v (%+v); want one, from 2 h 50 min to 3 h ago", changed, cd)
	}
	// The attach notice tells the start as it now stands.
	att := e.eventsOf(t, dispatch.EventReportAttached)
	var ad struct {
		StartedAt time.Time `json:"started_at"`
	}
	if last := att[len(att)-1]; last.ReportID != late.ID || json.Unmarshal(last.Data, &ad) != nil || !ad.StartedAt.Equal(d.StartedAt) {
		t.Fatalf("attach event of %s = %s; want started_at %s", late.Folio, last.Data, d.StartedAt)
	}

	// Two faults filed since (their customers put on the access point later, found by the
	// sweep) agree on three days ago: the start goes back no more than a day before the
	// burst's first report.
	for _, p := range []string{"5512347106", "5512347107"} {
		r := e.report(t, "fault", p, "", "300", clock.Add(2*time.Minute), ago(72*time.Hour))
		var cid int64
		if err := e.db.NewRaw(`SELECT customer_id FROM reports WHERE id = ?`, r.ID).Scan(ctx, &cid); err != nil {
			t.Fatal(err)
		}
		if _, err := postgres.NewAccessPoints(e.db).Set(ctx, cid, "NODO-ACUERDO", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, attached, err := e.incidents.Sweep(ctx, clock.Add(3*time.Minute)); err != nil || attached != 2 {
		t.Fatalf("sweep attached %d (%v); want 2", attached, err)
	}
	d = e.ruleIncident(t, "NODO-ACUERDO")
	if want := clock.Add(-25*time.Minute - 24*time.Hour); !d.StartedAt.Equal(want) {
		t.Fatalf("after two claims of three days the incident started %s; want %s (a day before the first report)", d.StartedAt, want)
	}
	if n := len(e.eventsOf(t, dispatch.EventIncidentStartChanged)); n != 2 {
		t.Fatalf("%d incident.start_changed events; want 2", n)
	}
}

// TestIncidentStaffStartWins: the start a dispatcher gives when opening an incident is the
// incident's: reports that attach, at the opening or later, and say their outage began
// earlier (two of them agreeing) never move it.
func TestIncidentStaffStartWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, true)
	e.report(t, "fault", "5512347202", "TORRE-STAFF", "300", clock.Add(-50*time.Minute), ago(5*time.Hour))
	e.report(t, "fault", "5512347203", "TORRE-STAFF", "300", clock.Add(-40*time.Minute), ago(5*time.Hour))
	start := clock.Add(-time.Hour)
	d := e.open(t, "TORRE-STAFF", start)
	if !d.StartedAt.Equal(start) || d.Attached != 2 {
		t.Fatalf("staff incident started %s with %d attached; want %s, 2", d.StartedAt, d.Attached, start)
	}
	// Attached on creation (the hook).
	e.report(t, "fault", "5512347204", "TORRE-STAFF", "300", clock, ago(6*time.Hour))
	if got := e.ruleIncident(t, "TORRE-STAFF"); !got.StartedAt.Equal(start) || got.Attached != 3 {
		t.Fatalf("after a late fault: started %s, %d attached; want %s, 3", got.StartedAt, got.Attached, start)
	}
	if n := len(e.eventsOf(t, dispatch.EventIncidentStartChanged)); n != 0 {
		t.Fatalf("%d incident.start_changed events on a staff incident; want none", n)
	}
	restored := clock
	res, err := e.incidents.Resolve(ctx, d.ID, dispatch.IncidentResolution{Cause: "Fibra cortada", Verdict: "upheld", RestoredAt: &restored}, e.staff, clock)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Reports {
		if r.Compensation == nil || !r.Compensation.OutageStart.Equal(start) {
			t.Errorf("report %s owed from %v; want from the dispatcher's start %s", r.Folio, r.Compensation, start)
		}
	}
}
