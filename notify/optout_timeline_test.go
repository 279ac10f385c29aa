package notify_test

import (
	"context"
	"encoding/json"
	"testing"

	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestOptOutOnTheTimeline: a customer who texted BAJA was no longer texted, and the folio's
// timeline said nothing of it: an agent saw the texts stop (at most "SMS no enviado") with
// no why. The opt-out, and the opt-in that undoes it, are steps on the timeline of each of
// his reports still worked on (not a closed one), once per change, by the customer through
// SMS with the word he sent; an opt-out at the carrier (Twilio's 21610) is one too, by the
// carrier.
func TestOptOutOnTheTimeline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHooks(t)
	from := phone()
	cid := customer(t, h.db, from, "es", false)
	open, _ := report(t, h.db, cid, "fault", "phone")
	closed, _ := report(t, h.db, cid, "complaint", "phone")
	if _, err := h.db.ExecContext(ctx, "UPDATE reports SET status = 'closed' WHERE id = ?", closed); err != nil {
		t.Fatal(err)
	}
	steps := func(rid int64) []string {
		t.Helper()
		tl, err := postgres.Timeline(ctx, h.db, rid)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range tl {
			if e.Type == "sms.opted_out" || e.Type == "sms.opted_in" {
				var d struct {
					Text string `json:"text"`
				}
				_ = json.Unmarshal(e.Data, &d)
				out = append(out, e.Type+" "+e.Actor+" "+e.Channel+" "+d.Text)
			}
		}
		return out
	}
	h.text(twiliotest.NewSID(), from, "BAJA")
	h.text(twiliotest.NewSID(), from, "baja") // already out: no new step
	h.text(twiliotest.NewSID(), from, "ALTA")
	got, want := steps(open), []string{"sms.opted_out customer sms BAJA", "sms.opted_in customer sms ALTA"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("open report's consent steps = %q; want %q", got, want)
	}
	if got := steps(closed); len(got) != 0 {
		t.Errorf("closed report's consent steps = %q; want none", got)
	}

	// Unsubscribed at the carrier: the first text refused with 21610 says so.
	e := &env{db: h.db, cfg: testConfig(t, h.fake), fake: h.fake, events: h.events}
	e.cfg.Location = mexico
	h.fake.Unsubscribe(from)
	enqueue(t, h.db, from, "hola")
	drain(t, notify.NewWorker(h.db, e.twilio(), fastOptions()))
	if got := steps(open); len(got) != 3 || got[2] != "sms.opted_out twilio sms error 21610" {
		t.Errorf("open report's consent steps after 21610 = %q; want a third: the carrier's opt-out", got)
	}
}
