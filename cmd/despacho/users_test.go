package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"despacho/dispatch/dispatchtest"
)

// TestUsersCreateEmailAndName: users create took a@b, which the admin API now refuses, and
// any name (an escape sequence, a line break); it holds the same rules as the API (exit 2,
// one line naming the flag, nothing created), and stores the e-mail as sign-in looks it up.
func TestUsersCreateEmailAndName(t *testing.T) {
	t.Parallel()
	db, dsn := dispatchtest.DBWithURL(t)
	vars := map[string]string{"DATABASE_URL": dsn}
	create := func(email, name string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"users", "create", "--email", email, "--name", name, "--role", "admin"}, testEnv(vars, "una-contraseña-larga\n", &out, &errb))
		return code, out.String(), errb.String()
	}
	for _, c := range []struct{ email, name, flag string }{
		{"a@b", "Jefa", "--email"},
		{"jefa@localhost", "Jefa", "--email"},
		{"Jefa <jefa@example.mx>", "Jefa", "--email"},
		{"jefa@example.mx", "Jefa\x1b[2J", "--name"},
		{"jefa@example.mx", "Jefa\nroot", "--name"},
		{"jefa@example.mx", strings.Repeat("ñ", 201), "--name"},
	} {
		if code, _, msg := create(c.email, c.name); code != 2 || !strings.Contains(msg, "users create: "+c.flag+":") || strings.Count(msg, "\n") != 1 {
			t.Errorf("users create --email %q --name %q = %d %q; want 2 and one line naming %s", c.email, c.name, code, msg, c.flag)
		}
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM users").Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("users after the refusals = %d (%v), want 0", n, err)
	}
	if code, out, msg := create(" Jefa@Example.MX ", " Jefa "); code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("users create = %d %q %q, want 0 and the id", code, out, msg)
	}
	var email, name string
	if err := db.NewRaw("SELECT email, name FROM users").Scan(context.Background(), &email, &name); err != nil || email != "jefa@example.mx" || name != "Jefa" {
		t.Errorf("stored %q, %q (%v); want jefa@example.mx, Jefa", email, name, err)
	}
}
