package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/postgres"
	"despacho/notify/twiliotest"
)

// TestAcknowledgementsNeverOpenAReport: "Gracias" in answer to a booking text, from a
// customer whose report was closed meanwhile (cancelled by phone after the booking), was
// filed as a new report "Gracias", with its folio text in reply. An acknowledgement
// ("gracias", "ok", a 👍) asks for nothing, whatever it answers: it opens no report, adds
// no note to an open one and gets no reply, as it does after a restore notice. A picture
// without words to a booking still gets the help text.
func TestAcknowledgementsNeverOpenAReport(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	ctx := context.Background()
	now := time.Now().UTC()
	reports := func() int { return w.hooks.count("SELECT count(*) FROM reports") }
	notes := func(id int64) int {
		return w.hooks.count("SELECT count(*) FROM events WHERE report_id = ? AND type = 'report.note_added'", id)
	}
	acks := []string{"Gracias", "Muchas gracias!", "Ok, gracias 👍", "👍", "Perfecto", "ok"}

	// A was texted his booking, then his report was cancelled: he has nothing open.
	a, aPhone := w.fault("TORRE-"+randomHex(3), now.Add(-2*time.Hour))
	w.bookVisit(a.ID, now.Add(48*time.Hour))
	if _, err := w.db.ExecContext(ctx, "UPDATE reports SET status = 'cancelled' WHERE id = ?", a.ID); err != nil {
		t.Fatal(err)
	}
	before := reports()
	for _, body := range acks {
		if code, reply := w.hooks.text(twiliotest.NewSID(), aPhone, body); code != 200 || reply != "" {
			t.Errorf("A's %q to his booking: %d %q; want 200 and no reply", body, code, reply)
		}
	}
	if n := reports(); n != before {
		t.Errorf("%d reports filed by A's acknowledgements; want none", n-before)
	}

	// B's report is open: his thanks for the booking are no note on it (an "ok" confirms
	// it: TestAgreementConfirmsTheBookedVisit).
	b, bPhone := w.fault("TORRE-"+randomHex(3), now.Add(-time.Hour))
	w.bookVisit(b.ID, now.Add(48*time.Hour))
	thanks := []string{"Gracias", "Muchas gracias!", "👍", "Mil gracias."}
	for _, body := range thanks {
		if _, reply := w.hooks.text(twiliotest.NewSID(), bPhone, body); reply != "" {
			t.Errorf("B's %q to his booking = %q; want no reply", body, reply)
		}
	}
	if n := notes(b.ID); n != 0 {
		t.Errorf("B's acknowledgements became %d notes; want none", n)
	}
	// A picture without words still gets the help text.
	if _, reply := w.hooks.text(twiliotest.NewSID(), bPhone, ""); reply == "" {
		t.Error("B's blank text got no reply; want the help text")
	}

	// A number never texted, and with no report, thanks us: nothing is filed.
	stranger := phone()
	if _, reply := w.hooks.text(twiliotest.NewSID(), stranger, "Gracias!"); reply != "" {
		t.Errorf("a stranger's thanks = %q; want no reply", reply)
	}
	if n := reports(); n != before+1 {
		t.Errorf("%d reports after the acknowledgements; want only B's new", n-before)
	}
	if n := w.hooks.count("SELECT count(*) FROM sms_inbound WHERE action = 'ack'"); n != len(acks)+len(thanks)+1 {
		t.Errorf("%d inbound texts recorded as acknowledgements; want %d", n, len(acks)+len(thanks)+1)
	}
}

// TestAgreementConfirmsTheBookedVisit: the booking text asks "Responda 1 para confirmar";
// many customers answer "Ok", "Perfecto" or "De acuerdo" instead. Those confirm the visit
// the text was about, as "1" does, and get the same answer; "Gracias" or a 👍 confirm
// nothing. An agreement with no visit to confirm is an acknowledgement: no reply.
func TestAgreementConfirmsTheBookedVisit(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	now := time.Now().UTC()
	confirmed := func(vid int64) int {
		return w.hooks.count("SELECT count(*) FROM events WHERE visit_id = ? AND type = 'visit.confirmed'", vid)
	}
	for _, body := range []string{"Ok", "perfecto, gracias", "De acuerdo 👍", "Vale"} {
		r, ph := w.fault("TORRE-"+randomHex(3), now.Add(-time.Hour))
		vid := w.bookVisit(r.ID, now.Add(48*time.Hour))
		if _, reply := w.hooks.text(twiliotest.NewSID(), ph, "Gracias"); reply != "" || confirmed(vid) != 0 {
			t.Errorf("%q to the booking: reply %q, %d confirmations; want none", "Gracias", reply, confirmed(vid))
		}
		if _, reply := w.hooks.text(twiliotest.NewSID(), ph, body); !strings.Contains(reply, "confirm") || confirmed(vid) != 1 {
			t.Errorf("%q to the booking: reply %q, %d confirmations; want it confirmed, as 1 does", body, reply, confirmed(vid))
		}
	}
}
