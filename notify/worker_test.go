package notify_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"
	"go.uber.org/goleak"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// fastOptions make retries and polls quick for tests.
func fastOptions() notify.WorkerOptions {
	return notify.WorkerOptions{
		Concurrency: 4, Batch: 5, Poll: 50 * time.Millisecond, Lease: 3 * time.Second,
		BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond, MaxAttempts: 50, Log: quiet,
	}
}

// runWorker runs w until the test ends.
func runWorker(tb testing.TB, w *notify.Worker) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Run = %v; want nil", err)
		}
	})
}

func enqueue(tb testing.TB, db bun.IDB, to, body string) int64 {
	tb.Helper()
	id, ok, err := notify.Enqueue(context.Background(), db, notify.Notification{
		Key: "test:" + randomHex(8), Kind: notify.KindFolio, To: to, Language: "es", Body: body})
	if err != nil || !ok {
		tb.Fatalf("Enqueue = %d, %v, %v", id, ok, err)
	}
	return id
}

func waitFinal(tb testing.TB, db bun.IDB, n int) []outboxRow {
	tb.Helper()
	var rows []outboxRow
	eventually(tb, 30*time.Second, fmt.Sprintf("%d rows sent or failed", n), func() bool {
		rows = outbox(tb, db)
		done := 0
		for _, r := range rows {
			if r.State != "pending" && r.State != "sending" {
				done++
			}
		}
		return done >= n
	})
	return rows
}

func TestWorkerSendsAndClassifiesFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake, events := e.db, e.fake, e.events

	ok := phone()
	rid, folio := report(t, db, customer(t, db, ok, "es", false), "fault", "phone")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", ReportID: rid}, map[string]any{"folio": folio, "kind": "fault"})
	unsub := phone()
	fake.Unsubscribe(unsub)
	rid2, folio2 := report(t, db, customer(t, db, unsub, "es", false), "fault", "phone")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", ReportID: rid2}, map[string]any{"folio": folio2})
	enqueue(t, db, "+52 55 not a number", "hola")
	landline := phone()
	fake.NotMobile(landline)
	enqueue(t, db, landline, "hola fijo")

	opt := fastOptions()
	opt.Events = events
	reg := prometheus.NewRegistry()
	opt.Metrics = notify.NewMetrics(reg)
	e.work(t, e.twilio(), opt)
	rows := waitFinal(t, db, 4)
	// A text is counted once its row's transaction has committed, so just
	// after the row reads "sent"; a count past 1 and 3 would time out here.
	counts := map[string]float64{}
	eventually(t, 10*time.Second, "the metrics to count 1 sent and 3 failed", func() bool {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		clear(counts)
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if c := m.GetCounter(); c != nil {
					counts[f.GetName()] += c.GetValue()
				}
			}
		}
		return counts["despacho_sms_sent_total"] == 1 && counts["despacho_sms_failed_total"] == 3
	})

	got := map[string]outboxRow{}
	for _, r := range rows {
		got[r.To] = r
	}
	if r := got[ok]; r.State != "sent" || r.SID == "" || r.Status != "queued" || r.Sender != "twilio" {
		t.Errorf("row to %s = %+v; want sent with a SID", ok, r)
	}
	for to, code := range map[string]int{unsub: 21610, "+52 55 not a number": 21211, landline: 21614} {
		if r := got[to]; r.State != "failed" || r.ErrorCode != code || r.Attempts != 1 {
			t.Errorf("row to %s = %+v; want failed at once with %d", to, r, code)
		}
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != ok || msgs[0].From != "+525500000000" ||
		msgs[0].StatusCallback != "https://despacho.example.mx/twilio/status" || !strings.Contains(msgs[0].Body, folio) {
		t.Fatalf("Twilio received %+v; want the one folio text with From and StatusCallback", msgs)
	}
	// sms.failed (with its error code) is on the report's timeline; 21610 is an opt-out.
	tl, err := postgres.Timeline(context.Background(), db, rid2)
	if err != nil {
		t.Fatal(err)
	}
	var failed struct {
		ErrorCode int `json:"error_code"`
	}
	if last := tl[len(tl)-1]; last.Type != "sms.failed" || json.Unmarshal(last.Data, &failed) != nil || failed.ErrorCode != 21610 {
		t.Errorf("last event of report %d = %s %s; want sms.failed with error_code 21610", rid2, last.Type, last.Data)
	}
	if out, err := notify.OptedOut(context.Background(), db, unsub); err != nil || !out {
		t.Errorf("OptedOut(%s) = %v, %v; want true after 21610", unsub, out, err)
	}
	tl, _ = postgres.Timeline(context.Background(), db, rid)
	if last := tl[len(tl)-1]; last.Type != "sms.sent" {
		t.Errorf("last event of report %d = %s; want sms.sent", rid, last.Type)
	}
}

