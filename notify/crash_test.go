package notify_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

const childDSN = "NOTIFY_TEST_CHILD_DSN"

// crashChild is the worker process of TestCrashNoLossNoDouble: TestMain runs it instead of
// the tests when that test starts the test binary again with NOTIFY_TEST_CHILD_DSN set. It
// sends the outbox until it is killed.
func crashChild(dsn string) int {
	cfg, err := notify.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	db, err := postgres.Open(dsn, 10)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opt := fastOptions()
	opt.Concurrency, opt.Lease = 8, 2*time.Second
	_ = notify.NewWorker(db, notify.NewTwilio(cfg, 500*time.Millisecond), opt).Run(context.Background())
	return 0
}

// TestCrashNoLossNoDouble kills a real worker process with SIGKILL in the middle of a
// batch, starts another, and checks with the fake Twilio that every notification was sent
// exactly once.
func TestCrashNoLossNoDouble(t *testing.T) {
	t.Parallel()
	fake := twiliotest.New()
	defer fake.Close()
	fake.SetDelay(5 * time.Millisecond) // requests in flight when the kill lands
	db, dsn := dispatchtest.DBWithURL(t)
	const n = 300
	for i := 0; i < n; i++ {
		enqueue(t, db, phone(), fmt.Sprintf("aviso %d", i))
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childDSN+"="+dsn,
			"TWILIO_ACCOUNT_SID="+fake.AccountSID, "TWILIO_AUTH_TOKEN="+fake.AuthToken,
			"TWILIO_FROM=+525500000000", "TWILIO_API_BASE="+fake.URL, "PUBLIC_BASE_URL="+public)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	kill := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}

	first := start()
	eventually(t, 60*time.Second, "a third of the texts at Twilio", func() bool { return len(fake.Messages()) >= n/3 })
	kill(first)
	var sending, sent int
	for _, r := range outbox(t, db) {
		switch r.State {
		case "sending":
			sending++
		case "sent":
			sent++
		}
	}
	t.Logf("killed the worker with %d texts at Twilio, %d recorded sent, %d left sending", len(fake.Messages()), sent, sending)

	second := start()
	defer kill(second)
	rows := waitFinal(t, db, n)
	kill(second)

	bySID := map[string]twiliotest.Message{}
	count := map[string]int{}
	for _, m := range fake.Messages() {
		bySID[m.SID] = m
		count[m.Body]++
	}
	for _, r := range rows {
		if r.State != "sent" || count[r.Body] != 1 || bySID[r.SID].Body != r.Body {
			t.Errorf("row %d: %s, sid %s, Twilio got %q %d times; want sent once under its SID", r.ID, r.State, r.SID, r.Body, count[r.Body])
		}
	}
	if got := len(fake.Messages()); got != n {
		t.Errorf("Twilio received %d messages; want %d", got, n)
	}
	_, lists := fake.Counts()
	t.Logf("reconciliation list calls after restart: %d", lists)
}
