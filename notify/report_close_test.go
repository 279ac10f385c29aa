package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// TestClosingReportTextsOnce: a report resolved or cancelled at the desk cancels its booked
// visit (postgres TestClosingReportCancelsItsVisits). The customer gets one text for it:
// when the report is cancelled, that the visit of its window is cancelled and why (the
// reason written for customers, not the agent's "duplicado"); when it is resolved,
// the outcome only (the visit's cancellation texts nothing). The reminder of the visit is
// not sent either way.
func TestClosingReportTextsOnce(t *testing.T) {
	t.Parallel()
	yes := true
	for _, tc := range []struct {
		change      dispatch.Change
		visitTexts  string
		reportTexts string
	}{
		{dispatch.Change{Action: dispatch.ActionCancel, Reason: "duplicado"}, "[booked/sent reminder/cancelled cancelled/pending]", "[folio]"},
		{dispatch.Change{Action: dispatch.ActionResolve, Cause: "reinicio del módem", Verdict: "upheld", ServiceRestored: &yes},
			"[booked/sent reminder/cancelled]", "[folio completed]"},
	} {
		t.Run(string(tc.change.Action), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newVisitWorld(t)
			tue := w.now.Add(24 * time.Hour)
			if _, err := w.visits.Book(ctx, w.visit, dispatch.Span{Start: tue.Add(3 * time.Hour), End: tue.Add(5 * time.Hour)}, nil, w.now); err != nil {
				t.Fatal(err)
			}
			sendDue(t, w.e.db)
			reports := postgres.NewReports(w.e.db, w.e.events, dispatch.SLA{})
			if _, err := reports.Change(ctx, w.folio, tc.change, postgres.Origin{Actor: "agent"}, w.now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(w.texts(t)); got != tc.visitTexts {
				t.Errorf("visit texts = %s; want %s", got, tc.visitTexts)
			}
			var kinds []string
			for _, r := range outbox(t, w.e.db) {
				if r.VisitID == 0 {
					kinds = append(kinds, r.Kind)
				}
				if r.Kind == "cancelled" && !strings.Contains(r.Body, "su visita del mar 1 dic, 10:00-12:00 fue cancelada (su reporte fue cancelado).") {
					t.Errorf("cancelled text = %q; want the reason", r.Body)
				}
			}
			if got := fmt.Sprint(kinds); got != tc.reportTexts {
				t.Errorf("report texts = %s; want %s", got, tc.reportTexts)
			}
		})
	}
}
