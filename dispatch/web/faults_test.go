package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// rowCounts is what a refused write must leave as it was: every table a report creation
// writes to.
func rowCounts(t *testing.T, db *bun.DB) string {
	t.Helper()
	var out []string
	for _, table := range []string{"reports", "customers", "events", "idempotency_keys", "locations", "live_pending", "sms_outbox"} {
		var n int
		if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(out, " ")
}

// dropSessions ends every connection to the test database, so that the pool reconnects
// and picks up database-level settings.
func dropSessions(t *testing.T, db *bun.DB) {
	t.Helper()
	adm, err := postgres.Open(dispatchtest.AdminURL(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var name string
	if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ExecContext(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?", name); err != nil {
		t.Fatal(err)
	}
	// Forget the idle connections, as the pool would one by one on their errors.
	db.SetMaxIdleConns(0)
	db.SetMaxIdleConns(10)
}

// TestWritesRefusedAre503: while PostgreSQL refuses writes — the database turned read-only
// (as after a failover to a standby, or an operator's emergency switch) or a disk full
// (SQLSTATE 53100, raised here by a trigger, since a real full disk would harm the machine)
// — creating a report by the staff API and by the public form answers 503 with the JSON
// error and Retry-After, never 500; nothing is half written; reads and /readyz keep working
// (the database answers; taking every instance out of the balancer would not help); and
// when the fault clears, the same request with the same Idempotency-Key succeeds once.
func TestWritesRefusedAre503(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name         string
		inject, heal []string
		reconnect    bool
	}{
		{"read-only database",
			[]string{"ALTER DATABASE %s SET default_transaction_read_only = on"},
			[]string{"ALTER DATABASE %s RESET default_transaction_read_only"}, true},
		{"disk full on the report insert",
			[]string{`CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device' USING ERRCODE = '53100'; END $$`,
				"CREATE TRIGGER test_disk_full BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION test_disk_full()"},
			[]string{"DROP TRIGGER test_disk_full ON reports", "DROP FUNCTION test_disk_full()"}, false},
		{"disk full on the event insert (last write of the transaction)",
			[]string{`CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'could not extend file "base/1/3": No space left on device' USING ERRCODE = '53100'; END $$`,
				"CREATE TRIGGER test_disk_full BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_disk_full()"},
			[]string{"DROP TRIGGER test_disk_full ON events", "DROP FUNCTION test_disk_full()"}, false},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			db := dispatchtest.DB(t)
			ts := httptest.NewServer(web.New(web.Config{DB: db}))
			t.Cleanup(ts.Close)
			users := postgres.NewUsers(db)
			tok := login(t, ts, users, "agente@despacho.example.mx", dispatch.RoleAgent)
			folio := createTicket(t, ts, tok, 19.4, -99.1)

			var name string
			if err := db.QueryRowContext(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
				t.Fatal(err)
			}
			exec := func(stmts []string) {
				t.Helper()
				for _, s := range stmts {
					if strings.Contains(s, "%s") {
						s = fmt.Sprintf(s, name)
					}
					on := db
					if strings.HasPrefix(s, "ALTER DATABASE") { // a read-only session could not undo it
						adm, err := postgres.Open(dispatchtest.AdminURL(t), 1)
						if err != nil {
							t.Fatal(err)
						}
						defer adm.Close()
						on = adm
					}
					if _, err := on.ExecContext(context.Background(), s); err != nil {
						t.Fatalf("%s: %v", s, err)
					}
				}
				if f.reconnect {
					dropSessions(t, db)
				}
			}
			exec(f.inject)
			before := rowCounts(t, db)

			for i := range 3 { // a dropped connection may cost the first attempt; each must be a 503
				res, b := do(t, "POST", ts.URL+"/api/tickets", tok, faultBody, "Idempotency-Key", "fault-key-0001")
				if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
					t.Fatalf("staff report %d during the fault = %d %s (Retry-After %q), want 503 with Retry-After", i+1, res.StatusCode, b, res.Header.Get("Retry-After"))
				}
				if code, _ := errorCode(t, b); code != "unavailable" {
					t.Fatalf("error code = %q, want unavailable", code)
				}
			}
			res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody)
			if res.StatusCode != 503 {
				t.Fatalf("public report during the fault = %d %s, want 503", res.StatusCode, b)
			}
			if code, _ := errorCode(t, b); code != "unavailable" {
				t.Fatalf("public error code = %q, want unavailable", code)
			}
			if got := rowCounts(t, db); got != before {
				t.Fatalf("rows after refused writes: %s; want %s", got, before)
			}
			if res, b := do(t, "GET", ts.URL+"/api/tickets/"+folio, tok, ""); res.StatusCode != 200 {
				t.Errorf("reading a report during the fault = %d %s, want 200", res.StatusCode, b)
			}
			if res, b := do(t, "GET", ts.URL+"/readyz", "", ""); res.StatusCode != 200 {
				t.Errorf("/readyz during the fault = %d %s, want 200 (the database answers)", res.StatusCode, b)
			}

			exec(f.heal)
			var created string
			deadline := time.Now().Add(20 * time.Second)
			for {
				res, b := do(t, "POST", ts.URL+"/api/tickets", tok, faultBody, "Idempotency-Key", "fault-key-0001")
				if res.StatusCode == 201 {
					created = string(b)
					break
				}
				if res.StatusCode != 503 || time.Now().After(deadline) {
					t.Fatalf("staff report after the fault = %d %s, want 201", res.StatusCode, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
			res, again := do(t, "POST", ts.URL+"/api/tickets", tok, faultBody, "Idempotency-Key", "fault-key-0001")
			if g, w := decodeTicket(t, again), decodeTicket(t, []byte(created)); res.StatusCode != 201 || g.ID != w.ID || g.Folio != w.Folio {
				t.Errorf("retry with the same key = %d %s, want the first answer %s", res.StatusCode, again, created)
			}
			var reports int
			if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM reports").Scan(&reports); err != nil {
				t.Fatal(err)
			}
			if reports != 2 {
				t.Errorf("reports after recovery = %d, want 2 (the first one and the retried one, once)", reports)
			}
		})
	}
}
