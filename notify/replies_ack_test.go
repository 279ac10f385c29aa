package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestRestoreNoticeAcknowledgements: answers to a restore notice are read as the QA pass
// expected. "Gracias", "ok", a 👍 or a picture file nothing and get no reply; "ya regresó"
// confirms; "sigue igual" reopens the report the notice told, not another open folio of
// the customer's, and other words go on that report as a note; a blank text to a booking
// gets the help text, not an empty note.
func TestRestoreNoticeAcknowledgements(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	ctx := context.Background()
	now := time.Now().UTC()
	ap := "TORRE-" + randomHex(3)

	// Each customer's restore notice is their last text. A also has an open inquiry,
	// filed before the outage, that the incident does not touch.
	a, aPhone := w.fault(ap, now.Add(-3*time.Hour))
	other := w.otherReport(aPhone, ap, now.Add(-3*time.Hour))
	b, bPhone := w.fault(ap, now.Add(-2*time.Hour))
	c, cPhone := w.fault(ap, now.Add(-2*time.Hour))
	inc := w.open(ap, now.Add(-4*time.Hour), now.Add(-time.Hour))
	w.resolve(inc.ID, now)

	reports := func() int {
		var n int
		if err := w.db.QueryRowContext(ctx, "SELECT count(*) FROM reports").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	notes := func(id int64) int {
		var n int
		if err := w.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE report_id = ? AND type = 'report.note_added'", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := reports()

	// 1. Acknowledgements: no report, no note, no reply.
	for _, body := range []string{"Gracias!", "ok", "Ok gracias", "👍", "Perfecto, muchas gracias", "Enterado", ""} {
		if code, reply := w.hooks.text(twiliotest.NewSID(), bPhone, body); code != 200 || reply != "" {
			t.Errorf("B's %q to the restore notice: %d %q; want 200 and no reply", body, code, reply)
		}
	}
	if n := reports(); n != before {
		t.Errorf("%d reports filed by acknowledgements; want none", n-before)
	}
	if st, _ := w.reportState(b.ID); st != "resolved" || notes(b.ID) != 0 {
		t.Errorf("B's report after acknowledgements = %s with %d notes; want resolved, none", st, notes(b.ID))
	}
	// "ya regresó el internet" says it is back.
	if _, reply := w.hooks.text(twiliotest.NewSID(), cPhone, "ya regresó el internet"); !strings.Contains(reply, "confirmar que su servicio funciona (folio "+c.Folio) {
		t.Errorf("C's \"ya regresó el internet\" = %q; want thanks for confirming", reply)
	}
	if n := reports(); n != before {
		t.Errorf("%d reports filed by \"ya regresó\"; want none", n-before)
	}

	// 2. A's "sigue igual" answers the notice of his report a: it reopens, the other folio
	// is untouched.
	want := notify.Fit("Reabrimos su reporte " + a.Folio + " y programaremos una visita técnica.")
	if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, "sigue igual"); reply != want {
		t.Errorf("A's \"sigue igual\" = %q; want %q", reply, want)
	}
	if st, _ := w.reportState(a.ID); st != "open" {
		t.Errorf("A's report after \"sigue igual\" = %s; want open", st)
	}
	if n := notes(other.ID); n != 0 {
		t.Errorf("A's other folio got %d notes; want none", n)
	}

	// 3. A blank text to a booking is not stored as a note: the help text answers it.
	d, dPhone := w.fault("OTRA-"+randomHex(3), now.Add(-time.Hour))
	w.bookVisit(d.ID, now.Add(48*time.Hour))
	if _, reply := w.hooks.text(twiliotest.NewSID(), dPhone, "  "); !strings.HasPrefix(reply, "Despacho: responda 1") {
		t.Errorf("D's blank text = %q; want the help text", reply)
	}
	if n := notes(d.ID); n != 0 {
		t.Errorf("D's blank text became %d notes; want none", n)
	}
}

// TestRestoreNoticeWordsNoteTheToldReport: words that neither say "still down" nor "back",
// in answer to the restore notice of a resolved report, go on that report as a note, not
// on another open folio of the customer's.
func TestRestoreNoticeWordsNoteTheToldReport(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	ctx := context.Background()
	now := time.Now().UTC()
	ap := "TORRE-" + randomHex(3)
	a, aPhone := w.fault(ap, now.Add(-3*time.Hour))
	other := w.otherReport(aPhone, ap, now.Add(-3*time.Hour))
	inc := w.open(ap, now.Add(-4*time.Hour), now.Add(-time.Hour))
	w.resolve(inc.ID, now)

	want := notify.Fit("Agregamos su mensaje al folio " + a.Folio + ".")
	if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, "El módem parpadea en rojo"); reply != want {
		t.Errorf("A's words = %q; want %q", reply, want)
	}
	var onA, onOther int
	if err := w.db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE report_id = ?), count(*) FILTER (WHERE report_id = ?)
		FROM events WHERE type = 'report.note_added'`, a.ID, other.ID).Scan(&onA, &onOther); err != nil {
		t.Fatal(err)
	}
	if onA != 1 || onOther != 0 {
		t.Errorf("notes: %d on the told report, %d on the other folio; want 1 and 0", onA, onOther)
	}
}

func TestStillDownAndRestoredPhrases(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"sigue igual": true, "Igual": true, "nada": true, "sigue sin internet": true, "no ha regresado": true,
		"no volvió": true, "volvió a fallar": true, "Gracias, igualmente": false, "ya volvió": false, "ya quedó": false,
	} {
		if got := notify.StillDown(notify.Keyword(text)); got != want {
			t.Errorf("StillDown(%q) = %v; want %v", text, got, want)
		}
	}
}

// otherReport files an open inquiry by the customer of ap by the customer with phone p, made at.
func (w *incidentWorld) otherReport(p, ap string, at time.Time) *dispatch.Report {
	w.tb.Helper()
	in := dispatch.ReportInput{Channel: "phone", Kind: "inquiry", Description: "¿Cuánto cuesta el plan de 50 megas?",
		Customer: dispatch.CustomerInput{Name: "Cliente " + p, Phone: p, AccessPoint: ap}}
	nr, err := in.Validate(at)
	if err != nil {
		w.tb.Fatal(err)
	}
	c, _, err := w.reports.Create(context.Background(), nr, w.staff, postgres.CreateOptions{Trusted: true})
	if err != nil {
		w.tb.Fatal(err)
	}
	return c.Report
}
