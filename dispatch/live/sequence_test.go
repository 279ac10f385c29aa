package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
)

// TestConcurrentWritersExactlyOnce is the proof of the cursor design: 16 writers × 200
// events in transactions of 1–3 events that stay open for varied times, about one in eight
// rolled back, while extra sequencers run concurrently (as other instances would). A client
// connected throughout, and one that keeps disconnecting and resuming with `after`, must
// each receive every committed event exactly once, with ids increasing by one, and each
// writer's events in the order that writer committed them.
func TestConcurrentWritersExactlyOnce(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, db)
	steady := collect(mustDial(t, in, token, start))

	const writers, perWriter = 16, 200
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Extra sequencers, as several instances would run.
	var seqWG sync.WaitGroup
	for range 3 {
		seqWG.Go(func() {
			for ctx.Err() == nil {
				if _, err := live.Sequence(ctx, db); err != nil && ctx.Err() == nil {
					t.Errorf("Sequence: %v", err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}

	// A resuming client: reads a few messages, hangs up, reconnects with the last id.
	var (
		resumeMu sync.Mutex
		resumed  []live.Message
	)
	resumedLen := func() int {
		resumeMu.Lock()
		defer resumeMu.Unlock()
		return len(resumed)
	}
	resumeDone := make(chan struct{})
	stopResume := make(chan struct{})
	go func() {
		defer close(resumeDone)
		after := start
		rng := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stopResume:
				return
			default:
			}
			c, res, err := dial(t, in, token, after, nil)
			if err != nil {
				t.Errorf("resume dial after=%d: %v (%s)", after, err, body(res))
				return
			}
			for n := 10 + rng.IntN(200); n > 0; n-- {
				m, err := readErr(c, 2*time.Second)
				if err != nil {
					break // nothing for a while: reconnect anyway
				}
				resumeMu.Lock()
				resumed = append(resumed, m)
				resumeMu.Unlock()
				after = m.ID
			}
			c.Close()
		}
	}()

	committed := make([][]string, writers) // per writer, keys in commit order
	var wg sync.WaitGroup
	log := postgres.NewEvents()
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for n := 0; n < perWriter; {
				k := min(1+rng.IntN(3), perWriter-n)
				rollback := rng.IntN(8) == 0
				var keys []string
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					for i := range k {
						key := fmt.Sprintf("%d-%d", w, n+i)
						ev := &dispatch.Event{Type: "test.written", TechnicianID: int64(w + 1)}
						if err := log.Append(ctx, tx, ev, map[string]string{"key": key}); err != nil {
							return err
						}
						keys = append(keys, key)
						if d := rng.IntN(4); d > 0 {
							time.Sleep(time.Duration(d) * time.Millisecond)
						}
					}
					if rollback {
						return errRollback
					}
					return nil
				})
				n += k
				if rollback {
					continue
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				committed[w] = append(committed[w], keys...)
			}
		})
	}
	wg.Wait()
	var want []string
	for _, keys := range committed {
		want = append(want, keys...)
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d events on the steady client", len(want)), func() bool { return steady.len() >= len(want) })
	waitFor(t, 60*time.Second, fmt.Sprintf("%d events on the resuming client", len(want)), func() bool { return resumedLen() >= len(want) })
	close(stopResume)
	<-resumeDone
	cancel()
	seqWG.Wait()

	check := func(name string, got []live.Message) {
		t.Helper()
		seen := map[string]int{}
		pos := map[string]int{}
		for i, m := range got {
			if m.Type != "test.written" {
				t.Fatalf("%s: message %d has type %q", name, i, m.Type)
			}
			if i > 0 && m.ID != got[i-1].ID+1 {
				t.Fatalf("%s: message %d has id %d after %d; want ids increasing by one", name, i, m.ID, got[i-1].ID)
			}
			var d struct{ Key string }
			if err := json.Unmarshal(m.Data, &d); err != nil {
				t.Fatal(err)
			}
			seen[d.Key]++
			pos[d.Key] = i
		}
		if got, want := len(got), len(want); got != want {
			t.Errorf("%s: got %d messages, want %d (the committed events)", name, got, want)
		}
		for _, k := range want {
			if seen[k] != 1 {
				t.Errorf("%s: event %s received %d times, want 1", name, k, seen[k])
			}
		}
		for w, keys := range committed {
			for i := 1; i < len(keys); i++ {
				if pos[keys[i]] < pos[keys[i-1]] {
					t.Errorf("%s: writer %d committed %s before %s but they arrived the other way round", name, w, keys[i-1], keys[i])
				}
			}
		}
		if len(seen) != len(want) {
			t.Errorf("%s: %d distinct events received, want %d (rolled-back events leaked?)", name, len(seen), len(want))
		}
	}
	check("steady client", steady.messages())
	check("resuming client", resumed)
	var pending, numbered int
	_ = db.QueryRowContext(context.Background(), "SELECT (SELECT count(*) FROM live_pending), (SELECT count(*) FROM live_seq)").Scan(&pending, &numbered)
	if pending != 0 || numbered != len(want) {
		t.Errorf("queue has %d entries and live_seq %d rows; want 0 and %d", pending, numbered, len(want))
	}
	t.Logf("%d committed events", len(want))
}

