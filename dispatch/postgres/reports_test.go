package postgres_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

func newReport(tb testing.TB, now time.Time, kind, phone, email string) *dispatch.NewReport {
	tb.Helper()
	in := dispatch.ReportInput{Channel: "phone", Kind: kind, Description: "Sin servicio",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: phone, Email: email}}
	nr, err := in.Validate(now)
	if err != nil {
		tb.Fatal(err)
	}
	return nr
}

// TestFoliosConcurrent creates reports from many goroutines at once: folios are unique and
// gapless in creation order.
func TestFoliosConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	now := time.Now()
	const n = 24
	folios := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := reports.Create(ctx, newReport(t, now, "inquiry", fmt.Sprintf("55 1000 %04d", i%5), ""), postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			folios[i] = c.Report.Folio
		}()
	}
	wg.Wait()
	sort.Strings(folios)
	year := now.In(mx()).Year()
	for i, f := range folios {
		if want := dispatch.FormatFolio(year, int64(i+1)); f != want {
			t.Fatalf("folio %d = %s, want %s (all: %v)", i, f, want, folios)
		}
	}
	// Five phones, five customers, whatever the races.
	var customers int
	if err := db.NewRaw("SELECT count(*) FROM customers").Scan(ctx, &customers); err != nil {
		t.Fatal(err)
	}
	if customers != 5 {
		t.Fatalf("customers = %d, want 5", customers)
	}
}

func mx() *time.Location {
	loc, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		panic(err)
	}
	return loc
}

// TestCustomerMatching: by phone first, else by e-mail, else a new customer; staff input
// fills in what the stored customer lacks, the public form changes nothing.
func TestCustomerMatching(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	now := time.Now()
	create := func(phone, email string, trusted bool) int64 {
		t.Helper()
		c, _, err := reports.Create(ctx, newReport(t, now, "inquiry", phone, email), postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Trusted: trusted})
		if err != nil {
			t.Fatal(err)
		}
		return c.Customer.ID
	}
	a := create("", "ana@example.mx", false)
	if b := create("55 2222 3333", "ANA@example.mx", false); b != a {
		t.Fatalf("by e-mail: customer %d, want %d", b, a)
	}
	got, err := postgres.NewCustomers(db).ByID(ctx, a)
	if err != nil || got.Phone != "" {
		t.Fatalf("public form changed the customer: %+v %v", got, err)
	}
	if b := create("55 2222 3333", "ana@example.mx", true); b != a {
		t.Fatalf("staff by e-mail: customer %d, want %d", b, a)
	}
	if got, _ := postgres.NewCustomers(db).ByPhone(ctx, "+525522223333"); got == nil || got.ID != a {
		t.Fatalf("staff input did not add the phone: %+v", got)
	}
	if b := create("+52 1 55 2222 3333", "otra@example.mx", false); b != a {
		t.Fatalf("by phone: customer %d, want %d", b, a)
	}
	if c := create("55 9999 0000", "", false); c == a {
		t.Fatal("a new phone matched an existing customer")
	}
}

