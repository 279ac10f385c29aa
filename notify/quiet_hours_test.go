package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

func TestQuietHoursConfig(t *testing.T) {
	t.Parallel()
	read := func(v string) (notify.Config, error) {
		return notify.ConfigFromEnv(func(k string) string {
			if k == "SMS_QUIET_HOURS" {
				return v
			}
			return ""
		})
	}
	for _, c := range []struct{ in, want string }{
		{"", "21:00-08:00"}, {"22:30-07:00", "22:30-07:00"}, {"13:00-15:00", "13:00-15:00"}, {"off", "off"}, {"NONE", "off"},
	} {
		cfg, err := read(c.in)
		if err != nil || cfg.Quiet.String() != c.want {
			t.Errorf("SMS_QUIET_HOURS=%q: %v, %v; want %s", c.in, cfg.Quiet, err, c.want)
		}
	}
	for _, bad := range []string{"21:00", "25:00-08:00", "21:00-21:00", "9pm-8am", "21:0-08:00"} {
		if _, err := read(bad); err == nil || !strings.HasPrefix(err.Error(), "SMS_QUIET_HOURS:") {
			t.Errorf("SMS_QUIET_HOURS=%q: %v; want an error naming SMS_QUIET_HOURS", bad, err)
		}
	}

	q := notify.DefaultQuietHours
	for _, c := range []struct {
		at   time.Time
		want time.Time // zero: not quiet
	}{
		{monday(20, 59), time.Time{}},
		{monday(21, 0), time.Date(2026, 12, 1, 8, 0, 0, 0, mexico)},
		{monday(23, 59), time.Date(2026, 12, 1, 8, 0, 0, 0, mexico)},
		{monday(3, 0), monday(8, 0)},
		{monday(7, 59), monday(8, 0)},
		{monday(8, 0), time.Time{}},
		{time.Date(2026, 12, 31, 22, 0, 0, 0, mexico), time.Date(2027, 1, 1, 8, 0, 0, 0, mexico)},
	} {
		end, ok := q.Until(c.at, mexico)
		if ok != !c.want.IsZero() || !end.Equal(c.want) {
			t.Errorf("Until(%s) = %s, %v; want %s", c.at.Format("Jan 2 15:04"), end, ok, c.want)
		}
	}
	if _, ok := (notify.QuietHours{}).Until(monday(23, 0), mexico); ok {
		t.Error("the zero QuietHours hold a text at 23:00; want none (a Config built by hand)")
	}
}

