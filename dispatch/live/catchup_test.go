package live_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
)

// TestCatchUpWhilePumpMovesOn: a client resuming with `after` reads the log, finds nothing
// new, and before it joins the live stream the pump delivers new events to the live
// clients. The replay must read again and send them, not take the empty read for events
// deleted under it and tell the client to reload.
func TestCatchUpWhilePumpMovesOn(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{PollInterval: 100 * time.Millisecond})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, db)

	read1 := make(chan struct{})
	release := make(chan struct{})
	var once, freed sync.Once
	free := func() { freed.Do(func() { close(release) }) }
	t.Cleanup(free) // a test that fails before free must not leave the replay blocked
	live.SetReplayRead(in.hub, func() {
		once.Do(func() {
			close(read1)
			<-release
		})
	})
	c := mustDial(t, in, token, start)
	select {
	case <-read1:
	case <-time.After(20 * time.Second):
		t.Fatal("the replay never read the log")
	}
	for range 3 {
		appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 1})
	}
	waitFor(t, 20*time.Second, "the pump past the replay", func() bool { return in.hub.Cursor() == start+3 })
	free()

	got := readN(t, c, 3)
	for i, m := range got {
		if m.ID != start+1+int64(i) || m.Type != "report.noted" {
			t.Fatalf("message %d = %+v, want report.noted with id %d", i, m, start+1+int64(i))
		}
	}
	appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 2})
	if m := read(t, c, 20*time.Second); m.ID != start+4 {
		t.Fatalf("first live message = %+v, want id %d", m, start+4)
	}
	if got := metric(t, in.reg, "despacho_live_sequence_rewinds_total"); got != 0 {
		t.Fatalf("rewinds = %v, want 0", got)
	}
}

// TestCatchUpFindsTheRestDeleted: when the log holds nothing after the replay's position
// although the pump had delivered more before the read (retention deleted it under the
// replay), the client is told to reload instead of waiting for events that will never come.
func TestCatchUpFindsTheRestDeleted(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{PollInterval: 100 * time.Millisecond})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, db)
	// One page and one event more, so that the replay reads the log twice.
	const n = live.CatchUpPage + 1
	evs := make([]dispatch.Event, n)
	for i := range evs {
		evs[i] = dispatch.Event{Type: "report.noted", ReportID: 1}
	}
	appendEvents(t, db, evs...)
	waitFor(t, 20*time.Second, "the pump past the events", func() bool { return in.hub.Cursor() == start+n })

	var once sync.Once
	live.SetReplayRead(in.hub, func() {
		once.Do(func() { // after the first page: retention takes the last event
			_, err := db.ExecContext(context.Background(), `
				BEGIN; SET LOCAL despacho.retention = 'on';
				DELETE FROM events WHERE id IN (SELECT event_id FROM live_seq WHERE seq > ?);
				COMMIT`, start+n-1)
			if err != nil {
				t.Error(err)
			}
		})
	})
	c := mustDial(t, in, token, start)
	readN(t, c, n-1)
	expectReloadNext(t, c, "client whose next event was deleted")
}
