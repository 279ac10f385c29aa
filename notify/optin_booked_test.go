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

// TestOptInAndHookRenderVisitTextsAlike: a visit whose booking named no technician. The
// hook's reminder said "lo visita  (folio …)" and its booked text "Técnico: ." while the
// opt-in's reminder said "lo visita el técnico": the two rendered the same texts apart.
// Both now render a visit's window texts through one function: the reminder reads the same
// whichever path queued it.
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

	for _, k := range []string{"reminder"} {
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
