package web_test

import (
	"fmt"
	"testing"
	"time"
)

// TestMissedVisitWaitsToBeBookedAgain: a booked visit whose promised window went by with
// nobody setting out (the technician fell behind, the day went wrong) stayed booked, in no
// list the board's queue reads, so nobody called the customer who had waited. It is listed
// with ?missed=true once its window has ended, until it is set out for, booked again in a
// later window, or its report is resolved; a visit under way at the window's end is not.
func TestMissedVisitWaitsToBeBookedAgain(t *testing.T) {
	t.Parallel()
	ts, clk, d, a, tech := newQueueServer(t, "missed")
	list := func() []int64 {
		t.Helper()
		var ids []int64
		for _, it := range queueList(t, ts, d, "missed=true") {
			ids = append(ids, it.ID)
		}
		return ids
	}
	booked := func(lat float64) (string, visitOut, slot) {
		t.Helper()
		folio := createTicket(t, ts, a, lat, -99.16)
		v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
		s := slots(t, ts, a, v.ID)[0]
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(s), 200, nil)
		return folio, v, s
	}
	folio, v, s := booked(19.40)
	_, under, us := booked(19.41)
	if us.End.After(s.End) {
		s.End = us.End // the later of the two windows: both have ended past it
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("missed before any window ended: %v; want none", got)
	}
	// The second visit's technician sets out before its window ends.
	clk.Set(us.Start.Add(10 * time.Minute))
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, under.ID), tech, `{"status":"en_route"}`, 200, nil)
	clk.Set(s.End.Add(time.Minute))
	if got := list(); len(got) != 1 || got[0] != v.ID {
		t.Fatalf("missed a minute after the window ended: %v; want only visit %d (visit %d is under way)", got, v.ID, under.ID)
	}
	// Booked again in a later window: no longer missed.
	var later []slot
	{
		var out struct{ Slots []slot }
		mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/slots?from=%s&days=3", ts.URL, v.ID, monday.Format(time.DateOnly)), a, "", 200, &out)
		later = out.Slots
	}
	if len(later) == 0 {
		t.Fatal("no later window offered for the missed visit")
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(later[0]), 200, nil)
	if got := list(); len(got) != 0 {
		t.Fatalf("missed after booking it again for %v: %v; want none", later[0].Start, got)
	}
	// Missed again after that window, then the report resolved by phone: nothing to book.
	clk.Set(later[0].End.Add(time.Minute))
	if got := list(); len(got) != 1 || got[0] != v.ID {
		t.Fatalf("missed after the second window ended: %v; want visit %d", got, v.ID)
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/transitions", a,
		`{"action":"resolve","channel":"phone","cause":"Se resolvió por teléfono","verdict":"upheld","service_restored":true}`, 200, nil)
	if got := list(); len(got) != 0 {
		t.Fatalf("missed with the report resolved: %v; want none", got)
	}
	var bad struct{ Error struct{ Field string } }
	mustJSON(t, "GET", ts.URL+"/api/visits?missed=maybe", d, "", 422, &bad)
	if bad.Error.Field != "missed" {
		t.Errorf("?missed=maybe names field %q, want missed", bad.Error.Field)
	}
}
