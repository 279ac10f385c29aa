package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// EventLog appends events in a transaction; *postgres.Events is one.
type EventLog interface {
	Append(ctx context.Context, tx bun.Tx, ev *dispatch.Event, data any) error
}

// inTx runs fn in a transaction on db. When events can run it (postgres.Events), the
// events fn appends are announced after the commit rather than by a NOTIFY inside the
// transaction, which would make concurrent committers (status callbacks, say) queue.
func inTx(ctx context.Context, db *bun.DB, events EventLog, fn func(ctx context.Context, tx bun.Tx) error) error {
	if r, ok := events.(interface {
		RunInTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error
	}); ok {
		return r.RunInTx(ctx, db, fn)
	}
	return db.RunInTx(ctx, nil, fn)
}

// WorkerOptions tune a Worker; zero values take the defaults shown.
type WorkerOptions struct {
	Concurrency int           // goroutines sending at once (8)
	Batch       int           // rows claimed per transaction when unthrottled (10)
	Rate        float64       // message segments per second for this sender (Twilio's MPS unit); 0 = unlimited
	Poll        time.Duration // look for due rows at least this often (1s)
	Lease       time.Duration // a row left "sending" this long belonged to a dead worker (2m); must exceed twice the sender's timeout
	BackoffBase time.Duration // first retry delay (2s), doubled per attempt, with jitter
	BackoffMax  time.Duration // longest retry delay (10m)
	MaxAttempts int           // attempts before a transient failure becomes final (20)
	Now         func() time.Time
	Log         *slog.Logger
	Events      EventLog // where sms.sent / sms.failed go (postgres.NewEvents() by default)
	Metrics     *Metrics // nil: none
}

// Worker sends the outbox: it claims due rows with FOR UPDATE SKIP LOCKED, marks them
// "sending" in a committed transaction, sends, and records the outcome. See the package
// documentation for why no text is lost or sent twice.
type Worker struct {
	db     *bun.DB
	sender Sender
	opt    WorkerOptions
	limit  *limiter
	wake   chan struct{}
}

// NewWorker returns a worker that sends the outbox in db through sender.
func NewWorker(db *bun.DB, sender Sender, opt WorkerOptions) *Worker {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.Batch <= 0 {
		opt.Batch = 10
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.BackoffBase <= 0 {
		opt.BackoffBase = 2 * time.Second
	}
	if opt.BackoffMax <= 0 {
		opt.BackoffMax = 10 * time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Events == nil {
		opt.Events = postgres.NewEvents()
	}
	w := &Worker{db: db, sender: sender, opt: opt, wake: make(chan struct{}, opt.Concurrency)}
	if opt.Rate > 0 {
		w.limit = newLimiter(opt.Rate)
		w.opt.Batch = 1 // claim only what the rate lets us send before the lease runs out
	}
	return w
}

// Run sends until ctx ends, then waits for the sends in flight (each bounded by the
// sender's timeout) and returns nil. Every goroutine it starts has ended when it returns.
func (w *Worker) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	lctx, stopListen := context.WithCancel(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); w.listen(lctx) }()
	for i := 0; i < w.opt.Concurrency; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); w.loop(ctx) }()
	}
	<-ctx.Done()
	stopListen()
	wg.Wait()
	return nil
}

// listen turns committed events' announcements (postgres.EventsChannel) into wake-ups:
// texts are queued only by event hooks, so an event is the sign that one may be due.
// Notifications are hints: the poll finds anything a lost one announced.
func (w *Worker) listen(ctx context.Context) {
	ln := pgdriver.NewListener(w.db)
	defer ln.Close()
	if err := ln.Listen(ctx, postgres.EventsChannel); err != nil {
		if ctx.Err() == nil {
			w.opt.Log.Warn("notify: listen failed; polling only", "err", err)
		}
		return
	}
	ch := ln.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			w.poke()
		}
	}
}

func (w *Worker) poke() {
	for i := 0; i < w.opt.Concurrency; i++ {
		select {
		case w.wake <- struct{}{}:
		default:
			return
		}
	}
}

func (w *Worker) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for ctx.Err() == nil {
		if w.limit != nil {
			if err := w.limit.wait(ctx); err != nil {
				return
			}
		}
		n, err := w.Step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.opt.Log.Warn("notify: outbox step failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		t.Reset(w.opt.Poll)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-t.C:
		}
	}
}

