package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// visitWorld is one customer's report with one visit, a technician working Monday and
// Tuesday 08:00-18:00, and the real stores with the outbox hook, on Monday 30 Nov 2026
// 07:00 in Mexico City.
type visitWorld struct {
	e      *env
	visits *postgres.Visits
	tech   int64
	visit  int64
	folio  string
	phone  string
	now    time.Time
}

func newVisitWorld(t *testing.T) *visitWorld {
	t.Helper()
	return visitWorldOn(t, newEnv(t, false))
}

// visitWorldOn is newVisitWorld on e (one with the fake Twilio, say).
func visitWorldOn(t *testing.T, e *env) *visitWorld {
	t.Helper()
	ctx := context.Background()
	reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
	w := &visitWorld{e: e, visits: postgres.NewVisits(e.db, e.events, reports, planning.Config{Zone: mexico}),
		now: time.Date(2026, 11, 30, 7, 0, 0, 0, mexico), phone: phone()}
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home:   dispatch.LatLon{Lat: 19.43, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}, {Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(e.db, e.events).Create(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	w.tech = tech.ID
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: w.phone}}
	nr, err := in.Validate(w.now)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.folio = c.Report.Folio
	lat, lon := 19.40, -99.16
	v, err := w.visits.Create(ctx, w.folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, w.now)
	if err != nil {
		t.Fatal(err)
	}
	w.visit = v.ID
	return w
}

// texts returns the kind and state of each text queued for the world's visit, in order.
func (w *visitWorld) texts(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range outbox(t, w.e.db) {
		if r.VisitID == w.visit {
			out = append(out, r.Kind+"/"+r.State)
		}
	}
	return out
}

// TestRebookedIntoSameWindowIsTexted: a visit that could not be completed and is booked
// again into the window it had (the technician turned back before it began) is a new
// promise after a "could not complete" text: the customer is told it, as for any booking.
func TestRebookedIntoSameWindowIsTexted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newVisitWorld(t)
	win := dispatch.Span{Start: w.now.Add(3 * time.Hour), End: w.now.Add(5 * time.Hour)} // today 10:00-12:00
	if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
		t.Fatal(err)
	}
	sendDue(t, w.e.db)
	at := w.now.Add(time.Hour)
	for _, o := range []dispatch.Outcome{{Status: dispatch.VisitEnRoute}, {Status: dispatch.VisitNotCompleted, Reason: "other"}} {
		at = at.Add(10 * time.Minute)
		if _, err := w.visits.SetStatus(ctx, w.visit, o, nil, at); err != nil {
			t.Fatalf("%s: %v", o.Status, err)
		}
		sendDue(t, w.e.db)
	}
	if _, err := w.visits.Book(ctx, w.visit, win, nil, at.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(w.texts(t))
	if want := "[booked/sent en_route/sent not_completed/sent booked/pending]"; got != want {
		t.Errorf("texts = %s; want %s (the second booking texted too)", got, want)
	}
	var bodies []string
	for _, r := range outbox(t, w.e.db) {
		if r.Kind == "booked" {
			bodies = append(bodies, r.Body)
		}
	}
	if len(bodies) == 2 && !strings.Contains(bodies[1], "10:00-12:00") {
		t.Errorf("second booked text = %q; want the window", bodies[1])
	}
}

