package live_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

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

// TestFreshClientMissesNothingDuringHandshake: a client that connects without `after` counts
// itself connected once the handshake is answered, and a page loads its data beside it. An
// event fanned out after the request came and before the hub registered the client must
// still reach it (it was handed to no one else in its name); an event before the request
// must not (the page's load already shows it).
func TestFreshClientMissesNothingDuringHandshake(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{PollInterval: 100 * time.Millisecond})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	appendEvents(t, db, dispatch.Event{Type: "visit.note", At: time.Now(), Actor: "system", Data: data(map[string]string{"n": "before"})})
	before := sequenced(t, db)
	waitFor(t, 20*time.Second, "the event before the request fanned out", func() bool { return in.hub.Cursor() >= before })

	var once sync.Once
	handshake := make(chan struct{})
	live.SetUpgraded(in.hub, func() {
		once.Do(func() {
			defer close(handshake)
			appendEvents(t, db, dispatch.Event{Type: "visit.note", At: time.Now(), Actor: "system", Data: data(map[string]string{"n": "handshake"})})
			seq := sequenced(t, db)
			waitFor(t, 20*time.Second, "the event during the handshake fanned out", func() bool { return in.hub.Cursor() >= seq })
		})
	})
	c := mustDial(t, in, token, -1)
	<-handshake // the dial returns with the answer, before the hook has run
	appendEvents(t, db, dispatch.Event{Type: "visit.note", At: time.Now(), Actor: "system", Data: data(map[string]string{"n": "after"})})
	got := readN(t, c, 2)
	for i, want := range []string{"handshake", "after"} {
		var d struct{ N string }
		_ = json.Unmarshal(got[i].Data, &d)
		if got[i].Type != "visit.note" || d.N != want {
			t.Fatalf("message %d = %s %s, want visit.note %q (all: %+v)", i, got[i].Type, got[i].Data, want, got)
		}
	}
	if got[0].ID != before+1 || got[1].ID != before+2 {
		t.Errorf("ids %d, %d; want %d, %d", got[0].ID, got[1].ID, before+1, before+2)
	}
}

// sequenced numbers the committed events, as the hubs do, and returns the last number.
func sequenced(tb testing.TB, db *bun.DB) int64 {
	tb.Helper()
	if _, err := live.Sequence(context.Background(), db); err != nil {
		tb.Fatal(err)
	}
	return lastSeq(tb, db)
}
