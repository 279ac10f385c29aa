package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// optInWorld is a visitWorld with the fake Twilio and the inbound webhook, on a clock the
// test moves: the customer texts BAJA and ALTA at given times and a worker sends what is
// due then through the real Twilio client.
type optInWorld struct {
	*visitWorld
	clock time.Time
	h     *hooks
}

func newOptInWorld(t *testing.T) *optInWorld {
	t.Helper()
	w := &optInWorld{visitWorld: visitWorldOn(t, newEnv(t, true))}
	w.clock = w.now
	wh := notify.NewWebhooks(w.e.db, w.e.cfg, testReports{events: w.e.events}, w.e.events, quiet).
		WithClock(func() time.Time { return w.clock })
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	w.h = &hooks{t: t, db: w.e.db, fake: w.e.fake, ts: ts, events: w.e.events}
	sendDue(t, w.e.db) // the folio text
	return w
}

// say texts body from the world's customer at at and returns the reply.
func (w *optInWorld) say(t *testing.T, at time.Time, body string) string {
	t.Helper()
	w.clock = at
	code, reply := w.h.text(twiliotest.NewSID(), w.phone, body)
	if code != http.StatusOK {
		t.Fatalf("%s at %s: %d", body, at, code)
	}
	return reply
}

// deliver sends, through the fake Twilio, every text due at at.
func (w *optInWorld) deliver(t *testing.T, at time.Time) {
	t.Helper()
	opt := fastOptions()
	opt.Now = func() time.Time { return at }
	opt.Events = w.e.events
	drain(t, notify.NewWorker(w.e.db, w.e.twilio(), opt))
}

// twilio returns the bodies the fake Twilio accepted, in order.
func (w *optInWorld) twilio() []string {
	var out []string
	for _, m := range w.e.fake.Messages() {
		out = append(out, m.Body)
	}
	return out
}

