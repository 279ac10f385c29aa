package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/pgcluster"
)

// runTestenv starts one throw-away cluster (fsync off) in a temporary folder, builds the
// migrated template database, runs the given command with TEST_DATABASE_URL set, and
// removes the cluster afterwards. `make test` wraps `go test` in it.
func runTestenv(ctx context.Context, args []string, e env) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "despacho: testenv needs a command to run: despacho testenv -- go test ./...")
		return 2
	}
	dir, err := os.MkdirTemp("", "despacho-test-")
	if err != nil {
		fmt.Fprintf(e.stderr, "despacho: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	c, err := pgcluster.New(dir, pgcluster.Options{Fast: true, MaxConnections: 500})
	if err != nil {
		return exitCode(asUsage(err), e.stderr)
	}
	if err := c.Start(ctx); err != nil {
		fmt.Fprintf(e.stderr, "despacho: %v\n", err)
		return 1
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.Stop(ctx)
	}()
	admin := c.DSN("postgres")
	if _, err := dispatchtest.EnsureTemplate(ctx, admin); err != nil {
		fmt.Fprintf(e.stderr, "despacho: %v\n", err)
		return 1
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	cmd.Env = append(os.Environ(), dispatchtest.EnvURL+"="+admin, "DESPACHO_TEST_PGDIR="+dir)
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(e.stderr, "despacho: %v\n", err)
		return 1
	}
	return 0
}

func asUsage(err error) error {
	if errors.Is(err, pgcluster.ErrNoBinaries) {
		return usageError{err.Error()}
	}
	return err
}