// withTech adds a technician named name who works Tuesdays 08:00-18:00 to w.
func withTech(t *testing.T, w *visitWorld, name string, lat float64) *dispatch.Technician {
	t.Helper()
	x := &dispatch.Technician{Name: name, Phone: "55 1234 5670", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: lat, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(w.e.db, w.e.events).Create(context.Background(), x, nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// row returns w's visit's texts of kind, in order.
func (w *visitWorld) rows(t *testing.T, kind string) []outboxRow {
	t.Helper()
	var out []outboxRow
	for _, r := range outbox(t, w.e.db) {
		if r.VisitID == w.visit && r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// TestQuietHoursHoldChangesNobodyAskedFor: texts about a change the customer did not ask
// for — another technician (a re-plan, a dispatcher's move), a window the re-plan cannot
// keep — were sent the moment the change was made, at 23:00 as at noon. Made between 21:00
// and 08:00 they now wait until 08:00; a later change before then withdraws the held text,
// so only the newest goes; one that would reach the customer after its visit's window has
// begun goes at once when the visit is early, and is withdrawn rather than sent late.
// What the customer is waiting for (his own new window) goes at once.
func TestQuietHoursHoldChangesNobodyAskedFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eight := time.Date(2026, 12, 1, 8, 0, 0, 0, mexico) // Tuesday
	win := tuesdayWindow()                              // Tuesday 10:00-12:00

	// booked books win with Juan on Monday at 07:00 and has the booked text and the
	// reminder (Monday 18:00) leave.
	booked := func(t *testing.T, win dispatch.Span) *visitWorld {
		t.Helper()
		w := newVisitWorld(t)
		if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
			t.Fatal(err)
		}
		if r := w.rows(t, "booked"); len(r) != 1 || r[0].SendAfter.After(w.now) {
			t.Fatalf("booked text %+v; want one, at once (the customer's booking)", r)
		}
		sendDue(t, w.e.db)
		if _, err := w.e.db.ExecContext(ctx, "UPDATE sms_outbox SET state = 'sent' WHERE kind = 'reminder'"); err != nil {
			t.Fatal(err)
		}
		return w
	}

	t.Run("moved twice at night: one text at 08:00", func(t *testing.T) {
		t.Parallel()
		w := booked(t, win)
		luis := withTech(t, w, "Luis Gómez", 19.60)
		pedro := withTech(t, w, "Pedro Ortiz", 19.70)
		giveTo(t, w, luis.ID, monday(22, 0))
		held := w.rows(t, "technician")
		if len(held) != 1 || held[0].State != "pending" || !held[0].SendAfter.Equal(eight) {
			t.Fatalf("technician text after the 22:00 move = %+v; want one pending until Tuesday 08:00", held)
		}
		giveTo(t, w, pedro.ID, monday(23, 0))
		got := w.rows(t, "technician")
		if len(got) != 2 || got[0].State != "cancelled" || got[1].State != "pending" || !got[1].SendAfter.Equal(eight) ||
			!strings.Contains(got[1].Body, "Pedro") {
			t.Fatalf("technician texts after the 23:00 move = %+v; want Luis's withdrawn, Pedro's waiting for 08:00", got)
		}

		// The worker finds nothing to send at night, and Pedro's text at 08:00.
		clock := monday(23, 30)
		opt := fastOptions()
		opt.Now = func() time.Time { return clock }
		wk := notify.NewWorker(w.e.db, notify.Dev{Log: quiet}, opt)
		drain(t, wk)
		if r := w.rows(t, "technician"); r[1].State != "pending" {
			t.Errorf("at 23:30 the held text is %s; want still pending", r[1].State)
		}
		clock = eight
		drain(t, wk)
		var sent []string
		for _, r := range w.rows(t, "technician") {
			if r.State == "sent" {
				sent = append(sent, r.Body)
			}
		}
		if len(sent) != 1 || !strings.Contains(sent[0], "Pedro") {
			t.Errorf("technician texts sent by 08:00 = %q; want one, naming Pedro", sent)
		}
	})

	t.Run("a daytime move goes at once", func(t *testing.T) {
		t.Parallel()
		w := booked(t, win)
		luis := withTech(t, w, "Luis Gómez", 19.60)
		giveTo(t, w, luis.ID, monday(19, 30))
		if r := w.rows(t, "technician"); len(r) != 1 || r[0].SendAfter.After(monday(19, 30)) {
			t.Errorf("technician text after a 19:30 move = %+v; want one, due at once", r)
		}
	})

	t.Run("an early visit is told at once", func(t *testing.T) {
		t.Parallel()
		early := dispatch.Span{Start: eight, End: eight.Add(2 * time.Hour)}
		w := booked(t, early)
		luis := withTech(t, w, "Luis Gómez", 19.60)
		giveTo(t, w, luis.ID, monday(23, 0))
		if r := w.rows(t, "technician"); len(r) != 1 || r[0].SendAfter.After(monday(23, 0)) {
			t.Errorf("technician text for an 08:00 visit moved at 23:00 = %+v; want one, due at once (held, it would reach him as Luis rings)", r)
		}
	})

	t.Run("never after the window began", func(t *testing.T) {
		t.Parallel()
		w := booked(t, win)
		luis := withTech(t, w, "Luis Gómez", 19.60)
		giveTo(t, w, luis.ID, monday(22, 0))
		// Twilio was down all morning: the worker first gets to it at 10:05.
		clock := win.Start.Add(5 * time.Minute)
		opt := fastOptions()
		opt.Now = func() time.Time { return clock }
		drain(t, notify.NewWorker(w.e.db, notify.Dev{Log: quiet}, opt))
		if r := w.rows(t, "technician"); len(r) != 1 || r[0].State != "cancelled" {
			t.Errorf("held technician text claimed after its window began: %+v; want cancelled, never sent", r)
		}
	})

	t.Run("the customer's own new window goes at once", func(t *testing.T) {
		t.Parallel()
		w := booked(t, win)
		later := dispatch.Span{Start: win.Start.Add(4 * time.Hour), End: win.End.Add(4 * time.Hour)}
		if _, err := w.visits.Book(ctx, w.visit, later, nil, monday(22, 30)); err != nil {
			t.Fatal(err)
		}
		if r := w.rows(t, "rescheduled"); len(r) != 1 || r[0].SendAfter.After(monday(22, 30)) {
			t.Errorf("rescheduled text of a 22:30 booking = %+v; want one, due at once", r)
		}
	})

	t.Run("a window the re-plan cannot keep", func(t *testing.T) {
		t.Parallel()
		w := booked(t, win)
		// Juan, the only technician, calls in sick for Tuesday at 22:00.
		res, err := w.visits.MarkUnavailable(ctx, w.tech, dispatch.Exception{Start: eight.Add(-8 * time.Hour), End: eight.Add(16 * time.Hour),
			Reason: dispatch.ExceptionSick}, nil, monday(22, 0))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Unbooked) != fmt.Sprint([]int64{w.visit}) {
			t.Fatalf("sick day: %+v; want the visit back to booking", res)
		}
		if r := w.rows(t, "unbooked"); len(r) != 1 || r[0].State != "pending" || !r[0].SendAfter.Equal(eight) {
			t.Errorf("unbooked text of a 22:00 re-plan = %+v; want one pending until 08:00", r)
		}
	})
}
