package main

import (
	"bytes"
	"context"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestDemoTwice loads the demo data twice: the second run changes nothing, not even after
// the idempotency keys were purged (serve purges them after a day), and prints the demo
// accounts and the showcase status link again.
func TestDemoTwice(t *testing.T) {
	ctx := context.Background()
	db, url := dispatchtest.DBWithURL(t)
	vars := map[string]string{"DATABASE_URL": url}
	tables := []string{"users", "customers", "reports", "events", "technicians", "visits"}
	count := func() (n [6]int) {
		t.Helper()
		for i, table := range tables {
			if err := db.NewRaw("SELECT count(*) FROM "+table).Scan(ctx, &n[i]); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"demo"}, testEnv(vars, "", &out, &errb)); code != 0 {
		t.Fatalf("demo = %d: %s", code, errb.String())
	}
	first := count()
	if first[0] != 3+len(demoTechs) || first[1] < 20 || first[2] != len(demoReports()) || first[4] != 6 || first[5] != len(demoVisits) ||
		!strings.Contains(out.String(), demoPassword) || !strings.Contains(out.String(), "tecnico6@demo.despacho.mx") {
		t.Fatalf("after the first run: %v = %v; output %q", tables, first, out.String())
	}
	for _, again := range []string{"again", "after the keys were purged"} {
		if again != "again" {
			if _, err := db.NewRaw("DELETE FROM idempotency_keys WHERE scope = 'demo'").Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		out.Reset()
		if code := run(ctx, []string{"demo"}, testEnv(vars, "", &out, &errb)); code != 0 {
			t.Fatalf("demo %s = %d: %s", again, code, errb.String())
		}
		o := out.String()
		if n := count(); n != first || !strings.Contains(o, "already loaded") || strings.Contains(o, "reports loaded") ||
			!strings.Contains(o, "admin@demo.despacho.mx") || !strings.Contains(o, "/estado/") {
			t.Fatalf("demo %s changed %v into %v (output %q)", again, first, n, out.String())
		}
	}
	var statuses []string
	if err := db.NewRaw("SELECT DISTINCT status FROM reports ORDER BY 1").Scan(ctx, &statuses); err != nil {
		t.Fatal(err)
	}
	if len(statuses) < 6 {
		t.Fatalf("demo statuses %v; want most of them", statuses)
	}

	// Every technician signs in with his own technician account, lives near the centre and
	// works Monday to Saturday with a lunch break.
	var techs []struct {
		Name    string
		Role    string
		Skills  []string `bun:",array"`
		HomeLat float64
		HomeLon float64
		Shifts  []dispatch.WeeklyShift `bun:",type:jsonb"`
	}
	if err := db.NewRaw(`SELECT t.name, u.role, t.skills, t.home_lat, t.home_lon, t.shifts FROM technicians t
		JOIN users u ON u.id = t.user_id ORDER BY t.id`).Scan(ctx, &techs); err != nil {
		t.Fatal(err)
	}
	if len(techs) != len(demoTechs) {
		t.Fatalf("%d technicians with accounts; want %d", len(techs), len(demoTechs))
	}
	skills := map[string]bool{}
	for _, tc := range techs {
		if tc.Role != string(dispatch.RoleTechnician) {
			t.Errorf("%s signs in as %s", tc.Name, tc.Role)
		}
		if km := kmFrom(19.43, -99.13, tc.HomeLat, tc.HomeLon); km > 15 {
			t.Errorf("%s lives %.1f km from the centre", tc.Name, km)
		}
		for _, k := range tc.Skills {
			skills[k] = true
		}
		if len(tc.Shifts) != 6 || tc.Shifts[0].Weekday != 1 || tc.Shifts[5].Weekday != 6 || tc.Shifts[0].Break == nil ||
			tc.Shifts[0].Start != "08:00" || tc.Shifts[0].End != "18:00" || tc.Shifts[0].Break.Minutes != 30 {
			t.Errorf("%s works %+v", tc.Name, tc.Shifts)
		}
	}
	for _, dv := range demoVisits {
		if !skills[dv.skill] {
			t.Errorf("visit %s needs %s, which no technician has", dv.key, dv.skill)
		}
	}

	// Every visit is booked with a technician, on the next days the demo can fill, but the
	// queue's (no window, no technician) and the showcase's (completed).
	var visits []struct {
		Status       string
		TechnicianID int64
		PlanDay      time.Time
	}
	if err := db.NewRaw("SELECT status, coalesce(technician_id, 0) AS technician_id, plan_day FROM visits ORDER BY id").Scan(ctx, &visits); err != nil {
		t.Fatal(err)
	}
	zone, _ := time.LoadLocation("America/Mexico_City")
	today := time.Now().In(zone).Format(time.DateOnly)
	for i, v := range visits {
		fate := demoFates[demoVisits[i].key]
		switch {
		case fate == fateQueue:
			if v.Status != "unscheduled" || v.TechnicianID != 0 {
				t.Errorf("queued visit %d: %+v", i, v)
			}
		case fate == fateComplete:
			// Done on the last working day before today.
			if d := demoShowcaseDay(time.Now().In(zone)).Format(time.DateOnly); v.Status != "completed" || v.TechnicianID == 0 || v.PlanDay.Format(time.DateOnly) != d {
				t.Errorf("completed visit %d: %+v, want completed on %s", i, v, d)
			}
		case v.Status != "booked" || v.TechnicianID == 0 || v.PlanDay.Format(time.DateOnly) < today || v.PlanDay.Sub(time.Now()) > 4*24*time.Hour:
			t.Errorf("visit %d (%s): %+v", i, demoVisits[i].key, v)
		}
	}

	// The showcase report is resolved with its visit's outcome, and the printed link opens
	// its status page; some reports' deadlines are at risk or missed.
	m := regexp.MustCompile(`/estado/([A-Z0-9-]+)\?code=([A-Z0-9]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no status link in %q", out.String())
	}
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	if _, err := reports.IDForCode(ctx, m[1], m[2]); err != nil {
		t.Fatalf("the printed code does not open %s: %v", m[1], err)
	}
	d, err := reports.Get(ctx, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if r := d.Report; r.Status != dispatch.StatusResolved || r.Cause != demoOutcome.Cause || r.Verdict != dispatch.Verdict(demoOutcome.Verdict) ||
		r.ServiceRestored == nil || !*r.ServiceRestored || r.Subject != "Sin internet tras la tormenta" {
		t.Errorf("showcase report %s: status %s, cause %q, verdict %q, restored %v", r.Folio, r.Status, r.Cause, r.Verdict, r.ServiceRestored)
	}
	var states []string
	if err := db.NewRaw("SELECT DISTINCT sla_state FROM reports ORDER BY 1").Scan(ctx, &states); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(states, "at_risk") || !slices.Contains(states, "breached") {
		t.Errorf("report SLA states %v; want some at risk and some missed", states)
	}
	var queuedAtRisk int
	if err := db.NewRaw(`SELECT count(*) FROM visits v JOIN reports r ON r.id = v.report_id
		WHERE v.status = 'unscheduled' AND r.sla_state <> 'ok'`).Scan(ctx, &queuedAtRisk); err != nil {
		t.Fatal(err)
	}
	if queuedAtRisk < 2 {
		t.Errorf("%d queued visits with a report deadline at risk or missed; want 2", queuedAtRisk)
	}
	for _, want := range []string{"admin       admin@demo.despacho.mx", "dispatcher  despacho@demo.despacho.mx", "http://localhost:8080/login"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoKeysUnique: no two demo reports share a natural key (customer and subject), nor
// two visits a report.
func TestDemoKeysUnique(t *testing.T) {
	seen := map[string]string{}
	keys := map[string]bool{}
	for _, dr := range demoReports() {
		k := dr.in.Customer.Phone + "|" + dr.in.Customer.Email + "|" + dr.in.Subject
		if o, ok := seen[k]; ok {
			t.Errorf("demo reports %s and %s share %q", o, dr.key, k)
		}
		seen[k] = dr.key
		keys[dr.key] = dr.in.Kind == "fault" && dr.in.Address != nil
	}
	visited := map[string]bool{}
	for _, dv := range demoVisits {
		if !keys[dv.key] || visited[dv.key] {
			t.Errorf("demo visit for %s: no such fault report with an address, or a second visit", dv.key)
		}
		visited[dv.key] = true
	}
}

// TestBadBusinessZone: an unknown TZ_BUSINESS is a usage error.
func TestBadBusinessZone(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo"}, testEnv(map[string]string{"TZ_BUSINESS": "Mars/Olympus", "DATABASE_URL": "postgres://x@localhost/db"}, "", &out, &errb))
	if code != 2 || !strings.Contains(errb.String(), "TZ_BUSINESS") {
		t.Fatalf("exit %d, stderr %q; want 2 naming TZ_BUSINESS", code, errb.String())
	}
}

// kmFrom is the great-circle distance in km between two points in degrees.
func kmFrom(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	a := math.Pow(math.Sin((lat2-lat1)*rad/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin((lon2-lon1)*rad/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(a))
}
