package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// replyWorld is serve's wiring of inbound texts (notify's webhooks over smsReplies and the
// real stores, the outbox hook queueing texts) with one technician working Monday and
// Tuesday 08:00-18:00, on Monday 30 Nov 2026 07:00 in Mexico City.
type replyWorld struct {
	t      *testing.T
	db     *postgres.Reports
	visits *postgres.Visits
	fake   *twiliotest.Server
	ts     *httptest.Server
	bun    func(query string, args ...any) int
	tech   int64
	now    time.Time
	mexico *time.Location
}

func newReplyWorld(t *testing.T) *replyWorld {
	t.Helper()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	fake := twiliotest.New()
	t.Cleanup(fake.Close)
	vars := map[string]string{"TWILIO_ACCOUNT_SID": fake.AccountSID, "TWILIO_AUTH_TOKEN": fake.AuthToken,
		"TWILIO_FROM": "+525500000000", "TWILIO_API_BASE": fake.URL, "PUBLIC_BASE_URL": "https://despacho.example.mx"}
	cfg, err := notify.ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	events := postgres.NewEvents()
	events.AddBatchHook(notify.NewOutbox(cfg, nil).HookBatch)
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	incidents, err := postgres.NewIncidents(db, events, postgres.IncidentsConfig{Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	wh := notify.NewWebhooks(db, cfg, smsReplies{reports: reports, events: events, incidents: incidents}, events, nil)
	ts := httptest.NewServer(wh.Inbound())
	t.Cleanup(ts.Close)
	w := &replyWorld{t: t, db: reports, fake: fake, ts: ts, mexico: cfg.Location,
		visits: postgres.NewVisits(db, events, reports, planning.Config{Zone: cfg.Location})}
	w.now = time.Date(2026, 11, 30, 7, 0, 0, 0, w.mexico)
	w.bun = func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home:   dispatch.LatLon{Lat: 19.43, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}, {Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(db, events).Create(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	w.tech = tech.ID
	return w
}

// visit files a fault report for phone with one visit and returns the visit's id and the
// report's folio.
func (w *replyWorld) visit(phone string) (int64, string) {
	w.t.Helper()
	ctx := context.Background()
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: phone}}
	nr, err := in.Validate(w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	c, _, err := w.db.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	lat, lon := 19.40, -99.16
	v, err := w.visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	return v.ID, c.Report.Folio
}

// book books visit at start for two hours; its booked text is then sent (as a worker
// would have).
func (w *replyWorld) book(visit int64, start time.Time) {
	w.t.Helper()
	if _, err := w.visits.Book(context.Background(), visit, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, w.now); err != nil {
		w.t.Fatalf("book %d at %s: %v", visit, start, err)
	}
	w.bun("WITH s AS (UPDATE sms_outbox SET state = 'sent', sent_at = now() WHERE state = 'pending' AND send_after <= now() RETURNING 1) SELECT count(*) FROM s")
}

// text sends an inbound text from phone and returns the TwiML reply's message.
func (w *replyWorld) text(from, body string) string {
	w.t.Helper()
	res, err := w.fake.Post(w.ts.URL+notify.InboundPath, "https://despacho.example.mx"+notify.InboundPath,
		w.fake.InboundParams(twiliotest.NewSID(), from, "+525500000000", body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		w.t.Fatalf("inbound %q: %d %s", body, res.StatusCode, b)
	}
	s := string(b)
	if i := strings.Index(s, "<Message>"); i >= 0 {
		s = s[i+len("<Message>"):]
		return s[:strings.Index(s, "</Message>")]
	}
	return ""
}

// visitEvents counts the events of type typ on visit.
func (w *replyWorld) visitEvents(typ string, visit int64) int {
	w.t.Helper()
	return w.bun("SELECT count(*) FROM events WHERE type = ? AND visit_id = ?", typ, visit)
}

// TestReplyActsOnTheVisitItAnswers: "1" and "2" answer the last text the customer got, so
// they act on the visit that text was about, not on whichever booked visit of the
// customer comes first.
func TestReplyActsOnTheVisitItAnswers(t *testing.T) {
	t.Parallel()
	t.Run("two open folios", func(t *testing.T) {
		t.Parallel()
		w := newReplyWorld(t)
		tue := w.now.Add(24 * time.Hour)
		// Two reports of one customer, each with a visit on Tuesday; the second was booked
		// last, so its booked text is the one the customer answers.
		phone := "+525511110001"
		first, _ := w.visit(phone)
		second, folio := w.visit(phone)
		w.book(first, tue.Add(3*time.Hour))  // 10:00-12:00
		w.book(second, tue.Add(7*time.Hour)) // 14:00-16:00
		if r := w.text(phone, "1"); !strings.Contains(r, folio) {
			t.Errorf("1 answered %q; want the confirmation of %s", r, folio)
		}
		if a, b := w.visitEvents("visit.confirmed", first), w.visitEvents("visit.confirmed", second); a != 0 || b != 1 {
			t.Errorf("visit.confirmed on the first visit %d, on the second %d; want 0 and 1 (the visit the text was about)", a, b)
		}
		if r := w.text(phone, "2"); !strings.Contains(r, folio) {
			t.Errorf("2 answered %q; want another time for %s", r, folio)
		}
		if a, b := w.visitEvents("visit.reschedule_requested", first), w.visitEvents("visit.reschedule_requested", second); a != 0 || b != 1 {
			t.Errorf("visit.reschedule_requested on the first visit %d, on the second %d; want 0 and 1", a, b)
		}
	})

	t.Run("could not complete", func(t *testing.T) {
		// "No pudimos completar la visita … Responda 2 … para reagendar."
		t.Parallel()
		w := newReplyWorld(t)
		phone := "+525511110002"
		v, folio := w.visit(phone)
		w.book(v, w.now.Add(3*time.Hour)) // today 10:00-12:00
		at := w.now.Add(time.Hour)
		for _, o := range []dispatch.Outcome{{Status: dispatch.VisitEnRoute}, {Status: dispatch.VisitNotCompleted, Reason: "customer_absent"}} {
			at = at.Add(10 * time.Minute)
			if _, err := w.visits.SetStatus(context.Background(), v, o, nil, at); err != nil {
				t.Fatalf("%s: %v", o.Status, err)
			}
		}
		if r := w.text(phone, "2"); !strings.Contains(r, folio) || strings.Contains(r, "No encontramos") {
			t.Errorf("2 after the not-completed text answered %q; want another time for %s", r, folio)
		}
		if n := w.visitEvents("visit.reschedule_requested", v); n != 1 {
			t.Errorf("%d visit.reschedule_requested on the visit; want 1", n)
		}
	})

	t.Run("back to booking", func(t *testing.T) {
		// "No podremos acudir el … Responda 2 … para elegir otro horario."
		t.Parallel()
		w := newReplyWorld(t)
		tue := w.now.Add(24 * time.Hour)
		phone := "+525511110003"
		v, folio := w.visit(phone)
		w.book(v, tue.Add(3*time.Hour)) // 10:00-12:00
		if _, err := w.visits.MarkUnavailable(context.Background(), w.tech, dispatch.Exception{Start: tue.Add(-7 * time.Hour), End: tue.Add(17 * time.Hour),
			Reason: dispatch.ExceptionSick}, nil, w.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := w.bun("SELECT count(*) FROM sms_outbox WHERE kind = 'unbooked' AND visit_id = ?", v); n != 1 {
			t.Fatalf("%d unbooked texts; want 1", n)
		}
		if r := w.text(phone, "2"); !strings.Contains(r, folio) || strings.Contains(r, "No encontramos") {
			t.Errorf("2 after the unbooked text answered %q; want another time for %s", r, folio)
		}
		if n := w.visitEvents("visit.reschedule_requested", v); n != 1 {
			t.Errorf("%d visit.reschedule_requested on the visit; want 1", n)
		}
	})
}

// TestReplyToOutcomeText: the outcome text of a visit that restored service asks "responda
// 1 si funciona bien". That 1 answers the outcome: the customer's confirmation is recorded
// on the report and thanked, rather than answered "no pending visit" or, for a customer
// with another folio booked, taken as confirming that other visit.
func TestReplyToOutcomeText(t *testing.T) {
	t.Parallel()
	w := newReplyWorld(t)
	phone := "+525511110004"
	done, folio := w.visit(phone)
	other, _ := w.visit(phone)
	w.book(done, w.now.Add(3*time.Hour))               // today 10:00-12:00
	w.book(other, w.now.Add(24*time.Hour+3*time.Hour)) // tomorrow 10:00-12:00
	yes := true
	at := w.now.Add(3 * time.Hour)
	for _, o := range []dispatch.Outcome{{Status: dispatch.VisitEnRoute}, {Status: dispatch.VisitOnSite},
		{Status: dispatch.VisitCompleted, Cause: "conector dañado", Verdict: "upheld", ServiceRestored: &yes}} {
		at = at.Add(15 * time.Minute)
		if _, err := w.visits.SetStatus(context.Background(), done, o, nil, at); err != nil {
			t.Fatalf("%s: %v", o.Status, err)
		}
	}
	if n := w.bun("SELECT count(*) FROM sms_outbox WHERE kind = 'completed' AND visit_id = ?", done); n != 1 {
		t.Fatalf("%d outcome texts; want 1", n)
	}
	if r := w.text(phone, "1"); !strings.Contains(r, folio) || strings.Contains(r, "visita") {
		t.Errorf("1 to the outcome text answered %q; want thanks for confirming the service of %s", r, folio)
	}
	if n := w.visitEvents("visit.confirmed", other); n != 0 {
		t.Errorf("the other folio's visit was confirmed by the answer to the outcome text")
	}
	if n := w.bun("SELECT count(*) FROM events e JOIN reports r ON r.id = e.report_id WHERE r.folio = ? AND e.type = 'report.restore_confirmed'", folio); n != 1 {
		t.Errorf("%d report.restore_confirmed on %s; want 1", n, folio)
	}
}

// TestNoteGoesToTheFolioItAnswers: a customer with two open folios answers, in his own
// words, the text about one of them ("mejor en la tarde" to the visit of the first): the
// words go on that folio's timeline, where its dispatcher reads them, not on whichever
// report was opened last.
func TestNoteGoesToTheFolioItAnswers(t *testing.T) {
	t.Parallel()
	w := newReplyWorld(t)
	phone := "+525511110005"
	first, folio := w.visit(phone)
	_, other := w.visit(phone) // opened last, no visit booked
	w.book(first, w.now.Add(24*time.Hour+3*time.Hour))
	if r := w.text(phone, "Mejor en la tarde por favor"); !strings.Contains(r, folio) {
		t.Errorf("the answer to %s's booked text answered %q; want it added to %s (not %s)", folio, r, folio, other)
	}
	if n := w.bun(`SELECT count(*) FROM events e JOIN reports r ON r.id = e.report_id
		WHERE r.folio = ? AND e.type = 'report.noted' AND e.data->>'note' = 'Mejor en la tarde por favor'`, folio); n != 1 {
		t.Errorf("%d notes on %s; want 1", n, folio)
	}
}
