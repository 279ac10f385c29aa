package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// closureDoc is the default week with 23 December 2027 (a Thursday) closed.
func closureDoc(tb testing.TB) sla.CalendarDocument {
	tb.Helper()
	d := sla.DefaultCalendar().Document()
	d.Exceptions = append(d.Exceptions, sla.ExceptionDocument{Date: "2027-12-23", Name: "Cierre de fin de año", Closed: true})
	return d
}

// adminOrigin stores an admin and returns him as the origin of changes.
func adminOrigin(tb testing.TB, db *bun.DB) postgres.Origin {
	tb.Helper()
	u, err := dispatch.NewUser("jefa@example.mx", "Jefa Admin", dispatch.RoleAdmin, "contraseña-segura")
	if err != nil {
		tb.Fatal(err)
	}
	if err := postgres.NewUsers(db).Create(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
	return postgres.Origin{User: u}
}

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestBusinessCalendarSeedReplace: a database without a calendar is seeded with the
// configured one (version 1); an admin's replacement is a new version recorded with who
// made it, the old version stays readable for the reports filed under it, a save of a
// stale version or of an invalid document stores nothing, and the database refuses edits
// of a stored version.
func TestBusinessCalendarSeedReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	admin := adminOrigin(t, db)
	store := postgres.NewBusinessCalendar(db, nil, nil)

	cal, v, err := store.Get(ctx)
	if err != nil || v != 1 {
		t.Fatalf("Get on an empty table = version %d, %v; want the seed as version 1", v, err)
	}
	seed, _ := json.Marshal(sla.DefaultCalendar().Document())
	if got, _ := json.Marshal(cal.Document()); string(got) != string(seed) {
		t.Fatalf("seeded calendar %s, want the configured one %s", got, seed)
	}
	var stored int
	if err := db.NewRaw("SELECT count(*) FROM business_calendar").Scan(ctx, &stored); err != nil || stored != 1 {
		t.Fatalf("stored versions = %d, %v; want 1", stored, err)
	}

	eve := time.Date(2027, 12, 23, 11, 0, 0, 0, mx())
	cal, v, err = store.Replace(ctx, closureDoc(t), 1, admin, time.Date(2027, 12, 1, 10, 0, 0, 0, mx()))
	if err != nil || v != 2 {
		t.Fatalf("Replace = version %d, %v; want 2", v, err)
	}
	if cal.IsOpen(eve) {
		t.Fatal("the new calendar is open on the closure")
	}
	var ev struct {
		Actor string          `bun:"actor"`
		Data  json.RawMessage `bun:"data"`
	}
	if err := db.NewRaw(`SELECT actor, data FROM events WHERE type = ?`, postgres.EventCalendarReplaced).Scan(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.Actor, "user:") || !strings.Contains(string(ev.Data), `"version": 2`) || !strings.Contains(string(ev.Data), "2027-12-23") {
		t.Fatalf("calendar.replaced = %s %s; want the admin, version 2 and the closure", ev.Actor, ev.Data)
	}

	// Another admin still on version 1; a document with a bad date.
	if _, _, err := store.Replace(ctx, sla.DefaultCalendar().Document(), 1, admin, eve); dispatch.ErrorKind(err) != dispatch.KindConflict || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Replace of version 1 = %v; want a stale_version conflict", err)
	}
	bad := closureDoc(t)
	bad.Exceptions = append(bad.Exceptions, sla.ExceptionDocument{Date: "2027-02-30", Name: "Nunca", Closed: true})
	var de *dispatch.Error
	if _, _, err := store.Replace(ctx, bad, 2, admin, eve); !errors.As(err, &de) || de.Kind != dispatch.KindInvalid || de.Field != "exceptions[1].date" {
		t.Fatalf("Replace of a bad date = %v; want invalid on exceptions[1].date", err)
	}
	if err := db.NewRaw("SELECT count(*) FROM business_calendar").Scan(ctx, &stored); err != nil || stored != 2 {
		t.Fatalf("stored versions after the refusals = %d, %v; want 2", stored, err)
	}
	old, err := store.Version(ctx, 1)
	if err != nil || !old.IsOpen(eve) {
		t.Fatalf("version 1 = open on the eve %v, %v; want the seed, open", old != nil && old.IsOpen(eve), err)
	}
	if _, err := db.NewRaw("UPDATE business_calendar SET document = '{}' WHERE version = 1").Exec(ctx); err == nil {
		t.Fatal("a stored version was edited; versions must never change")
	}
	if _, err := store.Version(ctx, 9); err == nil {
		t.Fatal("Version(9) of two stored versions gave a calendar")
	}
}

// TestBusinessCalendarRecheck: an instance keeps the calendar it read for CalendarRecheck,
// then finds another instance's save; before then it has not seen it.
func TestBusinessCalendarRecheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	admin := adminOrigin(t, db)
	one, two := postgres.NewBusinessCalendar(db, nil, nil), postgres.NewBusinessCalendar(db, nil, nil)
	clock := &fakeClock{t: time.Now()}
	postgres.SetCalendarClock(one, clock.now)
	closed := time.Date(2027, 12, 23, 11, 0, 0, 0, mx())

	cal, err := one.Current(ctx)
	if err != nil || !cal.IsOpen(closed) {
		t.Fatalf("Current = %v; want the seed", err)
	}
	if _, _, err := two.Replace(ctx, closureDoc(t), 1, admin, time.Now()); err != nil {
		t.Fatal(err)
	}
	clock.add(postgres.CalendarRecheck / 2)
	if cal, err := one.Current(ctx); err != nil || !cal.IsOpen(closed) {
		t.Fatalf("within the recheck period: Current = open %v, %v; want the cached seed", cal != nil && cal.IsOpen(closed), err)
	}
	clock.add(postgres.CalendarRecheck)
	if cal, err := one.Current(ctx); err != nil || cal.IsOpen(closed) {
		t.Fatalf("after the recheck period: Current = open %v, %v; want the other instance's closure", cal != nil && cal.IsOpen(closed), err)
	}
	// The instance that saved applies its save at once.
	if cal, err := two.Current(ctx); err != nil || cal.IsOpen(closed) {
		t.Fatalf("the saving instance: Current = open %v, %v; want the closure at once", cal != nil && cal.IsOpen(closed), err)
	}
}

