package notify_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

func benchOptions() notify.WorkerOptions {
	o := fastOptions()
	o.Concurrency, o.Batch, o.Poll = 16, 20, 200*time.Millisecond
	return o
}

// BenchmarkOutboxThroughput drains b.N queued texts through the worker to the fake Twilio
// on loopback, with no rate limit: one iteration is one text claimed, sent and recorded
// (with its sms.sent event).
func BenchmarkOutboxThroughput(b *testing.B) {
	fake := twiliotest.New()
	defer fake.Close()
	db := dispatchtest.DB(b)
	cfg := testConfig(b, fake)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `
		INSERT INTO sms_outbox (dedupe_key, kind, to_phone, language, body)
		SELECT 'bench:' || i, 'folio', '+5215500' || lpad(i::text, 6, '0'), 'es', 'Folio R-' || i || ': su visita'
		FROM generate_series(1, ?) AS i`, b.N); err != nil {
		b.Fatal(err)
	}
	w := notify.NewWorker(db, notify.NewTwilio(cfg, 5*time.Second), benchOptions())
	b.ResetTimer()
	start := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	for {
		var left int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sms_outbox WHERE state <> 'sent'").Scan(&left); err != nil {
			b.Fatal(err)
		}
		if left == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	if got := len(fake.Messages()); got != b.N {
		b.Fatalf("Twilio received %d; want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkOutboxLatency enqueues texts one per transaction at a steady 200 per second
// while the worker runs, and reports the time from each commit to the fake Twilio
// receiving the request (p50, p99, max).
func BenchmarkOutboxLatency(b *testing.B) {
	fake := twiliotest.New()
	defer fake.Close()
	db := dispatchtest.DB(b)
	cfg := testConfig(b, fake)
	ctx := context.Background()
	var mu sync.Mutex
	committed := map[string]time.Time{}
	var lat []time.Duration
	fake.OnCreate(func(m twiliotest.Message) {
		now := time.Now()
		mu.Lock()
		lat = append(lat, now.Sub(committed[m.Body]))
		mu.Unlock()
	})
	w := notify.NewWorker(db, notify.NewTwilio(cfg, 5*time.Second), benchOptions())
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	time.Sleep(200 * time.Millisecond) // the listener is up
	b.ResetTimer()
	tick := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < b.N; i++ {
		<-tick.C
		body := fmt.Sprintf("latencia %d", i)
		mu.Lock()
		committed[body] = time.Now() // updated after commit below
		mu.Unlock()
		if _, _, err := notify.Enqueue(ctx, db, notify.Notification{Key: body, Kind: notify.KindFolio, To: "+5215512345678", Body: body}); err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		if _, seen := committed[body]; seen {
			committed[body] = time.Now()
		}
		mu.Unlock()
	}
	tick.Stop()
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= b.N {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
