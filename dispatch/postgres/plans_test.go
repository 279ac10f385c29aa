package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/schedule"
)

// planEnv is a database with technicians working Mondays 08–18 in Mexico City; now is
// 07:00 on Monday 2026-11-30.
type planEnv struct {
	db      *bun.DB
	events  *postgres.Events
	reports *postgres.Reports
	techs   *postgres.Technicians
	visits  *postgres.Visits
	now     time.Time
	day     time.Time
	n       int
}

func newPlanEnv(tb testing.TB) *planEnv {
	tb.Helper()
	db := dispatchtest.DB(tb)
	events := postgres.NewEvents()
	reports := postgres.NewReports(db, events, dispatch.SLA{})
	visits := postgres.NewVisits(db, events, reports, planning.Config{})
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, visits.Config().Zone)
	return &planEnv{db: db, events: events, reports: reports, techs: postgres.NewTechnicians(db, events), visits: visits,
		now: day.Add(7 * time.Hour), day: day}
}

// tech adds a fiber technician working Mondays 08–18 from home at lat.
func (e *planEnv) tech(tb testing.TB, name string, lat float64) *dispatch.Technician {
	tb.Helper()
	t := &dispatch.Technician{Name: name, Phone: "55 1234 5678", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: lat, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}}}
	if err := e.techs.Create(context.Background(), t, nil); err != nil {
		tb.Fatal(err)
	}
	return t
}

