package notify_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestDefaultRate: without SMS_RATE the worker sends at what the configured sender carries
// (one number 1 segment/s, a messaging service 10/s, the development outbox unlimited);
// SMS_RATE overrides it, 0 included.
func TestDefaultRate(t *testing.T) {
	t.Parallel()
	twilio := map[string]string{
		"TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN": "abcdef0123456789",
		"PUBLIC_BASE_URL": "https://despacho.example.mx",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range twilio {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want float64
	}{
		{"one long code", with("TWILIO_FROM", "+525512345678"), 1},
		{"messaging service", with("TWILIO_MESSAGING_SERVICE_SID", "MG0123456789abcdef"), 10},
		{"development outbox", map[string]string{}, 0},
		{"SMS_RATE set", with("TWILIO_FROM", "+525512345678", "SMS_RATE", "40"), 40},
		{"SMS_RATE unlimited", with("TWILIO_FROM", "+525512345678", "SMS_RATE", "0"), 0},
	} {
		cfg, err := notify.ConfigFromEnv(func(k string) string { return c.env[k] })
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cfg.Rate != c.want {
			t.Errorf("%s: Rate = %v; want %v", c.name, cfg.Rate, c.want)
		}
	}
	for _, bad := range []string{"-1", "fast", "10001"} {
		env := with("TWILIO_FROM", "+525512345678", "SMS_RATE", bad)
		if _, err := notify.ConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.HasPrefix(err.Error(), "SMS_RATE:") {
			t.Errorf("SMS_RATE=%q: error %v; want one naming SMS_RATE", bad, err)
		}
	}
}

// TestRateCountsSegments: the rate is in segments, as Twilio counts it, so one sender
// starts four two-segment texts at 20 segments/s over at least 6 intervals of 50 ms, where
// four one-segment texts would take 3.
func TestRateCountsSegments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	var mu sync.Mutex
	var at []time.Time
	e.fake.OnCreate(func(twiliotest.Message) { mu.Lock(); at = append(at, time.Now()); mu.Unlock() })
	long := strings.Repeat("Su técnico llegará pronto. ", 4) // UCS-2 (é), 108 characters: 2 segments
	if _, n := notify.Segments(long); n != 2 {
		t.Fatalf("test text takes %d segments; want 2", n)
	}
	for i := range 4 {
		enqueue(t, e.db, phone(), fmt.Sprintf("%s%d", long, i))
	}
	opt := fastOptions()
	opt.Rate, opt.Concurrency = 20, 1
	start := time.Now()
	e.work(t, e.twilio(), opt)
	waitFinal(t, e.db, 4)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 4 {
		t.Fatalf("Twilio received %d texts; want 4", len(at))
	}
	// A lower bound only: it holds however slow the machine is.
	if span := at[3].Sub(start); span < 300*time.Millisecond {
		t.Errorf("4 two-segment texts at 20 segments/s: the last started after %s; want at least 300ms", span)
	}
}
