package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/notify"
)

// midSend is the Twilio sender with a change made while its first text is being sent:
// after Twilio answered and before the worker records the answer, the row still claimed.
type midSend struct {
	*notify.Twilio
	once   sync.Once
	change func()
}

func (s *midSend) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	res, err := s.Twilio.Send(ctx, m)
	s.once.Do(s.change)
	return res, err
}

// TestSupersededWhileSendingIsNotRetried: a visit's text is being sent when the visit
// changes; Twilio refuses it for the moment (429, or a 503 that may have created it) and
// the worker puts it back for a retry. The change cancelled the visit's texts it made
// untrue only while they were queued, so this one, claimed then, was sent after the
// change's own text on its retry: the customer's last word was the old window, or "on the
// way" after the outcome. Now the change marks it, and the worker that claims it again
// cancels it: Twilio gets the new text, once, and never the stale one.
func TestSupersededWhileSendingIsNotRetried(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		for _, sc := range []struct {
			name   string
			first  string         // the event whose text is being sent
			data   map[string]any // its data
			then   []string       // the change, while it is sent
			want   string         // what the customer's one text says
			stale  string         // what it must not say
			stales string         // the stale text's kind
		}{
			{name: "window moved", first: "visit.booked", then: []string{"visit.rescheduled"},
				want: "14:00-16:00", stale: "10:00-12:00", stales: "booked"},
			{name: "done while on the way", first: "visit.en_route", then: []string{"visit.on_site", "visit.completed"},
				want: "atendido", stale: "en camino", stales: "en_route"},
		} {
			t.Run(fmt.Sprintf("%d/%s", status, sc.name), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, true)
				rid, _ := report(t, e.db, customer(t, e.db, phone(), "es", false), "fault", "phone")
				clock := time.Now().Add(time.Minute)                                              // texts queued from now on are due
				a := time.Date(clock.Year(), clock.Month(), clock.Day()+3, 16, 0, 0, 0, time.UTC) // 10:00 in Mexico City
				b := a.Add(4 * time.Hour)
				data := map[string]map[string]any{
					"visit.booked":      {"window_start": a, "window_end": a.Add(2 * time.Hour), "technician_name": "Luis"},
					"visit.rescheduled": {"window_start": b, "window_end": b.Add(2 * time.Hour), "technician_name": "Luis"},
					"visit.en_route":    {"eta": clock.Add(30 * time.Minute)},
					"visit.completed":   {"cause": "conector", "verdict": "upheld", "service_restored": true},
				}
				at := func(typ string) {
					t.Helper()
					appendEvent(t, e.db, e.events, dispatch.Event{Type: typ, At: clock, ReportID: rid, VisitID: 1}, data[typ])
				}
				opt := fastOptions()
				opt.Now = func() time.Time { return clock }
				opt.Events = e.events
				opt.BackoffBase, opt.BackoffMax = 10*time.Minute, 10*time.Minute // Twilio busy: retry in minutes
				sender := &midSend{Twilio: e.twilio(), change: func() {
					for _, typ := range sc.then {
						at(typ)
					}
				}}
				w := notify.NewWorker(e.db, sender, opt)

				e.fake.FailNext(status)
				at(sc.first)
				drain(t, w) // the first text fails while the visit changes; the change's text goes
				clock = clock.Add(time.Hour)
				drain(t, w) // the retry is due

				var got []string
				for _, m := range e.fake.Messages() {
					got = append(got, m.Body)
				}
				if len(got) != 1 || !strings.Contains(got[0], sc.want) || strings.Contains(got[0], sc.stale) {
					t.Errorf("texts at Twilio, in order:\n%s\nwant one, saying %q (never %q)", strings.Join(got, "\n"), sc.want, sc.stale)
				}
				if creates, _ := e.fake.Counts(); creates != 2 {
					t.Errorf("Twilio got %d create requests; want 2 (the refused one, the new text)", creates)
				}
				for _, r := range outbox(t, e.db) {
					if r.Kind == sc.stales && r.State != "cancelled" {
						t.Errorf("stale %s text is %s after %d attempts; want cancelled", r.Kind, r.State, r.Attempts)
					}
				}
			})
		}
	}
}

// drain runs wk's steps until nothing is due.
func drain(t *testing.T, wk *notify.Worker) {
	t.Helper()
	for {
		n, err := wk.Step(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}