// visit files a fault report and adds an unscheduled fiber visit of min minutes at lat.
func (e *planEnv) visit(tb testing.TB, lat float64, min int) *dispatch.Visit {
	tb.Helper()
	ctx := context.Background()
	e.n++
	c, _, err := e.reports.Create(ctx, newReport(tb, e.now, "fault", "55 3100 "+itoa4(e.n), ""), postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	lon := -99.16
	v, err := e.visits.Create(ctx, c.Report.Folio, dispatch.NewVisit{DurationMin: min, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, e.now)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func itoa4(n int) string {
	b := []byte("0000")
	for i := 3; i >= 0 && n > 0; i, n = i-1, n/10 {
		b[i] = byte('0' + n%10)
	}
	return string(b)
}

// at is h:m on the env's Monday.
func (e *planEnv) at(h, m int) time.Time {
	return e.day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func (e *planEnv) book(tb testing.TB, v *dispatch.Visit, from, to int) *dispatch.Visit {
	tb.Helper()
	got, err := e.visits.Book(context.Background(), v.ID, dispatch.Span{Start: e.at(from, 0), End: e.at(to, 0)}, nil, e.now)
	if err != nil {
		tb.Fatal(err)
	}
	return got
}

// visitEvents returns the technician of each event of type typ about visit id, in order.
func (e *planEnv) visitEvents(tb testing.TB, id int64, typ string) []int64 {
	tb.Helper()
	var techs []int64
	if err := e.db.NewRaw("SELECT coalesce(technician_id, 0) FROM events WHERE visit_id = ? AND type = ? ORDER BY id", id, typ).
		Scan(context.Background(), &techs); err != nil {
		tb.Fatal(err)
	}
	return techs
}

// TestBookingAnnouncesOtherVisitsItMoves: Juan's time off is recorded (not as an
// unavailability: nothing re-plans at once) over his 10–12 visit; the next booking of the
// day plans that visit with Otro, who can keep its window. The customer whose technician
// changed gets one visit.rescheduled naming Otro, as a re-plan gives; the booking used to
// move him silently, so his reminder still named Juan and no board heard of it.
func TestBookingAnnouncesOtherVisitsItMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	otro := e.tech(t, "Otro", 19.60)
	v1 := e.book(t, e.visit(t, 19.40, 60), 10, 12)
	if v1.TechnicianID != juan.ID {
		t.Fatalf("10–12 visit with technician %d, want Juan (%d), who lives next door", v1.TechnicianID, juan.ID)
	}
	off := &dispatch.Exception{TechnicianID: juan.ID, Start: e.at(9, 0), End: e.at(13, 0), Reason: dispatch.ExceptionTimeOff}
	if err := e.techs.AddExceptionTx(ctx, off, nil); err != nil {
		t.Fatal(err)
	}
	e.book(t, e.visit(t, 19.41, 60), 14, 16)
	got, err := e.visits.Get(ctx, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != otro.ID {
		t.Fatalf("10–12 visit after Juan's time off and a booking: technician %d, want Otro (%d)", got.TechnicianID, otro.ID)
	}
	if evs := e.visitEvents(t, v1.ID, "visit.rescheduled"); len(evs) != 1 || evs[0] != otro.ID {
		t.Errorf("visit.rescheduled of the visit the booking gave to Otro: technicians %v, want [%d]", evs, otro.ID)
	}
}

// TestReplanAnnouncesOtherVisitsItMoves: as TestBookingAnnouncesOtherVisitsItMoves, for the
// re-plan of Juan's day when he is marked unavailable from 13:00: Otro's time off, recorded
// over his 10–12 visit, sends that visit to Juan, free in the morning, in the same re-plan;
// its customer gets one visit.rescheduled.
func TestReplanAnnouncesOtherVisitsItMoves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	otro := e.tech(t, "Otro", 19.50)
	mine := e.book(t, e.visit(t, 19.40, 60), 14, 16)
	his := e.book(t, e.visit(t, 19.50, 60), 10, 12)
	if mine.TechnicianID != juan.ID || his.TechnicianID != otro.ID {
		t.Fatalf("visits with technicians %d and %d, want Juan (%d) and Otro (%d), who live next door", mine.TechnicianID, his.TechnicianID, juan.ID, otro.ID)
	}
	off := &dispatch.Exception{TechnicianID: otro.ID, Start: e.at(9, 0), End: e.at(13, 0), Reason: dispatch.ExceptionTimeOff}
	if err := e.techs.AddExceptionTx(ctx, off, nil); err != nil {
		t.Fatal(err)
	}
	res, err := e.visits.MarkUnavailable(ctx, juan.ID, dispatch.Exception{Start: e.at(13, 0), End: e.at(18, 0)}, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Moved) != 1 || res.Moved[0] != mine.ID {
		t.Fatalf("re-plan of Juan's day = %+v, want his visit moved", res)
	}
	got, err := e.visits.Get(ctx, his.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != juan.ID {
		t.Fatalf("Otro's 10–12 visit in his time off after the re-plan: technician %d, want Juan (%d)", got.TechnicianID, juan.ID)
	}
	if evs := e.visitEvents(t, his.ID, "visit.rescheduled"); len(evs) != 1 || evs[0] != juan.ID {
		t.Errorf("visit.rescheduled of Otro's visit the re-plan gave to Juan: technicians %v, want [%d]", evs, juan.ID)
	}
}

// TestClosedReportsVisitIsNotBooked: once its report is cancelled, or resolved (over the
// phone, say), a visit is offered no slot and can be neither held, booked, inserted,
// assigned nor moved (409 report_closed): a booking used to go through, texting the
// customer an appointment for a report closed meanwhile and sending a technician.
// Reopened, the report's visit is booked again.
func TestClosedReportsVisitIsNotBooked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	w := dispatch.Span{Start: e.at(10, 0), End: e.at(12, 0)}
	closed := func(what string, err error) {
		t.Helper()
		var de *dispatch.Error
		// The visit was cancelled with its report (TestClosingReportCancelsItsVisits), or is
		// refused for its report.
		if !errors.As(err, &de) || de.Kind != dispatch.KindConflict || (de.Code != "report_closed" && de.Code != "illegal_transition") {
			t.Errorf("%s: %v, want 409 report_closed or illegal_transition", what, err)
		}
	}
	staff := postgres.Origin{Actor: "agent"}
	yes := true
	for _, c := range []dispatch.Change{
		{Action: dispatch.ActionCancel, Reason: "the customer withdrew it"},
		{Action: dispatch.ActionResolve, Cause: "reinicio del módem", Verdict: "upheld", ServiceRestored: &yes},
	} {
		v := e.visit(t, 19.40, 60)
		if _, err := e.reports.Change(ctx, v.Folio, c, staff, e.now); err != nil {
			t.Fatal(err)
		}
		_, err := e.visits.Slots(ctx, v.ID, e.day, 1, e.now)
		closed(string(c.Action)+": slots", err)
		_, err = e.visits.Hold(ctx, v.ID, w, e.now)
		closed(string(c.Action)+": hold", err)
		_, err = e.visits.Book(ctx, v.ID, w, nil, e.now)
		closed(string(c.Action)+": book", err)
		_, err = e.visits.InsertUrgent(ctx, v.ID, nil, e.at(9, 0))
		closed(string(c.Action)+": urgent insert", err)
		if n := len(e.visitEvents(t, v.ID, "visit.booked")); n != 0 {
			t.Errorf("%s: %d visit.booked, want none", c.Action, n)
		}
	}
	// Resolved, then reopened: its visit books again. (A visit booked before its report
	// was resolved is cancelled with it: TestClosingReportCancelsItsVisits.)
	v := e.visit(t, 19.40, 60)
	if _, err := e.reports.Change(ctx, v.Folio, dispatch.Change{Action: dispatch.ActionResolve, Cause: "reinicio", Verdict: "upheld", ServiceRestored: &yes}, staff, e.now); err != nil {
		t.Fatal(err)
	}
	lat, lon := 19.40, -99.16
	if _, err := e.visits.Create(ctx, v.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, e.now); dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Errorf("a new visit for a resolved report: %v, want a conflict", err)
	}
	if _, err := e.reports.Change(ctx, v.Folio, dispatch.Change{Action: dispatch.ActionReopen, Reason: "sigue sin servicio"}, staff, e.now); err != nil {
		t.Fatal(err)
	}
	nv, err := e.visits.Create(ctx, v.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.visits.Book(ctx, nv.ID, w, nil, e.now); err != nil {
		t.Errorf("booking a visit of the reopened report: %v", err)
	}
}

// TestRebookingClearsETAAndRisk: a visit whose ETA ran past its window (at risk) is booked
// again for next Monday. Its ETA and risk were of the old window: they used to stay, so the
// board showed it at risk all week with last Monday's ETA, and on the day a late technician
// raised no visit.at_risk (it was marked already). Now the new window starts with neither,
// and running late on it is announced again.
func TestRebookingClearsETAAndRisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.43)
	v := e.book(t, e.visit(t, 19.40, 60), 8, 10)
	far := func(at time.Time) {
		t.Helper()
		// 60 km away at 30 km/h: two hours off.
		if err := e.visits.UpdatePosition(ctx, juan.ID, dispatch.Position{Lat: 19.97, Lon: -99.16, At: at}, at); err != nil {
			t.Fatal(err)
		}
	}
	far(e.at(8, 30))
	if got, _ := e.visits.Get(ctx, v.ID); !got.AtRisk {
		t.Fatalf("visit not at risk with Juan two hours away: %+v", got)
	}
	next := e.day.AddDate(0, 0, 7)
	got, err := e.visits.Book(ctx, v.ID, dispatch.Span{Start: next.Add(10 * time.Hour), End: next.Add(12 * time.Hour)}, nil, e.at(8, 35))
	if err != nil {
		t.Fatal(err)
	}
	if got.AtRisk || !got.ETA.IsZero() {
		t.Errorf("visit booked for next Monday: at risk %v, ETA %v; want neither (they were of the old window)", got.AtRisk, got.ETA)
	}
	far(next.Add(10*time.Hour + 30*time.Minute))
	if n := len(e.visitEvents(t, v.ID, "visit.at_risk")); n != 2 {
		t.Errorf("%d visit.at_risk, want 2: one per window run late", n)
	}
}

// TestHeldVisitLeavesItsRoute: an outage on TORRE-3 holds Ana's visit, booked with Juan
// tomorrow 10–12 (nobody goes to one customer of a known mass outage; the incident's
// resolution cancels it). It used to keep Juan and its planned hour: the day's plan left it
// out (held) while the database still counted the hour as Juan's, so a 10–12 slot was
// offered to Beto and booking it was 409 overlap, and Juan's route still sent him to Ana.
// Now holding takes the visit off Juan's route (visit.unassigned for his board), Beto books
// 10–12 with him, and no move or re-plan puts Ana's visit back.
func TestHeldVisitLeavesItsRoute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newIncidentEnv(t, dispatch.IncidentRule{}, false)
	visits := postgres.NewVisits(e.db, e.events, e.reports, planning.Config{})
	juan := &dispatch.Technician{Name: "Juan", Phone: "55 1234 5678", Home: dispatch.LatLon{Lat: 19.40, Lon: -99.10},
		Shifts: []dispatch.WeeklyShift{{Weekday: 4, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(e.db, e.events).Create(ctx, juan, nil); err != nil {
		t.Fatal(err)
	}
	cfg := visits.Config()
	tomorrow := cfg.NextDay(cfg.Day(clock))
	w := dispatch.Span{Start: tomorrow.Add(10 * time.Hour), End: tomorrow.Add(12 * time.Hour)}
	ana := e.visit(t, e.report(t, "fault", "55 4000 0001", "TORRE-3", "", clock.Add(-time.Hour), nil).ID)
	if v, err := visits.Book(ctx, ana, w, nil, clock); err != nil || v.TechnicianID != juan.ID {
		t.Fatalf("Ana's booking: %+v, %v; want Juan", v, err)
	}
	e.open(t, "TORRE-3", clock.Add(-2*time.Hour))

	v, err := visits.Get(ctx, ana)
	if err != nil {
		t.Fatal(err)
	}
	if v.TechnicianID != 0 || !v.PlannedStart.IsZero() || v.PlanDay != "" || v.Window == nil {
		t.Errorf("Ana's held visit: technician %d, planned %v on %q; want off every route, its window kept", v.TechnicianID, v.PlannedStart, v.PlanDay)
	}
	day, err := visits.Day(ctx, tomorrow)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range day {
		if o.ID == ana && o.TechnicianID != 0 {
			t.Errorf("Juan's route tomorrow still sends him to Ana")
		}
	}
	var unassigned []int64
	if err := e.db.NewRaw("SELECT technician_id FROM events WHERE visit_id = ? AND type = 'visit.unassigned'", ana).Scan(ctx, &unassigned); err != nil {
		t.Fatal(err)
	}
	if len(unassigned) != 1 || unassigned[0] != juan.ID {
		t.Errorf("visit.unassigned of the held visit for technicians %v, want [%d]", unassigned, juan.ID)
	}

	beto := e.visit(t, e.report(t, "fault", "55 4000 0002", "", "", clock.Add(-time.Hour), nil).ID)
	ss, err := visits.Slots(ctx, beto, tomorrow, 1, clock)
	if err != nil || !slotsHave(ss, w) {
		t.Fatalf("Beto's slots: %v, %v; want 10–12 among them", ss, err)
	}
	got, err := visits.Book(ctx, beto, w, nil, clock)
	if err != nil {
		t.Fatalf("Beto's booking of the offered 10–12: %v", err)
	}
	if _, err := visits.Move(ctx, ana, postgres.MoveRequest{TechnicianID: juan.ID, Position: 1, Version: v.Version}, e.staff.User, clock); dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Errorf("moving the held visit onto Juan's route: %v, want a conflict", err)
	}
	if _, err := visits.Optimize(ctx, tomorrow, schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}, nil, clock); err != nil {
		t.Fatal(err)
	}
	if v, _ := visits.Get(ctx, ana); v.TechnicianID != 0 {
		t.Errorf("the re-plan put the held visit back with technician %d", v.TechnicianID)
	}
	if v, _ := visits.Get(ctx, got.ID); v.TechnicianID != juan.ID {
		t.Errorf("Beto's visit after the re-plan: technician %d, want Juan", v.TechnicianID)
	}
}

func slotsHave(ss []dispatch.Span, w dispatch.Span) bool {
	for _, s := range ss {
		if s.Start.Equal(w.Start) && s.End.Equal(w.End) {
			return true
		}
	}
	return false
}

// TestTodaysSlotsStartFromNow: at 13:30 Juan has been on site since 13:00 at a 4-hour
// visit planned for 08:00–12:00: he is busy until 17:00, and an hour's visit then would end
// past his shift. Today's slots, bookings and urgent inserts used to time his day as
// planned in the morning, as if he were free since noon: 14–16 and 16–18 were offered and
// 14–16 booked, a promise he could not keep. Now they start from now, as a re-plan does: nothing
// today; tomorrow's offer is unchanged.
func TestTodaysSlotsStartFromNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	e.tech(t, "Juan", 19.40)
	long := e.book(t, e.visit(t, 19.40, 240), 8, 12)
	for _, step := range []struct {
		status dispatch.VisitStatus
		at     time.Time
	}{{dispatch.VisitEnRoute, e.at(12, 40)}, {dispatch.VisitOnSite, e.at(13, 0)}} {
		if _, err := e.visits.SetStatus(ctx, long.ID, dispatch.Outcome{Status: step.status}, nil, step.at); err != nil {
			t.Fatal(err)
		}
	}
	now := e.at(13, 30)
	v := e.visit(t, 19.41, 60)
	ss, err := e.visits.Slots(ctx, v.ID, e.day, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 0 {
		t.Errorf("today's slots at 13:30 = %v, want none: Juan is on site until 17:00", ss)
	}
	_, err = e.visits.Book(ctx, v.ID, dispatch.Span{Start: e.at(14, 0), End: e.at(16, 0)}, nil, now)
	if dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Errorf("booking 14–16 today: %v, want 409 window_unavailable", err)
	}
	_, err = e.visits.InsertUrgent(ctx, e.visit(t, 19.41, 60).ID, nil, now)
	if dispatch.ErrorKind(err) != dispatch.KindConflict {
		t.Errorf("urgent insert at 13:30: %v, want a conflict", err)
	}
	// Next Monday nothing is under way: the same offer as ever.
	next := e.day.AddDate(0, 0, 7)
	ss, err = e.visits.Slots(ctx, v.ID, next, 1, now)
	if err != nil || len(ss) != 5 {
		t.Errorf("next Monday's slots = %v, %v; want the day's five", ss, err)
	}
}