// TestOptInTellsVisitsBookedMeanwhile: a customer texts BAJA; his visit is booked for
// Tuesday 10:00-12:00 and moved to 14:00-16:00 while he is opted out, so nothing is texted
// to him; then he texts ALTA. He used to get only the day-before reminder (or nothing
// besides, opting in after its hour): he did not know his date, window and technician. Now
// opting back in texts him the visit as it stands (14:00-16:00, never the stale
// 10:00-12:00), once however often he texts START, with the reminder at its hour when that
// is ahead; after its hour, the booked text is his one word of it (as for a booking made
// then). A customer with no visit coming gets only the reply confirming the opt-in.
func TestOptInTellsVisitsBookedMeanwhile(t *testing.T) {
	t.Parallel()
	monday := func(h, m int) time.Time { return time.Date(2026, 11, 30, h, m, 0, 0, mexico) }
	tue := time.Date(2026, 12, 1, 0, 0, 0, 0, mexico)
	for _, tc := range []struct {
		name     string
		book     bool      // a visit is booked (and moved) while he is opted out
		optIn    time.Time // ALTA
		reminder bool      // a reminder follows at 18:00
	}{
		{"before the reminder hour", true, monday(12, 0), true},
		{"after the reminder hour", true, monday(20, 0), false},
		{"no visit", false, monday(12, 0), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newOptInWorld(t)
			w.say(t, monday(6, 50), "BAJA")
			if tc.book {
				for _, h := range []int{10, 14} {
					win := dispatch.Span{Start: tue.Add(time.Duration(h) * time.Hour), End: tue.Add(time.Duration(h+2) * time.Hour)}
					if _, err := w.visits.Book(ctx, w.visit, win, nil, w.now); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := w.say(t, tc.optIn, "ALTA"); !strings.Contains(got, "recibir mensajes de Despacho") {
				t.Errorf("reply to ALTA = %q; want the opt-in confirmation", got)
			}
			w.deliver(t, tc.optIn)
			// START again, and BAJA then ALTA: nothing more.
			w.say(t, tc.optIn.Add(time.Minute), "START")
			w.say(t, tc.optIn.Add(2*time.Minute), "BAJA")
			w.say(t, tc.optIn.Add(3*time.Minute), "ALTA")
			w.deliver(t, tc.optIn.Add(4*time.Minute))
			got := w.twilio()
			if !tc.book {
				if len(got) != 0 || len(w.texts(t)) != 0 {
					t.Errorf("texts sent: %q; want none besides the replies", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], "agendada el mar 1 dic, 14:00-16:00") ||
				!strings.Contains(got[0], "Juan") || !strings.Contains(got[0], w.folio) {
				t.Fatalf("texts sent after opting in at %s:\n%s\nwant one: the visit booked for mar 1 dic, 14:00-16:00 with Juan, folio %s",
					tc.optIn.Format("15:04"), strings.Join(got, "\n"), w.folio)
			}
			w.deliver(t, monday(18, 5))
			got = w.twilio()
			want := 1
			if tc.reminder {
				want = 2
			}
			if len(got) != want || want == 2 && !strings.HasPrefix(got[1], "Recordatorio: mañana mar 1 dic, 14:00-16:00 lo visita Juan") {
				t.Errorf("texts sent by 18:05:\n%s\nwant %d (the booked text%s)", strings.Join(got, "\n"), want,
					map[bool]string{true: ", then the reminder of 14:00-16:00 naming Juan"}[tc.reminder])
			}
			for _, b := range got {
				if strings.Contains(b, "10:00-12:00") {
					t.Errorf("a text named the stale window: %q", b)
				}
			}
		})
	}
}

// TestOptInAndHookRenderVisitTextsAlike: a visit whose booking named no technician. The
// hook's reminder said "lo visita  (folio …)" and its booked text "Técnico: ." while the
// opt-in's reminder said "lo visita el técnico": the two rendered the same texts apart.
// Both now render a visit's window texts through one function: the booked text and the
// reminder read the same whichever path queued them.
func TestOptInAndHookRenderVisitTextsAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	monday := func(h int) time.Time { return time.Date(2026, 11, 30, h, 0, 0, 0, mexico) }
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, mexico)
	data := map[string]any{"window_start": start.UTC(), "window_end": start.Add(2 * time.Hour).UTC()}
	bodies := func(w *visitWorld) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range outbox(t, w.e.db) {
			if r.VisitID == w.visit && r.State == "pending" {
				out[r.Kind] = strings.ReplaceAll(r.Body, w.folio, "FOLIO")
			}
		}
		return out
	}

	// book books w's visit for Tuesday 10:00-12:00 with an event that names no technician.
	book := func(w *visitWorld) {
		t.Helper()
		var rid int64
		if err := w.e.db.QueryRowContext(ctx, `UPDATE visits SET status = 'booked', window_start = ?, window_end = ?
			WHERE id = ? RETURNING report_id`, start, start.Add(2*time.Hour), w.visit).Scan(&rid); err != nil {
			t.Fatal(err)
		}
		appendEvent(t, w.e.db, w.e.events, dispatch.Event{Type: "visit.booked", At: monday(7), ReportID: rid, VisitID: w.visit}, data)
	}

	// The hook: the customer accepts texts when the visit is booked.
	hw := newOptInWorld(t)
	book(hw.visitWorld)
	hook := bodies(hw.visitWorld)

	// Opting in: the customer was opted out when the visit was booked.
	ow := newOptInWorld(t)
	ow.say(t, monday(6), "BAJA")
	book(ow.visitWorld)
	ow.say(t, monday(12), "ALTA")
	optIn := bodies(ow.visitWorld)

	for _, k := range []string{"booked", "reminder"} {
		if hook[k] == "" || hook[k] != optIn[k] {
			t.Errorf("%s text\nby the hook:   %q\nby an opt-in: %q\nwant the same text", k, hook[k], optIn[k])
		}
	}
	if want := "lo visita el técnico (folio FOLIO)"; !strings.Contains(hook["reminder"], want) {
		t.Errorf("reminder = %q; want %q", hook["reminder"], want)
	}
	if want := "Técnico: por asignar."; !strings.Contains(hook["booked"], want) {
		t.Errorf("booked text = %q; want %q", hook["booked"], want)
	}
}
