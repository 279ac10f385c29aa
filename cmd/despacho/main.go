// Command despacho is the dispatch service's one binary: the server and its tools.
//
// main only wires: each subcommand parses its flags, builds its dependencies and runs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"despacho/dispatch"
)

// env is what a subcommand may touch of the outside world, so tests can run it in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// usageError is a bad flag or setting: exit code 2 and one line naming the problem.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], env{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}

const usage = `usage: despacho COMMAND [flags]

commands:
  serve                 run the service (applies pending migrations first)
  migrate               apply pending migrations and exit
  users create          create a user: --email E --name N --role R, password on stdin
  demo                  load demo data (idempotent)
  solve                 solve one routing instance: --format solomon FILE
  bench solomon         solve every Solomon instance in --dir and compare with the best known
  bench tickets         create reports through the real API with concurrent clients; throughput and latency
  bench dispatch        book 400 visits through the API for 50 technicians, optimise the day, check promises
  bench load            mixed load (dispatchers on websockets, technicians' positions, reports by every
                        channel, bookings, SMS) for --duration; p50/p99 per endpoint, errors, memory
  testenv -- CMD...     run CMD with TEST_DATABASE_URL pointing at a private throw-away cluster
`

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], e)
	case "migrate":
		err = runMigrate(ctx, args[1:], e)
	case "users":
		err = runUsers(ctx, args[1:], e)
	case "demo":
		err = runDemo(ctx, args[1:], e)
	case "solve":
		return runSolve(ctx, args[1:], e.stdout, e.stderr)
	case "bench":
		switch {
		case len(args) > 1 && args[1] == "tickets":
			err = runBenchTickets(ctx, args[2:], e)
		case len(args) > 1 && args[1] == "dispatch":
			err = runBenchDispatch(ctx, args[2:], e)
		case len(args) > 1 && args[1] == "load":
			err = runBenchLoad(ctx, args[2:], e)
		default:
			return runBench(ctx, args[1:], e.stdout, e.stderr)
		}
	case "testenv":
		return runTestenv(ctx, args[1:], e)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return 0
	default:
		fmt.Fprintf(e.stderr, "despacho: unknown command %q (try: despacho help)\n", args[0])
		return 2
	}
	return exitCode(err, e.stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, errHelped) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "despacho: %s\n", ue.msg)
		return 2
	}
	fmt.Fprintf(stderr, "despacho: %v\n", err)
	return 1
}

func asDomain(err error, target **dispatch.Error) bool { return errors.As(err, target) }