// TestMarkSLA stands at chosen instants after a report's creation: at risk once, breached
// once, never while waiting on the customer, and every mark is an event.
func TestMarkSLA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	// Urgent faults have a 4 h wall-clock resolution budget.
	created := time.Date(2026, 11, 29, 22, 0, 0, 0, mx()) // a Sunday night
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Priority: "urgent", Description: "Sin servicio",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "55 1234 0001"}}
	mk := func() string {
		nr, err := in.Validate(created)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Report.Folio
	}
	running, waiting := mk(), mk()
	if _, err := reports.Change(ctx, waiting, dispatch.Change{Action: dispatch.ActionWaitCustomer}, postgres.Origin{Actor: "system"}, created.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after            time.Duration
		atRisk, breached int
	}{
		{3 * time.Hour, 0, 0},
		{3*time.Hour + 12*time.Minute, 1, 0}, // 80 % of 4 h
		{3*time.Hour + 30*time.Minute, 0, 0},
		{4 * time.Hour, 0, 1},
		{48 * time.Hour, 0, 0},
	}
	for _, s := range steps {
		r, b, err := reports.MarkSLA(ctx, created.Add(s.after))
		if err != nil || r != s.atRisk || b != s.breached {
			t.Fatalf("MarkSLA at +%v = %d at risk, %d breached, %v; want %d, %d", s.after, r, b, err, s.atRisk, s.breached)
		}
	}
	d, err := reports.Get(ctx, running)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range d.Timeline {
		types = append(types, ev.Type)
	}
	// The first response was due after 30 minutes; found late, only the breach is written.
	if fmt.Sprint(types) != "[report.created report.first_response_breached report.sla_at_risk report.sla_breached]" || d.Report.SLAState != "breached" {
		t.Fatalf("timeline %v, state %s", types, d.Report.SLAState)
	}
	// Put to wait an hour in, it was first responded to then, 30 minutes late: that change
	// recorded the first-response breach; the job marks nothing on it while it waits.
	w, _ := reports.Get(ctx, waiting)
	types = nil
	for _, ev := range w.Timeline {
		types = append(types, ev.Type)
	}
	if fmt.Sprint(types) != "[report.created report.status_changed report.first_response_breached]" || w.Report.SLAState != "ok" {
		t.Fatalf("waiting report marked: %s, timeline %v", w.Report.SLAState, types)
	}
	// Resumed two days later, its clock has used one hour of four: still fine, due in three.
	resumeAt := created.Add(48 * time.Hour)
	rd, err := reports.Change(ctx, waiting, dispatch.Change{Action: dispatch.ActionResume}, postgres.Origin{Actor: "system"}, resumeAt)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Report.DueAt == nil || !rd.Report.DueAt.Equal(resumeAt.Add(3*time.Hour)) {
		t.Fatalf("due after resume = %v, want %v", rd.Report.DueAt, resumeAt.Add(3*time.Hour))
	}
	if r, b, _ := reports.MarkSLA(ctx, resumeAt.Add(3*time.Hour)); r != 0 || b != 1 {
		t.Fatalf("after resume + 3h: %d at risk, %d breached; want 0, 1", r, b)
	}
}

// TestFirstResponseSLA marks the first-response deadline of urgent faults (30 minutes wall
// clock): at risk at 24 minutes and breached at 30, once each, and never after someone
// responded.
func TestFirstResponseSLA(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	created := time.Date(2026, 12, 6, 23, 50, 0, 0, mx()) // a Sunday, ten to midnight
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Priority: "urgent", Description: "Sin servicio",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "55 1234 0002"}}
	mk := func() string {
		t.Helper()
		nr, err := in.Validate(created)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := created.Add(30 * time.Minute); c.Report.FirstResponseDueAt == nil || !c.Report.FirstResponseDueAt.Equal(want) {
			t.Fatalf("first response due = %v, want %v", c.Report.FirstResponseDueAt, want)
		}
		return c.Report.Folio
	}
	ignored, early, late := mk(), mk(), mk()
	staff := postgres.Origin{Actor: "system"}
	note := dispatch.Change{Action: dispatch.ActionNote, Note: "Llamamos al cliente"}
	if _, err := reports.Change(ctx, early, note, staff, created.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after            time.Duration
		respond          string // a folio to respond to before marking
		atRisk, breached int
	}{
		{20 * time.Minute, "", 0, 0},
		{24 * time.Minute, "", 2, 0}, // 80 % of 30 minutes: ignored and late
		{25 * time.Minute, "", 0, 0},
		{27 * time.Minute, late, 0, 0},
		{30 * time.Minute, "", 0, 1}, // ignored only: late was answered
		{45 * time.Minute, "", 0, 0},
	}
	for _, st := range steps {
		if st.respond != "" {
			if _, err := reports.Change(ctx, st.respond, note, staff, created.Add(st.after)); err != nil {
				t.Fatal(err)
			}
		}
		m, err := reports.MarkSLATargets(ctx, created.Add(st.after))
		if err != nil || m.FirstResponseAtRisk != st.atRisk || m.FirstResponseBreached != st.breached {
			t.Fatalf("MarkSLATargets at +%v = %+v, %v; want %d first-response at risk, %d breached", st.after, m, err, st.atRisk, st.breached)
		}
	}
	want := map[string]string{
		ignored: "[report.created report.first_response_at_risk report.first_response_breached]",
		early:   "[report.created report.noted]",
		late:    "[report.created report.first_response_at_risk report.noted]",
	}
	for folio, w := range want {
		d, err := reports.Get(ctx, folio)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, ev := range d.Timeline {
			types = append(types, ev.Type)
		}
		if got := fmt.Sprint(types); got != w {
			t.Errorf("timeline of %s = %s, want %s", folio, got, w)
		}
	}
}

