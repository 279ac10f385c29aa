package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// asked returns the visits the dispatchers' queue lists as asking for another time, by id.
func (w *replyWorld) asked() map[int64]postgres.ListedVisit {
	w.t.Helper()
	vs, _, err := w.visits.List(context.Background(), postgres.VisitFilter{RescheduleRequested: true, Now: w.now})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[int64]postgres.ListedVisit{}
	for _, v := range vs {
		out[v.ID] = v
	}
	return out
}

// TestRescheduleRequestWaitsInTheQueue: a customer's "2" used to be only an event on the
// timeline. On a visit that could not be completed (no window to keep, off every queue) or
// on one booked with a technician (off the queue of visits without one), nobody was asked
// to call him back. The request now stays on the visit, listed for the dispatchers' queue
// with when it came, until a new window is booked, the visit is cancelled, or a
// dispatcher clears it.
func TestRescheduleRequestWaitsInTheQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("not completed, then booked again", func(t *testing.T) {
		t.Parallel()
		w := newReplyWorld(t)
		phone := "+525511120001"
		v, folio := w.visit(phone)
		w.book(v, w.now.Add(3*time.Hour)) // today 10:00-12:00
		at := w.now.Add(time.Hour)
		for _, o := range []dispatch.Outcome{{Status: dispatch.VisitEnRoute}, {Status: dispatch.VisitNotCompleted, Reason: "customer_absent"}} {
			at = at.Add(10 * time.Minute)
			if _, err := w.visits.SetStatus(ctx, v, o, nil, at); err != nil {
				t.Fatalf("%s: %v", o.Status, err)
			}
		}
		if len(w.asked()) != 0 {
			t.Fatal("a visit is listed as asking for another time before any reply")
		}
		before := time.Now()
		if r := w.text(phone, "2"); !strings.Contains(r, folio) {
			t.Fatalf("2 answered %q; want another time for %s", r, folio)
		}
		got, ok := w.asked()[v]
		if !ok {
			t.Fatalf("after 2 to the not-completed text, visit %d is not listed as asking for another time", v)
		}
		if got.Status != dispatch.VisitNotCompleted || got.RescheduleRequestedAt == nil || got.RescheduleRequestedAt.Before(before.Add(-time.Second)) {
			t.Fatalf("listed = status %s, requested at %v; want not_completed, requested now", got.Status, got.RescheduleRequestedAt)
		}
		first := *got.RescheduleRequestedAt
		// Asking again keeps the first time: he has been waiting since then.
		w.text(phone, "CAMBIAR")
		if again := w.asked()[v]; again.RescheduleRequestedAt == nil || !again.RescheduleRequestedAt.Equal(first) {
			t.Errorf("requested at after a second 2 = %v; want the first, %v", again.RescheduleRequestedAt, first)
		}
		// Booking it again answers him, even in the window it had.
		w.book(v, w.now.Add(3*time.Hour))
		if _, ok := w.asked()[v]; ok {
			t.Error("booked again, the visit is still listed as asking for another time")
		}
	})

	t.Run("booked with a technician, then cleared", func(t *testing.T) {
		t.Parallel()
		w := newReplyWorld(t)
		phone := "+525511120002"
		v, folio := w.visit(phone)
		w.book(v, w.now.Add(24*time.Hour+3*time.Hour)) // tomorrow 10:00-12:00
		vis, err := w.visits.Get(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.visits.Assign(ctx, v, postgres.AssignRequest{TechnicianID: w.tech, Version: vis.Version}, nil, w.now); err != nil {
			t.Fatal(err)
		}
		if r := w.text(phone, "2"); !strings.Contains(r, folio) {
			t.Fatalf("2 answered %q; want another time for %s", r, folio)
		}
		got, ok := w.asked()[v]
		if !ok || got.TechnicianID != w.tech || got.Status != dispatch.VisitAssigned {
			t.Fatalf("after 2, visit %d listed = %v (%+v); want it listed, assigned to technician %d", v, ok, got.Visit, w.tech)
		}
		// A re-plan that keeps the window (unassign and assign again) does not answer him.
		vis, _ = w.visits.Get(ctx, v)
		if _, err := w.visits.Unassign(ctx, v, vis.Version, nil, w.now); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.asked()[v]; !ok {
			t.Fatal("taken off its technician with its window kept, the visit no longer asks for another time")
		}
		if _, err := w.visits.ClearRescheduleRequest(ctx, v, nil, w.now); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.asked()[v]; ok {
			t.Error("cleared, the visit is still listed as asking for another time")
		}
		// Clearing twice writes one event.
		if _, err := w.visits.ClearRescheduleRequest(ctx, v, nil, w.now); err != nil {
			t.Fatal(err)
		}
		if n := w.visitEvents(postgres.EventVisitRescheduleCleared, v); n != 1 {
			t.Errorf("%d %s events; want 1", n, postgres.EventVisitRescheduleCleared)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		w := newReplyWorld(t)
		phone := "+525511120003"
		v, _ := w.visit(phone)
		w.book(v, w.now.Add(24*time.Hour+3*time.Hour))
		w.text(phone, "2")
		if _, ok := w.asked()[v]; !ok {
			t.Fatal("after 2, the visit is not listed as asking for another time")
		}
		if _, err := w.visits.Cancel(ctx, v, "", nil, w.now); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.asked()[v]; ok {
			t.Error("cancelled, the visit is still listed as asking for another time")
		}
	})
}
