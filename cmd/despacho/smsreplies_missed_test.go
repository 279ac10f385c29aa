package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch/postgres"
)

// TestReplyToMissedWindowAsksForAnotherTime: the apology for a missed window tells the
// customer to answer 2 for another time. His "2" is recorded on that visit, still booked
// with its past window, and the visit waits in the dispatchers' queue as asking for
// another time, as for any booked visit.
func TestReplyToMissedWindowAsksForAnotherTime(t *testing.T) {
	t.Parallel()
	w := newReplyWorld(t)
	phone := "+525511130001"
	v, folio := w.visit(phone)
	w.book(v, w.now.Add(3*time.Hour)) // today 10:00-12:00
	if n, err := w.visits.MarkMissedWindows(context.Background(), w.now.Add(5*time.Hour+20*time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep at 12:20 = %d, %v; want 1 marked", n, err)
	}
	if n := w.bun("SELECT count(*) FROM sms_outbox WHERE kind = 'window_missed' AND visit_id = ?", v); n != 1 {
		t.Fatalf("apologies queued = %d; want 1", n)
	}
	if r := w.text(phone, "2"); !strings.Contains(r, folio) {
		t.Fatalf("2 answered %q; want another time for %s", r, folio)
	}
	if n := w.visitEvents("visit.reschedule_requested", v); n != 1 {
		t.Errorf("visit.reschedule_requested on the missed visit = %d; want 1", n)
	}
	if _, ok := w.asked()[v]; !ok {
		t.Errorf("after 2 to the apology, visit %d is not listed as asking for another time", v)
	}
	vs, _, err := w.visits.List(context.Background(), postgres.VisitFilter{Missed: true, Now: w.now.Add(6 * time.Hour)})
	if err != nil || len(vs) != 1 || vs[0].ID != v {
		t.Errorf("missed list = %+v, %v; want the visit", vs, err)
	}
}
