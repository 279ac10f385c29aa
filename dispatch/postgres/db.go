// Package postgres is the PostgreSQL adapter of the dispatch domain: connection set-up and
// the bun store.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// CheckDSN reports whether dsn is a PostgreSQL URL that pgdriver can use, so that a bad
// DATABASE_URL becomes a clear message instead of pgdriver's panic.
func CheckDSN(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %v", err)
	}
	switch u.Scheme {
	case "postgres", "postgresql", "unix":
	default:
		return fmt.Errorf("DATABASE_URL: scheme must be postgres:// (got %q)", u.Scheme)
	}
	if u.Scheme != "unix" && u.Host == "" && u.Query().Get("host") == "" {
		return errors.New("DATABASE_URL: no host (use postgres://user@host:5432/db or ?host=/path/.s.PGSQL.5432)")
	}
	return nil
}

// Open returns a bun handle on dsn with a bounded pool; it does not connect yet.
func Open(dsn string, maxConns int) (*bun.DB, error) {
	if err := CheckDSN(dsn); err != nil {
		return nil, err
	}
	if maxConns <= 0 {
		maxConns = 20
	}
	connector := pgdriver.NewConnector(
		pgdriver.WithDSN(dsn),
		pgdriver.WithTimeout(5*time.Second),
		pgdriver.WithReadTimeout(30*time.Second),
		pgdriver.WithWriteTimeout(10*time.Second),
	)
	sqldb := sql.OpenDB(connector)
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	return bun.NewDB(sqldb, pgdialect.New(), bun.WithDiscardUnknownColumns()), nil
}

// Ping checks that the database answers within a short time: the readiness probe.
func Ping(ctx context.Context, db *bun.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}
