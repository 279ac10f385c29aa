package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/schedule"
)

// visitFixture is a database with one technician working Mondays 08–18 and n unscheduled
// visits in Mexico City; now is 07:00 on Monday 2026-11-30.
func visitFixture(tb testing.TB, n int) (*bun.DB, *postgres.Visits, *dispatch.Technician, []*dispatch.Visit, time.Time) {
	tb.Helper()
	ctx := context.Background()
	db := dispatchtest.DB(tb)
	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	visits := postgres.NewVisits(db, events, reports, planning.Config{})
	zone := visits.Config().Zone
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, zone)
	tech := &dispatch.Technician{Name: "Juan", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home:   dispatch.LatLon{Lat: 19.43, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(db, events).Create(ctx, tech, nil); err != nil {
		tb.Fatal(err)
	}
	var vs []*dispatch.Visit
	for i := range n {
		c, _, err := reports.Create(ctx, newReport(tb, now, "fault", "55 3000 000"+string(rune('0'+i)), ""), postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
		if err != nil {
			tb.Fatal(err)
		}
		lat, lon := 19.40+0.01*float64(i), -99.16
		v, err := visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
		if err != nil {
			tb.Fatal(err)
		}
		vs = append(vs, v)
	}
	return db, visits, tech, vs, now
}

// TestVisitsNoOverlapInDatabase: whatever the application does, PostgreSQL refuses two live
// visits of one technician at overlapping times (checked at commit).
func TestVisitsNoOverlapInDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, tech, vs, now := visitFixture(t, 2)
	start := now.Add(3 * time.Hour)
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i, v := range vs {
			s := start.Add(time.Duration(i) * 30 * time.Minute)
			if _, err := tx.ExecContext(ctx, `UPDATE visits SET status = 'booked', technician_id = ?, planned_start = ?, planned_end = ?,
				window_start = ?, window_end = ? WHERE id = ?`, tech.ID, s, s.Add(time.Hour), start, start.Add(2*time.Hour), v.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if !postgres.IsExclusionViolation(err) {
		t.Fatalf("overlapping visits committed: err = %v, want an exclusion violation", err)
	}
	// Back to back is fine, and a cancelled visit holds no time.
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i, v := range vs {
			s := start.Add(time.Duration(i) * time.Hour)
			if _, err := tx.ExecContext(ctx, `UPDATE visits SET status = 'booked', technician_id = ?, planned_start = ?, planned_end = ?,
				window_start = ?, window_end = ? WHERE id = ?`, tech.ID, s, s.Add(time.Hour), start, start.Add(2*time.Hour), v.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("back-to-back visits: %v", err)
	}
}

// TestPositionRaisesAtRisk: a technician far away makes his next visit's ETA pass the end
// of its window: visit.at_risk, once.
func TestPositionRaisesAtRisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, vs, now := visitFixture(t, 1)
	w := dispatch.Span{Start: now.Add(time.Hour), End: now.Add(3 * time.Hour)}
	if _, err := visits.Book(ctx, vs[0].ID, w, nil, now); err != nil {
		t.Fatal(err)
	}
	at := now.Add(90 * time.Minute)
	// 60 km away at 30 km/h: two hours, past the window's end at 10:00.
	for range 2 {
		if err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.97, Lon: -99.16, At: at}, at); err != nil {
			t.Fatal(err)
		}
	}
	v, err := visits.Get(ctx, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.AtRisk || !v.ETA.After(w.End) {
		t.Errorf("visit at_risk %v eta %v, want at risk past %v", v.AtRisk, v.ETA, w.End)
	}
	var n int
	if err := db.NewSelect().Table("events").Where("type = 'visit.at_risk' AND visit_id = ?", v.ID).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("visit.at_risk events = %d, want 1", n)
	}
}

// TestLateVisitPushesTheNext: a visit that starts late pushes the ETA of the technician's
// next visit past its window: visit.at_risk.
func TestLateVisitPushesTheNext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, _, vs, now := visitFixture(t, 2)
	if _, err := visits.Book(ctx, vs[0].ID, dispatch.Span{Start: now.Add(time.Hour), End: now.Add(3 * time.Hour)}, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := visits.Book(ctx, vs[1].ID, dispatch.Span{Start: now.Add(3 * time.Hour), End: now.Add(5 * time.Hour)}, nil, now); err != nil {
		t.Fatal(err)
	}
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if v, _ := visits.Get(ctx, vs[1].ID); v.AtRisk {
		t.Fatal("next visit at risk before anything ran late")
	}
	// On site at 11:30 for an hour: the next visit (window 10:00–12:00) cannot start in time.
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitOnSite}, nil, now.Add(4*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	v, err := visits.Get(ctx, vs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.AtRisk || !v.ETA.After(v.Window.End) {
		t.Errorf("next visit at_risk %v eta %v, want at risk past %v", v.AtRisk, v.ETA, v.Window.End)
	}
}

// TestOptimizeKeepsBookingMadeDuringSearch: Optimize searches without holding the day's
// lock, so a booking of the day made while it searches goes through at once (were the lock
// held, the booking below would wait for ever); the optimiser then finds the day changed,
// re-plans it as it now is (Redone), and the new booking keeps its window.
func TestOptimizeKeepsBookingMadeDuringSearch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, tech, vs, now := visitFixture(t, 3)
	day := visits.Config().Day(now)
	for i, v := range vs[:2] {
		w := dispatch.Span{Start: now.Add(time.Duration(2+3*i) * time.Hour), End: now.Add(time.Duration(4+3*i) * time.Hour)}
		if _, err := visits.Book(ctx, v.ID, w, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	late := dispatch.Span{Start: now.Add(4 * time.Hour), End: now.Add(6 * time.Hour)}
	var bookErr error
	postgres.SetAfterSearch(visits, func() { _, bookErr = visits.Book(ctx, vs[2].ID, late, nil, now) })
	res, err := visits.Optimize(ctx, day, schedule.Options{TimeLimit: 300 * time.Millisecond, Seed: 1}, nil, now)
	if err != nil || bookErr != nil {
		t.Fatalf("optimise: %v; booking during its search: %v", err, bookErr)
	}
	if !res.Redone || res.Visits != 3 {
		t.Errorf("optimise result %+v, want redone over the 3 visits", res)
	}
	got, err := visits.Get(ctx, vs[2].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Window == nil || !got.Window.Start.Equal(late.Start) || got.TechnicianID != tech.ID ||
		got.PlannedArrival.Before(late.Start) || got.PlannedArrival.After(late.End) {
		t.Errorf("booking made during the search, after it: %+v, want its window kept with Juan", got)
	}
}

// TestOptimizeTwiceAtOnceSearchesOnce: a second "optimise day" for a day whose re-plan is
// running (a double click, two dispatchers) waits for it and gets its result; the day is
// searched once, not twice on the same cores. Once it is done, the next call runs its own.
func TestOptimizeTwiceAtOnceSearchesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, _, vs, now := visitFixture(t, 3)
	day := visits.Config().Day(now)
	for i, v := range vs {
		w := dispatch.Span{Start: now.Add(time.Duration(1+2*i) * time.Hour), End: now.Add(time.Duration(3+2*i) * time.Hour)}
		if _, err := visits.Book(ctx, v.ID, w, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	key := day.Format(time.DateOnly)
	var searches atomic.Int32
	postgres.SetAfterSearch(visits, func() {
		if searches.Add(1) > 1 {
			return
		}
		// Hold the first re-plan until the second call waits for it.
		for deadline := time.Now().Add(10 * time.Second); postgres.OptimizeWaiting(visits, key) < 1; {
			if time.Now().After(deadline) {
				t.Error("the second optimise never waited for the first")
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	opt := schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}
	type answer struct {
		res *postgres.OptimizeResult
		err error
	}
	answers := make(chan answer, 2)
	for range 2 {
		go func() {
			res, err := visits.Optimize(ctx, day, opt, nil, now)
			answers <- answer{res, err}
		}()
	}
	a, b := <-answers, <-answers
	if a.err != nil || b.err != nil {
		t.Fatalf("optimise twice at once: %v, %v", a.err, b.err)
	}
	if n := searches.Load(); n != 1 {
		t.Errorf("%d searches for two calls at once; want 1", n)
	}
	if a.res.Visits != 3 || a.res.Day != b.res.Day || a.res.Visits != b.res.Visits || a.res.MetersAfter != b.res.MetersAfter {
		t.Errorf("results %+v and %+v; want the same re-plan of the 3 visits", a.res, b.res)
	}
	if _, err := visits.Optimize(ctx, day, opt, nil, now); err != nil || searches.Load() != 2 {
		t.Errorf("optimise after both: %v, %d searches in all; want a search of its own", err, searches.Load())
	}
	if n := postgres.OptimizeWaiting(visits, key); n != -1 {
		t.Errorf("a re-plan still registered after all returned (%d waiting)", n)
	}
}

// TestOptimizeWaiterRunsItsOwnWhenFirstGivesUp: the client of the running re-plan goes
// away before it is written; the call waiting for it runs a re-plan of its own instead of
// passing on the other client's cancellation.
func TestOptimizeWaiterRunsItsOwnWhenFirstGivesUp(t *testing.T) {
	t.Parallel()
	_, visits, _, vs, now := visitFixture(t, 2)
	day := visits.Config().Day(now)
	for i, v := range vs {
		w := dispatch.Span{Start: now.Add(time.Duration(1+2*i) * time.Hour), End: now.Add(time.Duration(3+2*i) * time.Hour)}
		if _, err := visits.Book(context.Background(), v.ID, w, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	key := day.Format(time.DateOnly)
	first, cancel := context.WithCancel(context.Background())
	var searches atomic.Int32
	postgres.SetAfterSearch(visits, func() {
		if searches.Add(1) > 1 {
			return
		}
		for deadline := time.Now().Add(10 * time.Second); postgres.OptimizeWaiting(visits, key) < 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		cancel() // the first client goes away before the write
	})
	opt := schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}
	firstErr := make(chan error, 1)
	go func() {
		_, err := visits.Optimize(first, day, opt, nil, now)
		firstErr <- err
	}()
	for postgres.OptimizeWaiting(visits, key) < 0 {
		time.Sleep(time.Millisecond)
	}
	res, err := visits.Optimize(context.Background(), day, opt, nil, now)
	if err != nil || res.Visits != 2 {
		t.Fatalf("the waiting optimise: %+v, %v; want its own re-plan of the 2 visits", res, err)
	}
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled optimise: %v; want context.Canceled", err)
	}
	if n := searches.Load(); n != 2 {
		t.Errorf("%d searches; want 2 (the cancelled one and the waiter's own)", n)
	}
}

// TestPositionsAndBookingsDoNotDeadlock: a position update walks the technician's visits
// in route order while a booking that shifts them writes them in id order — opposite here,
// where the route runs from the newest visit to the oldest. Without one lock order
// (lockVisit, lockDayShared) PostgreSQL broke such pairs as deadlocks (40P01, a 500).
func TestPositionsAndBookingsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, tech, vs, now := visitFixture(t, 5)
	window := func(slot int) dispatch.Span {
		start := now.Add(time.Duration(1+2*slot) * time.Hour)
		return dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}
	}
	for i, v := range vs {
		if _, err := visits.Book(ctx, v.ID, window(len(vs)-1-i), nil, now); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 40
	errs := make(chan error, 2*rounds)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Visit 2 goes back and forth between the first window and its own, shifting the
		// visits before it each time.
		for i := range rounds {
			if _, err := visits.Book(ctx, vs[2].ID, window(2*(i%2)), nil, now); err != nil {
				errs <- err
			}
		}
	}()
	at := now.Add(30 * time.Minute)
	for range rounds {
		if err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.43, Lon: -99.13, At: at}, at); err != nil {
			errs <- err
		}
	}
	<-done
	close(errs)
	for err := range errs {
		t.Errorf("concurrent position and booking: %v", err)
	}
}

// TestOneVisitUnderWayAtATime: a technician on site at one visit (or on his way to it) who
// taps "on the way" for the next one was let through: its customer was texted that he was
// coming, with the planned hour as ETA, while he was still at the first. Setting out for a
// second visit is refused (409 visit_under_way) until the first is finished.
func TestOneVisitUnderWayAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, _, vs, now := visitFixture(t, 2)
	for i, v := range vs {
		start := now.Add(time.Duration(1+2*i) * time.Hour)
		if _, err := visits.Book(ctx, v.ID, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	at := now.Add(time.Hour)
	for _, st := range []dispatch.VisitStatus{dispatch.VisitEnRoute, dispatch.VisitOnSite} {
		if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: st}, nil, at); err != nil {
			t.Fatal(err)
		}
		_, err := visits.SetStatus(ctx, vs[1].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, at)
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Kind != dispatch.KindConflict || de.Code != "visit_under_way" {
			t.Fatalf("second visit en route while the first is %s: err = %v, want conflict visit_under_way", st, err)
		}
	}
	var n int
	if err := db.NewSelect().Table("events").Where("type = 'visit.en_route' AND visit_id = ?", vs[1].ID).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("visit.en_route events of the second visit = %d, want 0", n)
	}
	// Once the first is finished, he sets out for the next.
	yes := true
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitCompleted, Cause: "Conector dañado", Verdict: "upheld", ServiceRestored: &yes}, nil, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := visits.SetStatus(ctx, vs[1].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, at.Add(time.Hour)); err != nil {
		t.Fatalf("en route after the first was completed: %v", err)
	}
}

// TestStepsWaitForTheVisitsDay: a technician's step on a visit booked for a later day is
// refused (409 visit_not_today) and records nothing — setting out tonight for next week's
// visit texted its customer an ETA for tonight and took the visit out of its day's route —
// and the same step on the visit's day is taken.
func TestStepsWaitForTheVisitsDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, _, vs, now := visitFixture(t, 1)
	start := now.AddDate(0, 0, 7).Add(3 * time.Hour) // next Monday, 10:00
	if _, err := visits.Book(ctx, vs[0].ID, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, now); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{now.Add(14 * time.Hour), start.AddDate(0, 0, -1)} {
		_, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, at)
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Kind != dispatch.KindConflict || de.Code != "visit_not_today" {
			t.Fatalf("en route at %s for a visit at %s: err = %v, want conflict visit_not_today", at, start, err)
		}
	}
	var n int
	if err := db.NewSelect().Table("events").Where("type LIKE 'visit.%' AND type NOT IN ('visit.created', 'visit.booked', 'visit.assigned') AND visit_id = ?", vs[0].ID).ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if v, err := visits.Get(ctx, vs[0].ID); err != nil || n != 0 || v.Status == dispatch.VisitEnRoute || v.Status == dispatch.VisitOnSite {
		t.Fatalf("after the refused steps: %d step events, visit %+v (%v); want none, not under way", n, v, err)
	}
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, start.Add(-30*time.Minute)); err != nil {
		t.Fatalf("en route on the visit's day: %v", err)
	}
}