// TestTodaysMoveStartsFromNow: as TestTodaysSlotsStartFromNow, for a dispatcher's move. At
// 13:30 Juan is on site until 17:00; Otro's 14–16 visit cannot go after it (refused,
// breaks_rule), nor before it (breaks_pin: a visit under way stays first). The move used to
// time Juan's day as planned in the morning and put the visit with him at 14:00.
func TestTodaysMoveStartsFromNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	long := e.book(t, e.visit(t, 19.40, 240), 8, 12)
	otro := e.tech(t, "Otro", 19.42)
	v := e.book(t, e.visit(t, 19.42, 60), 14, 16)
	v, err := e.visits.Assign(ctx, v.ID, postgres.AssignRequest{TechnicianID: otro.ID, Version: v.Version}, nil, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if long.TechnicianID != juan.ID || v.TechnicianID != otro.ID {
		t.Fatalf("visits with %d and %d, want Juan (%d) and Otro (%d)", long.TechnicianID, v.TechnicianID, juan.ID, otro.ID)
	}
	for _, step := range []struct {
		status dispatch.VisitStatus
		at     time.Time
	}{{dispatch.VisitEnRoute, e.at(12, 40)}, {dispatch.VisitOnSite, e.at(13, 0)}} {
		if _, err := e.visits.SetStatus(ctx, long.ID, dispatch.Outcome{Status: step.status}, nil, step.at); err != nil {
			t.Fatal(err)
		}
	}
	now := e.at(13, 30)
	for _, c := range []struct {
		pos  int
		code string
	}{{2, "breaks_rule"}, {1, "breaks_pin"}} {
		_, err := e.visits.Move(ctx, v.ID, postgres.MoveRequest{TechnicianID: juan.ID, Position: c.pos, Version: v.Version}, nil, now)
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Code != c.code {
			t.Errorf("moving Otro's 14–16 visit to Juan's position %d at 13:30: %v, want 409 %s", c.pos, err, c.code)
		}
	}
	if got, _ := e.visits.Get(ctx, v.ID); got.TechnicianID != otro.ID {
		t.Errorf("14–16 visit with technician %d after the refused moves, want Otro (%d)", got.TechnicianID, otro.ID)
	}
	// Otro can still take it at his position 1, from now.
	got, err := e.visits.Move(ctx, v.ID, postgres.MoveRequest{TechnicianID: otro.ID, Position: 1, Version: v.Version}, nil, now)
	if err != nil || got.TechnicianID != otro.ID || got.RoutePosition != 1 || got.PlannedStart.Before(e.at(14, 0)) {
		t.Errorf("moving it to Otro's position 1: %+v, %v", got, err)
	}
}