// TestBusinessCalendarDatabaseDown: once a calendar was read, an instance that cannot reach
// the database keeps filing under it; one that never read a calendar says so.
func TestBusinessCalendarDatabaseDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, dsn := dispatchtest.DBWithURL(t)
	db, err := postgres.Open(dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewBusinessCalendar(db, nil, nil)
	clock := &fakeClock{t: time.Now()}
	postgres.SetCalendarClock(store, clock.now)
	first, err := store.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	clock.add(2 * postgres.CalendarRecheck)
	if got, err := store.Current(ctx); err != nil || got != first {
		t.Fatalf("Current with the database gone = %p, %v; want the calendar read before (%p)", got, err, first)
	}
	if _, err := postgres.NewBusinessCalendar(db, nil, nil).Current(ctx); err == nil {
		t.Fatal("Current of a store that never read a calendar, with the database gone, gave one")
	}
}

// TestReportDueSkipsClosure: a 1-business-day inquiry filed on the eve of a closure that an
// admin has added is due when the day after the closure ends; one filed before the closure
// was added keeps its due time (and is measured by its own calendar when its clock is
// paused and resumed, and by the SLA job), until it is reclassified, which fixes the
// calendar in force then. The expected instants are written out from a wall calendar.
func TestReportDueSkipsClosure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	admin := adminOrigin(t, db)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	filed := time.Date(2027, 12, 22, 10, 0, 0, 0, mx()) // Wednesday; Thursday will be closed
	file := func(phone string) *dispatch.Report {
		t.Helper()
		c, _, err := reports.Create(ctx, newReport(t, filed, "inquiry", phone, ""), admin, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Report
	}
	thursdayClose := time.Date(2027, 12, 23, 18, 0, 0, 0, mx())
	fridayClose := time.Date(2027, 12, 24, 18, 0, 0, 0, mx())

	before := file("55 3000 0001")
	paused := file("55 3000 0002")
	if before.DueAt == nil || !before.DueAt.Equal(thursdayClose) || before.CalendarVersion != 1 {
		t.Fatalf("inquiry filed Wednesday 10:00 due %v (calendar %d); want Thursday 18:00 (version 1)", before.DueAt, before.CalendarVersion)
	}
	if _, err := reports.Change(ctx, paused.Folio, dispatch.Change{Action: dispatch.ActionWaitCustomer}, admin, filed.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reports.Calendar().Replace(ctx, closureDoc(t), 1, admin, filed.Add(150*time.Minute)); err != nil {
		t.Fatal(err)
	}

	after := file("55 3000 0003")
	if after.DueAt == nil || !after.DueAt.Equal(fridayClose) || after.CalendarVersion != 2 {
		t.Fatalf("inquiry filed after the closure was added due %v (calendar %d); want Friday 24 December 18:00 (version 2)", after.DueAt, after.CalendarVersion)
	}
	if got, err := reports.Get(ctx, before.Folio); err != nil || !got.Report.DueAt.Equal(thursdayClose) {
		t.Fatalf("the report filed before the closure: due %v, %v; want it kept at Thursday 18:00", got.Report.DueAt, err)
	}
	// Paused Wednesday 12:00–13:00 and resumed after the closure was added: its own
	// calendar (Thursday open) gives 17 business hours from 10:00 plus the hour paused:
	// Friday 10:00. Counted on the new one it would be Monday 27 December 10:00.
	d, err := reports.Change(ctx, paused.Folio, dispatch.Change{Action: dispatch.ActionResume}, admin, filed.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 12, 24, 10, 0, 0, 0, mx()); d.Report.DueAt == nil || !d.Report.DueAt.Equal(want) {
		t.Fatalf("resumed report due %v; want %v, on the calendar it was filed under", d.Report.DueAt, want)
	}

	// The SLA job, a minute after Thursday's close: only the report filed before is late.
	if _, err := reports.MarkSLATargets(ctx, thursdayClose.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	state := func(r *dispatch.Report) string {
		t.Helper()
		var s string
		if err := db.NewRaw("SELECT sla_state FROM reports WHERE id = ?", r.ID).Scan(ctx, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if b, a := state(before), state(after); b != "breached" || a != "ok" {
		t.Fatalf("after Thursday's close: filed before %s, filed after %s; want breached and ok", b, a)
	}
	m, err := reports.SLAOf(ctx, after)
	if err != nil || after.SLAStatus(m, thursdayClose.Add(time.Minute)).State != sla.StateOK {
		t.Fatalf("SLAOf the report filed after: %v; want it measured as ok on Thursday evening", err)
	}

	// Reclassified, the report filed before takes the policy and the calendar in force.
	d, err = reports.Change(ctx, before.Folio, dispatch.Change{Action: dispatch.ActionReclassify, Priority: "high"}, admin, thursdayClose.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if d.Report.CalendarVersion != 2 || d.Report.DueAt == nil || !d.Report.DueAt.Equal(fridayClose) || d.Report.SLAState != sla.StateOK {
		t.Fatalf("reclassified: calendar %d, due %v, state %s; want version 2, Friday 18:00, ok", d.Report.CalendarVersion, d.Report.DueAt, d.Report.SLAState)
	}
}
