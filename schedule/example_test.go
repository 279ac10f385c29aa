package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"despacho/schedule"
)

// exampleDay: two technicians and three visits in Mexico City.
func exampleDay() *schedule.Problem {
	day := func(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, zone) }
	base := schedule.Location{Lat: 19.4326, Lon: -99.1332}
	at := func(dlat, dlon float64) schedule.Location {
		return schedule.Location{Lat: base.Lat + dlat, Lon: base.Lon + dlon}
	}
	lunch := &schedule.Break{Earliest: day(13, 0), Latest: day(15, 0), Duration: 30 * time.Minute}
	return &schedule.Problem{
		Travel: schedule.Haversine{Speed: 30 / 3.6, Overhead: 5 * time.Minute},
		Zone:   zone,
		Technicians: []schedule.Technician{
			{ID: "ana", Start: base, End: base, Skills: []string{"fiber"},
				Shifts: []schedule.Shift{{Start: day(8, 0), End: day(17, 0), Break: lunch}}},
			{ID: "beto", Start: base, End: base, Skills: []string{"wireless"},
				Shifts: []schedule.Shift{{Start: day(8, 0), End: day(17, 0), Break: lunch}}},
		},
		Visits: []schedule.Visit{
			{ID: "F-1", Location: at(0.02, 0), Service: time.Hour, Skills: []string{"fiber"},
				Windows: []schedule.Window{{Start: day(10, 0), End: day(12, 0)}}},
			{ID: "F-2", Location: at(0.02, 0.01), Service: 30 * time.Minute, Skills: []string{"fiber"},
				Windows: []schedule.Window{{Start: day(8, 0), End: day(10, 0)}}},
			{ID: "S-1", Location: at(-0.01, 0), Service: time.Hour, Skills: []string{"satellite"}},
		},
	}
}

func ExampleSolve() {
	p := exampleDay()
	plan, err := schedule.Solve(context.Background(), p, schedule.Options{Work: 1e5, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range plan.Routes {
		for _, s := range r.Stops {
			if s.Visit >= 0 {
				fmt.Printf("%s %s starts %s\n", r.Technician, s.ID, s.Start.Format("15:04"))
			}
		}
	}
	for _, u := range plan.Unassigned {
		fmt.Printf("%s unassigned: %v\n", u.ID, u.Reason)
	}
	// Output:
	// ana F-2 starts 08:09
	// ana F-1 starts 10:00
	// S-1 unassigned: no skill match
}

func ExampleInsert() {
	p := exampleDay()
	plan, _ := schedule.Solve(context.Background(), p, schedule.Options{Work: 1e5, Seed: 1})
	urgent := schedule.Visit{ID: "W-9", Location: p.Technicians[1].Start, Service: 45 * time.Minute,
		Skills:  []string{"wireless"},
		Windows: []schedule.Window{{Start: time.Date(2026, 11, 26, 9, 0, 0, 0, zone), End: time.Date(2026, 11, 26, 11, 0, 0, 0, zone)}}}
	plan, err := schedule.Insert(plan, urgent)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range plan.Routes {
		for _, s := range r.Stops {
			if s.ID == "W-9" {
				fmt.Printf("%s %s starts %s\n", r.Technician, s.ID, s.Start.Format("15:04"))
			}
		}
	}
	late := urgent
	late.ID = "W-10"
	late.Windows = []schedule.Window{{Start: time.Date(2026, 11, 26, 20, 0, 0, 0, zone), End: time.Date(2026, 11, 26, 21, 0, 0, 0, zone)}}
	_, err = schedule.Insert(plan, late)
	fmt.Println(errors.Is(err, schedule.ErrNoInsertion), err)
	// Output:
	// beto W-9 starts 09:00
	// true schedule: no feasible insertion: visit "W-10": no shift
}

func ExampleSlots() {
	p := exampleDay()
	plan, _ := schedule.Solve(context.Background(), p, schedule.Options{Work: 1e5, Seed: 1})
	// A two-hour fiber job next to F-1: ana's day ends at 17:00, so the
	// 16:00–18:00 slot is not offered.
	v := schedule.Visit{ID: "F-3", Location: p.Visits[0].Location, Service: 2 * time.Hour, Skills: []string{"fiber"}}
	from := time.Date(2026, 11, 26, 8, 0, 0, 0, zone)
	slots, _ := schedule.Slots(plan, v, from, 1, 2*time.Hour)
	for _, w := range slots {
		fmt.Println(w.Start.Format("15:04"), "–", w.End.Format("15:04"))
	}
	// Output:
	// 08:00 – 10:00
	// 10:00 – 12:00
	// 12:00 – 14:00
	// 14:00 – 16:00
}