// claimed is an outbox row taken for one attempt.
type claimed struct {
	ID             int64     `bun:"id"`
	Kind           string    `bun:"kind"`
	EventID        int64     `bun:"event_id,nullzero"`
	ReportID       int64     `bun:"report_id,nullzero"`
	VisitID        int64     `bun:"visit_id,nullzero"`
	ToPhone        string    `bun:"to_phone"`
	Body           string    `bun:"body"`
	Attempts       int       `bun:"attempts"`
	Ambiguous      bool      `bun:"ambiguous"`
	AmbiguousSince time.Time `bun:"ambiguous_since,nullzero"`
	OptedOut       bool      `bun:"opted_out"`
	Expired        bool      `bun:"expired"`
}

// Step claims one batch of due rows and sends them; it returns how many it claimed.
// Rows are due when pending and past send_after, or left "sending" beyond the lease by a
// worker that died (those are reconciled before any re-send).
func (w *Worker) Step(ctx context.Context) (int, error) {
	now := w.opt.Now().UTC()
	var rows []claimed
	err := w.db.NewRaw(`
		WITH due AS (
			SELECT id FROM sms_outbox
			WHERE (state = 'pending' AND send_after <= ?0)
			   OR (state = 'sending' AND attempt_at <= ?1)
			ORDER BY send_after, id
			LIMIT ?2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE sms_outbox o SET
			ambiguous       = o.ambiguous OR o.state = 'sending',
			ambiguous_since = CASE WHEN o.state = 'sending' THEN coalesce(o.ambiguous_since, o.attempt_at)
			                       ELSE o.ambiguous_since END,
			state = 'sending', attempt_at = ?0, attempts = o.attempts + 1, updated_at = ?0
		FROM due WHERE o.id = due.id
		RETURNING o.id, o.kind, o.event_id, o.report_id, o.visit_id, o.to_phone, o.body, o.attempts,
		          o.ambiguous, o.ambiguous_since,
		          EXISTS (SELECT 1 FROM sms_consent c WHERE c.phone = o.to_phone AND c.opted_out)
		          OR EXISTS (SELECT 1 FROM customers cu WHERE cu.id = o.customer_id AND cu.sms_opt_out) AS opted_out,
		          coalesce(o.expires_at <= ?0, false) AS expired`,
		now, now.Add(-w.opt.Lease), w.opt.Batch).Scan(ctx, &rows)
	if err != nil {
		return 0, postgres.Wrap(err)
	}
	claimedAt := time.Now()
	var done []sentItem
	taken := map[string]bool{} // SIDs matched by reconciliation in this batch, not yet recorded
	for _, r := range rows {
		if time.Since(claimedAt) > w.opt.Lease/2 {
			// A slow provider: give the rest back rather than let the lease run out under
			// us (another worker would then reconcile rows we are still sending).
			if err := w.release(context.WithoutCancel(ctx), r); err != nil {
				w.opt.Log.Warn("notify: releasing a claimed row failed", "outbox_id", r.ID, "err", err)
			}
			continue
		}
		item, err := w.process(ctx, r, taken)
		if err != nil {
			// The row stays "sending" and is picked up again after the lease.
			w.opt.Log.Warn("notify: recording an attempt failed", "outbox_id", r.ID, "err", err)
		}
		if item != nil {
			done = append(done, *item)
			taken[item.res.SID] = true
		}
	}
	if len(done) > 0 {
		// One transaction records the whole batch's answers: far fewer round trips than
		// one per text. Until it commits the rows stay "sending"; after a crash they are
		// reconciled, not re-sent.
		if err := w.recordSent(context.WithoutCancel(ctx), done); err != nil {
			return len(rows), fmt.Errorf("record %d sent texts: %w", len(done), err)
		}
	}
	return len(rows), nil
}

// sameBody compares a body Twilio stored with ours, allowing for Twilio's smart encoding
// (which spells some characters in GSM-7) and trimmed spaces.
func sameBody(theirs, ours string) bool {
	return strings.TrimSpace(plain.Replace(theirs)) == strings.TrimSpace(plain.Replace(ours))
}

// sentItem is a claimed row and the provider's answer, waiting to be recorded.
type sentItem struct {
	row claimed
	res Result
}

