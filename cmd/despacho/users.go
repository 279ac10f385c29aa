package main

import "context"

// PLACEHOLDER: the foundation work replaces this with `users create`.
func runUsers(ctx context.Context, args []string, e env) error {
	return usagef("users: not built yet")
}

// PLACEHOLDER: the foundation work replaces this with the demo data loader.
func runDemo(ctx context.Context, args []string, e env) error {
	return usagef("demo: not built yet")
}
