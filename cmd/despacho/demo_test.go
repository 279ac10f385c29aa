package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"despacho/dispatch/dispatchtest"
)

// TestDemoTwice loads the demo data twice: the second run changes nothing.
func TestDemoTwice(t *testing.T) {
	db, url := dispatchtest.DBWithURL(t)
	vars := map[string]string{"DATABASE_URL": url}
	count := func() (n [4]int) {
		t.Helper()
		for i, table := range []string{"users", "customers", "reports", "events"} {
			if err := db.NewRaw("SELECT count(*) FROM "+table).Scan(context.Background(), &n[i]); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"demo"}, testEnv(vars, "", &out, &errb)); code != 0 {
		t.Fatalf("demo = %d: %s", code, errb.String())
	}
	first := count()
	if first[0] != 3 || first[1] < 5 || first[2] != 12 || !strings.Contains(out.String(), demoPassword) {
		t.Fatalf("after the first run: users, customers, reports, events = %v; output %q", first, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"demo"}, testEnv(vars, "", &out, &errb)); code != 0 {
		t.Fatalf("demo again = %d: %s", code, errb.String())
	}
	if again := count(); again != first || strings.Contains(out.String(), demoPassword) {
		t.Fatalf("the second run changed %v into %v (output %q)", first, again, out.String())
	}
	var statuses []string
	if err := db.NewRaw("SELECT DISTINCT status FROM reports ORDER BY 1").Scan(context.Background(), &statuses); err != nil {
		t.Fatal(err)
	}
	if len(statuses) < 6 {
		t.Fatalf("demo statuses %v; want most of them", statuses)
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
