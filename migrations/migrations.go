// Package migrations holds the database schema as embedded SQL files and applies them with
// bun's migrate package.
//
// File names are `YYYYMMDDHHMMSS_name.tx.up.sql` / `.tx.down.sql` (lower case, fixed width:
// bun orders them as strings). Every up file has a down file, and a test runs
// up → down → up on a real PostgreSQL.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

//go:embed *.sql
var files embed.FS

// lockKey is the advisory lock that serialises migrations across processes. bun's own
// Migrator.Lock is a row insert that a crash leaves locked for ever; a session advisory lock
// is freed by PostgreSQL when the holder's connection dies.
const lockKey = 7_413_309_155_001

func newMigrator(db *bun.DB) (*migrate.Migrator, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(files); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	return migrate.NewMigrator(db, ms, migrate.WithMarkAppliedOnSuccess(true)), nil
}

// Apply applies every pending migration and returns the names applied. Two processes calling
// it at once are safe: the second waits for the first, then finds nothing to do.
func Apply(ctx context.Context, db *bun.DB) ([]string, error) {
	var applied []string
	err := withLock(ctx, db, func(m *migrate.Migrator) error {
		group, err := m.Migrate(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		for _, mg := range group.Migrations {
			applied = append(applied, mg.Name)
		}
		return nil
	})
	return applied, err
}

// RollbackAll undoes every applied migration group, newest first. Tests use it to prove
// that the down files mirror the up files.
func RollbackAll(ctx context.Context, db *bun.DB) error {
	return withLock(ctx, db, func(m *migrate.Migrator) error {
		for {
			group, err := m.Rollback(ctx)
			if err != nil {
				return fmt.Errorf("rollback: %w", err)
			}
			if group.IsZero() {
				return nil
			}
		}
	})
}

func withLock(ctx context.Context, db *bun.DB, fn func(*migrate.Migrator) error) error {
	m, err := newMigrator(db)
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey) //nolint:errcheck // freed with the session anyway
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migration tables: %w", err)
	}
	return fn(m)
}

// Fingerprint is a short hash of the embedded migration files: test set-ups name their
// migrated template database after it, so a changed schema never reuses a stale template.
func Fingerprint() string {
	h := sha256.New()
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(files, e.Name())
		h.Write([]byte(e.Name()))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
