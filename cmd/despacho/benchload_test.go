package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
)

// TestBenchLoadShort runs `despacho bench load` briefly with fewer clients against the real
// server started as a child process (this test binary as `serve`, see childServe): every
// request of every channel answers as it should (no errors), each text is sent once and
// none is left queued, the dispatchers' websockets carry the events, the server's memory is
// read on its own after forced collections (its debug listener), and its goroutines come
// back to where they started (no leak). Timings are printed, not asserted.
func TestBenchLoadShort(t *testing.T) {
	_, dsn := dispatchtest.DBWithURL(t)
	var progress bytes.Buffer
	profiles := t.TempDir()
	cfg := loadConfig{
		Duration: 15 * time.Second, Dispatchers: 5, Technicians: 6, PositionEvery: time.Second,
		Reports: 4, Bookings: 1, DSN: dsn, Log: &progress,
		Separate: true, SMSRate: 50, Sample: 5 * time.Second, DrainWait: time.Minute, ProfileDir: profiles,
		ServeCommand: func(env []string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(append(os.Environ(), childServe+"=1", "LOG_LEVEL="), env...)
			return cmd
		},
	}
	res, err := benchLoad(context.Background(), cfg)
	if err != nil {
		t.Fatalf("bench load: %v\n%s", err, progress.String())
	}
	var out bytes.Buffer
	printLoad(&out, cfg, res)
	t.Log("\n" + progress.String() + out.String())
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
	if res.SMSSent == 0 || res.SMSDuplicates != 0 || res.SMSSent != res.SMSOutboxSent || res.SMSQueued != res.SMSOutboxSent || res.SMSStuck != 0 {
		t.Errorf("texts: queued %d, fake Twilio accepted %d (doubled %d), outbox marked %d sent, %d stuck (%d waiting for their time, %d withdrawn); want some, all sent once",
			res.SMSQueued, res.SMSSent, res.SMSDuplicates, res.SMSOutboxSent, res.SMSStuck, res.SMSLater, res.SMSWithdrawn)
	}
	// Start, at least two readings during the 15 s (every 5 s), end; all after a collection.
	if len(res.Samples) < 4 {
		t.Errorf("%d memory readings; want the start, every 5 s and the end", len(res.Samples))
	}
	for _, m := range res.Samples {
		if !m.GC || m.HeapAlloc <= 0 || m.Goroutines <= 0 {
			t.Errorf("memory reading %+v: want the live heap after a forced collection", m)
		}
	}
	for _, f := range []string{"heap-start.txt", "heap-end.txt", "goroutines-start.txt", "goroutines-end.txt"} {
		if st, err := os.Stat(filepath.Join(profiles, f)); err != nil || st.Size() == 0 {
			t.Errorf("heap profile %s: %v", f, err)
		}
	}
	if res.ServerWarnings != 0 {
		t.Errorf("the server logged %d warnings or errors: %s", res.ServerWarnings, strings.Join(res.ServerLogs, "; "))
	}
	if res.EndGoroutine > res.StartGoroutine+5 {
		t.Errorf("server goroutines %v at the start, %v at the end: a leak; more at the end, by where they started: %v",
			res.StartGoroutine, res.EndGoroutine, goroutineGrowth(t, filepath.Join(profiles, "goroutines-start.txt"), filepath.Join(profiles, "goroutines-end.txt")))
	}
}

// goroutineGrowth compares two goroutine dumps (debug=1) by the function each goroutine
// started in (the last frame of its stack) and returns those more numerous in the second.
func goroutineGrowth(t *testing.T, before, after string) map[string]int {
	count := func(file string) map[string]int {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("goroutine dump: %v", err)
			return nil
		}
		m := map[string]int{}
		for _, rec := range strings.Split(string(b), "\n\n") {
			lines := strings.Split(strings.TrimSpace(rec), "\n")
			if strings.HasPrefix(lines[0], "goroutine profile:") {
				lines = lines[1:]
			}
			var n int
			if len(lines) == 0 {
				continue
			}
			if _, err := fmt.Sscanf(lines[0], "%d @", &n); err != nil {
				continue
			}
			if f := strings.Fields(lines[len(lines)-1]); len(f) >= 3 && f[0] == "#" {
				m[f[2]] += n
			}
		}
		return m
	}
	a, b := count(before), count(after)
	grew := map[string]int{}
	for k, n := range b {
		if n > a[k] {
			grew[k] = n - a[k]
		}
	}
	return grew
}

// TestDebugAddrUsage: a malformed DEBUG_ADDR stops serve before it starts, exit code 2 and
// a line naming it.
func TestDebugAddrUsage(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve"}, testEnv(map[string]string{"DEBUG_ADDR": "6060", "DATABASE_URL": "postgres://x@localhost/db"}, "", &out, &errb))
	if code != 2 || !strings.Contains(errb.String(), "DEBUG_ADDR") {
		t.Fatalf("exit %d, stderr %q; want 2 naming DEBUG_ADDR", code, errb.String())
	}
}

// TestHeapUnder: the heap profile's records whose stack passes through the prefix are
// summed, each scaled up for sampling as pprof does (a 1 MiB object sampled at 512 KiB
// counts a little more than itself; many small ones far more than their sampled bytes).
func TestHeapUnder(t *testing.T) {
	profile := "heap profile: 3: 1049088 [3: 1049088] @ heap/1048576\n" +
		"1: 1048576 [1: 1048576] @ 0x1 0x2\n" +
		"#\t0x1\tdespacho/schedule.compile+0x9a\t/x/schedule/compile.go:324\n" +
		"#\t0x2\tdespacho/dispatch/planning.Current+0x1\t/x/planning.go:341\n" +
		"\n" +
		"2: 512 [2: 512] @ 0x3\n" +
		"#\t0x3\tdespacho/schedule.(*inst).extend+0x1\t/x/schedule/incremental.go:56\n" +
		"\n" +
		"5: 5000 [5: 5000] @ 0x4\n" +
		"#\t0x4\tregexp/syntax.(*compiler).inst+0x9a\t/x/compile.go:164\n"
	got := heapUnder([]byte(profile), "despacho/schedule.")
	big := 1048576 / (1 - math.Exp(-1048576.0/524288))
	small := 512 / (1 - math.Exp(-256.0/524288))
	if math.Abs(got-(big+small)) > 1 {
		t.Fatalf("heapUnder = %.0f; want %.0f (%.0f + %.0f)", got, big+small, big, small)
	}
	if got := heapUnder([]byte(profile), "despacho/notify."); got != 0 {
		t.Fatalf("heapUnder(notify) = %.0f; want 0", got)
	}
}