// TestUnbookedVisitIsTextedAndLosesItsReminder: the technician calls in sick and nobody
// else can keep the window he was booked for, so the visit goes back to booking
// (visit.unassigned, window cleared). The customer, who was texted that window, is told it
// will not be kept, and the day-before reminder of it is not sent.
func TestUnbookedVisitIsTextedAndLosesItsReminder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newVisitWorld(t)
	tue := w.now.Add(24 * time.Hour)                                                 // Tuesday 07:00
	win := dispatch.Span{Start: tue.Add(3 * time.Hour), End: tue.Add(5 * time.Hour)} // Tuesday 10:00-12:00
	if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
		t.Fatal(err)
	}
	sendDue(t, w.e.db)
	res, err := w.visits.MarkUnavailable(ctx, w.tech, dispatch.Exception{Start: tue.Add(-7 * time.Hour), End: tue.Add(17 * time.Hour),
		Reason: dispatch.ExceptionSick}, nil, w.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Unbooked) != fmt.Sprint([]int64{w.visit}) {
		t.Fatalf("unavailable: %+v; want the visit back to booking", res)
	}
	got := fmt.Sprint(w.texts(t))
	if want := "[booked/sent reminder/cancelled unbooked/pending]"; got != want {
		t.Errorf("texts = %s; want the booked text, its reminder cancelled and one text saying the window will not be kept", got)
	}
	for _, r := range outbox(t, w.e.db) {
		if r.Kind == "unbooked" && (!strings.Contains(r.Body, "mar 1 dic, 10:00-12:00") || !strings.Contains(r.Body, w.folio)) {
			t.Errorf("unbooked text = %q; want the folio and the window no longer kept", r.Body)
		}
	}
}

// TestSupersededTextsAreNotSentLate: a text that Twilio refused for the moment waits for
// its retry; meanwhile the visit changes. The waiting text no longer says what is so and,
// sent after the change's own text, would be the customer's last word: a window moved
// after its booked text failed once must not reach the customer as the old window after
// the new one, and "on the way" must not arrive after the visit is done.
func TestSupersededTextsAreNotSentLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	rid, _ := report(t, e.db, customer(t, e.db, phone(), "es", false), "fault", "phone")
	clock := time.Now().Add(time.Minute) // texts queued from now on are due
	opt := fastOptions()
	opt.Now = func() time.Time { return clock }
	opt.Events = e.events
	opt.BackoffBase, opt.BackoffMax = 10*time.Minute, 10*time.Minute // Twilio busy: retry in minutes
	w := notify.NewWorker(e.db, e.twilio(), opt)
	at := func(typ string, visit int64, data map[string]any) {
		t.Helper()
		appendEvent(t, e.db, e.events, dispatch.Event{Type: typ, At: clock, ReportID: rid, VisitID: visit}, data)
	}
	a := time.Date(clock.Year(), clock.Month(), clock.Day()+3, 16, 0, 0, 0, time.UTC) // 10:00 in Mexico City
	b := a.Add(4 * time.Hour)

	// Visit 1: booked for A; Twilio answers 429; the visit moves to B.
	e.fake.FailNext(http.StatusTooManyRequests)
	at("visit.booked", 1, map[string]any{"window_start": a, "window_end": a.Add(2 * time.Hour), "technician_name": "Luis"})
	drain(t, w)
	at("visit.rescheduled", 1, map[string]any{"window_start": b, "window_end": b.Add(2 * time.Hour), "technician_name": "Luis"})
	drain(t, w)
	// Visit 2: on the way; Twilio answers 429; the technician arrives and completes.
	e.fake.FailNext(http.StatusTooManyRequests)
	at("visit.en_route", 2, map[string]any{"eta": clock.Add(30 * time.Minute)})
	drain(t, w)
	at("visit.on_site", 2, nil)
	at("visit.completed", 2, map[string]any{"cause": "conector", "verdict": "upheld", "service_restored": true})
	drain(t, w)
	clock = clock.Add(time.Hour) // the retries are due
	drain(t, w)

	var got []string
	for _, m := range e.fake.Messages() {
		got = append(got, m.Body)
	}
	if len(got) != 2 || !strings.Contains(got[0], "14:00-16:00") || strings.Contains(got[0], "10:00-12:00") ||
		!strings.HasPrefix(got[1], "Folio R-") || !strings.Contains(got[1], "atendido") {
		t.Errorf("texts at Twilio, in order:\n%s\nwant the visit at 14:00-16:00 (never 10:00-12:00 after it) and the outcome, no late 'en camino'",
			strings.Join(got, "\n"))
		for _, r := range outbox(t, e.db) {
			t.Logf("outbox: %s %s %q", r.Kind, r.State, r.Body)
		}
	}
}