// process attempts one claimed row. A successful send (or a reconciled earlier one) is
// returned for recordSent; every other outcome is recorded here.
func (w *Worker) process(ctx context.Context, r claimed, taken map[string]bool) (*sentItem, error) {
	// Finish what we claimed even when shutting down: a recorded answer spares a
	// reconciliation later.
	rctx := context.WithoutCancel(ctx)
	if r.OptedOut {
		return nil, w.finish(rctx, r, "skipped", &SendError{Permanent: true, Err: errors.New("customer opted out of SMS")})
	}
	if r.Ambiguous {
		if rec, ok := w.sender.(Reconciler); ok {
			found, err := w.reconcile(rctx, rec, r, taken)
			if err != nil {
				return nil, w.retry(rctx, r, &SendError{Ambiguous: true, Err: fmt.Errorf("reconcile: %w", err)})
			}
			if found != nil {
				w.opt.Log.Info("notify: reconciled an earlier attempt; not sending again", "outbox_id", r.ID, "sid", found.SID)
				w.opt.Metrics.countReconciled()
				return &sentItem{r, Result{SID: found.SID, Status: found.Status, Sender: "twilio"}}, nil
			}
		}
	}
	// Past its expiry: a reminder whose day has begun, or a text a later change made untrue
	// while an earlier attempt of it was being sent (see supersede). Reconciled first: one
	// Twilio already holds was sent.
	if r.Expired {
		return nil, w.finish(rctx, r, "cancelled", &SendError{Permanent: true, Err: errors.New("expired or superseded before it could be sent")})
	}
	if ctx.Err() != nil {
		return nil, w.release(rctx, r)
	}
	began := time.Now()
	res, err := w.sender.Send(ctx, Message{ID: r.ID, To: r.ToPhone, Body: r.Body})
	w.opt.Metrics.observeSend(time.Since(began))
	w.chargeSegments(r.Body)
	if err != nil {
		var se *SendError
		if !errors.As(err, &se) {
			se = &SendError{Ambiguous: true, Err: err}
		}
		if se.Permanent {
			return nil, w.finish(rctx, r, "failed", se)
		}
		return nil, w.retry(rctx, r, se)
	}
	return &sentItem{r, res}, nil
}