// TestStaleHourDoesNotBlockTheDay: Juan's 2-hour visit to 19.50 (window 12–14) was planned
// 12:22–14:22 and not started by 14:05: its window can no longer be kept, so a plan from now
// leaves it where it was, and times his 14–16 visit from now, at 14:05. That used to
// overlap the hour the stale visit still held in the database: optimise failed (409
// overlap) until 14:22, and so did any booking of the day, even one for Otro. The stale
// visit now gives up its planned hour (it stays Juan's, for the dispatcher to settle).
func TestStaleHourDoesNotBlockTheDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	e.book(t, e.visit(t, 19.40, 120), 10, 12)
	stale := e.book(t, e.visit(t, 19.50, 120), 12, 14)
	next := e.book(t, e.visit(t, 19.40, 30), 14, 16)
	if stale.TechnicianID != juan.ID || next.TechnicianID != juan.ID || !stale.PlannedEnd.After(e.at(14, 5)) {
		t.Fatalf("Juan's day: %+v, %+v; want both with him, the long one ending after 14:05", stale, next)
	}
	now := e.at(14, 5)
	if _, err := e.visits.Optimize(ctx, e.day, schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}, nil, now); err != nil {
		t.Errorf("optimise at 14:05: %v", err)
	}
	otro := e.tech(t, "Otro", 19.45)
	if v, err := e.visits.Book(ctx, e.visit(t, 19.45, 30).ID, dispatch.Span{Start: e.at(15, 0), End: e.at(17, 0)}, nil, now); err != nil || v.TechnicianID != otro.ID {
		t.Errorf("booking 15–17 near Otro at 14:05: %+v, %v; want it with Otro", v, err)
	}
	got, err := e.visits.Get(ctx, next.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TechnicianID != juan.ID || got.PlannedStart.Before(now) || got.PlannedStart.After(e.at(14, 15)) {
		t.Errorf("Juan's 14–16 visit: technician %d at %v, want Juan from about now", got.TechnicianID, got.PlannedStart.In(e.day.Location()))
	}
	if s, err := e.visits.Get(ctx, stale.ID); err != nil || s.TechnicianID != juan.ID || s.Status != dispatch.VisitBooked {
		t.Errorf("the stale visit: %+v, %v; want still booked with Juan", s, err)
	}
}

