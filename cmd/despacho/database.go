package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
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

func newLogger(e env) *slog.Logger {
	level := slog.LevelInfo
	if e.getenv("LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}