// reconcile looks for a message the provider accepted from an earlier attempt of r whose
// answer we never recorded: same number, same body, since the first ambiguous attempt, and
// a SID no other row holds (nor is about to, in this batch: taken).
func (w *Worker) reconcile(ctx context.Context, rec Reconciler, r claimed, taken map[string]bool) (*Sent, error) {
	since := r.AmbiguousSince
	if since.IsZero() {
		since = w.opt.Now()
	}
	list, err := rec.Sent(ctx, r.ToPhone, since.Add(-time.Minute))
	if err != nil {
		return nil, err
	}
	var cands []Sent
	var sids []string
	for _, m := range list {
		if sameBody(m.Body, r.Body) && m.SID != "" {
			cands = append(cands, m)
			sids = append(sids, m.SID)
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	var known []string
	if err := w.db.NewSelect().Table("sms_outbox").Column("sid").Where("sid IN (?)", bun.List(sids)).Scan(ctx, &known); err != nil {
		return nil, postgres.Wrap(err)
	}
	held := map[string]bool{}
	for _, s := range known {
		held[s] = true
	}
	for i := range cands {
		if !held[cands[i].SID] && !taken[cands[i].SID] {
			return &cands[i], nil
		}
	}
	return nil, nil
}

// recordSent records the provider's answers and writes sms.sent for each, applying any
// delivery callback that arrived before the answer was recorded. The update is fenced on
// (state, attempts): a row another worker took over after our lease ran out is left alone.
func (w *Worker) recordSent(ctx context.Context, items []sentItem) error {
	now := w.opt.Now().UTC()
	ids := make([]int64, len(items))
	attempts := make([]int64, len(items))
	sids := make([]string, len(items))
	statuses := make([]string, len(items))
	ranks := make([]int64, len(items))
	senders := make([]string, len(items))
	byID := make(map[int64]sentItem, len(items))
	for i, it := range items {
		ids[i], attempts[i], sids[i] = it.row.ID, int64(it.row.Attempts), it.res.SID
		statuses[i], ranks[i], senders[i] = it.res.Status, int64(statusRank(it.res.Status)), it.res.Sender
		byID[it.row.ID] = it
	}
	var recorded []sentItem
	err := inTx(ctx, w.db, w.opt.Events, func(ctx context.Context, tx bun.Tx) error {
		recorded = recorded[:0]
		// Serialise with the status webhook per SID (see lockSID), in a fixed order.
		if _, err := tx.ExecContext(ctx, `
			SELECT pg_advisory_xact_lock(?, hashtext(s)) FROM (SELECT DISTINCT unnest(?::text[]) AS s ORDER BY 1) x`,
			sidLockSpace, pgdialect.Array(sids)); err != nil {
			return postgres.Wrap(err)
		}
		var done []struct {
			ID           int64 `bun:"id"`
			HasCallbacks bool  `bun:"has_callbacks"`
		}
		// The rows are locked in id order, as an event's hook locks the texts it supersedes
		// (see supersede): both take several rows that may be "sending".
		err := tx.NewRaw(`
			WITH l AS (SELECT id FROM sms_outbox WHERE id = ANY(?::bigint[]) ORDER BY id FOR UPDATE)
			UPDATE sms_outbox o SET state = 'sent', sid = v.sid, status = NULLIF(v.status, ''),
			       status_rank = v.rank, sender = v.sender, sent_at = ?, ambiguous = false,
			       last_error = NULL, updated_at = ?
			FROM l, unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[])
			     AS v(id, attempts, sid, status, rank, sender)
			WHERE o.id = l.id AND o.id = v.id AND o.state = 'sending' AND o.attempts = v.attempts
			RETURNING o.id, EXISTS (SELECT 1 FROM sms_callbacks c WHERE c.sid = v.sid) AS has_callbacks`,
			pgdialect.Array(ids), now, now, pgdialect.Array(ids), pgdialect.Array(attempts), pgdialect.Array(sids),
			pgdialect.Array(statuses), pgdialect.Array(ranks), pgdialect.Array(senders)).Scan(ctx, &done)
		if err != nil {
			return postgres.Wrap(err)
		}
		if len(done) < len(items) {
			w.opt.Log.Warn("notify: outbox rows taken over by another worker (lease too short?)",
				"lease", w.opt.Lease, "recorded", len(done), "answers", len(items))
		}
		for _, d := range done {
			it := byID[d.ID]
			recorded = append(recorded, it)
			if err := w.opt.Events.Append(ctx, tx, &dispatch.Event{
				Type: "sms.sent", At: now, Channel: "sms", ReportID: it.row.ReportID, VisitID: it.row.VisitID,
			}, map[string]any{"outbox_id": it.row.ID, "kind": it.row.Kind, "sid": it.res.SID}); err != nil {
				return err
			}
			if !d.HasCallbacks {
				continue
			}
			var cbs []callback
			if err := tx.NewSelect().Table("sms_callbacks").Column("status", "error_code").
				Where("sid = ?", it.res.SID).Scan(ctx, &cbs); err != nil {
				return postgres.Wrap(err)
			}
			for _, cb := range cbs {
				if _, err := applyStatus(ctx, tx, w.opt.Events, it.res.SID, cb.Status, cb.ErrorCode, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		for _, it := range recorded {
			w.opt.Metrics.countSent(it.res.Sender, 1)
		}
	}
	return err
}

// release puts back a row claimed but not attempted (the worker is stopping).
func (w *Worker) release(ctx context.Context, r claimed) error {
	_, err := w.db.ExecContext(ctx, `
		UPDATE sms_outbox SET state = 'pending', attempts = attempts - 1
		WHERE id = ? AND state = 'sending' AND attempts = ?`, r.ID, r.Attempts)
	return postgres.Wrap(err)
}

// retry puts r back as pending after a backoff, or ends it as failed after MaxAttempts.
func (w *Worker) retry(ctx context.Context, r claimed, se *SendError) error {
	if r.Attempts >= w.opt.MaxAttempts {
		return w.finish(ctx, r, "failed", se)
	}
	now := w.opt.Now().UTC()
	next := now.Add(w.backoff(r.Attempts))
	w.opt.Metrics.countRetry()
	w.opt.Log.Info("notify: send failed; will retry", "outbox_id", r.ID, "attempt", r.Attempts, "at", next, "err", se)
	_, err := w.db.ExecContext(ctx, `
		UPDATE sms_outbox SET state = 'pending', send_after = ?, last_error = ?, error_code = NULLIF(?, 0),
		       ambiguous = ambiguous OR ?, ambiguous_since = CASE WHEN ? THEN coalesce(ambiguous_since, attempt_at) ELSE ambiguous_since END,
		       updated_at = ?
		WHERE id = ? AND state = 'sending' AND attempts = ?`,
		next, truncate(se.Error(), 500), se.Code, se.Ambiguous, se.Ambiguous, now, r.ID, r.Attempts)
	return postgres.Wrap(err)
}

// finish ends r as failed or skipped and writes sms.failed on its report's timeline. A
// 21610 answer (the number unsubscribed at the carrier) is recorded as an opt-out.
func (w *Worker) finish(ctx context.Context, r claimed, state string, se *SendError) error {
	now := w.opt.Now().UTC()
	return inTx(ctx, w.db, w.opt.Events, func(ctx context.Context, tx bun.Tx) error {
		out, err := tx.ExecContext(ctx, `
			UPDATE sms_outbox SET state = ?, last_error = ?, error_code = NULLIF(?, 0), updated_at = ?
			WHERE id = ? AND state = 'sending' AND attempts = ?`,
			state, truncate(se.Error(), 500), se.Code, now, r.ID, r.Attempts)
		if err != nil {
			return postgres.Wrap(err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			return nil
		}
		w.opt.Metrics.countEnded(state, se.Code)
		if se.Code == 21610 {
			was, err := OptedOut(ctx, tx, r.ToPhone)
			if err != nil {
				return err
			}
			if err := setConsent(ctx, tx, r.ToPhone, true, now, "twilio", "error 21610"); err != nil {
				return err
			}
			if !was {
				if err := consentEvents(ctx, tx, w.opt.Events, r.ToPhone, true, now, "twilio", "error 21610"); err != nil {
					return err
				}
			}
		}
		typ := "sms.failed"
		switch state {
		case "skipped":
			typ = "sms.skipped"
		case "cancelled":
			return nil // expired or superseded: nothing for the timeline
		}
		data := map[string]any{"outbox_id": r.ID, "kind": r.Kind, "error": truncate(errors.Unwrap(se).Error(), 200)}
		if se.Code != 0 {
			data["error_code"] = se.Code
		}
		return w.opt.Events.Append(ctx, tx, &dispatch.Event{
			Type: typ, At: now, Channel: "sms", ReportID: r.ReportID, VisitID: r.VisitID,
		}, data)
	})
}

// backoff is the delay before attempt n+1: exponential from BackoffBase, capped at
// BackoffMax, with jitter over its upper half so that a recovering provider is not hit by
// the whole backlog at once.
func (w *Worker) backoff(n int) time.Duration {
	d := w.opt.BackoffBase
	for i := 1; i < n && d < w.opt.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.opt.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// DefaultRate is the send rate, in message segments per second, used when SMS_RATE is
// unset: what the configured sender carries. Sending faster than that only moves the queue
// from the outbox (durable, visible, expired reminders cancelled) into Twilio's per-sender
// queue, which fails whatever would wait there more than 4 hours (errors 21611 and 30001).
// One number (TWILIO_FROM, a long code) sends 1 segment a second. A messaging service
// sends as fast as its pool (a short code about 100 a second, each long code 1), which
// this process cannot know: 10, a small pool's rate; set SMS_RATE to the provisioned
// throughput. The development outbox (no credentials) is not limited (0).
func DefaultRate(c Config) float64 {
	switch {
	case c.Dev():
		return 0
	case c.MessagingServiceSID != "":
		return 10
	default:
		return 1
	}
}

// chargeSegments takes the limiter slots of a text's second and later segments: Twilio
// counts its rates in segments, and a two-segment text costs two. The wait before the claim
// took the first.
func (w *Worker) chargeSegments(body string) {
	if w.limit == nil {
		return
	}
	if _, n := Segments(body); n > 1 {
		w.limit.take(n - 1)
	}
}

// limiter spaces sends evenly at a rate: each wait takes the next free slot.
type limiter struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func newLimiter(perSecond float64) *limiter {
	return &limiter{every: time.Duration(float64(time.Second) / perSecond)}
}

// take reserves n slots without waiting: the next wait comes that much later.
func (l *limiter) take(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); l.next.Before(now) {
		l.next = now
	}
	l.next = l.next.Add(time.Duration(n) * l.every)
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.every)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
