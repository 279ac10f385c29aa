package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch/pgcluster"
	"despacho/dispatch/postgres"
	"despacho/migrations"
)

// openDatabase connects to DATABASE_URL, or, when it is unset, starts (initialising on first
// use) the private cluster under DATA_DIR (default ./.data)/postgres. The returned close
// function closes the pool and stops a cluster this process started.
func openDatabase(ctx context.Context, e env, log *slog.Logger, maxConns int) (*bun.DB, func(), error) {
	dsn := e.getenv("DATABASE_URL")
	var cluster *pgcluster.Cluster
	if dsn == "" {
		dataDir := e.getenv("DATA_DIR")
		if dataDir == "" {
			dataDir = ".data"
		}
		c, err := pgcluster.New(filepath.Join(dataDir, "postgres"), pgcluster.Options{Logger: log})
		if errors.Is(err, pgcluster.ErrNoBinaries) {
			return nil, nil, usageError{err.Error()}
		}
		if err != nil {
			return nil, nil, err
		}
		if err := c.Start(ctx); err != nil {
			return nil, nil, err
		}
		cluster = c
		if err := ensureDatabase(ctx, c.DSN("postgres"), "despacho"); err != nil {
			_ = c.Stop(context.WithoutCancel(ctx))
			return nil, nil, err
		}
		dsn = c.DSN("despacho")
	} else if err := postgres.CheckDSN(dsn); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	db, err := postgres.Open(dsn, maxConns)
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	if cluster == nil {
		// A DATABASE_URL that names nowhere, or whom PostgreSQL turns away, is a bad
		// setting: one line naming it, exit 2 (not "dial tcp …: connection refused",
		// exit 1, from deep inside the first migration).
		if err := reach(ctx, db, dsn); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	closeFn := func() {
		db.Close()
		if cluster != nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := cluster.Stop(ctx); err != nil {
				log.Error("stop private PostgreSQL", "err", err)
			}
		}
	}
	return db, closeFn, nil
}

func ensureDatabase(ctx context.Context, adminDSN, name string) error {
	adm, err := postgres.Open(adminDSN, 1)
	if err != nil {
		return err
	}
	defer adm.Close()
	var exists bool
	if err := adm.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = ?)", name).Scan(&exists); err != nil {
		return fmt.Errorf("private PostgreSQL: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := adm.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func runMigrate(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := parseFlags(fs, args, e.stdout, "migrate", `Applies the pending database migrations (migrations/) to DATABASE_URL and exits; serve
does the same before it starts. Instances that start together take turns (an advisory lock),
so each migration is applied once.`); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("migrate takes no arguments (got %q)", fs.Arg(0))
	}
	log := newLogger(e)
	db, closeDB, err := openDatabase(ctx, e, log, 2)
	if err != nil {
		return err
	}
	defer closeDB()
	applied, err := migrations.Apply(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "database is up to date")
	}
	for _, name := range applied {
		fmt.Fprintln(e.stdout, "applied", name)
	}
	return nil
}

// reach connects to db once. A database that cannot be reached or used is a usageError
// naming DATABASE_URL, where it points (never its password) and why, in one line.
func reach(ctx context.Context, db *bun.DB, dsn string) error {
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := db.PingContext(pctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	where := "the database"
	if u, perr := url.Parse(dsn); perr == nil {
		host := u.Host
		if host == "" {
			host = u.Query().Get("host")
		}
		where = "PostgreSQL at " + host
		if name := strings.TrimPrefix(u.Path, "/"); name != "" {
			where += ", database " + name
		}
	}
	var why string
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		why = "no such host " + dnsErr.Name
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		why = "no answer (timed out)"
	case errors.As(err, &opErr) && opErr.Err != nil:
		why = opErr.Err.Error()
		if se, ok := opErr.Err.(*os.SyscallError); ok {
			why = se.Err.Error()
		}
	default:
		why = err.Error()
	}
	if i := strings.IndexByte(why, '\n'); i >= 0 {
		why = why[:i]
	}
	return usagef("DATABASE_URL: cannot use %s: %s", where, why)
}
