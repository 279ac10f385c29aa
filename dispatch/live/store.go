package live

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// SeqChannel is the NOTIFY channel on which a sequencer announces, at commit, the last seq
// it handed out. Like postgres.EventsChannel it is only a hint: readers read live_seq.
const SeqChannel = "despacho_live"

// pingChannel carries the hub's own keep-alive notifications, which prove that the
// listening connection still works when nothing else happens.
const pingChannel = "despacho_live_ping"

// stampBatch bounds the events one sequencing transaction moves, so that a backlog after an
// outage is worked off in short transactions.
const stampBatch = 5000

// Sequence gives the next numbers of the live sequence to every committed event still
// waiting in the queue, in event id order, and returns how many it numbered. Any number of
// instances may call it at once: the row lock on live_state runs them one after another,
// which is what makes the sequence safe to follow with a plain cursor (see the package
// documentation).
func Sequence(ctx context.Context, db *bun.DB) (int64, error) {
	var total int64
	for {
		n, err := sequenceBatch(ctx, db)
		total += n
		if err != nil {
			return total, postgres.Wrap(err)
		}
		if n < stampBatch {
			return total, nil
		}
	}
}

func sequenceBatch(ctx context.Context, db *bun.DB) (int64, error) {
	var moved int64
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		moved = 0
		var last int64
		// Waiting here for the previous sequencer to commit is the point: the statements below
		// take a fresh snapshot that includes its work.
		if err := tx.QueryRowContext(ctx, "SELECT last_seq FROM live_state WHERE one FOR UPDATE").Scan(&last); err != nil {
			return fmt.Errorf("lock live_state: %w", err)
		}
		var newLast int64
		err := tx.QueryRowContext(ctx, `
			WITH taken AS (
				DELETE FROM live_pending
				WHERE event_id IN (SELECT event_id FROM live_pending ORDER BY event_id LIMIT ?)
				RETURNING event_id
			), numbered AS (
				INSERT INTO live_seq (seq, event_id)
				SELECT ?::bigint + row_number() OVER (ORDER BY t.event_id), t.event_id
				FROM taken t JOIN events e ON e.id = t.event_id
				RETURNING seq
			)
			SELECT (SELECT count(*) FROM taken), coalesce((SELECT max(seq) FROM numbered), ?::bigint)`,
			stampBatch, last, last).Scan(&moved, &newLast)
		if err != nil {
			return fmt.Errorf("sequence events: %w", err)
		}
		if newLast == last {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE live_state SET last_seq = ? WHERE one", newLast); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "SELECT pg_notify(?, ?)", SeqChannel, fmt.Sprint(newLast))
		return err
	})
	return moved, err
}

// seqRow is one row of the live sequence joined with its event.
type seqRow struct {
	Seq          int64           `bun:"seq"`
	ID           int64           `bun:"id"`
	Type         string          `bun:"type"`
	At           time.Time       `bun:"at"`
	Actor        string          `bun:"actor"`
	ActorName    string          `bun:"actor_name"`
	Channel      string          `bun:"channel"`
	ReportID     int64           `bun:"report_id"`
	VisitID      int64           `bun:"visit_id"`
	TechnicianID int64           `bun:"technician_id"`
	IncidentID   int64           `bun:"incident_id"`
	Data         json.RawMessage `bun:"data"`
}

// readAfter returns up to limit sequenced events with seq > after, in seq order, each with
// the name of the user who acted (users.name, as a folio's timeline shows it). The name comes
// with the read the pump and a replay make anyway, one query per batch: the sequencer does
// no more work, and no client costs a query of its own.
func readAfter(ctx context.Context, db bun.IDB, after int64, limit int) ([]seqRow, error) {
	var rows []seqRow
	err := db.NewRaw(`
		SELECT s.seq, e.id, e.type, e.at, e.actor, coalesce(u.name, '') AS actor_name,
		       coalesce(e.channel, '') AS channel,
		       coalesce(e.report_id, 0) AS report_id, coalesce(e.visit_id, 0) AS visit_id,
		       coalesce(e.technician_id, 0) AS technician_id, coalesce(e.incident_id, 0) AS incident_id,
		       e.data
		FROM live_seq s JOIN events e ON e.id = s.event_id
		LEFT JOIN users u ON u.id = e.actor_user_id
		WHERE s.seq > ?
		ORDER BY s.seq
		LIMIT ?`, after, limit).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, postgres.Wrap(err)
	}
	return rows, nil
}

// lastSeq returns the last number handed out.
func lastSeq(ctx context.Context, db bun.IDB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, "SELECT last_seq FROM live_state WHERE one").Scan(&n); err != nil {
		return 0, postgres.Wrap(err)
	}
	return n, nil
}

// seqState returns live_state.last_seq and the event numbered seq (0 when none is).
func seqState(ctx context.Context, db bun.IDB, seq int64) (last, eventID int64, err error) {
	err = db.QueryRowContext(ctx, `
		SELECT (SELECT last_seq FROM live_state WHERE one),
		       coalesce((SELECT event_id FROM live_seq WHERE seq = ?), 0)`, seq).Scan(&last, &eventID)
	if err != nil {
		return 0, 0, postgres.Wrap(err)
	}
	return last, eventID, nil
}

// replayWindow describes what a client resuming after a given seq can still get.
type replayWindow struct {
	last    int64      // the last seq handed out
	oldest  int64      // the oldest seq still kept; 0 when none is kept
	firstAt *time.Time // the time of the first event to replay, if any
}

func readReplayWindow(ctx context.Context, db bun.IDB, after int64) (replayWindow, error) {
	var w replayWindow
	var firstAt sql.NullTime
	err := db.QueryRowContext(ctx, `
		SELECT (SELECT last_seq FROM live_state WHERE one),
		       coalesce((SELECT seq FROM live_seq ORDER BY seq LIMIT 1), 0),
		       (SELECT e.at FROM live_seq s JOIN events e ON e.id = s.event_id
		        WHERE s.seq > ? ORDER BY s.seq LIMIT 1)`, after).Scan(&w.last, &w.oldest, &firstAt)
	if err != nil {
		return w, postgres.Wrap(err)
	}
	if firstAt.Valid {
		t := firstAt.Time
		w.firstAt = &t
	}
	return w, nil
}

// lost reports whether events after `after` were already deleted by retention or are older
// than maxAge: the client must reload instead of replaying.
func (w replayWindow) lost(after int64, now time.Time, maxAge time.Duration) bool {
	if after >= w.last {
		return false
	}
	if w.oldest == 0 || after < w.oldest-1 {
		return true
	}
	return maxAge > 0 && w.firstAt != nil && w.firstAt.Before(now.Add(-maxAge))
}

func (r *seqRow) item() *item {
	return &item{seq: r.Seq, actorName: r.ActorName, ev: dispatch.Event{
		ID: r.ID, Type: r.Type, At: r.At, Actor: r.Actor, Channel: r.Channel,
		ReportID: r.ReportID, VisitID: r.VisitID, TechnicianID: r.TechnicianID, IncidentID: r.IncidentID,
		Data: r.Data,
	}}
}
