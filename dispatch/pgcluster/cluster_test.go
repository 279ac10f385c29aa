package pgcluster

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestStopLeavesAServerOthersUse: the server is stopped by the last process that uses it,
// whoever started it: a command run beside a service leaves it running, the service
// stops it; and a service restarted after a crash (its lock released with it) stops the
// server it found running, which was left running for good.
func TestStopLeavesAServerOthersUse(t *testing.T) {
	if _, err := FindBinaries(); errors.Is(err, ErrNoBinaries) {
		t.Skip("no PostgreSQL binaries")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	open := func() *Cluster {
		t.Helper()
		c, err := New(dir, Options{Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	service := open()
	t.Cleanup(func() { _ = service.Stop(ctx) })
	command := open() // finds it running
	if err := command.Stop(ctx); err != nil || !service.running(ctx) {
		t.Fatalf("after the command's Stop (%v) the server is down; want it left to the service", err)
	}
	// The service crashes: its lock goes with it (closing the file is what the kernel does).
	service.lock.Close()
	service.lock, service.started = nil, false
	restarted := open()
	t.Cleanup(func() { _ = restarted.Stop(ctx) })
	if err := restarted.Stop(ctx); err != nil || restarted.running(ctx) {
		t.Fatalf("after the restarted service's Stop (%v) the server still runs; want it stopped", err)
	}
}