// TestReminderNeverSaysTomorrowOnTheDay: the day-before reminder says "mañana". One that
// could not go the day before (Twilio down all evening, a backlog) and is still waiting
// after midnight would tell the customer, on the morning of the visit, that it is
// tomorrow: it is withdrawn instead.
func TestReminderNeverSaysTomorrowOnTheDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	rid, _ := report(t, e.db, customer(t, e.db, phone(), "es", false), "fault", "phone")
	booked := time.Date(2026, 11, 23, 9, 0, 0, 0, mexico) // Monday 09:00
	start := time.Date(2026, 11, 25, 10, 0, 0, 0, mexico) // Wednesday 10:00-12:00
	appendEvent(t, e.db, e.events, dispatch.Event{Type: "visit.booked", At: booked, ReportID: rid, VisitID: 1},
		map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": "Luis"})
	sendDue(t, e.db)
	clock := time.Date(2026, 11, 25, 0, 30, 0, 0, mexico) // the worker's first chance: Wednesday 00:30
	opt := fastOptions()
	opt.Now = func() time.Time { return clock }
	drain(t, notify.NewWorker(e.db, notify.Dev{Log: quiet}, opt))
	for _, r := range outbox(t, e.db) {
		if r.Kind == "reminder" && r.State != "cancelled" {
			t.Errorf("reminder %s at %s on the day of the visit: %q; want it withdrawn", r.State, clock, r.Body)
		}
	}
}

