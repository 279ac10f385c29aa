package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestReportListByPhone: List with a phone finds the reports of the customer with that
// phone, newest first, and gets there through the indexes (customers_phone_key, then the
// reports of that customer), not by reading every report and customer: the desk searches
// by the caller's number while he waits on the line.
func TestReportListByPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	// Enough customers and reports that a scan costs more than the index.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO customers (name, phone) SELECT 'Cliente ' || i, '+5281' || lpad(i::text, 8, '0') FROM generate_series(1, 5000) AS i;
		INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash)
			SELECT 'R-2000-' || lpad(c.id::text, 6, '0'), 'inquiry', 'phone', 'customer_service', c.id, 'Consulta', '\x00'::bytea FROM customers AS c;
		ANALYZE customers; ANALYZE reports`); err != nil {
		t.Fatal(err)
	}
	seen := &queriesSeen{}
	db.AddQueryHook(seen)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	var folios []string
	for range 2 {
		c, _, err := reports.Create(ctx, newReport(t, time.Now(), "fault", "55 1234 5678", ""), postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		folios = append(folios, c.Report.Folio)
	}
	items, next, err := reports.List(ctx, postgres.ListFilter{Phone: "+525512345678", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || next != "" || items[0].Folio != folios[1] || items[1].Folio != folios[0] || items[0].CustomerPhone != "+525512345678" {
		t.Fatalf("List(phone) = %+v next %q, want %s then %s", items, next, folios[1], folios[0])
	}
	if items, _, err := reports.List(ctx, postgres.ListFilter{Phone: "+525500001111"}); err != nil || len(items) != 0 {
		t.Fatalf("List(unknown phone) = %d items, %v; want none", len(items), err)
	}

	q := seen.last("customer_phone")
	if q == "" {
		t.Fatal("List's query was not seen")
	}
	var plan []string
	if err := db.NewRaw("EXPLAIN "+q).Scan(ctx, &plan); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if strings.Contains(all, "Seq Scan") || !strings.Contains(all, "customers_phone_key") {
		t.Errorf("List by phone plans\n%s\nwant an index lookup through customers_phone_key, no sequential scan", all)
	}
}
