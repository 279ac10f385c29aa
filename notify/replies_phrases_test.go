package notify_test

import (
	"testing"
	"time"

	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestCourtesyIsNotStillDown: "de nada" in answer to a restore notice was read as "nada"
// (nothing works) and reopened the report with a new visit. The still-down words and
// phrases are read as the customer meant them: courtesy ("de nada", "por nada", "no hay de
// qué", "no hay problema") and good news ("nada mal", "nada más para avisar que ya
// funciona", "ya no hay fallas") say nothing of a fault, and a phrase is matched as whole
// words ("bueno tengo internet" holds no "no tengo"); "ya nada", "no hay nada" and the
// plural "no funcionan" still say the service is down.
func TestCourtesyIsNotStillDown(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		"de nada": false, "De nada, gracias": false, "por nada": false, "nada mal": false, "Nada mal, gracias": false,
		"Nada más para avisar que ya funciona": false, "no hay de qué": false, "No hay problema": false,
		"ya no hay fallas": false, "Ya no tengo fallas": false, "no tengo ningún problema": false,
		"bueno tengo internet otra vez": false, "uno funciona y el otro también": false,
		// Still down, as before.
		"nada": true, "hoy ya nada": true, "no hay nada": true, "no hay internet": true, "no funcionan": true,
		"sigue sin señal": true, "los focos no sirven": true, "No hay problema, pero sigue sin internet": true,
		"de nada sirvió el reinicio, no tengo internet": true, "sigue igual": true,
	} {
		if got := notify.StillDown(notify.Keyword(text)); got != want {
			t.Errorf("StillDown(%q) = %v; want %v", text, got, want)
		}
	}
}

// TestCourtesyToRestoreNotice: through the webhook, "de nada" to a restore notice leaves the
// report resolved and gets no reply, as any acknowledgement; "nada mal" is no "still down"
// either; "ya nada" still reopens.
func TestCourtesyToRestoreNotice(t *testing.T) {
	t.Parallel()
	w := newIncidentWorld(t, true, postgres.IncidentsConfig{})
	now := time.Now().UTC()
	ap := "TORRE-" + randomHex(3)
	a, aPhone := w.fault(ap, now.Add(-3*time.Hour))
	b, bPhone := w.fault(ap, now.Add(-2*time.Hour))
	c, cPhone := w.fault(ap, now.Add(-2*time.Hour))
	inc := w.open(ap, now.Add(-4*time.Hour), now.Add(-time.Hour))
	w.resolve(inc.ID, now)

	for _, body := range []string{"De nada", "de nada, gracias", "Por nada 🙂"} {
		if _, reply := w.hooks.text(twiliotest.NewSID(), aPhone, body); reply != "" {
			t.Errorf("A's %q = %q; want no reply", body, reply)
		}
	}
	if st, _ := w.reportState(a.ID); st != "resolved" {
		t.Errorf("A's report after \"de nada\" = %s; want resolved", st)
	}
	if _, reply := w.hooks.text(twiliotest.NewSID(), bPhone, "Nada mal"); reply == notify.Fit("Reabrimos su reporte "+b.Folio+" y programaremos una visita técnica.") {
		t.Errorf("B's \"Nada mal\" = %q; want no reopening", reply)
	}
	if st, _ := w.reportState(b.ID); st != "resolved" {
		t.Errorf("B's report after \"nada mal\" = %s; want resolved", st)
	}
	if _, reply := w.hooks.text(twiliotest.NewSID(), cPhone, "ya nada"); reply != notify.Fit("Reabrimos su reporte "+c.Folio+" y programaremos una visita técnica.") {
		t.Errorf("C's \"ya nada\" = %q; want the report reopened", reply)
	}
}