// TestReassignedVisitIsRemindedWithItsNewTechnician: a dispatcher takes Juan off the
// customer's booked Tuesday visit (its window kept: nothing to text) and gives it to Luis.
// The day-before reminder, rendered when it is queued, must name Luis: it used to keep
// naming Juan, since an assignment after an unassign was announced to nobody.
func TestReassignedVisitIsRemindedWithItsNewTechnician(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newVisitWorld(t)
	luis := &dispatch.Technician{Name: "Luis Gómez", Phone: "55 1234 5679", Skills: []string{"fiber"},
		Home:   dispatch.LatLon{Lat: 19.60, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(w.e.db, w.e.events).Create(ctx, luis, nil); err != nil {
		t.Fatal(err)
	}
	tue := w.now.Add(24 * time.Hour)                                                 // Tuesday 07:00
	win := dispatch.Span{Start: tue.Add(3 * time.Hour), End: tue.Add(5 * time.Hour)} // Tuesday 10:00-12:00
	v, err := w.visits.Book(ctx, w.visit, win, nil, w.now)
	if err != nil {
		t.Fatal(err)
	}
	if v.TechnicianID != w.tech {
		t.Fatalf("booked with technician %d, want Juan (%d), who lives nearer", v.TechnicianID, w.tech)
	}
	sendDue(t, w.e.db)
	at := w.now.Add(time.Hour)
	if v, err = w.visits.Unassign(ctx, w.visit, v.Version, nil, at); err != nil {
		t.Fatal(err)
	}
	if _, err = w.visits.Assign(ctx, w.visit, postgres.AssignRequest{TechnicianID: luis.ID, Version: v.Version}, nil, at); err != nil {
		t.Fatal(err)
	}
	var reminders []string
	for _, r := range outbox(t, w.e.db) {
		if r.VisitID == w.visit && r.Kind == "reminder" && r.State == "pending" {
			reminders = append(reminders, r.Body)
		}
	}
	if len(reminders) != 1 || !strings.Contains(reminders[0], "Luis") {
		t.Errorf("pending reminders = %q; want one naming Luis", reminders)
	}
	if got, want := fmt.Sprint(w.texts(t)), "[booked/sent reminder/cancelled reminder/pending]"; got != want {
		t.Errorf("texts = %s; want %s (the same window: no text, a reminder naming Luis)", got, want)
	}
}

// TestOverdueReminderSurvivesSameWindowReplan: the customer's Tuesday 10:00-12:00 visit
// with Juan has its reminder due Monday 18:00, held up by a Twilio outage. At 19:30 Juan is
// marked unavailable on Tuesday and the re-plan gives the visit to Luis in the same window
// (no text: the promise holds). The waiting reminder named Juan and is withdrawn; a fresh one
// naming Luis must take its place, due at once since its hour has passed. It used to be
// queued only when its hour was still ahead, so the customer got no reminder at all. A
// reminder that may already have reached Twilio (ambiguous: the outage answered 5xx) stays
// as it is, to be reconciled: replacing it could remind him twice.
func TestOverdueReminderSurvivesSameWindowReplan(t *testing.T) {
	t.Parallel()
	for _, ambiguous := range []bool{false, true} {
		t.Run(fmt.Sprintf("ambiguous=%v", ambiguous), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newVisitWorld(t)
			luis := &dispatch.Technician{Name: "Luis Gómez", Phone: "55 1234 5679", Skills: []string{"fiber"},
				Home:   dispatch.LatLon{Lat: 19.60, Lon: -99.13},
				Shifts: []dispatch.WeeklyShift{{Weekday: 2, Start: "08:00", End: "18:00"}}}
			if err := postgres.NewTechnicians(w.e.db, w.e.events).Create(ctx, luis, nil); err != nil {
				t.Fatal(err)
			}
			tue := w.now.Add(24 * time.Hour)                                                 // Tuesday 07:00
			win := dispatch.Span{Start: tue.Add(3 * time.Hour), End: tue.Add(5 * time.Hour)} // Tuesday 10:00-12:00
			if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
				t.Fatal(err)
			}
			sendDue(t, w.e.db)
			// Twilio down since 18:00: the reminder waits for its retry (after a 5xx, it
			// may have been created at Twilio).
			at := time.Date(2026, 11, 30, 19, 30, 0, 0, mexico)
			if _, err := w.e.db.ExecContext(ctx, `UPDATE sms_outbox SET send_after = ?, attempts = 3, ambiguous = ?,
				ambiguous_since = CASE WHEN ? THEN ?::timestamptz END WHERE visit_id = ? AND kind = 'reminder'`,
				at.Add(5*time.Minute), ambiguous, ambiguous, at.Add(-time.Hour), w.visit); err != nil {
				t.Fatal(err)
			}
			res, err := w.visits.MarkUnavailable(ctx, w.tech, dispatch.Exception{Start: tue.Add(-7 * time.Hour), End: tue.Add(17 * time.Hour),
				Reason: dispatch.ExceptionSick}, nil, at)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res.Moved) != fmt.Sprint([]int64{w.visit}) {
				t.Fatalf("unavailable: %+v; want the visit moved to Luis", res)
			}
			var pending []outboxRow
			for _, r := range outbox(t, w.e.db) {
				if r.VisitID == w.visit && r.Kind == "reminder" && r.State == "pending" {
					pending = append(pending, r)
				}
			}
			want := "Luis"
			if ambiguous {
				want = "Juan"
			}
			if len(pending) != 1 || !strings.Contains(pending[0].Body, want) {
				t.Fatalf("pending reminders after the re-plan at 19:30: %+v; want one naming %s", pending, want)
			}
			if got := pending[0].SendAfter; got.After(at.Add(5 * time.Minute)) {
				t.Errorf("reminder due at %s; want by 19:35, the retry it was waiting for", got.In(mexico))
			}
			if ambiguous {
				return
			}
			// Twilio is back at 19:40: the reminder goes.
			opt := fastOptions()
			opt.Now = func() time.Time { return at.Add(10 * time.Minute) }
			drain(t, notify.NewWorker(w.e.db, notify.Dev{Log: quiet}, opt))
			if got, want := fmt.Sprint(w.texts(t)), "[booked/sent reminder/cancelled reminder/sent]"; got != want {
				t.Errorf("texts = %s; want %s", got, want)
			}
		})
	}
}

