package live_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/pgcluster"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// BenchmarkFanOut measures the time from the return of a writer's COMMIT to the receipt of
// the event by each of 200 connected websocket clients (one instance), and reports its p50
// and p99 over all receipts. Figures, not thresholds: `go test -run '^$' -bench FanOut`.
func BenchmarkFanOut(b *testing.B) {
	const clients = 200
	db := dispatchtest.DB(b)
	in := startInstance(b, db, live.Options{})
	token, _ := signIn(b, in, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(b, db)
	got := make(chan time.Time, clients*16)
	for range clients {
		c := mustDial(b, in, token, start)
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				got <- time.Now()
			}
		}()
	}
	waitFor(b, 30*time.Second, "clients", func() bool { return in.hub.Clients() == clients })
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		appendEvents(b, db, dispatch.Event{Type: "report.noted", ReportID: 1})
		committed := time.Now()
		for range clients {
			select {
			case at := <-got:
				lat = append(lat, max(0, at.Sub(committed)))
			case <-time.After(30 * time.Second):
				b.Fatal("an event did not reach every client")
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkAppend measures event-log write throughput (one event per transaction, 16
// concurrent writers) with the live queue trigger, and without it for comparison: the cost
// the sequencer design adds to every writer.
func BenchmarkAppend(b *testing.B) {
	for _, trigger := range []bool{true, false} {
		name := "with-live-trigger"
		if !trigger {
			name = "without-trigger"
		}
		b.Run(name, func(b *testing.B) {
			db := dispatchtest.DB(b)
			if !trigger {
				if _, err := db.ExecContext(context.Background(), "ALTER TABLE events DISABLE TRIGGER live_enqueue"); err != nil {
					b.Fatal(err)
				}
			}
			evlog := postgres.NewEvents()
			b.SetParallelism(8) // 16 writers on 2 cores
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
						return evlog.Append(ctx, tx, &dispatch.Event{Type: "report.created", ReportID: 1}, map[string]string{"folio": "R-2026-000001"})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkWriteDesigns compares, on a durable cluster of its own (fsync and synchronous
// commit on, as in production), 16 concurrent writers of one event per transaction under
// the three cursor designs' write paths: the bare insert, the live queue trigger (the design
// chosen), and a transaction-level advisory lock taken before the insert (the serialising
// alternative). `go test -run '^$' -bench WriteDesigns -benchtime 2000x ./dispatch/live/`
func BenchmarkWriteDesigns(b *testing.B) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "dlb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	cluster, err := pgcluster.New(dir, pgcluster.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := cluster.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cluster.Stop(context.Background()) })
	adm, err := postgres.Open(cluster.DSN("postgres"), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer adm.Close()
	for i, design := range []string{"bare-insert", "live-trigger", "advisory-lock"} {
		b.Run(design, func(b *testing.B) {
			name := fmt.Sprintf("w%d_%d", i, b.N)
			if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
				b.Fatal(err)
			}
			db, err := postgres.Open(cluster.DSN(name), 16)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := migrations.Apply(ctx, db); err != nil {
				b.Fatal(err)
			}
			if design != "live-trigger" {
				if _, err := db.ExecContext(ctx, "ALTER TABLE events DISABLE TRIGGER live_enqueue"); err != nil {
					b.Fatal(err)
				}
			}
			evlog := postgres.NewEvents()
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
						if design == "advisory-lock" {
							if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7413309155005)"); err != nil {
								return err
							}
						}
						return evlog.Append(ctx, tx, &dispatch.Event{Type: "report.created", ReportID: 1}, map[string]string{"folio": "R-2026-000001"})
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
