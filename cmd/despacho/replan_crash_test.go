package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// childServe is set in the environment of a test binary started again to be a real
// `despacho serve` process (the settings come from the same environment), so that a test
// can kill it with SIGKILL.
const childServe = "DESPACHO_TEST_CHILD_SERVE"

func init() {
	if os.Getenv(childServe) == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, []string{"serve"}, env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

// serveProcess starts `despacho serve` as a child process on dsn and waits until it is
// ready; the process is killed when the test ends.
func serveProcess(t *testing.T, dsn string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childServe+"=1", "DATABASE_URL="+dsn, "HTTP_ADDR="+addr, "LOG_LEVEL=")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return cmd, base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve child not ready after 60 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// planRow is one visit's place in a day's plan.
type planRow struct {
	ID, Tech, Pos, Version int64
	Arrival, Start, End    time.Time
	WinStart, WinEnd       *time.Time
}

func (p planRow) String() string {
	return fmt.Sprintf("%d:t%d#%d v%d %s-%s", p.ID, p.Tech, p.Pos, p.Version, p.Start.Format("15:04"), p.End.Format("15:04"))
}

// dayPlan reads day's plan in a stable order.
func dayPlan(t *testing.T, db *bun.DB, day string) []planRow {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `
		SELECT id, technician_id, route_position, version, planned_arrival, planned_start, planned_end, window_start, window_end
		FROM visits WHERE plan_day = ? AND technician_id IS NOT NULL AND status NOT IN ('cancelled')
		ORDER BY id`, day)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []planRow
	for rows.Next() {
		var p planRow
		if err := rows.Scan(&p.ID, &p.Tech, &p.Pos, &p.Version, &p.Arrival, &p.Start, &p.End, &p.WinStart, &p.WinEnd); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPlan fails unless the plan is whole: each technician's positions are 1..n with no
// overlap in time, and every promised window holds its planned arrival.
func checkPlan(t *testing.T, plan []planRow) {
	t.Helper()
	byTech := map[int64][]planRow{}
	for _, p := range plan {
		byTech[p.Tech] = append(byTech[p.Tech], p)
		if p.WinStart != nil && (p.Arrival.Before(*p.WinStart) || p.Arrival.After(*p.WinEnd)) {
			t.Errorf("visit %d arrives %v outside its promised window %v–%v", p.ID, p.Arrival, *p.WinStart, *p.WinEnd)
		}
	}
	for tech, ps := range byTech {
		pos := map[int64]planRow{}
		for _, p := range ps {
			if q, dup := pos[p.Pos]; dup {
				t.Errorf("technician %d has visits %d and %d both at position %d", tech, q.ID, p.ID, p.Pos)
			}
			pos[p.Pos] = p
		}
		for i := int64(1); i <= int64(len(ps)); i++ {
			if _, ok := pos[i]; !ok {
				t.Errorf("technician %d's route %v lacks position %d", tech, ps, i)
			}
		}
		for i := int64(1); i < int64(len(ps)); i++ {
			if a, b := pos[i], pos[i+1]; b.Start.Before(a.End) {
				t.Errorf("technician %d: visit %d (%s) overlaps visit %d (%s)", tech, a.ID, a, b.ID, b)
			}
		}
	}
}

func countOf(t *testing.T, db *bun.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKillDuringReplan loads the demo, then several times asks a real serve process to
// re-optimise the busiest day and kills it with SIGKILL at points around the end of the
// search (where the result is written), restarting it each time. After every kill the plan
// is wholly the old one or wholly a new one (a plan.optimized event marks each applied
// re-plan): positions whole, no overlaps, every promised window kept; each visit.rescheduled
// event queued exactly one text, and nothing was queued for a re-plan that did not commit.
// A last re-plan on a fresh process succeeds.
func TestKillDuringReplan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := dispatchtest.DBWithURL(t)
	if code := run(ctx, []string{"demo"}, testEnv(map[string]string{"DATABASE_URL": dsn}, "", nopWriter{}, nopWriter{})); code != 0 {
		t.Fatalf("demo = %d", code)
	}
	var day string
	if err := db.QueryRowContext(ctx, `SELECT plan_day::text FROM visits WHERE plan_day IS NOT NULL AND technician_id IS NOT NULL
		GROUP BY plan_day ORDER BY count(*) DESC, plan_day DESC LIMIT 1`).Scan(&day); err != nil {
		t.Fatal(err)
	}
	u := &dispatch.User{Email: "jefe@example.mx", Name: "Jefe", Role: dispatch.RoleDispatcher, PasswordHash: "unused", Active: true}
	users := postgres.NewUsers(db)
	if err := users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	token := "replan-crash-" + randomHexN(16)
	if err := users.CreateSession(ctx, token, u.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	optimize := func(base string) (int, error) {
		req, _ := http.NewRequest("POST", base+"/api/plans/"+day+"/optimize", strings.NewReader(`{"time_limit_s":1}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		res.Body.Close()
		return res.StatusCode, nil
	}
	checkTexts := func() {
		t.Helper()
		// Each re-notification is queued once, in the re-plan's own transaction.
		resched := countOf(t, db, "SELECT count(*) FROM events WHERE type = 'visit.rescheduled'")
		texts := countOf(t, db, "SELECT count(*) FROM sms_outbox o JOIN events e ON e.id = o.event_id WHERE e.type = 'visit.rescheduled' AND o.kind = 'rescheduled'")
		doubled := countOf(t, db, "SELECT count(*) FROM (SELECT event_id FROM sms_outbox WHERE event_id IS NOT NULL GROUP BY event_id, kind HAVING count(*) > 1) d")
		if texts > resched || doubled != 0 {
			t.Errorf("visit.rescheduled events %d, texts for them %d, events texted twice %d; want at most one text each", resched, texts, doubled)
		}
	}

	before := dayPlan(t, db, day)
	if len(before) < 5 {
		t.Fatalf("day %s has %d planned visits, want a real plan", day, len(before))
	}
	checkPlan(t, before)
	t.Logf("day %s: %d planned visits", day, len(before))
	// One re-plan left alone measures how long it takes, so that the kills land around its
	// end, where the result is written.
	_, base := serveProcess(t, dsn)
	t0 := time.Now()
	if code, err := optimize(base); err != nil || code != 200 {
		t.Fatalf("re-plan = %d %v, want 200", code, err)
	}
	full := time.Since(t0)
	before = dayPlan(t, db, day)
	checkPlan(t, before)
	checkTexts()
	applied := countOf(t, db, "SELECT count(*) FROM events WHERE type = 'plan.optimized'")
	outcomes := map[string]int{}
	for i, f := range []float64{0.5, 0.9, 1.0, 1.05} {
		delay := time.Duration(f * float64(full))
		cmd, base := serveProcess(t, dsn)
		done := make(chan error, 1)
		go func() { _, err := optimize(base); done <- err }()
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		<-done
		// PostgreSQL ends the dead process's sessions (rolling back what they had open).
		deadline := time.Now().Add(30 * time.Second)
		for countOf(t, db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'") > 0 {
			if time.Now().After(deadline) {
				t.Fatal("sessions of the killed process still active after 30 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		after := dayPlan(t, db, day)
		nowApplied := countOf(t, db, "SELECT count(*) FROM events WHERE type = 'plan.optimized'")
		switch {
		case nowApplied == applied:
			if fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("kill %d after %v: no re-plan committed, yet the plan changed:\nbefore %v\nafter  %v", i+1, delay, before, after)
			}
			outcomes["old"]++
		case nowApplied == applied+1:
			outcomes["new"]++
		default:
			t.Fatalf("kill %d: plan.optimized events went from %d to %d", i+1, applied, nowApplied)
		}
		checkPlan(t, after)
		checkTexts()
		before, applied = after, nowApplied
	}
	t.Logf("a whole re-plan took %v; after each kill the plan was: %v", full, outcomes)

	_, base = serveProcess(t, dsn)
	if code, err := optimize(base); err != nil || code != 200 {
		t.Fatalf("re-plan on a fresh process = %d %v, want 200", code, err)
	}
	checkPlan(t, dayPlan(t, db, day))
	checkTexts()
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
