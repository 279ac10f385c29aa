package migrations_test

import (
	"context"
	"testing"

	"despacho/dispatch/dispatchtest"
	"despacho/migrations"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

// TestUpDownUp proves every down file undoes its up file: after a full rollback no table of
// ours is left, and migrating again succeeds.
func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	db := dispatchtest.DB(t) // already migrated from the template
	if applied, err := migrations.Apply(ctx, db); err != nil || len(applied) != 0 {
		t.Fatalf("Apply on a migrated database = %v, %v; want nothing to do", applied, err)
	}
	if err := migrations.RollbackAll(ctx, db); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := db.NewRaw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND tablename NOT LIKE 'bun_migration%' ORDER BY 1`).Scan(ctx, &left); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("tables left after rolling everything back: %v", left)
	}
	applied, err := migrations.Apply(ctx, db)
	if err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if len(applied) == 0 {
		t.Fatal("migrate again applied nothing")
	}
}

// TestConcurrentApply starts several migrators on an empty database at once: all succeed
// and each migration is recorded exactly once.
func TestConcurrentApply(t *testing.T) {
	ctx := context.Background()
	db := dispatchtest.DB(t)
	if err := migrations.RollbackAll(ctx, db); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, err := migrations.Apply(ctx, db); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var dup int
	if err := db.NewRaw(`SELECT count(*) FROM (SELECT name FROM bun_migrations GROUP BY name HAVING count(*) > 1) d`).Scan(ctx, &dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d migrations recorded twice", dup)
	}
}
