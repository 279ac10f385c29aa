package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
)

// loseTail makes the database forget the events numbered above keep, as a failover to a
// lagging replica or asynchronous commits lost at a crash would: the events, their numbers
// and live_state all go back. evs, if any, are then written in the same transaction, so
// that they take the lost numbers again.
func loseTail(tb testing.TB, db *bun.DB, keep int64, evs ...dispatch.Event) {
	tb.Helper()
	log := postgres.NewEvents()
	err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL despacho.retention = 'on'"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM events WHERE id IN (SELECT event_id FROM live_seq WHERE seq > ?)", keep); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE live_state SET last_seq = ? WHERE one", keep); err != nil {
			return err
		}
		for i := range evs {
			if err := log.Append(ctx, tx, &evs[i], nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// expectReloadNext reads c's next message, which must be a reload, and then the normal close.
func expectReloadNext(tb testing.TB, c *websocket.Conn, who string) {
	tb.Helper()
	m, err := readErr(c, 20*time.Second)
	if err != nil || m.Type != live.TypeReload {
		tb.Fatalf("%s: next message = %+v, %v; want a reload", who, m, err)
	}
	if _, err := readErr(c, 20*time.Second); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		tb.Fatalf("%s: after reload got %v, want a normal close", who, err)
	}
}

// TestSequenceRewind: when live_state.last_seq goes below what the hub has delivered, or the
// numbers it delivered now name other events, every client is told to reload (their ids
// mean nothing any more), and clients that connect afterwards follow the database's new
// numbering without a gap.
func TestSequenceRewind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		again int // events written in the losing transaction, taking the lost numbers again
	}{
		{"backwards", 0},
		{"numbers reused", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := dispatchtest.DB(t)
			in := startInstance(t, db, live.Options{PollInterval: 100 * time.Millisecond})
			token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
			start := lastSeq(t, db)
			fresh := mustDial(t, in, token, -1)
			resumed := mustDial(t, in, token, start)
			// The handshake is answered before the hub registers the client: an event sent
			// in between would pass a client without after by.
			waitFor(t, 20*time.Second, "both clients registered", func() bool { return in.hub.Clients() == 2 })
			for range 5 {
				appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 1})
			}
			for _, c := range []*websocket.Conn{fresh, resumed} {
				if got := readN(t, c, 5); got[4].ID != start+5 {
					t.Fatalf("last id before the loss = %d, want %d", got[4].ID, start+5)
				}
			}
			waitFor(t, 20*time.Second, "the hub's cursor", func() bool { return in.hub.Cursor() == start+5 })

			var again []dispatch.Event
			for range tc.again {
				again = append(again, dispatch.Event{Type: "visit.on_site", VisitID: 9})
			}
			loseTail(t, db, start+2, again...)
			expectReloadNext(t, fresh, "client without after")
			expectReloadNext(t, resumed, "client resumed with after")
			if got := metric(t, in.reg, "despacho_live_sequence_rewinds_total"); got != 1 {
				t.Fatalf("rewinds = %v, want 1", got)
			}
			// The sequencer numbers the events written in the losing transaction on its
			// own time: the rewind may find the database at start+2 and the pump then
			// reads them, or find them numbered already.
			want := start + 2 + int64(tc.again)
			waitFor(t, 20*time.Second, "the cursor after the rewind", func() bool { return in.hub.Cursor() == want })

			// Reloaded clients come back without after and get what follows, numbered on.
			c := mustDial(t, in, token, -1)
			waitFor(t, 20*time.Second, "the reloaded clients gone, the new one registered", func() bool { return in.hub.Clients() == 1 })
			appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 2})
			if m := read(t, c, 20*time.Second); m.ID != start+3+int64(tc.again) || m.Type != "report.noted" {
				t.Fatalf("first message after the rewind = %+v, want report.noted with id %d", m, start+3+int64(tc.again))
			}
			if got := metric(t, in.reg, "despacho_live_sequence_rewinds_total"); got != 1 {
				t.Fatalf("rewinds after resuming = %v, want still 1", got)
			}
			// A client that was away during the loss comes back with a number the database
			// no longer has: it reloads too.
			if last := lastSeq(t, db); last < start+5 {
				expectReloadNext(t, mustDial(t, in, token, start+5), "client resuming beyond the log")
			}
		})
	}
}