var errRollback = fmt.Errorf("deliberate rollback")

// TestReplayHandOver: a client resuming with `after` gets exactly the events after it, then
// the live stream; an id beyond the log means the client must reload.
func TestReplayHandOver(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{})
	token, _ := signIn(t, in, "ana@example.mx", dispatch.RoleAgent)
	start := lastSeq(t, db)
	for i := range 10 {
		appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 1, Data: data(map[string]int{"n": i})})
	}
	c := mustDial(t, in, token, start+3)
	got := readN(t, c, 7)
	for i, m := range got {
		if m.ID != start+4+int64(i) {
			t.Fatalf("replay message %d has id %d, want %d", i, m.ID, start+4+int64(i))
		}
	}
	appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 1}, dispatch.Event{Type: "report.noted", ReportID: 2})
	got = readN(t, c, 2)
	if got[0].ID != start+11 || got[1].ID != start+12 {
		t.Fatalf("live ids after replay = %d, %d; want %d, %d", got[0].ID, got[1].ID, start+11, start+12)
	}
	var d map[string]any
	_ = json.Unmarshal(got[1].Data, &d)
	if d["report_id"] != float64(2) || d["event_id"] == nil || got[1].At.IsZero() {
		t.Fatalf("message = %+v; want report_id 2, event_id and at", got[1])
	}

	// From beyond the log: no instance of this database handed that number out (it was
	// lost with a failover or a crash), so the client must reload.
	f := mustDial(t, in, token, start+1_000_000)
	if m := read(t, f, 20*time.Second); m.Type != live.TypeReload {
		t.Fatalf("client from beyond the log got %+v, want a reload", m)
	}
	appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 3})
	if m := read(t, c, 20*time.Second); m.ID != start+13 {
		t.Fatalf("replayed client got id %d, want %d", m.ID, start+13)
	}
}

// TestReload: a client whose missed events were deleted by retention, or are older than the
// replay window, is told to reload and disconnected; one within the window replays.
func TestReload(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{})
	token, _ := signIn(t, in, "ana@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, db)
	old := time.Now().Add(-48 * time.Hour)
	appendEvents(t, db, dispatch.Event{Type: "report.noted", At: old}, dispatch.Event{Type: "report.noted", At: old})
	for range 5 {
		appendEvents(t, db, dispatch.Event{Type: "report.noted"})
	}
	waitFor(t, 20*time.Second, "sequencing", func() bool { return lastSeq(t, db) == start+7 })

	expectReload := func(after int64) {
		t.Helper()
		c := mustDial(t, in, token, after)
		if m := read(t, c, 20*time.Second); m.Type != live.TypeReload || m.ID != 0 {
			t.Fatalf("after=%d: first message = %+v, want a reload without id", after, m)
		}
		_, err := readErr(c, 20*time.Second)
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("after=%d: after reload got %v, want a normal close", after, err)
		}
	}
	expectReload(start) // the first missed event is 48 h old
	c := mustDial(t, in, token, start+2)
	if got := readN(t, c, 5); got[0].ID != start+3 || got[4].ID != start+7 {
		t.Fatalf("replay within the window = ids %d..%d, want %d..%d", got[0].ID, got[4].ID, start+3, start+7)
	}

	// Retention deletes the oldest four events.
	_, err := db.ExecContext(context.Background(), `
		BEGIN; SET LOCAL despacho.retention = 'on';
		DELETE FROM events WHERE id IN (SELECT event_id FROM live_seq WHERE seq <= ?);
		COMMIT`, start+4)
	if err != nil {
		t.Fatal(err)
	}
	expectReload(start + 2) // its next event (start+3) is gone
	c = mustDial(t, in, token, start+4)
	if got := readN(t, c, 3); got[0].ID != start+5 {
		t.Fatalf("replay after retention starts at id %d, want %d", got[0].ID, start+5)
	}
}

// TestAnyEventData: event data that is not an object (JSON null from a nil map, an array, a
// scalar) still reaches clients, with the references added.
func TestAnyEventData(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	c := mustDial(t, in, token, lastSeq(t, db))
	log := postgres.NewEvents()
	ctx := context.Background()
	var nilMap map[string]string
	for _, d := range []any{nilMap, []int{1, 2}, "texto", 5, map[string]any{}} {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return log.Append(ctx, tx, &dispatch.Event{Type: "visit.on_site", VisitID: 3}, d)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"actor":"system","event_id":`, `"value":[1,2]`, `"value":"texto"`, `"value":5`, `"visit_id":3`}
	for i, m := range readN(t, c, 5) {
		if !strings.Contains(string(m.Data), want[i]) || !strings.Contains(string(m.Data), `"visit_id":3`) {
			t.Errorf("message %d data = %s, want it to hold %s and the visit id", i, m.Data, want[i])
		}
	}
	// The hub is still alive.
	appendEvents(t, db, dispatch.Event{Type: "report.noted"})
	if m := read(t, c, 20*time.Second); m.Type != "report.noted" {
		t.Fatalf("next message = %+v", m)
	}
}
