package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
)

// TestBenchLoadShort runs `despacho bench load` briefly with fewer clients against the real
// server in this process: every request of every channel answers as it should (no errors),
// each text is sent once, the dispatchers' websockets carry the events, and the server's
// goroutines come back to where they started (no leak). Timings are printed, not asserted.
func TestBenchLoadShort(t *testing.T) {
	_, dsn := dispatchtest.DBWithURL(t)
	var progress bytes.Buffer
	cfg := loadConfig{
		Duration: 15 * time.Second, Dispatchers: 5, Technicians: 6, PositionEvery: time.Second,
		Reports: 4, Bookings: 1, DSN: dsn, Log: &progress,
	}
	res, err := benchLoad(context.Background(), cfg)
	if err != nil {
		t.Fatalf("bench load: %v", err)
	}
	var out bytes.Buffer
	printLoad(&out, cfg, res)
	t.Log("\n" + out.String())
	if res.Errors != 0 {
		t.Errorf("errors = %d, want 0: %s", res.Errors, strings.Join(res.ErrorSamples, "; "))
	}
	want := []string{"POST /api/tickets", "POST /public/reports", "GET /public/reports/{folio}", "POST /api/intake/email",
		"POST /twilio/inbound", "POST position", "POST /api/tickets/{folio}/visits", "GET /api/visits/{id}/slots", "twilio.status"}
	got := map[string]int{}
	for _, e := range res.Endpoints {
		got[e.Name] = e.N
	}
	for _, name := range want {
		if got[name] == 0 {
			t.Errorf("no %s requests were made", name)
		}
	}
	if res.WSMessages == 0 {
		t.Errorf("the dispatchers' websockets received no events")
	}
	if res.SMSSent == 0 || res.SMSDuplicates != 0 || res.SMSSent != res.SMSOutboxSent {
		t.Errorf("texts: fake Twilio accepted %d (doubled %d), outbox marked %d sent; want some, none doubled, the same count",
			res.SMSSent, res.SMSDuplicates, res.SMSOutboxSent)
	}
	if res.EndGoroutine > res.StartGoroutine+5 {
		t.Errorf("server goroutines %v at the start, %v at the end: a leak", res.StartGoroutine, res.EndGoroutine)
	}
}
