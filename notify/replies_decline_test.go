package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestNoThanksIsNotStillDown: "No, gracias" lost its courtesy in Keyword and became "NO",
// which answers a restore notice "still down": to the notice of an outage a customer did
// not report ("si aún no tiene servicio, responda 2 y abriremos un reporte") it filed a
// fault report, and to the restore notice of his own report it reopened the report with a
// new visit. It is a polite refusal: a note on the report it answers, nothing at all when
// no report is open. "No" alone still says the service is down.
func TestNoThanksIsNotStillDown(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"No, gracias": "NO GRACIAS", "no gracias!!": "NO GRACIAS", "No muchas gracias 🙂": "NO MUCHAS GRACIAS",
		"No thanks": "NO THANKS", "No": "NO", "No, por favor": "NO", "Sí, gracias": "SI",
	} {
		if got := notify.Keyword(text); got != want {
			t.Errorf("Keyword(%q) = %q; want %q", text, got, want)
		}
	}
	if notify.StillDown(notify.Keyword("No, gracias")) {
		t.Error(`StillDown("No, gracias") = true; want false`)
	}

	w := newIncidentWorld(t, true, postgres.IncidentsConfig{TextAccessPoint: true}, func(c *notify.Config) { c.Quiet = notify.QuietHours{} })
	ctx := context.Background()
	now := time.Now().UTC()
	ap := "TORRE-" + randomHex(3)
	a, aPhone := w.fault(ap, now.Add(-3*time.Hour))
	b, bPhone := w.fault(ap, now.Add(-3*time.Hour))
	area := w.onAccessPoint(ap, "es", false)
	area2 := w.onAccessPoint(ap, "es", false)
	inc := w.open(ap, now.Add(-4*time.Hour), now.Add(-time.Hour))
	w.resolve(inc.ID, now)
	w.sendAll()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := w.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	reports := count("SELECT count(*) FROM reports")

	// The area customer turns down the offer of a report: nothing is filed, nothing answered.
	if _, reply := w.hooks.text(twiliotest.NewSID(), area, "No, gracias"); reply != "" {
		t.Errorf("area customer's \"No, gracias\" = %q; want no reply", reply)
	}
	if n := count("SELECT count(*) FROM reports"); n != reports {
		t.Errorf("\"No, gracias\" to the area notice filed %d reports; want none", n-reports)
	}
	// "2" from another one still files his report.
	if _, reply := w.hooks.text(twiliotest.NewSID(), area2, "2"); !strings.HasPrefix(reply, "Recibimos su reporte. Folio: ") {
		t.Errorf("area customer's \"2\" = %q; want a new report's folio", reply)
	}

	// The reporter's "No, gracias" leaves his report resolved, with the words as a note.
	if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, "No, gracias"); reply != notify.Fit("Agregamos su mensaje al folio "+a.Folio+".") {
		t.Errorf("A's \"No, gracias\" = %q; want it noted on %s", reply, a.Folio)
	}
	if st, _ := w.reportState(a.ID); st != "resolved" {
		t.Errorf("A's report after \"No, gracias\" = %s; want resolved", st)
	}
	if n := count("SELECT count(*) FROM events WHERE report_id = ? AND type = 'report.note_added'", a.ID); n != 1 {
		t.Errorf("A's report has %d notes; want 1", n)
	}
	// "No" alone still reopens.
	if _, reply := w.hooks.text(twiliotest.NewSID(), bPhone, "No"); reply != notify.Fit("Reabrimos su reporte "+b.Folio+" y programaremos una visita técnica.") {
		t.Errorf("B's \"No\" = %q; want the report reopened", reply)
	}
}

// TestQuestionMarkGetsHelp: a text of only "?" was taken for an acknowledgement (no words
// left once punctuation is dropped) and answered with nothing; the customer asking what to
// write gets the help text, and nothing is filed.
func TestQuestionMarkGetsHelp(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	from := phone()
	for _, body := range []string{"?", "¿?", " ??? "} {
		if _, r := h.text(twiliotest.NewSID(), from, body); !strings.HasPrefix(r, "Despacho: responda 1") {
			t.Errorf("%q answered %q; want the help text", body, r)
		}
	}
	if n := h.count("SELECT count(*) FROM reports"); n != 0 {
		t.Errorf("%d reports filed by question marks; want none", n)
	}
}
