package postgres_test

import (
	"context"
	"slices"
	"testing"

	"despacho/dispatch"
)

// TestTimeOffReplansAtOnce: Juan's three weeks of vacation, entered on the admin page, start
// on the Monday of his 10–12 visit. Recording them used to re-plan nothing: the visit stayed
// his until the re-plan job reached its day, the day before, so its reminder named him and
// its customer learnt of the change the evening before. Now the day is re-planned at once:
// Otro takes the visit in its window (visit.rescheduled naming him); Juan's visit of the
// Monday after the vacation stays his; and the other days of the span, which hold none of
// his visits, are not re-planned.
func TestTimeOffReplansAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	otro := e.tech(t, "Otro", 19.60)
	during := e.book(t, e.visit(t, 19.40, 60), 10, 12)
	after, err := e.visits.Book(ctx, e.visit(t, 19.40, 60).ID, dispatch.Span{Start: e.at(10, 0).AddDate(0, 0, 21), End: e.at(12, 0).AddDate(0, 0, 21)}, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if during.TechnicianID != juan.ID || after.TechnicianID != juan.ID {
		t.Fatalf("visits with technicians %d and %d, want Juan (%d), who lives next door", during.TechnicianID, after.TechnicianID, juan.ID)
	}
	off := dispatch.Exception{Start: e.day, End: e.day.AddDate(0, 0, 21), Reason: dispatch.ExceptionTimeOff, Note: "vacaciones"}
	res, err := e.visits.AddTimeOff(ctx, juan.ID, off, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == 0 || !res.End.Equal(off.End) {
		t.Errorf("recorded exception = %+v, want it with its id", res.Exception)
	}
	if !slices.Equal(res.Moved, []int64{during.ID}) || len(res.Unbooked) != 0 || len(res.Kept) != 0 {
		t.Errorf("re-plan = moved %v, unbooked %v, kept %v; want moved [%d]", res.Moved, res.Unbooked, res.Kept, during.ID)
	}
	for _, c := range []struct {
		id   int64
		tech int64
	}{{during.ID, otro.ID}, {after.ID, juan.ID}} {
		v, err := e.visits.Get(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if v.TechnicianID != c.tech || v.Status != dispatch.VisitBooked {
			t.Errorf("visit %d: technician %d, %s; want %d, booked", c.id, v.TechnicianID, v.Status, c.tech)
		}
	}
	if evs := e.visitEvents(t, during.ID, "visit.rescheduled"); !slices.Equal(evs, []int64{otro.ID}) {
		t.Errorf("visit.rescheduled of the visit in the vacation: technicians %v, want [%d]", evs, otro.ID)
	}
	if evs := e.visitEvents(t, after.ID, "visit.rescheduled"); len(evs) != 0 {
		t.Errorf("the visit after the vacation was announced moved: %v", evs)
	}
	// A span that ends before it starts is refused, naming the field; nothing is recorded.
	if _, err := e.visits.AddTimeOff(ctx, juan.ID, dispatch.Exception{Start: e.at(12, 0), End: e.at(10, 0), Reason: dispatch.ExceptionSick}, nil, e.now); dispatch.ErrorKind(err) != dispatch.KindInvalid {
		t.Errorf("a backwards span: %v, want invalid", err)
	}
	es, err := e.techs.Exceptions(ctx, juan.ID, e.day, e.day.AddDate(0, 0, 30))
	if err != nil || len(es) != 1 {
		t.Errorf("exceptions = %v, %v; want the vacation only", es, err)
	}
}
