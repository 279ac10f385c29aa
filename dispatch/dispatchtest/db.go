// Package dispatchtest gives tests a real, private, freshly migrated PostgreSQL database.
//
// Under `make test`, TEST_DATABASE_URL points at the maintenance database of one private
// cluster started for the whole run (see `despacho testenv`). Without it, the first test
// that asks for a database starts a throw-away cluster in a temporary folder for its
// package, and Main stops it. Each call of DB clones a migrated template database, so tests
// and packages run in parallel without touching each other's data.
package dispatchtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch/pgcluster"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// EnvURL names the variable holding the admin connection string of the test cluster.
const EnvURL = "TEST_DATABASE_URL"

var (
	setupOnce sync.Once
	setupErr  error
	adminURL  string
	template  string
	ownedPG   *pgcluster.Cluster
	ownedDir  string
)

// Main runs the package's tests and stops the cluster that DB may have started; call it from
// TestMain: `func TestMain(m *testing.M) { dispatchtest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	if ownedPG != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_ = ownedPG.Stop(ctx)
		cancel()
		_ = os.RemoveAll(ownedDir)
	}
	os.Exit(code)
}

// AdminURL returns the connection string of the test cluster's maintenance database,
// starting a private cluster when none is configured.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	setupOnce.Do(setup)
	if setupErr != nil {
		tb.Fatalf("test database: %v", setupErr)
	}
	return adminURL
}

// DB returns a handle on a new database cloned from the migrated template; the database is
// dropped when the test ends.
func DB(tb testing.TB) *bun.DB {
	tb.Helper()
	db, _ := DBWithURL(tb)
	return db
}

// DBWithURL is DB that also returns the new database's connection string, for tests that
// start a server process of their own on it.
func DBWithURL(tb testing.TB) (*bun.DB, string) {
	tb.Helper()
	admin := AdminURL(tb)
	name := "t_" + randomHex(8)
	ctx := context.Background()
	adm, err := postgres.Open(admin, 2)
	if err != nil {
		tb.Fatal(err)
	}
	defer adm.Close()
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	dsn := withDatabase(admin, name)
	db, err := postgres.Open(dsn, 10)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.Close()
		adm, err := postgres.Open(admin, 1)
		if err != nil {
			return
		}
		defer adm.Close()
		_, _ = adm.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return db, dsn
}

func setup() {
	adminURL = os.Getenv(EnvURL)
	ctx := context.Background()
	if adminURL == "" {
		dir, err := os.MkdirTemp("", "despacho-pg-")
		if err != nil {
			setupErr = err
			return
		}
		c, err := pgcluster.New(dir, pgcluster.Options{Fast: true})
		if err != nil {
			setupErr = err
			return
		}
		if err := c.Start(ctx); err != nil {
			setupErr = err
			return
		}
		ownedPG, ownedDir = c, dir
		adminURL = c.DSN("postgres")
	}
	template, setupErr = EnsureTemplate(ctx, adminURL)
}

// EnsureTemplate creates, once per schema, the migrated template database on the cluster
// behind adminURL and returns its name. Concurrent callers (parallel test packages) wait on
// an advisory lock; the first builds the template, the others find it ready.
func EnsureTemplate(ctx context.Context, adminURL string) (string, error) {
	name := "despacho_tpl_" + migrations.Fingerprint()
	adm, err := postgres.Open(adminURL, 1)
	if err != nil {
		return "", err
	}
	defer adm.Close()
	conn, err := adm.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7413309155002)"); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7413309155002)") //nolint:errcheck
	var ready bool
	err = conn.QueryRowContext(ctx, "SELECT datistemplate FROM pg_database WHERE datname = ?", name).Scan(&ready)
	if err == nil && ready {
		return name, nil
	}
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	tdb, err := postgres.Open(withDatabase(adminURL, name), 2)
	if err != nil {
		return "", err
	}
	_, err = migrations.Apply(ctx, tdb)
	tdb.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+name+" IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func withDatabase(dsn, db string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	u.Path = "/" + db
	return u.String()
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

// AllAtOnce runs each call in its own goroutine, all released at the same instant, and
// waits for them: for tests of what a store does with concurrent callers (batches, locks,
// races for one row).
func AllAtOnce(calls []func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Go(func() {
			<-start
			call()
		})
	}
	close(start)
	wg.Wait()
}
