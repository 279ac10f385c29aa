package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/notify"
)

func TestHookQueuesOneTextPerNotification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	tel := phone()
	cid := customer(t, db, tel, "es", false)
	rid, folio := report(t, db, cid, "fault", "phone")
	const visit = 77
	// Monday 25 Nov 2026 09:00 in Mexico City; the visit is Wednesday 10:00-12:00.
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	ev := func(typ string, data any) dispatch.Event {
		return appendEvent(t, db, events, dispatch.Event{Type: typ, At: now, ReportID: rid, VisitID: visit}, data)
	}

	ev("report.created", map[string]any{"folio": folio, "kind": "fault", "channel": "phone"})
	ev("report.created", map[string]any{"folio": folio, "kind": "fault", "channel": "phone"}) // a replay
	ev("visit.booked", map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": "Juan Pérez"})
	sendDue(t, db)
	rows := outbox(t, db)
	if len(rows) != 3 {
		t.Fatalf("outbox has %d rows; want folio, booked and reminder: %+v", len(rows), rows)
	}
	if rows[0].Kind != "folio" || !strings.Contains(rows[0].Body, folio) || !strings.Contains(rows[0].Body, "https://despacho.example.mx/estado/"+folio) {
		t.Errorf("folio text = %q; want the folio and its status link", rows[0].Body)
	}
	if want := "mié 25 nov, 10:00-12:00. Técnico: Juan."; rows[1].Kind != "booked" || !strings.Contains(rows[1].Body, want) {
		t.Errorf("booked text = %q; want it to contain %q", rows[1].Body, want)
	}
	wantAt := time.Date(2026, 11, 24, 18, 0, 0, 0, mexico) // the day before at 18:00 local
	if rows[2].Kind != "reminder" || !rows[2].SendAfter.Equal(wantAt) || rows[2].State != "pending" {
		t.Errorf("reminder = %+v; want pending, send_after %s", rows[2], wantAt)
	}

	// Re-scheduling cancels the old reminder and schedules a new one.
	start2 := start.Add(24 * time.Hour)
	ev("visit.rescheduled", map[string]any{"window_start": start2, "window_end": start2.Add(2 * time.Hour), "technician_name": "Ana"})
	sendDue(t, db)
	rows = outbox(t, db)
	if len(rows) != 5 || rows[2].State != "cancelled" || rows[3].Kind != "rescheduled" || rows[4].Kind != "reminder" || rows[4].State != "pending" {
		t.Fatalf("after re-scheduling: %+v; want old reminder cancelled, rescheduled text and a new reminder", rows)
	}

	// On the way; ETA slips: 10 min sends nothing, 25 min more sends one update.
	eta := start2.Add(30 * time.Minute)
	ev("visit.en_route", map[string]any{"eta": eta})
	ev("visit.eta_changed", map[string]any{"eta": eta.Add(10 * time.Minute)})
	ev("visit.eta_changed", map[string]any{"eta": eta.Add(25 * time.Minute)})
	ev("visit.eta_changed", map[string]any{"eta": eta.Add(35 * time.Minute)}) // 10 min after the last texted ETA
	rows = outbox(t, db)
	if len(rows) != 7 || rows[5].Kind != "en_route" || rows[6].Kind != "eta_update" || !strings.Contains(rows[6].Body, "10:55") {
		t.Fatalf("after ETA changes: %+v; want en_route then exactly one eta_update for 10:55", rows[5:])
	}
	if !strings.Contains(rows[5].Body, "Ana va en camino") {
		t.Errorf("en_route text = %q; want the technician's first name", rows[5].Body)
	}

	// The outcome: a report.resolved with the same outcome sends nothing more.
	outcome := map[string]any{"cause": "conector dañado", "verdict": "upheld", "service_restored": true}
	ev("visit.completed", outcome)
	ev("report.resolved", outcome)
	rows = outbox(t, db)
	if len(rows) != 8 || rows[7].Kind != "completed" || !strings.Contains(rows[7].Body, "procedente") {
		t.Fatalf("after the outcome: %+v; want one completed text", rows[7:])
	}
}

