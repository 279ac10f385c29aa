package notify_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childDSN); dsn != "" {
		os.Exit(crashChild(dsn))
	}
	dispatchtest.Main(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var mexico = func() *time.Location {
	l, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		panic(err)
	}
	return l
}()

// testConfig is a configuration pointing at fake (nil: development outbox).
func testConfig(tb testing.TB, fake *twiliotest.Server) notify.Config {
	tb.Helper()
	env := map[string]string{"PUBLIC_BASE_URL": "https://despacho.example.mx"}
	if fake != nil {
		env["TWILIO_ACCOUNT_SID"] = fake.AccountSID
		env["TWILIO_AUTH_TOKEN"] = fake.AuthToken
		env["TWILIO_FROM"] = "+525500000000"
		env["TWILIO_API_BASE"] = fake.URL
	}
	cfg, err := notify.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// env is one test's world: a fresh migrated database, a configuration in the business
// zone (America/Mexico_City) that points at a fake Twilio when there is one (else the
// development outbox), and the event log with the outbox hook.
type env struct {
	db     *bun.DB
	cfg    notify.Config
	fake   *twiliotest.Server // nil without Twilio
	events *postgres.Events
}

// newEnv returns a fresh env; withTwilio starts a fake Twilio, closed when the test ends
// (after any worker the test started); tune changes the configuration first.
func newEnv(tb testing.TB, withTwilio bool, tune ...func(*notify.Config)) *env {
	tb.Helper()
	e := &env{db: dispatchtest.DB(tb)}
	if withTwilio {
		e.fake = twiliotest.New()
		tb.Cleanup(e.fake.Close)
	}
	e.cfg = testConfig(tb, e.fake)
	e.cfg.Location = mexico
	for _, f := range tune {
		f(&e.cfg)
	}
	// As serve wires it: the recipient read through prepared statements, and report
	// creations that commit together queue their texts together.
	e.events = postgres.NewEvents()
	e.events.AddBatchHook(notify.NewOutbox(e.cfg, quiet).WithStatements(postgres.NewStatements(e.db)).HookBatch)
	return e
}

// twilio is a sender to e's fake Twilio with a one-second timeout.
func (e *env) twilio() *notify.Twilio { return notify.NewTwilio(e.cfg, time.Second) }

// work runs a worker on e's outbox, sending through sender with opt, until the test ends;
// its sms events go to e's log unless opt names another.
func (e *env) work(tb testing.TB, sender notify.Sender, opt notify.WorkerOptions) {
	tb.Helper()
	if opt.Events == nil {
		opt.Events = e.events
	}
	runWorker(tb, notify.NewWorker(e.db, sender, opt))
}

var seq atomic.Int64

// customer inserts a customer and returns its id.
func customer(tb testing.TB, db bun.IDB, phone, lang string, optOut bool) int64 {
	tb.Helper()
	var id int64
	err := db.QueryRowContext(context.Background(), `
		INSERT INTO customers (name, phone, language, sms_opt_out) VALUES (?, ?, ?, ?) RETURNING id`,
		"Cliente "+phone, phone, lang, optOut).Scan(&id)
	if err != nil {
		tb.Fatalf("insert customer: %v", err)
	}
	return id
}

// report inserts an open report of customerID and returns its id and folio.
func report(tb testing.TB, db bun.IDB, customerID int64, kind, channel string) (int64, string) {
	tb.Helper()
	folio := fmt.Sprintf("R-2611-%06d", seq.Add(1))
	var id int64
	err := db.QueryRowContext(context.Background(), `
		INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash)
		VALUES (?, ?, ?, 'technical', ?, 'sin servicio', '\x00') RETURNING id`,
		folio, kind, channel, customerID).Scan(&id)
	if err != nil {
		tb.Fatalf("insert report: %v", err)
	}
	return id, folio
}

// appendEvent appends ev with data through events (whose hooks run) and commits.
func appendEvent(tb testing.TB, db *bun.DB, events *postgres.Events, ev dispatch.Event, data any) dispatch.Event {
	tb.Helper()
	err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		return events.Append(ctx, tx, &ev, data)
	})
	if err != nil {
		tb.Fatalf("append %s: %v", ev.Type, err)
	}
	return ev
}

// outboxRow is an outbox row as tests look at it.
type outboxRow struct {
	ID        int64     `bun:"id"`
	Key       string    `bun:"dedupe_key"`
	Kind      string    `bun:"kind"`
	To        string    `bun:"to_phone"`
	Body      string    `bun:"body"`
	State     string    `bun:"state"`
	SendAfter time.Time `bun:"send_after"`
	SID       string    `bun:"sid,nullzero"`
	Status    string    `bun:"status,nullzero"`
	Attempts  int       `bun:"attempts"`
	ErrorCode int       `bun:"error_code,nullzero"`
	VisitID   int64     `bun:"visit_id,nullzero"`
	Sender    string    `bun:"sender,nullzero"`
}

func outbox(tb testing.TB, db bun.IDB) []outboxRow {
	tb.Helper()
	var rows []outboxRow
	if err := db.NewSelect().Table("sms_outbox").Column("id", "dedupe_key", "kind", "to_phone", "body", "state",
		"send_after", "sid", "status", "attempts", "error_code", "visit_id", "sender").
		OrderExpr("id").Scan(context.Background(), &rows); err != nil {
		tb.Fatal(err)
	}
	return rows
}

// sendDue marks the texts queued so far sent, as a worker would have (reminders, due the
// day before their visit, stay pending): a text still pending when its visit changes is
// superseded instead.
func sendDue(tb testing.TB, db bun.IDB) {
	tb.Helper()
	if _, err := db.ExecContext(context.Background(),
		"UPDATE sms_outbox SET state = 'sent', sent_at = now() WHERE state = 'pending' AND kind <> 'reminder' AND send_after <= now()"); err != nil {
		tb.Fatal(err)
	}
}

// phone returns a fresh valid Mexican mobile number in E.164.
func phone() string { return fmt.Sprintf("+5255%08d", seq.Add(1)%100000000) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
