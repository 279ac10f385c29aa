package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// monday is a time on Monday 30 Nov 2026 in Mexico City, the visit world's day.
func monday(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, mexico) }

// tuesdayWindow is the visit world's Tuesday 10:00-12:00.
func tuesdayWindow() dispatch.Span {
	return dispatch.Span{Start: time.Date(2026, 12, 1, 10, 0, 0, 0, mexico), End: time.Date(2026, 12, 1, 12, 0, 0, 0, mexico)}
}

// withLuis adds Luis, who works Tuesdays 08:00-18:00 and lives farther than Juan, to w.
func withLuis(t *testing.T, w *visitWorld) *dispatch.Technician {
	t.Helper()
	luis := &dispatch.Technician{Name: "Luis Gómez", Phone: "55 1234 5679", Skills: []string{"fiber"},
		Home:   dispatch.LatLon{Lat: 19.60, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(w.e.db, w.e.events).Create(context.Background(), luis, nil); err != nil {
		t.Fatal(err)
	}
	return luis
}

// giveTo has a dispatcher take w's visit off its technician and give it to tech at at, its
// window kept.
func giveTo(t *testing.T, w *visitWorld, tech int64, at time.Time) {
	t.Helper()
	ctx := context.Background()
	v, err := w.visits.Get(ctx, w.visit)
	if err != nil {
		t.Fatal(err)
	}
	if v, err = w.visits.Unassign(ctx, w.visit, v.Version, nil, at); err != nil {
		t.Fatal(err)
	}
	if _, err = w.visits.Assign(ctx, w.visit, postgres.AssignRequest{TechnicianID: tech, Version: v.Version}, nil, at); err != nil {
		t.Fatal(err)
	}
}

// visitBodies returns the bodies of w's visit's texts of kind in state.
func (w *visitWorld) bodies(t *testing.T, kind, state string) []string {
	t.Helper()
	var out []string
	for _, r := range outbox(t, w.e.db) {
		if r.VisitID == w.visit && r.Kind == kind && r.State == state {
			out = append(out, r.Body)
		}
	}
	return out
}

// TestCancellingAVisitTheCustomerWasNeverTold: a report has a booked visit, whose window the
// customer was texted, and a duplicate visit never booked. Cancelling the duplicate with the
// staff's reason "duplicada" texted "su visita fue cancelada (duplicada)" while his booked
// visit stood. A visit whose window was never told (or whose booked text never left) is
// cancelled without a text; one that was told is cancelled naming its window, with a reason
// only when it is one written for customers.
func TestCancellingAVisitTheCustomerWasNeverTold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	win := tuesdayWindow()

	t.Run("duplicate never booked", func(t *testing.T) {
		// A report has one open visit at most: the duplicate is made once the booked visit
		// could not be completed, and cancelled before it was ever booked.
		t.Parallel()
		w := newVisitWorld(t)
		if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
			t.Fatal(err)
		}
		sendDue(t, w.e.db)
		if _, err := w.visits.SetStatus(ctx, w.visit, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, win.Start.Add(-30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := w.visits.SetStatus(ctx, w.visit, dispatch.Outcome{Status: dispatch.VisitNotCompleted, Reason: "customer_absent"}, nil, win.Start.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
		lat, lon := 19.40, -99.16
		dup, err := w.visits.Create(ctx, w.folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, win.Start.Add(10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.visits.Cancel(ctx, dup.ID, "duplicada", nil, win.Start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, r := range outbox(t, w.e.db) {
			if r.VisitID == dup.ID || r.Kind == "cancelled" {
				t.Errorf("text for the cancelled duplicate: %s %q; want none", r.Kind, r.Body)
			}
		}
	})

	for _, tc := range []struct {
		name, reason string
		sent         bool // the booked text left before the cancellation
		want         string
	}{
		{"staff's words", "duplicada", true, "[booked/sent reminder/cancelled cancelled/pending]"},
		{"customer's request", "customer", true, "[booked/sent reminder/cancelled cancelled/pending]"},
		{"booked text never left", "customer", false, "[booked/cancelled reminder/cancelled]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newVisitWorld(t)
			if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
				t.Fatal(err)
			}
			if tc.sent {
				sendDue(t, w.e.db)
			}
			if _, err := w.visits.Cancel(ctx, w.visit, tc.reason, nil, w.now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(w.texts(t)); got != tc.want {
				t.Errorf("texts = %s; want %s", got, tc.want)
			}
			if !tc.sent {
				return
			}
			want := "Folio " + w.folio + ": su visita del mar 1 dic, 10:00-12:00 fue cancelada."
			if tc.reason == "customer" {
				want = "Folio " + w.folio + ": su visita del mar 1 dic, 10:00-12:00 fue cancelada (a solicitud suya)."
			}
			if got := w.bodies(t, "cancelled", "pending"); len(got) != 1 || got[0] != want {
				t.Errorf("cancelled text = %q; want %q", got, want)
			}
		})
	}
}

// TestNeverToldCustomerGetsTheBookingNotAChange: a customer who was never texted his
// appointment (he had opted out when it was booked, and staff cleared the flag since) had
// his technician fall sick; the re-plan gave the visit to Luis in the same window, and he
// was texted "su visita cambió al mar 1 dic, 10:00-12:00" — a change of what he never
// heard. He gets the booking text instead, with its reminder. A visit.rescheduled for a
// visit that holds no such promise texts nothing.
func TestNeverToldCustomerGetsTheBookingNotAChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	win := tuesdayWindow()

	t.Run("booked", func(t *testing.T) {
		t.Parallel()
		w := newVisitWorld(t)
		luis := withLuis(t, w)
		optOut := func(out bool) {
			if _, err := w.e.db.ExecContext(ctx, "UPDATE customers SET sms_opt_out = ? WHERE phone = ?", out, w.phone); err != nil {
				t.Fatal(err)
			}
		}
		optOut(true)
		if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
			t.Fatal(err)
		}
		optOut(false)
		res, err := w.visits.MarkUnavailable(ctx, w.tech, dispatch.Exception{Start: win.Start.Add(-10 * time.Hour), End: win.End.Add(12 * time.Hour),
			Reason: dispatch.ExceptionSick}, nil, monday(8, 0))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Moved) != fmt.Sprint([]int64{w.visit}) {
			t.Fatalf("unavailable: %+v; want the visit moved to Luis (%d)", res, luis.ID)
		}
		if got, want := fmt.Sprint(w.texts(t)), "[booked/pending reminder/pending]"; got != want {
			t.Errorf("texts = %s; want %s", got, want)
		}
		if got := w.bodies(t, "booked", "pending"); len(got) != 1 || !strings.Contains(got[0], "agendada el mar 1 dic, 10:00-12:00") ||
			!strings.Contains(got[0], "Luis") {
			t.Errorf("booked text = %q; want the booking of the window with Luis", got)
		}
	})

	t.Run("no promise", func(t *testing.T) {
		t.Parallel()
		w := newVisitWorld(t) // its visit is waiting to be booked
		rid := int64(0)
		if err := w.e.db.QueryRowContext(ctx, "SELECT report_id FROM visits WHERE id = ?", w.visit).Scan(&rid); err != nil {
			t.Fatal(err)
		}
		appendEvent(t, w.e.db, w.e.events, dispatch.Event{Type: "visit.rescheduled", At: w.now, ReportID: rid, VisitID: w.visit},
			map[string]any{"window_start": win.Start.UTC(), "window_end": win.End.UTC(), "technician_name": "Luis Gómez"})
		if got := w.texts(t); len(got) != 0 {
			t.Errorf("texts = %v; want none for a visit that promises no window", got)
		}
	})
}

// TestNewTechnicianInTheToldWindow: the customer was texted "Técnico: Juan" and reminded of
// Juan; that evening the visit goes to Luis in the same window and nothing was said, so the
// next text he got was "Luis va en camino". A change of technician with no reminder left to
// name him is texted, once per change; a second change that ends on the technician he was
// last told says nothing (and withdraws the first if it has not left); a window text naming
// Juan that has not left yet is replaced by one naming Luis. A change before the reminder's
// hour is told by the reminder (TestReassignedVisitIsRemindedWithItsNewTechnician).
func TestNewTechnicianInTheToldWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	win := tuesdayWindow()
	const luisText = "cambio de técnico. Su visita sigue el mar 1 dic, 10:00-12:00; lo atendera Luis."

	// booked books the visit with Juan on Monday morning and, when reminded, has the booked
	// text and the reminder (Monday 18:00) leave.
	booked := func(t *testing.T, reminded bool) (*visitWorld, *dispatch.Technician) {
		t.Helper()
		w := newVisitWorld(t)
		luis := withLuis(t, w)
		v, err := w.visits.Book(ctx, w.visit, win, nil, w.now)
		if err != nil {
			t.Fatal(err)
		}
		if v.TechnicianID != w.tech {
			t.Fatalf("booked with technician %d, want Juan (%d)", v.TechnicianID, w.tech)
		}
		if reminded {
			sendDue(t, w.e.db)
			if _, err := w.e.db.ExecContext(ctx, "UPDATE sms_outbox SET state = 'sent' WHERE kind = 'reminder'"); err != nil {
				t.Fatal(err)
			}
		}
		return w, luis
	}

	t.Run("sick after the reminder", func(t *testing.T) {
		t.Parallel()
		w, _ := booked(t, true)
		res, err := w.visits.MarkUnavailable(ctx, w.tech, dispatch.Exception{Start: win.Start.Add(-10 * time.Hour), End: win.End.Add(12 * time.Hour),
			Reason: dispatch.ExceptionSick}, nil, monday(19, 30))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Moved) != fmt.Sprint([]int64{w.visit}) {
			t.Fatalf("unavailable: %+v; want the visit moved to Luis", res)
		}
		if got, want := fmt.Sprint(w.texts(t)), "[booked/sent reminder/sent technician/pending]"; got != want {
			t.Errorf("texts = %s; want %s", got, want)
		}
		if got := w.bodies(t, "technician", "pending"); len(got) != 1 || got[0] != "Folio "+w.folio+": "+luisText {
			t.Errorf("technician text = %q; want %q", got, "Folio "+w.folio+": "+luisText)
		}
	})

	t.Run("back to Juan before it left", func(t *testing.T) {
		t.Parallel()
		w, luis := booked(t, true)
		giveTo(t, w, luis.ID, monday(19, 30))
		giveTo(t, w, w.tech, monday(19, 35))
		if got, want := fmt.Sprint(w.texts(t)), "[booked/sent reminder/sent technician/cancelled]"; got != want {
			t.Errorf("texts = %s; want %s (told Juan, Juan comes: nothing to say)", got, want)
		}
	})

	t.Run("back to Juan after it left", func(t *testing.T) {
		t.Parallel()
		w, luis := booked(t, true)
		giveTo(t, w, luis.ID, monday(19, 30))
		sendDue(t, w.e.db)
		giveTo(t, w, w.tech, monday(19, 40))
		if got, want := fmt.Sprint(w.texts(t)), "[booked/sent reminder/sent technician/sent technician/pending]"; got != want {
			t.Errorf("texts = %s; want %s", got, want)
		}
		if got := w.bodies(t, "technician", "pending"); len(got) != 1 || !strings.HasSuffix(got[0], "lo atendera Juan.") {
			t.Errorf("second technician text = %q; want Juan named", got)
		}
	})

	t.Run("booked text not yet sent", func(t *testing.T) {
		t.Parallel()
		w, luis := booked(t, false)
		giveTo(t, w, luis.ID, monday(7, 1))
		if got, want := fmt.Sprint(w.texts(t)), "[booked/cancelled reminder/cancelled booked/pending reminder/pending]"; got != want {
			t.Errorf("texts = %s; want %s", got, want)
		}
		for _, kind := range []string{"booked", "reminder"} {
			if got := w.bodies(t, kind, "pending"); len(got) != 1 || !strings.Contains(got[0], "Luis") {
				t.Errorf("pending %s = %q; want one naming Luis", kind, got)
			}
		}
	})
}