// TestOptInQueuesRemindersOfVisitsBookedMeanwhile: a customer who texted BAJA has his
// Tuesday 10:00-12:00 visit booked (nothing is texted to him) and then texts ALTA. His
// reminder used to be lost for good: the hook queues nothing for an opted-out customer.
// Now opting back in queues it at its hour (Monday 18:00) when that is ahead, once however
// often he opts out and in, after the booked text that tells him the visit at once (see
// TestOptInTellsVisitsBookedMeanwhile). When its hour has passed there is none: the booked
// text has just told him, as for a booking made after the hour; nor when he was told the
// window (booked while he accepted texts) and only its reminder fell in his opt-out.
func TestOptInQueuesRemindersOfVisitsBookedMeanwhile(t *testing.T) {
	t.Parallel()
	monday := func(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, mexico) }
	for _, tc := range []struct {
		name      string
		toldFirst bool      // booked while he accepted texts; BAJA at 17:00
		optIn     time.Time // ALTA
		due       time.Time // the reminder's send_after; zero: none
	}{
		{"before the hour", false, monday(12, 0), monday(18, 0)},
		{"after the hour, never told", false, monday(20, 0), time.Time{}},
		{"after the hour, told", true, monday(20, 0), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newOptInWorld(t)
			tue := w.now.Add(24 * time.Hour)                                                 // Tuesday 07:00
			win := dispatch.Span{Start: tue.Add(3 * time.Hour), End: tue.Add(5 * time.Hour)} // Tuesday 10:00-12:00
			if !tc.toldFirst {
				w.say(t, monday(6, 50), "BAJA")
			}
			if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
				t.Fatal(err)
			}
			if tc.toldFirst {
				sendDue(t, w.e.db)
				w.say(t, monday(17, 0), "BAJA")
				// Its hour comes while he is opted out: the worker skips the reminder.
				opt := fastOptions()
				opt.Now = func() time.Time { return monday(18, 5) }
				drain(t, notify.NewWorker(w.e.db, notify.Dev{Log: quiet}, opt))
			}
			w.say(t, tc.optIn, "ALTA")
			if tc.due.IsZero() {
				w.say(t, tc.optIn.Add(time.Minute), "BAJA")
				w.say(t, tc.optIn.Add(2*time.Minute), "ALTA")
			}
			var pending []outboxRow
			for _, r := range outbox(t, w.e.db) {
				if r.VisitID == w.visit && r.Kind == "reminder" && r.State == "pending" {
					pending = append(pending, r)
				}
			}
			if tc.due.IsZero() {
				if len(pending) != 0 {
					t.Errorf("pending reminders after opting in: %+v; want none", pending)
				}
				return
			}
			if len(pending) != 1 || !pending[0].SendAfter.Equal(tc.due) ||
				!strings.Contains(pending[0].Body, "mar 1 dic, 10:00-12:00") || !strings.Contains(pending[0].Body, "Juan") ||
				!strings.Contains(pending[0].Body, w.folio) {
				t.Fatalf("pending reminders after opting in at %s: %+v; want one due %s naming Juan, the window and the folio",
					tc.optIn.Format("15:04"), pending, tc.due.Format("15:04"))
			}
			// Opting out and in again queues nothing more.
			w.say(t, tc.optIn.Add(time.Minute), "BAJA")
			w.say(t, tc.optIn.Add(2*time.Minute), "ALTA")
			if got, want := fmt.Sprint(w.texts(t)), "[booked/pending reminder/pending]"; got != want {
				t.Errorf("texts = %s; want %s", got, want)
			}
		})
	}
}
