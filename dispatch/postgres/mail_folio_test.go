package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// mailReport files an e-mail report from email with the options the intake passes.
func mailReport(tb testing.TB, reports *postgres.Reports, email string, opts postgres.CreateOptions) *postgres.Created {
	tb.Helper()
	in := dispatch.ReportInput{Channel: "email", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Email: email}}
	nr, err := in.Validate(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	c, _, err := reports.Create(context.Background(), nr, postgres.Origin{Actor: "customer"}, opts)
	if err != nil {
		tb.Fatalf("create for %s: %v", email, err)
	}
	return c
}

// createdNote is what report.created of reportID notes of the customer's words.
type createdNote struct {
	Cited     []string          `json:"cited_folios"`
	TextPhone map[string]string `json:"text_phone"`
}

func noteOf(tb testing.TB, db *bun.DB, reportID int64) createdNote {
	tb.Helper()
	var raw string
	if err := db.NewRaw(`SELECT data FROM events WHERE report_id = ? AND type = 'report.created'`, reportID).Scan(context.Background(), &raw); err != nil {
		tb.Fatal(err)
	}
	var n createdNote
	if err := json.Unmarshal([]byte(raw), &n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func phoneOf(tb testing.TB, db *bun.DB, customerID int64) string {
	tb.Helper()
	var phone string
	if err := db.NewRaw(`SELECT coalesce(phone, '') FROM customers WHERE id = ?`, customerID).Scan(context.Background(), &phone); err != nil {
		tb.Fatal(err)
	}
	return phone
}

// TestCreateTextPhone: a phone number read from a customer's words fills in the phone of
// the customer found or made by e-mail when he has none, before report.created (whose data
// says what became of it); it never replaces a phone on file, never takes another
// customer's number and never finds a customer. Cited folios are noted as given.
func TestCreateTextPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	if _, err := db.ExecContext(ctx, `INSERT INTO customers (name, phone, email, language) VALUES ('Víctor', '+525587654321', 'victor@example.mx', 'es')`); err != nil {
		t.Fatal(err)
	}

	ana := mailReport(t, reports, "ana@example.mx", postgres.CreateOptions{TextPhone: "+525512345678", Cited: []string{"R-2026-000042"}})
	if ana.Customer.Phone != "+525512345678" || phoneOf(t, db, ana.Customer.ID) != "+525512345678" {
		t.Fatalf("new customer's phone = %q, want +525512345678", ana.Customer.Phone)
	}
	if n := noteOf(t, db, ana.Report.ID); n.TextPhone["outcome"] != postgres.TextPhoneStored || n.TextPhone["phone"] != "+525512345678" ||
		len(n.Cited) != 1 || n.Cited[0] != "R-2026-000042" {
		t.Fatalf("report.created notes %+v", n)
	}
	for _, tt := range []struct {
		email, phone, outcome, kept string
	}{
		{"ana@example.mx", "+525512345678", postgres.TextPhoneOnFile, "+525512345678"},
		{"ana@example.mx", "+523312345678", postgres.TextPhoneKept, "+525512345678"},
		// Víctor's number from a stranger: filed for the stranger, without it.
		{"otro@example.mx", "+525587654321", postgres.TextPhoneTaken, ""},
	} {
		c := mailReport(t, reports, tt.email, postgres.CreateOptions{TextPhone: tt.phone})
		if c.Customer.Email != tt.email {
			t.Fatalf("%s's mail filed for %s", tt.email, c.Customer.Email)
		}
		if got := phoneOf(t, db, c.Customer.ID); got != tt.kept {
			t.Errorf("%s with %s: phone %q, want %q", tt.email, tt.phone, got, tt.kept)
		}
		if n := noteOf(t, db, c.Report.ID); n.TextPhone["outcome"] != tt.outcome || n.Cited != nil {
			t.Errorf("%s with %s: report.created notes %+v, want outcome %s", tt.email, tt.phone, n, tt.outcome)
		}
	}
	var victor int
	if err := db.NewRaw(`SELECT count(*) FROM customers WHERE email = 'victor@example.mx' AND phone = '+525587654321'`).Scan(ctx, &victor); err != nil || victor != 1 {
		t.Fatalf("Víctor kept his number: %d, %v", victor, err)
	}
}

// TestCreateTextPhoneRace: a creation whose text phone another transaction is inserting at
// the same moment (its customer, uncommitted, holds the number) waits for it and files its
// report without the number. The unique index failed the whole creation.
func TestCreateTextPhoneRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT INTO customers (name, phone, language) VALUES ('Víctor', '+525587654321', 'es')`); err != nil {
		t.Fatal(err)
	}
	done := make(chan *postgres.Created)
	go func() {
		defer close(done)
		in := dispatch.ReportInput{Channel: "email", Kind: "fault", Description: "Sin internet",
			Customer: dispatch.CustomerInput{Name: "Otro", Email: "otro@example.mx"}}
		nr, err := in.Validate(time.Now())
		if err != nil {
			t.Error(err)
			return
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{TextPhone: "+525587654321"})
		if err != nil {
			t.Errorf("create racing the number's insert: %v", err)
			return
		}
		done <- c
	}()
	// Wait until the creation waits on the uncommitted number, then commit it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := db.NewRaw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).
			Scan(ctx, &waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the creation never waited for the number")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c := <-done
	if c == nil {
		t.FailNow()
	}
	if got := phoneOf(t, db, c.Customer.ID); got != "" {
		t.Fatalf("phone = %q, want none", got)
	}
	if n := noteOf(t, db, c.Report.ID); n.TextPhone["outcome"] != postgres.TextPhoneTaken {
		t.Fatalf("report.created notes %+v, want taken", n)
	}
}

// TestAddTextPhone: a number from a message added to a report is stored on the report's
// customer, with report.customer_phone_added, only when the message came from his e-mail
// on file and he has no phone; a stranger's number, a second number, or a report whose
// customer has no e-mail change nothing.
func TestAddTextPhone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	laura := mailReport(t, reports, "laura@example.mx", postgres.CreateOptions{})
	by := postgres.Origin{Actor: "customer"}
	for _, tt := range []struct{ from, phone, outcome, want string }{
		{"vecino@example.mx", "+525511112222", postgres.TextPhoneUnknown, ""},
		{"", "+525511112222", postgres.TextPhoneUnknown, ""},
		{"LAURA@example.mx", "+523312345678", postgres.TextPhoneStored, "+523312345678"},
		{"laura@example.mx", "+523312345678", postgres.TextPhoneOnFile, "+523312345678"},
		{"laura@example.mx", "+528188881234", postgres.TextPhoneKept, "+523312345678"},
	} {
		got, err := reports.AddTextPhone(ctx, laura.Report.ID, tt.from, tt.phone, time.Now(), by)
		if err != nil || got != tt.outcome {
			t.Fatalf("from %q %s = %q, %v; want %s", tt.from, tt.phone, got, err, tt.outcome)
		}
		if p := phoneOf(t, db, laura.Customer.ID); p != tt.want {
			t.Fatalf("from %q %s: phone %q, want %q", tt.from, tt.phone, p, tt.want)
		}
	}
	var events []struct {
		Phone string `bun:"phone"`
		Actor string `bun:"actor"`
	}
	if err := db.NewRaw(`SELECT data->>'phone' AS phone, actor FROM events WHERE report_id = ? AND type = ?`,
		laura.Report.ID, postgres.EventCustomerPhoneAdded).Scan(ctx, &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Phone != "+523312345678" || events[0].Actor != "customer" {
		t.Fatalf("phone events = %+v, want one for +523312345678 by the customer", events)
	}
	if _, err := reports.AddTextPhone(ctx, 999999, "laura@example.mx", "+525511112222", time.Now(), by); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("unknown report: %v, want not found", err)
	}
}
