package dispatch_test

import (
	"strings"
	"testing"
	"time"

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

// TestOutcomeLimitsInCharacters: the limits of a cause and a note are counted in
// characters, not bytes: a Spanish text of accented letters (two bytes each in UTF-8) is
// taken up to the limit the page's form shows, and refused one character beyond it. The
// cause's limit is the report resolution's (dispatch.Change), which the completion resolves
// the report with.
func TestOutcomeLimitsInCharacters(t *testing.T) {
	t.Parallel()
	yes := true
	done := func(cause, note string) dispatch.Outcome {
		return dispatch.Outcome{Status: "completed", Cause: cause, Verdict: "upheld", ServiceRestored: &yes, Note: note}
	}
	cases := []struct {
		name  string
		o     dispatch.Outcome
		field string // "" = valid
	}{
		{"cause at the limit in ñ", done(strings.Repeat("ñ", dispatch.MaxCause), ""), ""},
		{"cause one beyond", done(strings.Repeat("ñ", dispatch.MaxCause+1), ""), "cause"},
		{"note at the limit in á", done("Fibra rota", strings.Repeat("á", dispatch.MaxVisitNote)), ""},
		{"note one beyond", done("Fibra rota", strings.Repeat("á", dispatch.MaxVisitNote+1)), "note"},
		{"not completed, note at the limit", dispatch.Outcome{Status: "not_completed", Reason: "no_access", Note: strings.Repeat("é", dispatch.MaxVisitNote)}, ""},
		{"not completed, note one beyond", dispatch.Outcome{Status: "not_completed", Reason: "no_access", Note: strings.Repeat("é", dispatch.MaxVisitNote+1)}, "note"},
		{"cause with a control character", done("Fibra\x00rota", ""), "cause"},
		{"blank cause", done("  \n ", ""), "cause"},
	}
	for _, c := range cases {
		err := c.o.Validate()
		var got string
		if e, ok := err.(*dispatch.Error); ok {
			got = e.Field
		} else if err != nil {
			t.Fatalf("%s: %v is not a domain error", c.name, err)
		}
		if got != c.field {
			t.Errorf("%s: field %q (%v), want %q", c.name, got, err, c.field)
		}
	}
}

func TestNewVisitAddressInCharacters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n  int
		ok bool
	}{{500, true}, {501, false}} {
		in := dispatch.NewVisit{DurationMin: 60, Address: strings.Repeat("ó", c.n)}
		if err := in.Validate(); (err == nil) != c.ok {
			t.Errorf("address of %d accented characters: %v, want ok %v", c.n, err, c.ok)
		}
	}
}

func TestVisitAvailable(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	v := &dispatch.Visit{Availability: []dispatch.Span{{Start: at(9), End: at(12)}, {Start: at(15), End: at(18)}}}
	cases := []struct {
		from, to int
		want     bool
	}{
		{9, 11, true}, {10, 12, true}, {15, 17, true},
		{8, 10, false}, {11, 13, false}, {12, 14, false}, {17, 19, false}, {11, 16, false},
	}
	for _, c := range cases {
		w := dispatch.Span{Start: at(c.from), End: at(c.to)}
		if got := v.Available(w); got != c.want {
			t.Errorf("Available(%02d–%02d) = %v, want %v", c.from, c.to, got, c.want)
		}
		err := v.CheckAvailable(w)
		if c.want != (err == nil) {
			t.Errorf("CheckAvailable(%02d–%02d) = %v, want error %v", c.from, c.to, err, !c.want)
		}
		if e, ok := err.(*dispatch.Error); err != nil && (!ok || e.Field != "window") {
			t.Errorf("CheckAvailable(%02d–%02d) = %v, want an invalid window", c.from, c.to, err)
		}
	}
	if !(&dispatch.Visit{}).Available(dispatch.Span{Start: at(3), End: at(5)}) {
		t.Error("a customer who stated no availability refuses a window")
	}
	for _, s := range dispatch.VisitStatuses {
		if got, err := dispatch.ParseVisitStatus("status", string(s)); err != nil || got != s {
			t.Errorf("ParseVisitStatus(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := dispatch.ParseVisitStatus("status", "lost"); err == nil {
		t.Error("ParseVisitStatus accepts lost")
	}
}
