package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/jobs"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/schedule"
)

// textingDay is a planDay whose events queue customer texts (the outbox hook, as serve
// wires it) and a worker that sends them through the development sender, recording
// sms.sent, at the clock the test sets.
type textingDay struct {
	*planDay
	clock  time.Time
	worker *notify.Worker
}

func newTextingDay(t *testing.T) *textingDay {
	t.Helper()
	db := dispatchtest.DB(t)
	cfg, err := notify.ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	events := postgres.NewEvents()
	events.AddBatchHook(notify.NewOutbox(cfg, log).HookBatch)
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	visits := postgres.NewVisits(db, events, reports, planning.Config{})
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, visits.Config().Zone)
	d := &textingDay{planDay: &planDay{db: db, reports: reports, visits: visits, techs: postgres.NewTechnicians(db, events),
		day: day, now: day.Add(7 * time.Hour)}}
	d.clock = d.now
	d.worker = notify.NewWorker(db, notify.Dev{Log: log}, notify.WorkerOptions{Events: events, Log: log,
		Now: func() time.Time { return d.clock }})
	return d
}

// send sends every text due at the clock.
func (d *textingDay) send(t *testing.T) {
	t.Helper()
	for {
		n, err := d.worker.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// texts returns the kinds of the texts sent about visit id, in order.
func (d *textingDay) texts(t *testing.T, id int64) string {
	t.Helper()
	var kinds []string
	if err := d.db.NewRaw("SELECT kind FROM sms_outbox WHERE visit_id = ? AND state = 'sent' ORDER BY id", id).Scan(context.Background(), &kinds); err != nil {
		t.Fatal(err)
	}
	return strings.Join(kinds, " ")
}

// TestSickDayThenReplanTextsEachCustomerOnce: Ana has two visits, at 19.45 (10–11) and at
// 19.52 (11–12); Beto, who lives at 19.50, has one at 19.52 (11–12); Carla lives at 19.30.
// Ana calls in sick at 09:00: the sick-day re-plan puts her visits back one by one, the
// first with Beto (the cheapest place for it), which leaves him no room for the second,
// which goes to Carla across town; both customers are texted their new technician. Five
// minutes later the re-plan job found the better day (Carla the first, Beto the second)
// and moved both again: a second "cambio de técnico" to each. A customer who was texted his
// technician now keeps him through the job's re-plans unless needed; a dispatcher's
// explicit optimisation still makes the better day.
func TestSickDayThenReplanTextsEachCustomerOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newTextingDay(t)
	at := d.at
	ana := d.tech(t, "Ana Ruiz", 19.40)
	x1 := d.visit(t, 19.45, at(10, 0), at(11, 0))
	x2 := d.visit(t, 19.52, at(11, 0), at(12, 0))
	beto := d.tech(t, "Beto Soto", 19.50)
	b1 := d.visit(t, 19.52, at(11, 0), at(12, 0))
	carla := d.tech(t, "Carla Díaz", 19.30)
	if x1.TechnicianID != ana.ID || x2.TechnicianID != ana.ID || b1.TechnicianID != beto.ID {
		t.Fatalf("set-up: visits with %d, %d, %d; want Ana's (%d), Ana's, Beto's (%d)", x1.TechnicianID, x2.TechnicianID, b1.TechnicianID, ana.ID, beto.ID)
	}
	d.send(t)

	d.clock = at(9, 0)
	res, err := d.visits.MarkUnavailable(ctx, ana.ID, dispatch.Exception{Start: at(9, 0), End: at(18, 0), Reason: dispatch.ExceptionSick}, nil, d.clock)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int64{}
	for _, v := range []*dispatch.Visit{x1, x2} {
		g, err := d.visits.Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		got[v.ID] = g.TechnicianID
	}
	if len(res.Moved) != 2 || got[x1.ID] != beto.ID || got[x2.ID] != carla.ID {
		t.Fatalf("set-up: the sick day moved %v: first visit to %d, second to %d; want Beto (%d) and Carla (%d)",
			res.Moved, got[x1.ID], got[x2.ID], beto.ID, carla.ID)
	}
	d.send(t)

	d.clock = at(9, 5)
	if err := jobs.Replan(d.visits, func() time.Time { return d.clock }, 300*time.Millisecond)(ctx); err != nil {
		t.Fatal(err)
	}
	d.send(t)
	for _, c := range []struct {
		name string
		id   int64
		tech int64
		want string
	}{
		{"first visit", x1.ID, beto.ID, "booked technician"},
		{"second visit", x2.ID, carla.ID, "booked technician"},
		{"Beto's own visit", b1.ID, beto.ID, "booked"},
	} {
		v, err := d.visits.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if v.TechnicianID != c.tech {
			t.Errorf("%s with technician %d after the re-plan job; want %d, whom its customer was texted", c.name, v.TechnicianID, c.tech)
		}
		if got := d.texts(t, c.id); got != c.want {
			t.Errorf("%s: texts sent = %q; want %q (one text per change he was told of)", c.name, got, c.want)
		}
	}

	// A dispatcher who asks for the best day gets it, texts and all.
	opt := schedule.Options{TimeLimit: 300 * time.Millisecond, Seed: 1}
	if _, err := d.visits.Optimize(ctx, d.day, opt, nil, at(9, 10)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, want int64
	}{{x1.ID, carla.ID}, {x2.ID, beto.ID}} {
		v, err := d.visits.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if v.TechnicianID != c.want {
			t.Errorf("visit %d with %d after the dispatcher's optimisation; want %d (%s)", c.id, v.TechnicianID, c.want,
				fmt.Sprintf("Carla %d, Beto %d", carla.ID, beto.ID))
		}
	}
}
