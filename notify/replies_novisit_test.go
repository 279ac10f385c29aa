package notify_test

import (
	"strings"
	"testing"

	"despacho/notify"
	"despacho/notify/twiliotest"
)

// TestConfirmWithoutVisitTellsTheOpenReport: "1" (or "2") from a customer with no visit
// booked was answered "Escriba su reporte y le daremos un folio", and a customer whose
// fault was already reported wrote it again: a second report of one fault. With a report
// open he is told where it stands (its folio, being attended), in his language; with none,
// nothing is filed and the short answer says how to report.
func TestConfirmWithoutVisitTellsTheOpenReport(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	from := phone()
	_, folio := report(t, h.db, customer(t, h.db, from, "es", false), "fault", "phone")
	want := notify.Fit("No tiene una visita agendada. Su reporte " + folio + " está en atención; le avisaremos por este medio.")
	for _, body := range []string{"1", "Sí", "2", "cambiar"} {
		if _, r := h.text(twiliotest.NewSID(), from, body); r != want {
			t.Errorf("%q without a visit answered %q; want %q", body, r, want)
		}
	}
	en := phone()
	_, enFolio := report(t, h.db, customer(t, h.db, en, "en", false), "fault", "phone")
	if _, r := h.text(twiliotest.NewSID(), en, "yes"); r != "You have no visit booked. Your report "+enFolio+" is being attended to; we will text you with any news." {
		t.Errorf("English yes without a visit answered %q; want his report's state", r)
	}
	if n := h.count("SELECT count(*) FROM reports"); n != 2 {
		t.Errorf("%d reports after the answers; want the 2 filed before", n)
	}
	recorded := h.count("SELECT count(*) FROM sms_inbound WHERE from_phone = ? AND action LIKE '%_no_visit' AND report_id IS NOT NULL", from)
	if recorded != 4 {
		t.Errorf("%d inbound texts recorded against his report; want 4", recorded)
	}

	// No report at all: nothing is filed, and the answer names no folio.
	stranger := phone()
	_, r := h.text(twiliotest.NewSID(), stranger, "1")
	if want := notify.Fit("No encontramos una visita ni un reporte abierto a su nombre. Si tiene una falla, descríbala en un mensaje y le daremos un folio."); r != want {
		t.Errorf("1 from a number with no report answered %q; want %q", r, want)
	}
	if strings.Contains(r, "R-") {
		t.Errorf("answer %q names a folio", r)
	}
	if n := h.count("SELECT count(*) FROM reports"); n != 2 {
		t.Errorf("%d reports after a stranger's 1; want still 2", n)
	}
}
