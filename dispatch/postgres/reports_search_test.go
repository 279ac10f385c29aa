package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestReportSearchReadsByTrigrams: the desk's search finds a text in a report's folio,
// subject or description, or in its customer's name, newest first and page by page across
// the two, and finds a rare one by the trigram indexes: it read every report (about a
// second at 300,000, BenchmarkDeskSearchHistory) while the customer waited on the line.
func TestReportSearchReadsByTrigrams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	seedHistory(t, db, 20_000, false)
	// Four reports naming "Zapotal": two by their description, two by their customer's
	// name, interleaved in time; a fifth of another customer that does not.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO customers (name, phone) VALUES ('Rosa Zapotal', '+525500000001'), ('Ana Ruiz', '+525500000002');
		INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash)
			SELECT 'R-2026-00000' || n, 'fault', 'phone', 'technical', (SELECT id FROM customers WHERE name = c), d, '\x00'::bytea
			FROM (VALUES (1, 'Ana Ruiz', 'Poste caído en Zapotal'), (2, 'Rosa Zapotal', 'Sin señal'),
			             (3, 'Ana Ruiz', 'Cable cortado, calle ZAPOTAL 3'), (4, 'Rosa Zapotal', 'Lento'),
			             (5, 'Ana Ruiz', 'Sin internet')) AS s (n, c, d) ORDER BY n;
		ANALYZE reports; ANALYZE customers`); err != nil {
		t.Fatal(err)
	}
	seen := &queriesSeen{}
	db.AddQueryHook(seen)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	var got []string
	after := ""
	for range 3 {
		items, next, err := reports.List(ctx, postgres.ListFilter{Query: "zapotal", Limit: 3, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.Folio)
		}
		if next == "" {
			break
		}
		after = next
	}
	if want := "R-2026-000004 R-2026-000003 R-2026-000002 R-2026-000001"; strings.Join(got, " ") != want {
		t.Errorf("search for %q, page by page = %v, want %s", "zapotal", got, want)
	}
	// At 20,000 reports the planner still reads them whole, or walks a whole index (cheaper
	// at that size; BenchmarkDeskSearchHistory shows its choice at 300,000). With both off,
	// a plan that cannot use the trigram indexes shows one of them anyway.
	qs := seen.take()
	var plan []string
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"); err != nil {
			return err
		}
		return tx.NewRaw("EXPLAIN "+qs[0]).Scan(ctx, &plan)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	for _, index := range []string{"reports_search_trgm_idx", "customers_name_trgm_idx"} {
		if !strings.Contains(p, index) {
			t.Errorf("the search does not read by %s:\n%s", index, p)
		}
	}
	// A phone narrows the search to that customer's reports.
	items, _, err := reports.List(ctx, postgres.ListFilter{Query: "zapotal", Phone: "+525500000002"})
	if err != nil || len(items) != 2 || items[0].Folio != "R-2026-000003" || items[1].Folio != "R-2026-000001" {
		t.Errorf("search with Ana's phone = %+v, %v; want her two reports naming Zapotal", items, err)
	}
}

// BenchmarkDeskSearchHistory times the desk's search with -history reports stored: a name
// no report has, a customer's full name, a folio, and a word on every report.
//
//	go test ./dispatch/postgres -run '^$' -bench DeskSearchHistory -benchtime 20x
func BenchmarkDeskSearchHistory(b *testing.B) {
	db := dispatchtest.DB(b)
	seedHistory(b, db, *historySize, false)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	for _, q := range []struct{ name, text string }{
		{"absent", "Zapata"}, {"customer", "Historia 123456"}, {"folio", "R-2000-0123456"}, {"common", "Falla"},
	} {
		b.Run(q.name, func(b *testing.B) {
			for range b.N {
				if _, _, err := reports.List(context.Background(), postgres.ListFilter{Query: q.text, Limit: 20}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
