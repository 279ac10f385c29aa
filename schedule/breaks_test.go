package schedule_test

import (
	"testing"
	"time"

	"despacho/schedule"
)

// TestStoredRouteLetsTheBreakMove: the service rebuilds every plan from its visits' order
// (NewPlan), which put a technician's lunch (13:00–15:00) at the first place it fitted:
// before his only visit, 12:00–14:00 near home. Lunch at 13:00 then pushed that visit to
// 13:30, and a morning visit 17 km away no longer fitted before it (he would be back at
// 14:04). So a customer across town was offered no morning window that day though the
// technician was free all morning, and a sick-day re-plan took a promised 08:00–10:00
// visit from a colleague and told the customer nobody could come. The same route from
// Solve offered the morning. Now the lunch goes where the day ends soonest, and Slots
// and Insert may move it: the stored route offers what the solved one does, and the
// visit booked in the morning keeps every window and the lunch in its bounds.
func TestStoredRouteLetsTheBreakMove(t *testing.T) {
	t.Parallel()
	at := func(h, m int) time.Time { return hm(0, float64(h)+float64(m)/60) }
	home := schedule.Location{Lat: 19.49, Lon: -99.13}
	p := &schedule.Problem{Zone: day0.Location(), Technicians: []schedule.Technician{{ID: "raul", Start: home, End: home,
		Skills: []string{"install", "wireless"}, Shifts: []schedule.Shift{{Start: at(8, 0), End: at(18, 0),
			Break: &schedule.Break{Earliest: at(13, 0), Latest: at(15, 0), Duration: 30 * time.Minute}}}}},
		Visits: []schedule.Visit{{ID: "near", Location: schedule.Location{Lat: 19.488, Lon: -99.13}, Service: 90 * time.Minute,
			Skills: []string{"install"}, Windows: []schedule.Window{{Start: at(12, 0), End: at(14, 0)}}}}}
	stored, err := schedule.NewPlan(p, []schedule.Assignment{{Technician: "raul", Visits: []string{"near"}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := stored.Routes[0].Stops; len(st) != 2 || st[0].ID != "near" || !st[0].Start.Equal(at(12, 0)) {
		t.Errorf("stored route = %+v; want the visit at 12:00, then the lunch", st)
	}
	far := schedule.Visit{ID: "far", Location: schedule.Location{Lat: 19.345, Lon: -99.18}, Service: 45 * time.Minute, Skills: []string{"wireless"}}
	solved := solve(t, p, quick)
	for name, pl := range map[string]*schedule.Plan{"solved": solved, "stored": stored} {
		slots, err := schedule.Slots(pl, far, at(7, 0), 1, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(slots) == 0 || !slots[0].Start.Equal(at(8, 0)) {
			t.Errorf("%s route: slots %v; want 08:00–10:00 first", name, slots)
		}
	}

	// A stored route whose lunch must move for the new visit: lunch between 13:00 and
	// 14:00, his visit 12:00–14:00 near home first and lunch after it (the day ends
	// soonest). A visit 6 km off that must begin by 13:00 fits only if he takes his lunch
	// after it, where he is, and does his own visit after lunch.
	p.Technicians[0].Shifts[0].Break.Latest = at(14, 0)
	p.Visits[0].Location = schedule.Location{Lat: 19.487, Lon: -99.140}
	p.Visits[0].Service = time.Hour
	stored, err = schedule.NewPlan(p, []schedule.Assignment{{Technician: "raul", Visits: []string{"near"}}})
	if err != nil {
		t.Fatal(err)
	}
	noon := schedule.Visit{ID: "noon", Location: schedule.Location{Lat: 19.505, Lon: -99.082}, Service: 45 * time.Minute,
		Skills: []string{"wireless"}, Windows: []schedule.Window{{Start: at(12, 0), End: at(13, 0)}}}
	got, err := schedule.Insert(stored, noon)
	if err != nil {
		t.Fatalf("insert 12:00–13:00: %v; want it placed, the lunch moved after it", err)
	}
	verify(t, got.Problem(), got)
	if seq := sequences(got)["raul/0"]; len(seq) != 2 || seq[0] != "noon" || seq[1] != "near" {
		t.Errorf("after the insertion Raúl does %v; want noon, then near", seq)
	}
	free := noon
	free.Windows = nil
	slots, err := schedule.Slots(stored, free, at(7, 0), 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	offered := false
	for _, w := range slots {
		offered = offered || w.Start.Equal(at(12, 0))
	}
	if !offered {
		t.Errorf("slots %v; want 12:00–13:00 offered (Insert keeps it)", slots)
	}
}
