package schedule_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"despacho/schedule"
)

var quick = schedule.Options{Work: 3e5, Seed: 1, Threads: 2, TimeLimit: time.Minute}

func solve(tb testing.TB, p *schedule.Problem, opt schedule.Options) *schedule.Plan {
	tb.Helper()
	pl, err := schedule.Solve(context.Background(), p, opt)
	if err != nil {
		tb.Fatal(err)
	}
	verify(tb, p, pl)
	return pl
}

func TestSolveTown(t *testing.T) {
	p := town(3, 6, 60, 1)
	pl := solve(t, p, quick)
	if len(pl.Routes) == 0 {
		t.Fatal("no routes")
	}
	for _, u := range pl.Unassigned {
		if u.Reason != schedule.NoRoom && u.Reason != schedule.NoSkill {
			t.Errorf("visit %s unassigned for %v", u.ID, u.Reason)
		}
	}
	if assigned := len(p.Visits) - len(pl.Unassigned); assigned < 30 {
		t.Errorf("only %d of %d visits assigned", assigned, len(p.Visits))
	}
}

func TestUnassignedReasons(t *testing.T) {
	base := func() *schedule.Problem {
		p := town(1, 2, 0, 1)
		p.Technicians[0].Skills = []string{"fiber"}
		p.Technicians[1].Skills = []string{"fiber", "wireless"}
		p.Technicians[0].Capacity = 5
		p.Technicians[1].Capacity = 5
		return p
	}
	ok := schedule.Visit{ID: "ok", Location: base().Technicians[0].Start, Service: 30 * time.Minute,
		Skills: []string{"fiber"}, Windows: []schedule.Window{{hm(0, 10), hm(0, 12)}}}
	tests := []struct {
		name string
		edit func(*schedule.Visit)
		want schedule.Reason
	}{
		{"no skill", func(v *schedule.Visit) { v.Skills = []string{"satellite"} }, schedule.NoSkill},
		{"no shift", func(v *schedule.Visit) { v.Windows = []schedule.Window{{hm(1, 10), hm(1, 12)}} }, schedule.NoShift},
		{"unreachable", func(v *schedule.Visit) { v.Location.Lat += 2 }, schedule.WindowUnreachable},
		{"window too late", func(v *schedule.Visit) {
			v.Windows = []schedule.Window{{hm(0, 16.9), hm(0, 16.95)}}
			v.Service = 2 * time.Hour
		}, schedule.WindowUnreachable},
		{"capacity", func(v *schedule.Visit) { v.Demand = 6 }, schedule.OverCapacity},
		{"bad pin", func(v *schedule.Visit) { v.Pin = &schedule.Pin{Technician: "nobody"} }, schedule.BadPin},
		{"pin lacks skill", func(v *schedule.Visit) {
			v.Skills = []string{"wireless"}
			v.Pin = &schedule.Pin{Technician: "T00"}
		}, schedule.BadPin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			v := ok
			v.ID = "x"
			tt.edit(&v)
			p.Visits = []schedule.Visit{ok, v}
			pl := solve(t, p, quick)
			if len(pl.Unassigned) != 1 || pl.Unassigned[0].ID != v.ID {
				t.Fatalf("unassigned = %+v, want just %q", pl.Unassigned, v.ID)
			}
			if got := pl.Unassigned[0].Reason; got != tt.want {
				t.Errorf("reason = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("no room", func(t *testing.T) {
		p := base()
		p.Technicians = p.Technicians[:1]
		a, b := ok, ok
		b.ID = "b"
		a.Windows = []schedule.Window{{hm(0, 10), hm(0, 10)}}
		b.Windows = a.Windows
		b.Priority = 1
		p.Visits = []schedule.Visit{a, b}
		pl := solve(t, p, quick)
		if len(pl.Unassigned) != 1 || pl.Unassigned[0].ID != "ok" || pl.Unassigned[0].Reason != schedule.NoRoom {
			t.Fatalf("unassigned = %+v, want the lower-priority visit for no room", pl.Unassigned)
		}
	})
}

func TestInvalidProblem(t *testing.T) {
	tests := map[string]func(p *schedule.Problem){
		"window reversed":  func(p *schedule.Problem) { p.Visits[0].Windows = []schedule.Window{{hm(0, 12), hm(0, 10)}} },
		"negative service": func(p *schedule.Problem) { p.Visits[0].Service = -time.Minute },
		"duplicate visit":  func(p *schedule.Problem) { p.Visits[1].ID = p.Visits[0].ID },
		"shift reversed":   func(p *schedule.Problem) { p.Technicians[0].Shifts[0].End = hm(0, 1) },
		"started unpinned": func(p *schedule.Problem) { p.Visits[0].Started = true },
	}
	for name, edit := range tests {
		t.Run(name, func(t *testing.T) {
			p := town(2, 2, 5, 1)
			edit(p)
			_, err := schedule.Solve(context.Background(), p, quick)
			if !errors.Is(err, schedule.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestBreakIsTaken(t *testing.T) {
	p := town(5, 1, 0, 1)
	p.Technicians[0].Skills = allSkills
	home := p.Technicians[0].Start
	// Visits around the lunch window push the break to fit between them.
	for i, h := range []float64{12, 13, 14, 14.5} {
		loc := home
		loc.Lat += 0.001 * float64(i+1)
		p.Visits = append(p.Visits, schedule.Visit{ID: string(rune('a' + i)), Location: loc, Service: 25 * time.Minute,
			Windows: []schedule.Window{{hm(0, h), hm(0, h+0.25)}}})
	}
	pl := solve(t, p, quick)
	if len(pl.Unassigned) != 0 {
		t.Fatalf("unassigned %+v", pl.Unassigned)
	}
	// verify checked the break's bounds and overlaps; make sure there is one.
	found := false
	for _, s := range pl.Routes[0].Stops {
		found = found || s.Visit < 0
	}
	if !found {
		t.Fatal("no break on the route")
	}
}

func TestMultiWindow(t *testing.T) {
	p := town(6, 1, 0, 1)
	p.Technicians[0].Skills = allSkills
	home := p.Technicians[0].Start
	p.Visits = []schedule.Visit{
		// Occupies 10:00–12:00.
		{ID: "long", Location: home, Service: 2 * time.Hour, Windows: []schedule.Window{{hm(0, 10), hm(0, 10)}}},
		// Its first window falls inside "long"; only the second is usable.
		{ID: "two", Location: home, Service: 30 * time.Minute, Windows: []schedule.Window{{hm(0, 10.5), hm(0, 11)}, {hm(0, 15), hm(0, 16)}}},
	}
	pl := solve(t, p, quick)
	if len(pl.Unassigned) != 0 {
		t.Fatalf("unassigned %+v", pl.Unassigned)
	}
	for _, s := range pl.Routes[0].Stops {
		if s.ID == "two" && s.Start.Before(hm(0, 15)) {
			t.Errorf("two starts %v, want in the second window", s.Start)
		}
	}
}

func TestCongestion(t *testing.T) {
	p := town(7, 4, 40, 1)
	p.Congestion = &schedule.Congestion{}
	for h := range p.Congestion.Factor {
		p.Congestion.Factor[h] = 1
	}
	for _, h := range []int{7, 8, 9, 17, 18} {
		p.Congestion.Factor[h] = 2.5
	}
	p.Congestion.Factor[12] = 0.6
	pl := solve(t, p, quick) // verify drives every leg through the rush hours itself
	if len(pl.Routes) == 0 {
		t.Fatal("no routes")
	}
}

func TestPinsAndStarted(t *testing.T) {
	p := town(8, 4, 30, 1)
	for i := range p.Technicians {
		p.Technicians[i].Skills = allSkills
	}
	p.Visits[0].Pin = &schedule.Pin{Technician: "T02"}
	p.Visits[0].Windows = []schedule.Window{{hm(0, 9), hm(0, 17)}}
	p.Visits[1].Pin = &schedule.Pin{Technician: "T01"}
	p.Visits[1].Started = true
	p.Visits[1].Windows = []schedule.Window{{hm(0, 8), hm(0, 10)}}
	p.Visits[2].Pin = &schedule.Pin{Technician: "T03", Position: 2}
	p.Visits[3].Pin = &schedule.Pin{Technician: "T03", Position: 1}
	p.Visits[2].Windows = []schedule.Window{{hm(0, 8), hm(0, 17)}}
	p.Visits[3].Windows = []schedule.Window{{hm(0, 8), hm(0, 17)}}
	pl := solve(t, p, quick) // verify checks pins and that started is first
	order := func(pl *schedule.Plan) []string {
		var ids []string
		for _, r := range pl.Routes {
			if r.Technician == "T03" {
				for _, s := range r.Stops {
					if s.ID == p.Visits[2].ID || s.ID == p.Visits[3].ID {
						ids = append(ids, s.ID)
					}
				}
			}
		}
		return ids
	}
	want := []string{p.Visits[3].ID, p.Visits[2].ID}
	if got := order(pl); !slices.Equal(got, want) {
		t.Errorf("pinned order = %v, want %v", got, want)
	}
	for i := 0; i < 4; i++ {
		if unassigned(pl, p.Visits[i].ID) {
			t.Errorf("pinned visit %s unassigned", p.Visits[i].ID)
		}
	}
	re, err := schedule.Reoptimize(context.Background(), pl, quick)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, p, re)
	if got := order(re); !slices.Equal(got, want) {
		t.Errorf("after Reoptimize pinned order = %v, want %v", got, want)
	}
	if re.Weight < pl.Weight || (re.Weight == pl.Weight && re.Meters > pl.Meters+1e-6) {
		t.Errorf("Reoptimize made it worse: weight %d→%d, meters %.0f→%.0f", pl.Weight, re.Weight, pl.Meters, re.Meters)
	}
}

func unassigned(pl *schedule.Plan, id string) bool {
	for _, u := range pl.Unassigned {
		if u.ID == id {
			return true
		}
	}
	return false
}

// TestReoptimizeKeepsPromises: a plan made with generous windows, then each
// routed visit promised a window around its planned start; Reoptimize must
// keep every promise (verify checks windows) and started visits first.
func TestReoptimizeImproves(t *testing.T) {
	p := town(9, 5, 50, 1)
	pl := solve(t, p, schedule.Options{Work: 1, Seed: 3, Threads: 1, TimeLimit: time.Minute})
	re, err := schedule.Reoptimize(context.Background(), pl, quick)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, p, re)
	if re.Weight < pl.Weight || (re.Weight == pl.Weight && re.Meters > pl.Meters+1e-6) {
		t.Errorf("Reoptimize made it worse: weight %d→%d, meters %.0f→%.0f", pl.Weight, re.Weight, pl.Meters, re.Meters)
	}
}

func TestInsertKeepsOrder(t *testing.T) {
	p := town(10, 5, 45, 1)
	pl := solve(t, p, quick)
	before := sequences(pl)
	v := schedule.Visit{ID: "urgent", Location: p.Visits[0].Location, Service: 20 * time.Minute,
		Skills: []string{"fiber"}, Windows: []schedule.Window{{hm(0, 10), hm(0, 16)}}}
	got, err := schedule.Insert(pl, v)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, got.Problem(), got)
	if len(got.Problem().Visits) != len(p.Visits)+1 || len(p.Visits) != 45 {
		t.Fatalf("Insert changed the input problem or did not extend it")
	}
	if unassigned(got, "urgent") {
		t.Fatal("urgent visit not inserted")
	}
	after := sequences(got)
	for k, seq := range after {
		seq = slices.DeleteFunc(slices.Clone(seq), func(id string) bool { return id == "urgent" })
		if !slices.Equal(seq, before[k]) {
			t.Errorf("%s: order %v, was %v", k, seq, before[k])
		}
	}
	if len(after) < len(before) {
		t.Errorf("routes disappeared")
	}
	// Impossible: a window before the day starts.
	bad := v
	bad.ID = "late"
	bad.Windows = []schedule.Window{{hm(0, 5), hm(0, 6)}}
	if _, err := schedule.Insert(pl, bad); !errors.Is(err, schedule.ErrNoInsertion) {
		t.Errorf("err = %v, want ErrNoInsertion", err)
	}
}

// TestSlotsAreKeepable: every slot offered can be booked with Insert, and
// every slot withheld cannot.
func TestSlotsAreKeepable(t *testing.T) {
	p := town(11, 3, 40, 2)
	pl := solve(t, p, quick)
	v := schedule.Visit{ID: "new", Location: p.Visits[5].Location, Service: 90 * time.Minute, Skills: []string{"copper"}}
	from := hm(0, 9)
	slots, err := schedule.Slots(pl, v, from, 2, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	offered := map[time.Time]bool{}
	for _, w := range slots {
		offered[w.Start] = true
	}
	tried, withheld := 0, 0
	for d := 0; d < 2; d++ {
		for h := 8.0; h+2 <= 18; h += 2 {
			w := schedule.Window{Start: hm(d, h), End: hm(d, h+2)}
			if w.Start.Before(from) {
				if offered[w.Start] {
					t.Errorf("slot %v offered before from", w.Start)
				}
				continue
			}
			tried++
			b := v
			b.Windows = []schedule.Window{w}
			got, err := schedule.Insert(pl, b)
			if offered[w.Start] {
				if err != nil {
					t.Errorf("slot %v offered but Insert fails: %v", w.Start, err)
					continue
				}
				verify(t, got.Problem(), got)
			} else {
				withheld++
				if err == nil {
					t.Errorf("slot %v withheld but Insert succeeds", w.Start)
				}
			}
		}
	}
	if len(slots) == 0 || tried == 0 {
		t.Fatalf("degenerate: %d slots of %d tried", len(slots), tried)
	}
	// Availability narrows the offer.
	v.Availability = []schedule.Window{{hm(1, 8), hm(1, 12)}}
	narrow, err := schedule.Slots(pl, v, from, 2, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range narrow {
		if w.Start.Before(hm(1, 8)) || w.End.After(hm(1, 12)) {
			t.Errorf("slot %v–%v outside availability", w.Start, w.End)
		}
	}
	t.Logf("%d slots offered, %d withheld", len(slots), withheld)
}

func TestDeterministic(t *testing.T) {
	p := town(12, 5, 60, 1)
	a := solve(t, p, quick)
	b := solve(t, p, quick)
	if a.Meters != b.Meters || a.Weight != b.Weight {
		t.Fatalf("same seed: %v/%d vs %v/%d", a.Meters, a.Weight, b.Meters, b.Weight)
	}
}

func TestNewPlanRoundTrip(t *testing.T) {
	p := town(13, 5, 50, 1)
	pl := solve(t, p, quick)
	var as []schedule.Assignment
	for _, r := range pl.Routes {
		a := schedule.Assignment{Technician: r.Technician, Shift: r.Shift}
		for _, s := range r.Stops {
			if s.Visit >= 0 {
				a.Visits = append(a.Visits, s.ID)
			}
		}
		as = append(as, a)
	}
	got, err := schedule.NewPlan(p, as)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, p, got)
	if d := got.Meters - pl.Meters; d > 1e-6 || d < -1e-6 || got.Weight != pl.Weight {
		t.Errorf("rebuilt plan %.3f m weight %d, solved %.3f m weight %d", got.Meters, got.Weight, pl.Meters, pl.Weight)
	}
	if _, err := schedule.Insert(got, newVisitT(p)); err != nil && !errors.Is(err, schedule.ErrNoInsertion) {
		t.Errorf("Insert on a rebuilt plan: %v", err)
	}
	// Reversing a long route breaks its windows.
	for i, a := range as {
		if len(a.Visits) >= 4 {
			bad := slices.Clone(as)
			bad[i].Visits = slices.Clone(a.Visits)
			slices.Reverse(bad[i].Visits)
			if _, err := schedule.NewPlan(p, bad); !errors.Is(err, schedule.ErrPinned) {
				t.Errorf("reversed route: err = %v, want ErrPinned", err)
			}
			break
		}
	}
	if _, err := schedule.NewPlan(p, []schedule.Assignment{{Technician: "nobody"}}); !errors.Is(err, schedule.ErrInvalid) {
		t.Errorf("unknown technician: err = %v, want ErrInvalid", err)
	}
}

func newVisitT(p *schedule.Problem) schedule.Visit {
	return schedule.Visit{ID: "extra", Location: p.Visits[0].Location, Service: 15 * time.Minute,
		Windows: []schedule.Window{{Start: hm(0, 8), End: hm(0, 17)}}}
}

// TestSolveUsesItsTime: with a clock, a search whose work plan would end early (a small
// problem, quick per unit of work) plans more and runs until near its time limit.
func TestSolveUsesItsTime(t *testing.T) {
	p := town(42, 3, 12, 1)
	const limit = 400 * time.Millisecond
	start := time.Now()
	if _, err := schedule.Solve(context.Background(), p, schedule.Options{TimeLimit: limit, Seed: 1, Threads: 1, Clock: time.Now}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < limit*3/4 {
		t.Fatalf("solve with a clock took %v of its %v", took, limit)
	}
}

// TestReoptimizeMovesALoneVisit: a day whose one visit was booked with Ana, across town,
// before Beto, who lives next door to it, had a shift. Reoptimize returned the plan as it
// was: a single visit was never searched (nothing to anneal), so the re-plan job never gave
// it to Beto. It now goes to Beto; a pinned one stays with Ana.
func TestReoptimizeMovesALoneVisit(t *testing.T) {
	home := func(lat float64) schedule.Location { return schedule.Location{Lat: lat, Lon: -99.13} }
	tech := func(id string, lat float64) schedule.Technician {
		return schedule.Technician{ID: id, Start: home(lat), End: home(lat), Skills: []string{"fiber"},
			Shifts: []schedule.Shift{{Start: hm(0, 8), End: hm(0, 18)}}}
	}
	p := &schedule.Problem{
		Technicians: []schedule.Technician{tech("ana", 19.40), tech("beto", 19.70)},
		Visits: []schedule.Visit{{ID: "v1", Location: home(19.70), Service: time.Hour, Skills: []string{"fiber"},
			Windows: []schedule.Window{{Start: hm(0, 12), End: hm(0, 14)}}}},
	}
	for _, pinned := range []bool{false, true} {
		q := *p
		q.Visits = slices.Clone(p.Visits)
		want := "beto"
		if pinned {
			q.Visits[0].Pin = &schedule.Pin{Technician: "ana"}
			want = "ana"
		}
		pl, err := schedule.NewPlan(&q, []schedule.Assignment{{Technician: "ana", Visits: []string{"v1"}}})
		if err != nil {
			t.Fatal(err)
		}
		re, err := schedule.Reoptimize(context.Background(), pl, quick)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, &q, re)
		if len(re.Routes) != 1 || re.Routes[0].Technician != want {
			t.Errorf("pinned %v: routes after Reoptimize %+v, want the visit with %s", pinned, re.Routes, want)
		}
	}
}
