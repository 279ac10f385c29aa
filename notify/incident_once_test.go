package notify_test

import (
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// TestOneTextWhenOwnReportOpensIncident: a customer with a fault reported hours ago reports
// it again, and his new report is the one that makes the incident rule open an outage on
// his access point (it counts customers: his first report is older than the rule's
// window). Both his reports are attached in that one transaction, and he was texted twice
// for it: the new report's folio text as a known outage ("falla conocida"), then the
// incident notice for his first report. He gets the one folio text, in either order of the
// hooks, and his notice is withdrawn; the neighbour who reported in the window still gets
// the incident notice.
func TestOneTextWhenOwnReportOpensIncident(t *testing.T) {
	t.Parallel()
	rule := postgres.IncidentsConfig{Rule: dispatch.IncidentRule{Threshold: 2, Window: 30 * time.Minute}}
	for _, order := range []struct {
		name          string
		incidentFirst bool
	}{{"outbox hook first, as serve", false}, {"incident hook first", true}} {
		t.Run(order.name, func(t *testing.T) {
			t.Parallel()
			w := newHookedWorld(t, order.incidentFirst, rule)
			now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // Wednesday 12:00 in Mexico City
			ap := "NODO-" + randomHex(3)
			xPhone := phone()
			first := w.faultIn(xPhone, "es", ap, now.Add(-2*time.Hour))
			w.sendAll()
			_, yPhone := w.fault(ap, now)
			second := w.faultIn(xPhone, "es", ap, now.Add(5*time.Minute))
			_, inc := w.reportIncident(second.ID)
			if _, inc1 := w.reportIncident(first.ID); inc == 0 || inc1 != inc {
				t.Fatalf("X's reports attached to %d and %d; want both to the incident the rule opened", inc1, inc)
			}
			rows := w.sendAll()
			got := w.textsTo(xPhone)
			if len(got) != 2 {
				t.Fatalf("X received %d texts %q; want his first folio text, then one for the outage", len(got), got)
			}
			for _, s := range []string{second.Folio, "falla conocida en su zona"} {
				if !strings.Contains(got[1], s) {
					t.Errorf("X's text for the outage = %q; want it to contain %q", got[1], s)
				}
			}
			if k := textsTo(rows)[yPhone]; strings.Join(k, " ") != "folio incident" {
				t.Errorf("Y's texts = %v; want folio incident", k)
			}
			for _, r := range rows {
				if r.To == xPhone && r.Kind == string(notify.KindIncident) && r.State != "cancelled" {
					t.Errorf("X's incident notice is %s; want it withdrawn", r.State)
				}
			}
		})
	}

}
