package main

import (
	"context"

	"github.com/uptrace/bun"
)

// PLACEHOLDER: the foundation work replaces runDemo and loadDemo with the demo data loader.
func runDemo(ctx context.Context, args []string, e env) error {
	return usagef("demo: not built yet")
}

func loadDemo(ctx context.Context, db *bun.DB, e env) error { return nil }