func TestHookSkips(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	now := time.Now()

	optedOut := customer(t, db, phone(), "es", true)
	r1, f1 := report(t, db, optedOut, "fault", "phone")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", At: now, ReportID: r1}, map[string]any{"folio": f1, "channel": "phone"})

	stopped := phone()
	if err := notify.SetOptOut(context.Background(), db, stopped, true, "by phone"); err != nil {
		t.Fatal(err)
	}
	r2, f2 := report(t, db, customer(t, db, stopped, "en", false), "fault", "phone")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", At: now, ReportID: r2}, map[string]any{"folio": f2, "channel": "phone"})

	r3, f3 := report(t, db, customer(t, db, phone(), "es", false), "inquiry", "sms")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", At: now, ReportID: r3}, map[string]any{"folio": f3, "channel": "sms"})
	appendEvent(t, db, events, dispatch.Event{Type: "visit.booked", At: now, ReportID: r3, VisitID: 5}, map[string]any{"window_start": "not a time"})
	appendEvent(t, db, events, dispatch.Event{Type: "visit.eta_changed", At: now, ReportID: r3, VisitID: 5}, map[string]any{"eta": now.Add(time.Hour)})
	appendEvent(t, db, events, dispatch.Event{Type: "report.note_added", At: now, ReportID: r3}, nil)

	// A visit booked for within the hour: no reminder (its time has passed).
	soon := now.Add(time.Hour)
	appendEvent(t, db, events, dispatch.Event{Type: "visit.booked", At: now, ReportID: r3, VisitID: 6},
		map[string]any{"window_start": soon, "window_end": soon.Add(time.Hour), "technician_name": "Luis"})

	rows := outbox(t, db)
	if len(rows) != 1 || rows[0].Kind != "booked" {
		t.Fatalf("outbox = %+v; want only the booked text (opted out, SMS-born, malformed and unrelated events queue nothing)", rows)
	}
}

func TestHookEnglish(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	rid, folio := report(t, db, customer(t, db, phone(), "en", false), "complaint", "web")
	appendEvent(t, db, events, dispatch.Event{Type: "report.created", ReportID: rid}, map[string]any{"folio": folio, "kind": "complaint", "channel": "web"})
	appendEvent(t, db, events, dispatch.Event{Type: "visit.not_completed", ReportID: rid, VisitID: 3}, map[string]any{"reason": "needs_parts"})
	rows := outbox(t, db)
	if len(rows) != 2 || !strings.HasPrefix(rows[0].Body, "We received your complaint report") || !strings.Contains(rows[1].Body, "parts are needed") {
		t.Fatalf("outbox = %+v; want English texts", rows)
	}
}

// TestReminderDueAndExpiry runs the worker on an injected clock: the day-before reminder
// goes out once its hour has come, a reminder whose visit has begun is cancelled, and a
// completed visit voids its pending reminder.
func TestReminderDueAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	rid, _ := report(t, db, customer(t, db, phone(), "es", false), "fault", "phone")
	booked := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	start := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC) // Thursday 10:00 local
	for _, visit := range []int64{1, 2, 3} {
		s := start.Add(time.Duration(visit-1) * 24 * time.Hour)
		appendEvent(t, db, events, dispatch.Event{Type: "visit.booked", At: booked, ReportID: rid, VisitID: visit},
			map[string]any{"window_start": s, "window_end": s.Add(2 * time.Hour), "technician_name": "Luis"})
	}
	appendEvent(t, db, events, dispatch.Event{Type: "visit.completed", At: booked, ReportID: rid, VisitID: 3},
		map[string]any{"cause": "x", "verdict": "upheld", "service_restored": true})

	// Wednesday 18:30 local: visit 1's reminder is due; visit 2's is not.
	clock := time.Date(2026, 11, 25, 18, 30, 0, 0, mexico)
	opt := fastOptions()
	opt.Now = func() time.Time { return clock }
	w := notify.NewWorker(db, notify.Dev{Log: quiet}, opt)
	for {
		n, err := w.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	// Later, visit 2's window has begun before any worker ran: its reminder expires.
	clock = start.Add(25 * time.Hour)
	if _, err := w.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, r := range outbox(t, db) {
		if r.Kind == "reminder" {
			states[fmt.Sprint(r.VisitID)] = r.State
		}
	}
	if want := map[string]string{"1": "sent", "2": "cancelled", "3": "cancelled"}; fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("reminder states by visit = %v; want %v", states, want)
	}
}

// TestRescheduleTexts: a move to another window is texted, a re-plan that keeps the window
// is not (but the reminder is queued afresh), and moving back to the first window is news.
func TestRescheduleTexts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, events := e.db, e.events
	rid, _ := report(t, db, customer(t, db, phone(), "es", false), "fault", "phone")
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	a := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)
	b := a.Add(2 * time.Hour)
	move := func(typ string, start time.Time, tech string) {
		appendEvent(t, db, events, dispatch.Event{Type: typ, At: now, ReportID: rid, VisitID: 4},
			map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": tech})
		sendDue(t, db)
	}
	move("visit.booked", a, "Luis")
	move("visit.rescheduled", a, "Ana") // same window, other technician
	move("visit.rescheduled", b, "Ana")
	move("visit.rescheduled", a, "Ana") // back to the first window
	var kinds []string
	pending := 0
	for _, r := range outbox(t, db) {
		if r.Kind == "reminder" {
			if r.State == "pending" {
				pending++
				if !strings.Contains(r.Body, "10:00-12:00 lo visita Ana") {
					t.Errorf("pending reminder = %q; want the current window and technician", r.Body)
				}
			}
			continue
		}
		kinds = append(kinds, r.Kind)
	}
	if fmt.Sprint(kinds) != "[booked rescheduled rescheduled]" || pending != 1 {
		t.Errorf("texts = %v with %d pending reminders; want [booked rescheduled rescheduled] and 1", kinds, pending)
	}
}
