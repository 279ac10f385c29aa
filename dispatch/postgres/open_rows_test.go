package postgres_test

import (
	"context"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

var historySize = flag.Int("history", 300_000, "BenchmarkBoardListsHistory: finished visits (each with its report, customer and five events) stored before the lists are read")

// seedHistory stores n finished reports, each with its customer and one visit finished on
// one of the 900 days before now (a twentieth not completed, a thirteenth cancelled), and,
// with events, the visit's five events: the history a service accumulates in two years
// and a half of 400 visits a day at n = 360,000. It stores them in batches of 50,000, each
// a statement well within the driver's timeout.
func seedHistory(tb testing.TB, db *bun.DB, n int, events bool) {
	tb.Helper()
	ctx := context.Background()
	const batch = 50_000
	for k := 0; k < n; k += batch {
		m := min(batch, n-k)
		stmts := []string{
			`INSERT INTO customers (name, phone) SELECT 'Historia ' || i, '+5233' || lpad(i::text, 8, '0') FROM generate_series(?0::int + 1, ?0::int + ?1::int) AS i`,
			`INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash, status)
				SELECT 'R-2000-' || lpad(c.id::text, 7, '0'), 'fault', 'phone', 'technical', c.id, 'Falla', '\x00'::bytea, 'closed'
				FROM customers AS c WHERE c.name LIKE 'Historia %' AND c.id > (SELECT coalesce(max(customer_id), 0) FROM reports)`,
			`INSERT INTO visits (report_id, status, duration_min, lat, lon, window_start, window_end, plan_day, started_at, arrived_at, finished_at)
				SELECT r.id, CASE WHEN r.id % 20 = 0 THEN 'not_completed' WHEN r.id % 13 = 0 THEN 'cancelled' ELSE 'completed' END, 45, 19.4, -99.1,
					d - interval '3 hours', d - interval '1 hour', d::date, d - interval '3 hours', d - interval '2 hours', d - interval '1 hour'
				FROM reports AS r, LATERAL (SELECT now() - (1 + r.id % 900) * interval '1 day' AS d) AS day
				WHERE r.folio LIKE 'R-2000-%' AND NOT EXISTS (SELECT 1 FROM visits AS v WHERE v.report_id = r.id)`,
		}
		if events {
			stmts = append(stmts, `INSERT INTO events (type, report_id, visit_id, at)
				SELECT t, v.report_id, v.id, v.window_start FROM visits AS v
				CROSS JOIN unnest(ARRAY['visit.created', 'visit.booked', 'visit.en_route', 'visit.on_site', 'visit.completed']) AS t
				WHERE v.id > (SELECT coalesce(max(visit_id), 0) FROM events WHERE type = 'visit.completed')`)
		}
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q, k, m); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// queriesSeen keeps the SELECTs bun ran, in order.
type queriesSeen struct {
	mu sync.Mutex
	qs []string
}

func (h *queriesSeen) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *queriesSeen) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if strings.HasPrefix(ev.Query, "SELECT") {
		h.mu.Lock()
		h.qs = append(h.qs, ev.Query)
		h.mu.Unlock()
	}
}

// last returns the last query seen that contains marker, or "".
func (h *queriesSeen) last(marker string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.qs) - 1; i >= 0; i-- {
		if strings.Contains(h.qs[i], marker) {
			return h.qs[i]
		}
	}
	return ""
}

// take returns the queries seen since the last take.
func (h *queriesSeen) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	qs := h.qs
	h.qs = nil
	return qs
}

// boardLists are the visit lists every open board reads at each visit event (board.js's
// load), and what each must read by.
var boardLists = []struct {
	name   string
	filter postgres.VisitFilter
	index  string
}{
	{"unscheduled", postgres.VisitFilter{Statuses: []dispatch.VisitStatus{dispatch.VisitUnscheduled}}, "visits_open_status_idx"},
	{"missed", postgres.VisitFilter{Missed: true}, "visits_open_status_idx"},
	{"to rebook", postgres.VisitFilter{ToRebook: true}, "reports_open_idx"},
	{"reschedule requested", postgres.VisitFilter{RescheduleRequested: true}, "visits_reschedule_requested_idx"},
}

