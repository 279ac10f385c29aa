package notify_test

import (
	"strings"
	"testing"
	"time"

	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestRescheduleReplyOffersTheBookingPage: "2" to a booking was queued for a dispatcher
// ("Pide otra hora") and answered only "le llamaremos", though the customer can pick
// another window himself on his folio's page (its "Elegir otro horario", behind the access
// code his folio text carried). The answer links that page while the booking page would
// take his visit; a visit an outage holds cannot be moved online, and gets no link.
func TestRescheduleReplyOffersTheBookingPage(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	now := time.Now().UTC()

	a, aPhone := w.fault("TORRE-"+randomHex(3), now.Add(-time.Hour))
	w.bookVisit(a.ID, now.Add(48*time.Hour))
	want := notify.Fit("Recibimos su solicitud (folio " + a.Folio + "): le llamaremos para acordar otro horario. También puede elegirlo en " +
		w.cfg.StatusURL(a.Folio) + " con el código de acceso del mensaje de su folio.")
	if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, "2"); reply != want {
		t.Errorf("A's \"2\" = %q; want %q", reply, want)
	}
	if n := w.hooks.count("SELECT count(*) FROM events WHERE report_id = ? AND type = 'visit.reschedule_requested'", a.ID); n != 1 {
		t.Errorf("%d reschedule requests on A's report; want 1 (still queued for a dispatcher)", n)
	}
	// "1" confirms; it has nothing to pick.
	if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, "1"); strings.Contains(reply, "/estado/") {
		t.Errorf("A's \"1\" = %q; want no link", reply)
	}

	// B's booked visit is held by an outage in his area: the page would refuse it.
	ap := "TORRE-" + randomHex(3)
	b, bPhone := w.fault(ap, now.Add(-2*time.Hour))
	w.bookVisit(b.ID, now.Add(48*time.Hour))
	w.open(ap, now.Add(-3*time.Hour), now)
	_, reply := w.hooks.text(twiliotest.NewSID(), bPhone, "2")
	if !strings.HasPrefix(reply, "Recibimos su solicitud (folio "+b.Folio+")") || strings.Contains(reply, "/estado/") {
		t.Errorf("B's \"2\" with his visit held = %q; want the request received and no link", reply)
	}
}
