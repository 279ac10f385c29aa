package notify_test

import (
	"context"
	"testing"
	"time"

	"despacho/dispatch/postgres"
	"despacho/notify"
)

// BenchmarkIncidentAccessPoint5000 is issue 9's figure: 5,000 customers on one access
// point, 800 of them with an open fault report, and an incident opened there that texts the
// whole access point. One iteration opens it (attaching the 800 reports, holding nothing,
// queuing 800 report-linked notices and 4,200 area notices in the same transaction) and
// then drains the outbox through the worker to the fake Twilio. It fails unless the fake
// received exactly one text per customer. Metrics: open-s (attach and queue, committed),
// send-s (worker until the last text is accepted), total-s.
func BenchmarkIncidentAccessPoint5000(b *testing.B) {
	const customers, reporters = 5000, 800
	ctx := context.Background()
	var open, send time.Duration
	for b.Loop() {
		b.StopTimer()
		w := newIncidentWorld(b, true, postgres.IncidentsConfig{TextAccessPoint: true})
		fake := w.fake
		w.worker = benchOptions()
		now := time.Now().UTC()
		if _, err := w.db.ExecContext(ctx, `INSERT INTO customers (name, phone, access_point, plan_price)
			SELECT 'Cliente ' || g, '+5255' || lpad(g::text, 8, '0'), 'TORRE-GRANDE', 349 FROM generate_series(1, ?) AS g`, customers); err != nil {
			b.Fatal(err)
		}
		if _, err := w.db.ExecContext(ctx, `INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash, outage_started_at, created_at)
			SELECT 'R-2026-' || lpad(c.id::text, 6, '0'), 'fault', 'phone', 'technical', c.id, 'Sin servicio', '\x00'::bytea, ?, ?
			FROM customers AS c ORDER BY c.id LIMIT ?`, now.Add(-time.Hour), now.Add(-time.Hour), reporters); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		t0 := time.Now()
		d := w.open("TORRE-GRANDE", now.Add(-2*time.Hour), now)
		t1 := time.Now()
		w.sendAll()
		t2 := time.Now()
		open, send = open+t1.Sub(t0), send+t2.Sub(t1)

		b.StopTimer()
		if d.Attached != reporters {
			b.Fatalf("attached %d; want %d", d.Attached, reporters)
		}
		perPhone := map[string]int{}
		kinds := map[string]int{}
		for _, m := range fake.Messages() {
			perPhone[m.To]++
		}
		for _, r := range outbox(b, w.db) {
			kinds[r.Kind]++
		}
		if len(perPhone) != customers {
			b.Fatalf("Twilio received texts for %d customers; want %d", len(perPhone), customers)
		}
		for to, n := range perPhone {
			if n != 1 {
				b.Fatalf("Twilio received %d texts for %s; want exactly 1", n, to)
			}
		}
		if kinds[string(notify.KindIncident)] != reporters || kinds[string(notify.KindIncidentArea)] != customers-reporters {
			b.Fatalf("outbox kinds = %v; want %d incident and %d incident_area", kinds, reporters, customers-reporters)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(open.Seconds()/n, "open-s")
	b.ReportMetric(send.Seconds()/n, "send-s")
	b.ReportMetric((open+send).Seconds()/n, "total-s")
	b.ReportMetric(0, "ns/op")
}