// TestEarlyArrivalDoesNotBlockTheDay: as TestStaleHourDoesNotBlockTheDay, for a visit under
// way ahead of its plan. Juan arrives at 13:05 at his visit planned 14:00–15:00, so a plan
// from now has him free at 14:05 and times his next visit then, inside the hour the visit
// under way still held: optimise at 13:10 failed (409 overlap). Now the visit under way
// takes the hour it really has, 13:05–14:05, and stays first on his route.
func TestEarlyArrivalDoesNotBlockTheDay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newPlanEnv(t)
	juan := e.tech(t, "Juan", 19.40)
	a := e.book(t, e.visit(t, 19.40, 60), 14, 16)
	b := e.book(t, e.visit(t, 19.41, 60), 14, 16)
	first, _ := e.visits.Get(ctx, a.ID)
	second, _ := e.visits.Get(ctx, b.ID)
	if second.PlannedStart.Before(first.PlannedStart) {
		first, second = second, first
	}
	if first.TechnicianID != juan.ID || second.TechnicianID != juan.ID || !first.PlannedEnd.After(e.at(14, 30)) {
		t.Fatalf("Juan's day: %v–%v then %v", first.PlannedStart, first.PlannedEnd, second.PlannedStart)
	}
	for _, step := range []struct {
		status dispatch.VisitStatus
		at     time.Time
	}{{dispatch.VisitEnRoute, e.at(13, 0)}, {dispatch.VisitOnSite, e.at(13, 5)}} {
		if _, err := e.visits.SetStatus(ctx, first.ID, dispatch.Outcome{Status: step.status}, nil, step.at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.visits.Optimize(ctx, e.day, schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}, nil, e.at(13, 10)); err != nil {
		t.Errorf("optimise at 13:10: %v", err)
	}
	if got, _ := e.visits.Get(ctx, second.ID); got.PlannedStart.After(e.at(14, 15)) {
		t.Errorf("next visit at %v, want from about 14:05, when Juan is done", got.PlannedStart.In(e.day.Location()))
	}
	// The visit under way takes the hour it really has, and stays first on his route.
	day, err := e.visits.Day(ctx, e.day)
	if err != nil {
		t.Fatal(err)
	}
	if len(day) != 2 || day[0].ID != first.ID || !day[0].PlannedStart.Equal(e.at(13, 5)) || !day[0].PlannedEnd.Equal(e.at(14, 5)) {
		t.Errorf("Juan's route: first %d planned %v–%v; want the visit under way %d, 13:05–14:05", day[0].ID,
			day[0].PlannedStart.In(e.day.Location()), day[0].PlannedEnd.In(e.day.Location()), first.ID)
	}
}

