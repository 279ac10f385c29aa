package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/live"
	"despacho/dispatch/pgcluster"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// TestTwoInstancesSurviveRestart runs two instances (each its own pool, listener, hub and
// HTTP server) on one database of a private cluster. Events committed through A reach a
// client of B; PostgreSQL is then killed and restarted (immediate stop) while a writer keeps
// writing; both clients must end with every committed event exactly once, in order, and
// both listeners must come back.
func TestTwoInstancesSurviveRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cluster, err := pgcluster.New(dir, pgcluster.Options{Fast: true, MaxConnections: 60})
	if err != nil {
		t.Fatal(err)
	}
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop(context.Background()) })
	adm, err := postgres.Open(cluster.DSN("postgres"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE live"); err != nil {
		t.Fatal(err)
	}
	// A Fast cluster runs with synchronous_commit off: a commit is acknowledged before its
	// WAL is written, and the immediate stop below throws away what the WAL writer had not
	// written yet. The last events and sequencing transactions before the restart, already
	// fanned out, would then vanish, and the numbers they had would be handed out again to
	// the events written after it (which the clients, already past them, never receive).
	// "Committed" must mean durable for the claim checked here, so commits in this database
	// wait for their WAL to be written (fsync stays off: the operating system does not crash).
	if _, err := adm.ExecContext(ctx, "ALTER DATABASE live SET synchronous_commit = on"); err != nil {
		t.Fatal(err)
	}
	adm.Close()
	open := func() *bun.DB {
		db, err := postgres.Open(cluster.DSN("live"), 8)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB, dbW := open(), open(), open()
	if _, err := migrations.Apply(ctx, dbA); err != nil {
		t.Fatal(err)
	}
	opts := live.Options{ListenerPing: 500 * time.Millisecond, PollInterval: time.Second}
	a := startInstance(t, dbA, opts)
	b := startInstance(t, dbB, opts)
	token, _ := signIn(t, a, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, dbA)
	onA := collect(mustDial(t, a, token, start))
	onB := collect(mustDial(t, b, token, start))

	// The writer commits one event per transaction through its own pool, retrying across the
	// restart; a commit whose answer was lost may or may not have happened, so the truth is
	// read from the events table at the end.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		evlog := postgres.NewEvents()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			err := dbW.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				return evlog.Append(ctx, tx, &dispatch.Event{Type: "test.written"}, map[string]int{"n": n})
			})
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			written.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	})

	waitFor(t, 30*time.Second, "events written through the writer to reach the client of B", func() bool {
		return written.Load() >= 50 && onB.len() >= 50
	})
	if err := cluster.Restart(ctx); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	waitFor(t, 60*time.Second, "both listeners to reconnect", func() bool {
		return metric(t, a.reg, "despacho_live_listener_reconnects_total") >= 1 &&
			metric(t, b.reg, "despacho_live_listener_reconnects_total") >= 1 && a.hub.Ready() && b.hub.Ready()
	})
	before := written.Load()
	waitFor(t, 60*time.Second, "more events written after the restart", func() bool { return written.Load() >= before+50 })
	close(stop)
	wg.Wait()

	var truth []int
	rows, err := dbW.QueryContext(ctx, "SELECT (data->>'n')::int FROM events WHERE type = 'test.written' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		truth = append(truth, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for name, col := range map[string]*collector{"client of A": onA, "client of B": onB} {
		waitFor(t, 60*time.Second, fmt.Sprintf("%d events on the %s", len(truth), name), func() bool { return col.len() >= len(truth) })
		got := col.messages()
		seen := map[int]int{}
		for i, m := range got {
			if m.ID != start+1+int64(i) {
				t.Fatalf("%s: message %d has id %d, want %d", name, i, m.ID, start+1+int64(i))
			}
			var d struct{ N int }
			_ = json.Unmarshal(m.Data, &d)
			seen[d.N]++
			if i > 0 {
				var p struct{ N int }
				_ = json.Unmarshal(got[i-1].Data, &p)
				if d.N <= p.N {
					t.Fatalf("%s: event %d arrived after %d; the writer committed them the other way round", name, d.N, p.N)
				}
			}
		}
		if len(got) != len(truth) {
			t.Errorf("%s: %d messages, want %d (committed events)", name, len(got), len(truth))
		}
		inTruth := map[int]bool{}
		for _, n := range truth {
			inTruth[n] = true
			if seen[n] != 1 {
				t.Errorf("%s: event %d arrived %d times, want once", name, n, seen[n])
			}
		}
		for _, m := range got {
			var d struct{ N int }
			_ = json.Unmarshal(m.Data, &d)
			if !inTruth[d.N] {
				t.Errorf("%s: message %d (%s) carries event %d, which is not in the events table", name, m.ID, m.Type, d.N)
			}
		}
	}
	t.Logf("%d events, %d of them committed after the restart", len(truth), written.Load()-before)
}
