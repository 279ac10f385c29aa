package schedule_test

import (
	"context"
	"testing"

	"despacho/schedule"
)

// TestFootprint: a plan's estimate covers at least its two travel tables (8 bytes a
// pair, both ways, over visits and home bases) and grows with the day.
func TestFootprint(t *testing.T) {
	sizes := map[int]int64{}
	for _, visits := range []int{50, 200} {
		p := town(42, 10, visits, 1)
		pl, err := schedule.Solve(context.Background(), p, schedule.Options{Work: 1e6, Seed: 1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		locs := int64(visits + len(p.Technicians)) // at most: every home its own place
		if got, floor := pl.Footprint(), 2*8*int64(visits*visits); got < floor || got > 4*2*8*locs*locs+1<<20 {
			t.Errorf("%d visits: footprint %d bytes, want at least the tables' %d and not far above", visits, got, floor)
		}
		sizes[visits] = pl.Footprint()
	}
	if sizes[200] < 8*sizes[50] {
		t.Errorf("footprint of 200 visits %d, of 50 %d: want it to grow with the square", sizes[200], sizes[50])
	}
	var nilPlan *schedule.Plan
	if nilPlan.Footprint() != 0 {
		t.Error("a nil plan has a footprint")
	}
}
