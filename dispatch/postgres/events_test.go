package postgres_test

import (
	"context"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

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