func TestWorkerRetriesAndReconciles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	// 429 (certainly not sent), then 500 and 503 (maybe sent: reconcile first).
	fake.FailNext(http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable)
	to := phone()
	enqueue(t, db, to, "reintento")
	opt := fastOptions()
	opt.Concurrency = 1
	e.work(t, e.twilio(), opt)
	rows := waitFinal(t, db, 1)
	if rows[0].State != "sent" || rows[0].Attempts != 4 {
		t.Errorf("row = %+v; want sent on the 4th attempt", rows[0])
	}
	creates, lists := fake.Counts()
	if len(fake.Messages()) != 1 || creates != 4 || lists != 2 {
		t.Errorf("Twilio saw %d messages, %d creates, %d lists; want 1, 4, 2 (a list before each retry after a 5xx)",
			len(fake.Messages()), creates, lists)
	}
}

// TestWorkerReconcilesAfterCrash stages a worker that died between Twilio's answer and its
// own commit: the message is at Twilio, the row is still "sending" from long ago.
func TestWorkerReconcilesAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	tw := e.twilio()
	to := phone()
	// An older text with the same body whose SID another row holds must not be matched.
	old := enqueue(t, db, to, "mismo texto")
	res, err := tw.Send(ctx, notify.Message{To: to, Body: "mismo texto"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE sms_outbox SET state = 'sent', sid = ? WHERE id = ?", res.SID, old); err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, db, to, "mismo texto")
	lost, err := tw.Send(ctx, notify.Message{To: to, Body: "mismo texto"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE sms_outbox SET state = 'sending', attempts = 1,
		attempt_at = now() - interval '1 minute' WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	e.work(t, tw, fastOptions())
	rows := waitFinal(t, db, 2)
	if rows[1].State != "sent" || rows[1].SID != lost.SID {
		t.Errorf("row = %+v; want sent with the SID Twilio gave the lost attempt (%s)", rows[1], lost.SID)
	}
	if n := len(fake.Messages()); n != 2 {
		t.Errorf("Twilio holds %d messages; want 2 (nothing re-sent)", n)
	}
}

func TestWorkerChecksOptOutAtSendTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	to := phone()
	enqueue(t, db, to, "no enviar")
	if err := notify.SetOptOut(context.Background(), db, to, true, "customer called"); err != nil {
		t.Fatal(err)
	}
	e.work(t, e.twilio(), fastOptions())
	rows := waitFinal(t, db, 1)
	if rows[0].State != "skipped" || len(fake.Messages()) != 0 {
		t.Errorf("row = %+v, Twilio got %d; want skipped and nothing sent", rows[0], len(fake.Messages()))
	}
}

// TestOutageThenRecovery: Twilio answers 5xx to the first 60 requests; the backlog drains
// afterwards with every text sent exactly once.
func TestOutageThenRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	var fails []int
	for i := 0; i < 60; i++ {
		fails = append(fails, []int{500, 503, 429}[i%3])
	}
	fake.FailNext(fails...)
	const n = 40
	for i := 0; i < n; i++ {
		enqueue(t, db, phone(), fmt.Sprintf("texto %d", i))
	}
	e.work(t, e.twilio(), fastOptions())
	rows := waitFinal(t, db, n)
	seen := map[string]int{}
	for _, m := range fake.Messages() {
		seen[m.Body]++
	}
	for _, r := range rows {
		if r.State != "sent" || seen[r.Body] != 1 {
			t.Errorf("row %d = %s, Twilio got %q %d times; want sent once", r.ID, r.State, r.Body, seen[r.Body])
		}
	}
	if len(fake.Messages()) != n {
		t.Errorf("Twilio holds %d messages; want %d", len(fake.Messages()), n)
	}
}

func TestWorkerRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	var mu sync.Mutex
	var at []time.Time
	fake.OnCreate(func(twiliotest.Message) { mu.Lock(); at = append(at, time.Now()); mu.Unlock() })
	for i := 0; i < 6; i++ {
		enqueue(t, db, phone(), fmt.Sprintf("lento %d", i))
	}
	opt := fastOptions()
	opt.Rate = 20 // one every 50 ms
	start := time.Now()
	e.work(t, e.twilio(), opt)
	waitFinal(t, db, 6)
	mu.Lock()
	defer mu.Unlock()
	// The sixth send cannot start before five intervals of 50 ms have passed (a lower
	// bound only: it holds however slow the machine is).
	if span := at[len(at)-1].Sub(start); span < 250*time.Millisecond {
		t.Errorf("6 sends at 20/s took %s; want at least 250ms", span)
	}
}

func TestDevSenderAndPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db := e.db
	enqueue(t, db, phone(), "Texto de <prueba> & más")
	e.work(t, notify.Dev{Log: quiet}, fastOptions())
	rows := waitFinal(t, db, 1)
	if rows[0].State != "sent" || rows[0].Sender != "dev" || rows[0].Status != "delivered" {
		t.Fatalf("row = %+v; want sent to dev", rows[0])
	}
	rec := httptest.NewRecorder()
	notify.DevPage(db, e.cfg).ServeHTTP(rec, httptest.NewRequest("GET", "/dev/sms", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Texto de &lt;prueba&gt; &amp; más") {
		t.Errorf("GET /dev/sms = %d %s; want the escaped text listed", rec.Code, rec.Body)
	}
	// Its inline style is admitted by its hash, and nothing else inline is.
	body, csp := rec.Body.String(), rec.Header().Get("Content-Security-Policy")
	i, j := strings.Index(body, "<style>"), strings.Index(body, "</style>")
	if i < 0 || j < i {
		t.Fatalf("no style in %s", body)
	}
	sum := sha256.Sum256([]byte(body[i+len("<style>") : j]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q; want %s and no unsafe-inline", csp, want)
	}
}

// TestWorkerStops checks that Run returns when its context ends and leaves no goroutine
// behind. Not parallel: goleak looks at the whole process.
func TestWorkerStops(t *testing.T) {
	e := newEnv(t, true)
	db := e.db
	enqueue(t, db, phone(), "uno")
	tw := e.twilio()
	opts := []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),    // idle keep-alive connections to the fake
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), // of http.DefaultTransport
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- notify.NewWorker(db, tw, fastOptions()).Run(ctx) }()
	waitFinal(t, db, 1)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	goleak.VerifyNone(t, opts...)
}

// TestTwoWorkersNoDouble runs two workers (as two instances would) on one outbox: SKIP
// LOCKED gives each row to one of them.
func TestTwoWorkersNoDouble(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	const n = 200
	for i := 0; i < n; i++ {
		enqueue(t, db, phone(), fmt.Sprintf("doble %d", i))
	}
	e.work(t, e.twilio(), fastOptions())
	e.work(t, e.twilio(), fastOptions())
	waitFinal(t, db, n)
	seen := map[string]int{}
	for _, m := range fake.Messages() {
		seen[m.Body]++
	}
	if len(fake.Messages()) != n || len(seen) != n {
		t.Errorf("Twilio received %d messages, %d distinct; want %d each once", len(fake.Messages()), len(seen), n)
	}
}

// TestReconcileTwins: two identical texts to one number were both in flight when their
// worker died, and only one reached Twilio. One row takes that message; the other is sent.
func TestReconcileTwins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, true)
	db, fake := e.db, e.fake
	tw := e.twilio()
	to := phone()
	a, b := enqueue(t, db, to, "gemelo"), enqueue(t, db, to, "gemelo")
	if _, err := tw.Send(ctx, notify.Message{To: to, Body: "gemelo"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE sms_outbox SET state = 'sending', attempts = 1,
		attempt_at = now() - interval '1 minute' WHERE id IN (?, ?)`, a, b); err != nil {
		t.Fatal(err)
	}
	opt := fastOptions()
	opt.Concurrency = 1
	e.work(t, tw, opt)
	rows := waitFinal(t, db, 2)
	if rows[0].State != "sent" || rows[1].State != "sent" || rows[0].SID == rows[1].SID {
		t.Errorf("rows = %+v; want both sent with distinct SIDs", rows)
	}
	if n := len(fake.Messages()); n != 2 {
		t.Errorf("Twilio holds %d messages; want 2 (one reconciled, one sent)", n)
	}
}
