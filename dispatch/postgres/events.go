package postgres

import (
	"context"
	"encoding/json"
	"fmt"
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

// Events appends to the event log.
type Events struct {
	hooks []EventHook
}

// NewEvents returns an event log writer that runs hooks on every append.
func NewEvents(hooks ...EventHook) *Events { return &Events{hooks: hooks} }

// AddHook registers one more hook; call it during wiring, before serving.
func (e *Events) AddHook(h EventHook) { e.hooks = append(e.hooks, h) }

type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:ev"`
	dispatch.Event
}

// Append writes ev inside tx, sets its ID (and At when zero), queues the NOTIFY that
// announces it at commit, and runs the hooks. data, when not nil, is marshalled into ev.Data.
func (e *Events) Append(ctx context.Context, tx bun.Tx, ev *dispatch.Event, data any) error {
	if ev.Type == "" {
		return fmt.Errorf("event without a type")
	}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("event %s data: %w", ev.Type, err)
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
	row := &eventRow{Event: *ev}
	if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		return Wrap(err)
	}
	ev.ID = row.ID
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", EventsChannel, fmt.Sprint(ev.ID)); err != nil {
		return Wrap(err)
	}
	for _, h := range e.hooks {
		if err := h(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}

// Timeline returns the events of one report in order.
func Timeline(ctx context.Context, db bun.IDB, reportID int64) ([]dispatch.Event, error) {
	var rows []eventRow
	err := db.NewSelect().Model(&rows).Where("report_id = ?", reportID).Order("id").Scan(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	out := make([]dispatch.Event, len(rows))
	for i := range rows {
		out[i] = rows[i].Event
	}
	return out, nil
}