// TestSLABreachRecordedWhenClockStops: the SLA job marks only running clocks and first
// responses nobody gave, once a minute, so a deadline passed since its last run and then
// frozen by the change that stops the clock or responds was never recorded: sla_state and
// first_response_state stayed ok for good and the timeline had no breach. The change records
// it itself; the job then finds nothing to mark. A report resolved in time records nothing.
func TestSLABreachRecordedWhenClockStops(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	// Urgent faults: first response within 30 minutes, resolution within 4 h, wall clock.
	created := time.Date(2026, 11, 29, 22, 0, 0, 0, mx())
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Priority: "urgent", Description: "Sin servicio",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "55 1234 0003"}}
	mk := func() string {
		t.Helper()
		nr, err := in.Validate(created)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Report.Folio
	}
	staff := postgres.Origin{Actor: "system"}
	change := func(folio string, c dispatch.Change, at time.Duration) {
		t.Helper()
		if _, err := reports.Change(ctx, folio, c, staff, created.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	resolve := dispatch.Change{Action: dispatch.ActionResolve, Cause: "ONT dañada", Verdict: "upheld", ServiceRestored: &yes}
	resolvedLate, waitingLate, inTime := mk(), mk(), mk()
	change(resolvedLate, dispatch.Change{Action: dispatch.ActionNote, Note: "Llamamos"}, 35*time.Minute)
	change(resolvedLate, resolve, 4*time.Hour+30*time.Second)
	change(waitingLate, dispatch.Change{Action: dispatch.ActionWaitCustomer}, 4*time.Hour+10*time.Second)
	change(inTime, dispatch.Change{Action: dispatch.ActionNote, Note: "Llamamos"}, 10*time.Minute)
	change(inTime, resolve, 3*time.Hour)

	want := map[string]struct{ state, frState, timeline string }{
		resolvedLate: {"breached", "breached", "[report.created report.noted report.first_response_breached report.resolved report.sla_breached]"},
		waitingLate:  {"breached", "breached", "[report.created report.status_changed report.sla_breached report.first_response_breached]"},
		inTime:       {"ok", "ok", "[report.created report.noted report.resolved]"},
	}
	check := func(when string) {
		t.Helper()
		for folio, w := range want {
			d, err := reports.Get(ctx, folio)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, ev := range d.Timeline {
				types = append(types, ev.Type)
			}
			if got := fmt.Sprint(types); got != w.timeline || string(d.Report.SLAState) != w.state || string(d.Report.FirstResponseState) != w.frState {
				t.Errorf("%s: %s: sla %s, first response %s, timeline %s; want %s, %s, %s", when, folio,
					d.Report.SLAState, d.Report.FirstResponseState, got, w.state, w.frState, w.timeline)
			}
		}
	}
	check("after the changes")
	if m, err := reports.MarkSLATargets(ctx, created.Add(4*time.Hour+time.Minute)); err != nil || m != (postgres.SLAMarks{}) {
		t.Fatalf("MarkSLATargets after the changes = %+v, %v; want nothing marked", m, err)
	}
	// Resumed, the waiting report's clock runs again: nothing is marked twice.
	change(waitingLate, dispatch.Change{Action: dispatch.ActionResume}, 5*time.Hour)
	if m, err := reports.MarkSLATargets(ctx, created.Add(5*time.Hour+time.Minute)); err != nil || m != (postgres.SLAMarks{}) {
		t.Fatalf("MarkSLATargets after resuming = %+v, %v; want nothing marked", m, err)
	}
	w := want[waitingLate]
	w.timeline = "[report.created report.status_changed report.sla_breached report.first_response_breached report.status_changed]"
	want[waitingLate] = w
	check("at the end")
}
