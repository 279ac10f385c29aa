package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

// listening waits until some session has run LISTEN on channel. pgdriver's Listen only
// writes the command: a notification committed before the server has run it is not
// delivered, which a loaded machine made happen (the test then waited 30 s for it).
func listening(t *testing.T, db *bun.DB, channel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var n int
		err := db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle' AND query = ?",
			`LISTEN "`+channel+`"`).Scan(ctx, &n)
		if err != nil {
			t.Fatalf("waiting for LISTEN %s: %v", channel, err)
		}
		if n > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEventsAppendOnly(t *testing.T) {
	ctx := context.Background()
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ev := &dispatch.Event{Type: "report.created", ReportID: 7}
	if err := events.Append(ctx, tx, ev, map[string]string{"folio": "R-2026-000001"}); err != nil {
		t.Fatal(err)
	}
	ev2 := &dispatch.Event{Type: "report.noted", ReportID: 7}
	if err := events.Append(ctx, tx, ev2, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := postgres.Timeline(ctx, db, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Type != "report.created" || string(got[0].Data) != `{"folio": "R-2026-000001"}` || got[1].ID <= got[0].ID {
		t.Fatalf("timeline = %+v", got)
	}
	if _, err := db.ExecContext(ctx, "UPDATE events SET type = 'x'"); err == nil {
		t.Fatal("events could be edited")
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM events"); err == nil {
		t.Fatal("events could be deleted")
	}
}

// TestEventsAnnounced: a committed Append and a report creation (which announces after
// commit) both wake listeners of EventsChannel, and a creation's event is in the table by
// the time the hint arrives.
func TestEventsAnnounced(t *testing.T) {
	ctx := context.Background()
	db := dispatchtest.DB(t)
	ln := pgdriver.NewListener(db)
	t.Cleanup(func() { _ = ln.Close() })
	if err := ln.Listen(ctx, postgres.EventsChannel); err != nil {
		t.Fatal(err)
	}
	listening(t, db, postgres.EventsChannel)
	wait := func(what string) {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if ch, _, err := ln.Receive(rctx); err != nil || ch != postgres.EventsChannel {
			t.Fatalf("%s: notification %q, %v", what, ch, err)
		}
	}
	events := postgres.NewEvents()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Append(ctx, tx, &dispatch.Event{Type: "report.noted", ReportID: 9}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wait("append")

	reports := postgres.NewReports(db, events, dispatch.SLA{})
	c, _, err := reports.Create(ctx, newReport(t, time.Now(), "inquiry", "55 3000 0001", ""), postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait("create")
	tl, err := postgres.Timeline(ctx, db, c.Report.ID)
	if err != nil || len(tl) != 1 || tl[0].Type != dispatch.EventReportCreated {
		t.Fatalf("timeline after the hint = %+v, %v", tl, err)
	}

	// Inside Events.RunInTx the hint comes after commit, from Announce (an empty payload),
	// and a rolled-back transaction writes nothing.
	boom := errors.New("boom")
	err = events.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		if err := events.Append(ctx, tx, &dispatch.Event{Type: "report.noted", ReportID: c.Report.ID}, nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled-back RunInTx = %v", err)
	}
	err = events.RunInTx(ctx, db, func(ctx context.Context, tx bun.Tx) error {
		return events.Append(ctx, tx, &dispatch.Event{Type: "report.noted", ReportID: c.Report.ID}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if ch, payload, err := ln.Receive(rctx); err != nil || ch != postgres.EventsChannel || payload != "" {
		t.Fatalf("append in RunInTx: notification %q %q, %v; want the after-commit hint", ch, payload, err)
	}
	if tl, err := postgres.Timeline(ctx, db, c.Report.ID); err != nil || len(tl) != 2 {
		t.Fatalf("timeline after the RunInTx hint = %+v, %v", tl, err)
	}
}
