package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// EventsChannel is the PostgreSQL NOTIFY channel on which each committed event's id is
// announced. Listeners treat it as a hint and read the events table by id.
const EventsChannel = "despacho_events"

// EventHook runs inside the transaction that appends an event, after the insert. The
// notification outbox uses it, so that a text is queued atomically with the change that
// causes it. A hook error rolls the whole change back.
type EventHook func(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error

// BatchHook is an EventHook that takes several events of one transaction at once (report
// creation writes a batch of reports and their events together; see Reports.Create), so
// that it can do its work for all of them in a few statements. Every event it is given has
// been written in tx; an event appended alone comes as a batch of one.
type BatchHook func(ctx context.Context, tx bun.Tx, evs []*dispatch.Event) error

// Events appends to the event log.
type Events struct {
	hooks []hook

	// Announce's state: a NOTIFY is wanted / one is being sent.
	pending, sending atomic.Bool
}

// hook is one registered hook: one of the two is set.
type hook struct {
	one  EventHook
	many BatchHook
}

// NewEvents returns an event log writer that runs hooks on every append.
func NewEvents(hooks ...EventHook) *Events {
	e := &Events{}
	for _, h := range hooks {
		e.AddHook(h)
	}
	return e
}

// AddHook registers one more hook; call it during wiring, before serving.
func (e *Events) AddHook(h EventHook) { e.hooks = append(e.hooks, hook{one: h}) }

// AddBatchHook registers one more hook that takes batches; call it during wiring.
func (e *Events) AddBatchHook(h BatchHook) { e.hooks = append(e.hooks, hook{many: h}) }

type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:ev"`
	dispatch.Event
}

// Append writes ev inside tx, sets its ID (and At when zero), has it announced on
// EventsChannel at commit (after it, inside Events.RunInTx; otherwise by a NOTIFY in the
// same round trip as the insert), and runs the hooks. data,
// when not nil, is marshalled into ev.Data.
func (e *Events) Append(ctx context.Context, tx bun.Tx, ev *dispatch.Event, data any) error {
	insert, args, err := prepareEvent(ev, data)
	if err != nil {
		return err
	}
	if appended, ok := ctx.Value(appendedKey{}).(*bool); ok {
		// Inside Events.RunInTx: announced after commit.
		*appended = true
		if err := tx.NewRaw(insert+" RETURNING id", args...).Scan(ctx, &ev.ID); err != nil {
			return Wrap(err)
		}
		return e.runHooks(ctx, tx, ev)
	}
	q := "WITH e AS (" + insert + " RETURNING id) SELECT e.id FROM e, pg_notify(?, e.id::text)"
	if err := tx.NewRaw(q, append(args, EventsChannel)...).Scan(ctx, &ev.ID); err != nil {
		return Wrap(err)
	}
	return e.runHooks(ctx, tx, ev)
}

// appendedKey marks a context inside Events.RunInTx; its value, a *bool, records that an
// event was appended.
type appendedKey struct{}

// RunInTx runs fn in a transaction on db, as bun's RunInTx does, and announces the events
// fn appended once the transaction has committed (see Announce) instead of with a NOTIFY
// inside it, which would make concurrent transactions commit one at a time. Events
// appended in transactions begun elsewhere still notify from inside them. A nil Events
// runs fn in a plain transaction.
func (e *Events) RunInTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	if e == nil {
		return db.RunInTx(ctx, nil, fn)
	}
	var appended bool
	err := db.RunInTx(context.WithValue(ctx, appendedKey{}, &appended), nil, fn)
	if err == nil && appended {
		e.Announce(db)
	}
	return err
}

