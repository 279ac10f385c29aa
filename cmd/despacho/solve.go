package main

// PLACEHOLDER written by the lead so the package builds; the scheduler work replaces this
// whole file with the real `solve` and `bench` subcommands.

import (
	"context"
	"fmt"
	"io"
)

func runSolve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "despacho: solve is not built yet")
	return 1
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "despacho: bench is not built yet")
	return 1
}