// TestBoardListsReadOpenRows: the board's queues and the missed-window sweep read the
// visits and reports still open by their indexes, whatever the history stored. Each read
// every visit (or report) ever stored: at 300,000 visits of history 70–130 ms a list, on
// every open board at every visit event, and the sweep each minute
// (BenchmarkBoardListsHistory). The lists still find what they must among the history.
func TestBoardListsReadOpenRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	seedHistory(t, db, 20_000, false)
	now := time.Now().UTC()
	// One of each: a visit to book, a window missed an hour ago, a visit not completed
	// whose report is still open, a customer who asked for another time.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO customers (name, phone) SELECT 'Abierto ' || i, '+5244' || lpad(i::text, 8, '0') FROM generate_series(1, 4) AS i;
		INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash, status)
			SELECT 'R-2026-' || lpad(c.id::text, 7, '0'), 'fault', 'phone', 'technical', c.id, c.name, '\x00'::bytea, 'awaiting_visit'
			FROM customers AS c WHERE c.name LIKE 'Abierto %';
		INSERT INTO visits (report_id, status, duration_min, lat, lon, window_start, window_end, reschedule_requested_at)
			SELECT r.id, s.status, 45, 19.4, -99.1, s.ws, s.ws + interval '2 hours', s.asked
			FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
			JOIN (VALUES ('Abierto 1', 'unscheduled', NULL::timestamptz, NULL::timestamptz),
			             ('Abierto 2', 'booked', ?0::timestamptz - interval '3 hours', NULL),
			             ('Abierto 3', 'not_completed', ?0::timestamptz - interval '5 hours', NULL),
			             ('Abierto 4', 'booked', ?0::timestamptz + interval '1 day', ?0::timestamptz)) AS s (name, status, ws, asked) ON s.name = c.name;
		ANALYZE visits; ANALYZE reports`, now); err != nil {
		t.Fatal(err)
	}
	seen := &queriesSeen{}
	db.AddQueryHook(seen)
	visits := postgres.NewVisits(db, postgres.NewEvents(), nil, planning.Config{})
	for i, l := range boardLists {
		f := l.filter
		f.Now = now
		items, _, err := visits.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if want := "Abierto " + string(rune('1'+i)); len(items) != 1 || items[0].CustomerName != want {
			t.Errorf("%s list = %d items, want the visit of %q alone", l.name, len(items), want)
		}
		assertReadsBy(t, db, l.name+" list", seen.take(), l.index)
	}
	if n, err := visits.MarkMissedWindows(ctx, now); err != nil || n != 1 {
		t.Errorf("MarkMissedWindows = %d, %v; want the window missed an hour ago marked", n, err)
	}
	assertReadsBy(t, db, "missed-window sweep", seen.take()[:1], "visits_open_status_idx")
}

// assertReadsBy fails unless the plan of the last of qs reads by index, and reads no
// visits or reports table whole.
func assertReadsBy(t *testing.T, db *bun.DB, what string, qs []string, index string) {
	t.Helper()
	if len(qs) == 0 {
		t.Fatalf("%s: no query seen", what)
	}
	var plan []string
	if err := db.NewRaw("EXPLAIN "+qs[len(qs)-1]).Scan(context.Background(), &plan); err != nil {
		t.Fatal(err)
	}
	p := strings.Join(plan, "\n")
	if !strings.Contains(p, index) || strings.Contains(p, "Seq Scan on visits") || strings.Contains(p, "Seq Scan on reports") {
		t.Errorf("%s reads the history, not the open rows by %s:\n%s", what, index, p)
	}
}

// BenchmarkBoardListsHistory times the lists every open board reads at each visit event,
// and the missed-window sweep run each minute, with -history finished visits stored (each
// with its report, customer and five events; 300,000 by default, about two years of a
// 400-visit day; seeding takes a minute or two).
//
//	go test ./dispatch/postgres -run '^$' -bench BoardListsHistory -benchtime 200x
func BenchmarkBoardListsHistory(b *testing.B) {
	db := dispatchtest.DB(b)
	seedHistory(b, db, *historySize, true)
	visits := postgres.NewVisits(db, postgres.NewEvents(), nil, planning.Config{})
	ctx := context.Background()
	for _, l := range boardLists {
		b.Run(strings.ReplaceAll(l.name, " ", "-"), func(b *testing.B) {
			f := l.filter
			f.Now = time.Now()
			for range b.N {
				if _, _, err := visits.List(ctx, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("missed-sweep", func(b *testing.B) {
		for range b.N {
			if _, err := visits.MarkMissedWindows(ctx, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
