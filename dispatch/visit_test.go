package dispatch_test

import (
	"testing"

	"despacho/dispatch"
)

func TestCanMoveVisit(t *testing.T) {
	t.Parallel()
	all := []dispatch.VisitStatus{dispatch.VisitUnscheduled, dispatch.VisitBooked, dispatch.VisitAssigned, dispatch.VisitEnRoute,
		dispatch.VisitOnSite, dispatch.VisitCompleted, dispatch.VisitNotCompleted, dispatch.VisitCancelled}
	legal := map[[2]dispatch.VisitStatus]bool{
		{dispatch.VisitBooked, dispatch.VisitEnRoute}:         true,
		{dispatch.VisitAssigned, dispatch.VisitEnRoute}:       true,
		{dispatch.VisitEnRoute, dispatch.VisitOnSite}:         true,
		{dispatch.VisitOnSite, dispatch.VisitCompleted}:       true,
		{dispatch.VisitEnRoute, dispatch.VisitNotCompleted}:   true,
		{dispatch.VisitOnSite, dispatch.VisitNotCompleted}:    true,
		{dispatch.VisitUnscheduled, dispatch.VisitCancelled}:  true,
		{dispatch.VisitBooked, dispatch.VisitCancelled}:       true,
		{dispatch.VisitAssigned, dispatch.VisitCancelled}:     true,
		{dispatch.VisitEnRoute, dispatch.VisitCancelled}:      true,
		{dispatch.VisitOnSite, dispatch.VisitCancelled}:       true,
		{dispatch.VisitNotCompleted, dispatch.VisitCancelled}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := dispatch.CanMoveVisit(from, to), legal[[2]dispatch.VisitStatus{from, to}]; got != want {
				t.Errorf("CanMoveVisit(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestOutcomeValidate(t *testing.T) {
	t.Parallel()
	yes := true
	cases := []struct {
		o     dispatch.Outcome
		field string // "" = valid
	}{
		{dispatch.Outcome{Status: "en_route"}, ""},
		{dispatch.Outcome{Status: "completed", Cause: "Fibra rota", Verdict: "upheld", ServiceRestored: &yes}, ""},
		{dispatch.Outcome{Status: "completed", Verdict: "upheld", ServiceRestored: &yes}, "cause"},
		{dispatch.Outcome{Status: "completed", Cause: "x", Verdict: "yes", ServiceRestored: &yes}, "verdict"},
		{dispatch.Outcome{Status: "completed", Cause: "x", Verdict: "not_upheld"}, "service_restored"},
		{dispatch.Outcome{Status: "not_completed", Reason: "customer_absent"}, ""},
		{dispatch.Outcome{Status: "not_completed", Reason: "lazy"}, "reason"},
		{dispatch.Outcome{Status: "cancelled"}, "status"},
	}
	for _, c := range cases {
		err := c.o.Validate()
		var got string
		if e, ok := err.(*dispatch.Error); ok {
			got = e.Field
		} else if err != nil {
			t.Fatalf("%+v: %v is not a domain error", c.o, err)
		}
		if got != c.field {
			t.Errorf("%+v: field %q, want %q", c.o, got, c.field)
		}
	}
}
