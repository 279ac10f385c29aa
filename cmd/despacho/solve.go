package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"despacho/schedule"
	"despacho/schedule/solomon"
)

// parseInterspersed parses flags that may come before or after positional
// arguments and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError turns a flag package error into one line.
func flagError(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// runSolve implements `despacho solve`; it returns the process exit code.
func runSolve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("solve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "solomon", "instance format (solomon)")
	limit := fs.Duration("time-limit", 10*time.Second, "time limit")
	seed := fs.Uint64("seed", 1, "random seed")
	threads := fs.Int("threads", 0, "parallel searches (0: all cores)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, fs, "solve [--format solomon] [flags] FILE", `Solves one routing instance and prints the plan as JSON: routes (customer numbers in
visiting order), distance, vehicles, and the customers left unserved. A file that
cannot be read as an instance exits 2 naming the line or the customer.`)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "despacho: solve: %s\n", flagError(err))
		return 2
	}
	switch {
	case *format != "solomon":
		fmt.Fprintf(stderr, "despacho: solve: unknown --format %q (want solomon)\n", *format)
		return 2
	case len(pos) != 1:
		fmt.Fprintln(stderr, "despacho: solve: want exactly one instance FILE")
		return 2
	case *limit <= 0:
		fmt.Fprintln(stderr, "despacho: solve: --time-limit must be positive")
		return 2
	case *threads < 0:
		fmt.Fprintln(stderr, "despacho: solve: --threads must not be negative")
		return 2
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "despacho: solve: %v\n", err)
		return 2
	}
	in, err := solomon.Parse(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "despacho: solve: %s: %v\n", pos[0], err)
		return 2
	}
	res, err := in.Solve(ctx, schedule.Options{TimeLimit: *limit, Seed: *seed, Threads: *threads, Clock: time.Now})
	if err != nil {
		fmt.Fprintf(stderr, "despacho: solve: %s: %v\n", pos[0], err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "despacho: solve: %v\n", err)
		return 1
	}
	return 0
}

// runBench implements `despacho bench`; args start after "bench" (e.g. ["solomon","--dir",...]).
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "solomon" {
		fmt.Fprintln(stderr, "despacho: bench: want a suite: bench solomon --dir DIR")
		return 2
	}
	fs := flag.NewFlagSet("bench solomon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "directory of instances and bks csv")
	limit := fs.Duration("time-limit", 10*time.Second, "time limit per instance")
	csvPath := fs.String("csv", "", "write results to this CSV file")
	seed := fs.Uint64("seed", 1, "random seed")
	threads := fs.Int("threads", 0, "parallel searches (0: all cores)")
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, fs, "bench solomon --dir DIR [flags]", `Solves every Solomon VRPTW instance in --dir (files like C101.txt) with --time-limit each,
compares each distance with the best known (bks_distance_only.csv in the same directory),
and prints the table and the mean gap per class and overall.`)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "despacho: bench: %s\n", flagError(err))
		return 2
	}
	switch {
	case len(pos) > 0:
		fmt.Fprintf(stderr, "despacho: bench: unexpected argument %q\n", pos[0])
		return 2
	case *dir == "":
		fmt.Fprintln(stderr, "despacho: bench: --dir is required")
		return 2
	case *limit <= 0:
		fmt.Fprintln(stderr, "despacho: bench: --time-limit must be positive")
		return 2
	case *threads < 0:
		fmt.Fprintln(stderr, "despacho: bench: --threads must not be negative")
		return 2
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "despacho: bench: --dir %s is not a directory\n", *dir)
		return 2
	}
	fmt.Fprintf(stdout, "%-8s %8s %10s %10s %7s %7s\n", "instance", "vehicles", "distance", "BKS", "gap%", "seconds")
	rows, err := solomon.Bench(ctx, solomon.BenchOptions{
		Dir: *dir, TimeLimit: *limit, Seed: *seed, Threads: *threads, Now: time.Now,
		Progress: func(r solomon.Row) { solomon.WriteRow(stdout, r) },
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "despacho: bench: %v\n", err)
		return 1
	}
	solomon.WriteMeans(stdout, rows)
	if *csvPath != "" {
		f, err := os.Create(*csvPath)
		if err == nil {
			err = solomon.WriteCSV(f, rows)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "despacho: bench: %v\n", err)
			return 1
		}
	}
	return 0
}