// TestUnassignedVisitsNextTechnicianIsAnnounced: a dispatcher takes Juan off a booked
// 10–12 visit (it keeps its window: visit.unassigned, no text). Whatever then gives it a
// technician — a dispatcher's assignment or move, the re-plan of the day — announces him
// once (visit.rescheduled, which re-queues the reminder naming him and tells the boards)
// when he is not Juan, whom its customer was told, and not at all when he is Juan again.
// An assignment to Otro used to write only visit.assigned, judged against the visit's
// technician (none) rather than the one its customer was told: the booked text and the
// day-before reminder still named Juan.
func TestUnassignedVisitsNextTechnicianIsAnnounced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		back bool // to Juan again
		give func(e *planEnv, v *dispatch.Visit, to int64) error
	}{
		{"assign", false, assignTo},
		{"move", false, moveTo},
		{"optimize", false, optimizeDay},
		{"assign back", true, assignTo},
		{"move back", true, moveTo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t)
			juan := e.tech(t, "Juan", 19.40)
			otro := e.tech(t, "Otro", 19.60)
			v := e.book(t, e.visit(t, 19.40, 60), 10, 12)
			if v.TechnicianID != juan.ID {
				t.Fatalf("10–12 visit with technician %d, want Juan (%d), who lives next door", v.TechnicianID, juan.ID)
			}
			un, err := e.visits.Unassign(ctx, v.ID, v.Version, nil, e.now)
			if err != nil {
				t.Fatal(err)
			}
			to, want := otro.ID, []int64{otro.ID}
			if tc.back {
				to, want = juan.ID, nil
			} else if tc.name == "optimize" {
				// Juan is away in the morning: the re-plan can only give it to Otro.
				off := &dispatch.Exception{TechnicianID: juan.ID, Start: e.at(9, 0), End: e.at(13, 0), Reason: dispatch.ExceptionTimeOff}
				if err := e.techs.AddExceptionTx(ctx, off, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := tc.give(e, un, to); err != nil {
				t.Fatal(err)
			}
			got, err := e.visits.Get(ctx, v.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.TechnicianID != to {
				t.Fatalf("visit after %s: technician %d, want %d", tc.name, got.TechnicianID, to)
			}
			if evs := e.visitEvents(t, v.ID, "visit.rescheduled"); !slices.Equal(evs, want) {
				t.Errorf("visit.rescheduled after the unassign and %s: technicians %v, want %v", tc.name, evs, want)
			}
		})
	}
}

func assignTo(e *planEnv, v *dispatch.Visit, to int64) error {
	_, err := e.visits.Assign(context.Background(), v.ID, postgres.AssignRequest{TechnicianID: to, Version: v.Version}, nil, e.now)
	return err
}

func moveTo(e *planEnv, v *dispatch.Visit, to int64) error {
	_, err := e.visits.Move(context.Background(), v.ID, postgres.MoveRequest{TechnicianID: to, Position: 1, Version: v.Version}, nil, e.now)
	return err
}

func optimizeDay(e *planEnv, _ *dispatch.Visit, _ int64) error {
	_, err := e.visits.Optimize(context.Background(), e.day, schedule.Options{TimeLimit: 200 * time.Millisecond, Seed: 1}, nil, e.now)
	return err
}