// RunInTxRetry is RunInTx, run again when PostgreSQL aborts the transaction to break a
// deadlock (40P01) or a serialization failure (40001), up to three runs in all: such a
// transaction did nothing, and a second run usually finds the way clear. fn may therefore
// run more than once, and must set its outputs afresh each time.
func (e *Events) RunInTxRetry(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	var err error
	for range 3 {
		if err = e.RunInTx(ctx, db, fn); !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// retryable reports a transaction that PostgreSQL aborted so that another could go on.
func retryable(err error) bool {
	code := SQLState(err)
	return code == "40P01" || code == "40001"
}

// Announce has the NOTIFY on EventsChannel sent for events that were appended without one
// (report creation) and have committed, without making the caller wait for it. It is a
// hint, like every NOTIFY of ours, so calls coalesce: one goroutine sends while calls keep
// coming and ends when they stop.
//
// Why not NOTIFY inside the transaction: PostgreSQL serialises every committing transaction
// that has notified on one lock, held until its commit record is flushed, so transactions
// that notify commit one fsync at a time (sampled under the bench: most backends waiting on
// "Lock: object"). A NOTIFY in its own transaction writes no WAL and holds that lock only
// briefly.
func (e *Events) Announce(db bun.IDB) {
	e.pending.Store(true)
	if e.sending.CompareAndSwap(false, true) {
		go e.announce(db)
	}
}

func (e *Events) announce(db bun.IDB) {
	for {
		for e.pending.Swap(false) {
			// A lost hint is caught up by the listeners' reads by cursor.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = db.ExecContext(ctx, "SELECT pg_notify(?, '')", EventsChannel)
			cancel()
		}
		e.sending.Store(false)
		// A call between the last Swap and the Store saw a sender and left it the work.
		if !e.pending.Load() || !e.sending.CompareAndSwap(false, true) {
			return
		}
	}
}

// runHooks runs the hooks on ev, just written in tx.
func (e *Events) runHooks(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
	return e.runHooksBatch(ctx, tx, []*dispatch.Event{ev})
}

// runHooksBatch runs the hooks on evs, just written in tx: each hook in turn, a batch hook
// on all of them at once, another on each event in order.
func (e *Events) runHooksBatch(ctx context.Context, tx bun.Tx, evs []*dispatch.Event) error {
	for _, h := range e.hooks {
		if h.many != nil {
			if err := h.many(ctx, tx, evs); err != nil {
				return err
			}
			continue
		}
		for _, ev := range evs {
			if err := h.one(ctx, tx, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// insertEvent is the INSERT of one event; prepareEvent gives its arguments. A statement
// that writes several events repeats eventValues after eventColumns.
const (
	eventColumns = "(type, at, actor_user_id, actor, channel, report_id, visit_id, technician_id, incident_id, data)"
	eventValues  = "(?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?::jsonb, '{}'::jsonb))"
	insertEvent  = "INSERT INTO events " + eventColumns + " VALUES " + eventValues
)

// prepareEvent completes ev (Data from data, At, Actor) and returns the INSERT that writes
// it with its arguments, for a statement that appends more (RETURNING, other CTEs).
func prepareEvent(ev *dispatch.Event, data any) (string, []any, error) {
	if ev.Type == "" {
		return "", nil, fmt.Errorf("event without a type")
	}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return "", nil, fmt.Errorf("event %s data: %w", ev.Type, err)
		}
		ev.Data = b
	}
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	ev.At = ev.At.UTC()
	if ev.Actor == "" {
		ev.Actor = "system"
	}
	var d, ch any
	if len(ev.Data) > 0 {
		d = string(ev.Data)
	}
	if ev.Channel != "" {
		ch = ev.Channel
	}
	return insertEvent, []any{ev.Type, ev.At, nullID(ev.ActorUserID), ev.Actor, ch,
		nullID(ev.ReportID), nullID(ev.VisitID), nullID(ev.TechnicianID), nullID(ev.IncidentID), d}, nil
}

// nullID is id, or NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Timeline returns the events of one report in order.
func Timeline(ctx context.Context, db bun.IDB, reportID int64) ([]dispatch.Event, error) {
	return eventsWhere(ctx, db, "report_id = ?", reportID)
}

// eventsWhere returns the events where (with args) selects, in order.
func eventsWhere(ctx context.Context, db bun.IDB, where string, args ...any) ([]dispatch.Event, error) {
	var rows []eventRow
	err := db.NewSelect().Model(&rows).Where(where, args...).Order("id").Scan(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	out := make([]dispatch.Event, len(rows))
	for i := range rows {
		out[i] = rows[i].Event
	}
	return out, nil
}