// TestEnRouteETAFromHisPosition: a technician setting out late, far away, was given his
// planned arrival or, that being past, the very minute he set out as ETA: the customer's
// "on the way" text said he was at the door while he was two hours off. A position he
// shared in the last minutes is where he leaves from; one from another day is not.
func TestEnRouteETAFromHisPosition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, tech, vs, now := visitFixture(t, 2)
	for i, v := range vs {
		start := now.Add(time.Duration(1+4*i) * time.Hour)
		if _, err := visits.Book(ctx, v.ID, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	// 60 km away at 30 km/h: two hours.
	at := now.Add(3*time.Hour + 30*time.Minute)
	if err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.97, Lon: -99.16, At: at.Add(-2 * time.Minute)}, at.Add(-2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	v, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Add(110 * time.Minute); v.ETA.Before(want) {
		t.Errorf("ETA leaving 60 km away at %s = %s, want %s or later", at.Format("15:04"), v.ETA.In(at.Location()).Format("15:04"), want.Format("15:04"))
	}
	// A position from another day says nothing of where he is: the planned arrival stands.
	// (Last Monday at 09:00: he works only Mondays, and an off-shift position is refused.)
	lastWeek := now.AddDate(0, 0, -7).Add(2 * time.Hour)
	if err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.97, Lon: -99.16, At: lastWeek}, lastWeek); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitOnSite}, nil, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := visits.SetStatus(ctx, vs[0].ID, dispatch.Outcome{Status: dispatch.VisitCompleted, Cause: "Fibra rota", Verdict: "upheld", ServiceRestored: &yes}, nil, at.Add(2*time.Hour+10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	next, err := visits.Get(ctx, vs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	leave := at.Add(2*time.Hour + 15*time.Minute)
	v, err = visits.SetStatus(ctx, vs[1].ID, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, leave)
	if err != nil {
		t.Fatal(err)
	}
	want := next.PlannedArrival
	if want.Before(leave) {
		want = leave
	}
	if !v.ETA.Equal(want) {
		t.Errorf("ETA with only last week's position = %s, want %s", v.ETA, want)
	}
}

// TestETAsKeepToThePlan: a technician sharing his position before his shift saw "Llegada
// 07:4x" on a stop booked for 10:00–12:00, and for every later stop an arrival hours before
// its window: the ETAs chained from the minute he shared it, as if he set out at once and
// ran ahead of his plan. A stop he has not set out for is reached no sooner than planned.
func TestETAsKeepToThePlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, visits, tech, vs, now := visitFixture(t, 2)
	for i, v := range vs {
		start := now.Add(time.Duration(3+4*i) * time.Hour) // 10:00 and 14:00
		if _, err := visits.Book(ctx, v.ID, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	at := now.Add(40 * time.Minute) // 07:40, within the margin before his 08:00 shift
	if err := visits.UpdatePosition(ctx, tech.ID, dispatch.Position{Lat: 19.43, Lon: -99.13, At: at}, at); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		got, err := visits.Get(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PlannedArrival.IsZero() || got.ETA.IsZero() {
			t.Fatalf("visit %d: planned arrival %s, ETA %s; want both", v.ID, got.PlannedArrival, got.ETA)
		}
		if got.ETA.Before(got.PlannedArrival) || got.ETA.Before(got.Window.Start.Add(-time.Hour)) {
			t.Errorf("visit %d (window %s–%s, planned arrival %s): ETA %s, before the plan", v.ID,
				got.Window.Start.In(now.Location()).Format("15:04"), got.Window.End.In(now.Location()).Format("15:04"), got.PlannedArrival.In(now.Location()).Format("15:04"), got.ETA.In(now.Location()).Format("15:04"))
		}
		if got.AtRisk {
			t.Errorf("visit %d at risk; want on time", v.ID)
		}
	}
}

// TestRouteChangedTellsTheTechnician: a visit booked before one of a technician's others
// pushed that one an hour later, and nothing told his phone: its visit had no event of its
// own, so the page (which reloads on its visits' events) kept the old time. Each
// technician whose visits are re-timed without an event of their own gets one
// route.changed naming them.
func TestRouteChangedTellsTheTechnician(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, visits, tech, vs, now := visitFixture(t, 2)
	start := now.Add(time.Hour) // 08:00
	first, err := visits.Book(ctx, vs[0].ID, dispatch.Span{Start: start, End: start.Add(4 * time.Hour)}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.PlannedStart.Before(start.Add(30 * time.Minute)) {
		t.Fatalf("set-up: the first visit planned at %s; want early", first.PlannedStart)
	}
	var seen int64
	if err := db.NewSelect().Table("events").ColumnExpr("coalesce(max(id), 0)").Scan(ctx, &seen); err != nil {
		t.Fatal(err)
	}
	// 08:00–09:00: it can only go first, and pushes the other back.
	if _, err := visits.Book(ctx, vs[1].ID, dispatch.Span{Start: start, End: start.Add(time.Hour)}, nil, now); err != nil {
		t.Fatal(err)
	}
	moved, err := visits.Get(ctx, vs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !moved.PlannedStart.After(first.PlannedStart) {
		t.Fatalf("set-up: the first visit still planned at %s; want pushed back", moved.PlannedStart)
	}
	var evs []struct {
		Type         string         `bun:"type"`
		TechnicianID int64          `bun:"technician_id"`
		VisitID      *int64         `bun:"visit_id"`
		Data         map[string]any `bun:"data,type:jsonb"`
	}
	if err := db.NewSelect().Table("events").Column("type", "technician_id", "visit_id", "data").Where("id > ?", seen).OrderExpr("id").Scan(ctx, &evs); err != nil {
		t.Fatal(err)
	}
	var told []any
	for _, e := range evs {
		if e.VisitID != nil && *e.VisitID == vs[0].ID {
			t.Errorf("the pushed visit got an event of its own (%s): this test no longer tests the gap", e.Type)
		}
		if e.Type == postgres.EventRouteChanged {
			if e.TechnicianID != tech.ID {
				t.Errorf("route.changed for technician %d; want %d", e.TechnicianID, tech.ID)
			}
			told = append(told, e.Data["visit_ids"])
		}
	}
	if len(told) != 1 || fmt.Sprint(told[0]) != fmt.Sprint([]any{float64(vs[0].ID)}) {
		t.Errorf("route.changed events' visit_ids = %v; want one naming visit %d", told, vs[0].ID)
	}
}

// TestDispatcherOptimizeDoesNotTakeTheJobsResult: a dispatcher's Optimize that comes while
// the re-plan job's Reoptimize of the day runs does not take the job's result — that one
// kept told visits with their technicians, which the dispatcher's explicit re-plan may move
// — but runs its own once the job's is written. The job waiting for a dispatcher's re-plan
// takes it (nothing is kept that the dispatcher's did not already move).
func TestDispatcherOptimizeDoesNotTakeTheJobsResult(t *testing.T) {
	t.Parallel()
	_, visits, _, vs, now := visitFixture(t, 2)
	day := visits.Config().Day(now)
	for i, v := range vs {
		w := dispatch.Span{Start: now.Add(time.Duration(1+2*i) * time.Hour), End: now.Add(time.Duration(3+2*i) * time.Hour)}
		if _, err := visits.Book(context.Background(), v.ID, w, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	key := day.Format(time.DateOnly)
	opt := schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}
	for _, tt := range []struct {
		name        string
		first, then func() error
		searches    int32
	}{
		{"job then dispatcher", func() error { _, err := visits.Reoptimize(context.Background(), day, opt, now); return err },
			func() error { _, err := visits.Optimize(context.Background(), day, opt, nil, now); return err }, 2},
		{"dispatcher then job", func() error { _, err := visits.Optimize(context.Background(), day, opt, nil, now); return err },
			func() error { _, err := visits.Reoptimize(context.Background(), day, opt, now); return err }, 1},
	} {
		var searches atomic.Int32
		postgres.SetAfterSearch(visits, func() {
			if searches.Add(1) > 1 {
				return
			}
			for deadline := time.Now().Add(10 * time.Second); postgres.OptimizeWaiting(visits, key) < 1 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		})
		firstErr := make(chan error, 1)
		go func() { firstErr <- tt.first() }()
		for postgres.OptimizeWaiting(visits, key) < 0 {
			time.Sleep(time.Millisecond)
		}
		if err := tt.then(); err != nil {
			t.Fatalf("%s: the second call: %v", tt.name, err)
		}
		if err := <-firstErr; err != nil {
			t.Fatalf("%s: the first call: %v", tt.name, err)
		}
		if n := searches.Load(); n != tt.searches {
			t.Errorf("%s: %d searches; want %d", tt.name, n, tt.searches)
		}
	}
}
