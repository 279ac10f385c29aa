package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestCreateBatches files many reports at once, so that they commit in shared
// transactions: customers shared by phone and by e-mail, addresses, idempotency keys sent
// twice. Every report gets its own folio and event, each customer and address is stored
// once, and a repeated key answers with the first report.
func TestCreateBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	now := time.Now()
	const n = 96
	type result struct {
		folio    string
		customer int64
		replayed bool
		answer   string
	}
	results := make([]result, n)
	var calls []func()
	for i := range n {
		in := dispatch.ReportInput{Channel: "phone", Kind: "inquiry", Description: fmt.Sprintf("report %d", i),
			Customer: dispatch.CustomerInput{Name: "Cliente", Language: "es"}}
		var opts postgres.CreateOptions
		switch i % 4 {
		case 0: // seven customers by phone, three addresses each
			in.Customer.Phone = fmt.Sprintf("55 3000 %04d", i%7)
			in.Address = &dispatch.AddressInput{Line: fmt.Sprintf("Calle %d", i%3)}
		case 1: // five customers by e-mail only
			in.Customer.Email = fmt.Sprintf("cliente%d@example.mx", i%5)
		case 2: // each key sent twice, with the same body
			in.Customer.Phone = fmt.Sprintf("55 4000 %04d", i/8)
			in.Description = fmt.Sprintf("keyed %d", i/8)
			opts.Key = &postgres.IdempotencyKey{Scope: "test", Key: fmt.Sprintf("key-%d", i/8), Hash: []byte{byte(i / 8)}}
		case 3: // new customers with an address
			in.Customer.Phone = fmt.Sprintf("55 5000 %04d", i)
			in.Address = &dispatch.AddressInput{Line: "Av. Reforma 1"}
		}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, func() {
			c, a, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, opts)
			if err != nil {
				t.Error(err)
				return
			}
			if a != nil {
				results[i].answer = string(a.Body)
				results[i].replayed = a.Replayed
			}
			if c != nil {
				results[i].folio, results[i].customer = c.Report.Folio, c.Customer.ID
			}
		})
	}
	dispatchtest.AllAtOnce(calls)
	if t.Failed() {
		t.FailNow()
	}
	if got := postgres.LargestCreateBatch(reports); got < 2 {
		t.Fatalf("largest batch %d: the creations never shared a transaction", got)
	}

	folios := map[string]int{}
	created := 0
	for i, r := range results {
		if r.replayed {
			continue
		}
		created++
		if r.folio == "" {
			t.Fatalf("creation %d: no folio", i)
		}
		if j, dup := folios[r.folio]; dup {
			t.Fatalf("creations %d and %d share folio %s", i, j, r.folio)
		}
		folios[r.folio] = i
	}
	// n/4 keyed creations, each key twice: n/8 replays.
	if want := n - n/8; created != want {
		t.Fatalf("%d reports created, want %d", created, want)
	}
	for i := 2; i < n; i += 4 {
		twin := i ^ 4 // the other creation with the same key (i/8 equal)
		a, b := results[i], results[twin]
		if a.replayed == b.replayed {
			t.Fatalf("key %d: replayed %v and %v, want exactly one replay", i/8, a.replayed, b.replayed)
		}
		var ja, jb map[string]any
		if json.Unmarshal([]byte(a.answer), &ja) != nil || json.Unmarshal([]byte(b.answer), &jb) != nil || ja["folio"] != jb["folio"] || ja["folio"] == nil {
			t.Fatalf("key %d: answers %s and %s differ", i/8, a.answer, b.answer)
		}
	}

	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := db.NewRaw(q, args...).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count("SELECT count(*) FROM reports"); got != created {
		t.Fatalf("%d reports stored, want %d", got, created)
	}
	// 7 by phone, 5 by e-mail, n/8 keyed phones, n/4 new phones.
	if got, want := count("SELECT count(*) FROM customers"), 7+5+n/8+n/4; got != want {
		t.Fatalf("%d customers stored, want %d", got, want)
	}
	if got, want := count("SELECT count(*) FROM locations"), 7*3+n/4; got != want {
		t.Fatalf("%d locations stored, want %d", got, want)
	}
	if got := count(`SELECT count(*) FROM reports r WHERE (SELECT count(*) FROM events e
		WHERE e.report_id = r.id AND e.type = 'report.created' AND e.data->>'folio' = r.folio) <> 1`); got != 0 {
		t.Fatalf("%d reports without exactly one report.created naming their folio", got)
	}
	if got := count(`SELECT count(*) FROM idempotency_keys k JOIN reports r ON r.id = k.report_id
		WHERE k.response->>'folio' = r.folio`); got != n/8 {
		t.Fatalf("%d keys answer with their report's folio, want %d", got, n/8)
	}
	if got := count(`SELECT count(DISTINCT customer_id) FROM reports WHERE customer_id IN
		(SELECT id FROM customers WHERE phone LIKE '+5255300%')`); got != 7 {
		t.Fatalf("phone customers used %d, want 7", got)
	}
}

// TestCreateBatchFailureStaysAlone: when one creation of a batch fails (here its event
// hook), the batch is rolled back and each creation runs again alone, so only that one
// fails and nothing of it is stored.
func TestCreateBatchFailureStaysAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	boom := errors.New("boom")
	events.AddHook(func(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
		var subject string
		if err := tx.NewRaw("SELECT description FROM reports WHERE id = ?", ev.ReportID).Scan(ctx, &subject); err != nil {
			return err
		}
		if subject == "boom" {
			return boom
		}
		return nil
	})
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	now := time.Now()
	const n = 40
	errs := make([]error, n)
	var calls []func()
	for i := range n {
		desc := fmt.Sprintf("report %d", i)
		if i == n/2 {
			desc = "boom"
		}
		in := dispatch.ReportInput{Channel: "phone", Kind: "inquiry", Description: desc,
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: fmt.Sprintf("55 6000 %04d", i)}}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, func() {
			_, _, errs[i] = reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
		})
	}
	dispatchtest.AllAtOnce(calls)
	for i, err := range errs {
		if (i == n/2) != (err != nil) {
			t.Fatalf("creation %d: err %v", i, err)
		}
	}
	if !errors.Is(errs[n/2], boom) {
		t.Fatalf("the failing creation got %v, want its own error", errs[n/2])
	}
	var reportsN, customersN int
	if err := db.NewRaw("SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM customers)").Scan(ctx, &reportsN, &customersN); err != nil {
		t.Fatal(err)
	}
	if reportsN != n-1 || customersN != n-1 {
		t.Fatalf("stored %d reports and %d customers, want %d of each", reportsN, customersN, n-1)
	}
	if postgres.LargestCreateBatch(reports) < 2 {
		t.Fatal("the creations never shared a transaction")
	}
}
