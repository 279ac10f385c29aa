package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// missedWorld is a world of booked visits whose windows go by: the real stores and outbox
// hook, a technician working every weekday 08:00-18:00, and a worker sending to the fake
// Twilio.
type missedWorld struct {
	t         *testing.T
	e         *env
	reports   *postgres.Reports
	visits    *postgres.Visits
	incidents *postgres.Incidents
}

func newMissedWorld(t *testing.T, tune ...func(*notify.Config)) *missedWorld {
	t.Helper()
	e := newEnv(t, true, tune...)
	w := &missedWorld{t: t, e: e, reports: postgres.NewReports(e.db, e.events, dispatch.SLA{})}
	w.visits = postgres.NewVisits(e.db, e.events, w.reports, planning.Config{Zone: mexico})
	var err error
	if w.incidents, err = postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: w.reports}); err != nil {
		t.Fatal(err)
	}
	var shifts []dispatch.WeeklyShift
	for d := 1; d <= 5; d++ {
		shifts = append(shifts, dispatch.WeeklyShift{Weekday: d, Start: "08:00", End: "18:00"})
	}
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"},
		Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13}, Shifts: shifts}
	if err := postgres.NewTechnicians(e.db, e.events).Create(context.Background(), tech, nil); err != nil {
		t.Fatal(err)
	}
	e.work(t, e.twilio(), notify.WorkerOptions{Log: quiet})
	return w
}

// visit files a fault report for a new customer speaking lang, books its visit at Monday
// 07:00 into win, and returns the customer's phone, the folio and the visit's id.
func (w *missedWorld) visit(lang string, win dispatch.Span) (string, string, int64) {
	w.t.Helper()
	ctx := context.Background()
	now := monday(7, 0)
	p := phone()
	in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: p, Language: lang}}
	nr, err := in.Validate(now)
	if err != nil {
		w.t.Fatal(err)
	}
	cr, _, err := w.reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	lat, lon := 19.40, -99.16
	v, err := w.visits.Create(ctx, cr.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.visits.Book(ctx, v.ID, win, nil, now); err != nil {
		w.t.Fatalf("book %v: %v", win, err)
	}
	return p, cr.Report.Folio, v.ID
}

// sweep runs the sweep at now and returns how many windows it marked.
func (w *missedWorld) sweep(now time.Time) int {
	w.t.Helper()
	n, err := w.visits.MarkMissedWindows(context.Background(), now)
	if err != nil {
		w.t.Fatalf("sweep at %s: %v", now, err)
	}
	return n
}

// marks returns the windows (window_start as RFC 3339) of the visit's visit.window_missed
// events, oldest first.
func (w *missedWorld) marks(visit int64) []string {
	w.t.Helper()
	var out []string
	if err := w.e.db.NewRaw(`SELECT data->>'window_start' FROM events WHERE visit_id = ? AND type = ? ORDER BY id`,
		visit, postgres.EventVisitWindowMissed).Scan(context.Background(), &out); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// apologies returns the window_missed texts of the outbox for the visit.
func (w *missedWorld) apologies(visit int64) []outboxRow {
	w.t.Helper()
	var out []outboxRow
	for _, r := range outbox(w.t, w.e.db) {
		if r.Kind == string(notify.KindWindowMissed) && r.VisitID == visit {
			out = append(out, r)
		}
	}
	return out
}

// sent returns the bodies the fake Twilio received for phone that begin with prefix.
func (w *missedWorld) sent(phone, prefix string) []string {
	var out []string
	for _, m := range w.e.fake.Messages() {
		if m.To == phone && strings.HasPrefix(m.Body, prefix) {
			out = append(out, m.Body)
		}
	}
	return out
}

// mondayWindow is Monday 10:00-12:00.
func mondayWindow() dispatch.Span {
	return dispatch.Span{Start: monday(10, 0), End: monday(12, 0)}
}

// TestMissedWindowTextedOnce: a booked visit whose window ends with nobody on the way was
// listed for the dispatchers, but its customer, who had waited at home, heard nothing and
// the folio's timeline did not say the promise was broken. Once the window has been over
// for the grace (15 minutes), the sweep records visit.window_missed and the customer is
// texted once, in his language, with the window and how to ask for another time — however
// often the sweep runs, and when two instances run it at once.
func TestMissedWindowTextedOnce(t *testing.T) {
	t.Parallel()
	w := newMissedWorld(t)
	esPhone, esFolio, esVisit := w.visit("es", mondayWindow())
	enPhone, enFolio, enVisit := w.visit("en", dispatch.Span{Start: monday(12, 0), End: monday(14, 0)})

	if n := w.sweep(monday(12, 10)); n != 0 {
		t.Errorf("sweep 10 minutes after the window = %d marked; want 0 (a late technician may still set out)", n)
	}
	if n := w.sweep(monday(14, 14)); n != 1 {
		t.Errorf("sweep at 14:14 = %d marked; want 1 (only the 10:00-12:00 window is 15 minutes over)", n)
	}
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i := range counts {
		wg.Go(func() {
			n, err := w.visits.MarkMissedWindows(context.Background(), monday(14, 20))
			if err != nil {
				t.Errorf("concurrent sweep: %v", err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if counts[0]+counts[1] != 1 {
		t.Errorf("two sweeps at once marked %v; want 1 in all (the 12:00-14:00 window)", counts)
	}
	if n := w.sweep(monday(15, 0)); n != 0 {
		t.Errorf("sweep run again = %d marked; want 0", n)
	}

	want := map[int64]string{
		esVisit: "Folio " + esFolio + ": lamentamos no haber llegado en el horario acordado (lun 30 nov, 10:00-12:00). Responda 2 para elegir otro horario o espere nuestra llamada.",
		enVisit: "Folio " + enFolio + ": we are sorry we did not arrive in the agreed window (Mon Nov 30, 12:00-14:00). Reply 2 to pick another time or wait for our call.",
	}
	for v, p := range map[int64]string{esVisit: esPhone, enVisit: enPhone} {
		if got := w.marks(v); len(got) != 1 {
			t.Errorf("visit %d: %d window_missed events; want 1", v, len(got))
		}
		if got := w.apologies(v); len(got) != 1 || got[0].Body != want[v] || got[0].To != p {
			t.Errorf("visit %d: apologies queued = %+v; want one to %s: %q", v, got, p, want[v])
		}
		eventually(t, 5*time.Second, "the apology sent", func() bool { return len(w.sent(p, "Folio")) >= 2 })
	}
	time.Sleep(200 * time.Millisecond) // a second apology, if queued, would have gone by now
	for v, p := range map[int64]string{esVisit: esPhone, enVisit: enPhone} {
		if got := w.sent(p, want[v][:30]); len(got) != 1 {
			t.Errorf("%s received %d apologies: %q; want 1", p, len(got), got)
		}
	}
	// The timeline shows it, with the window.
	evs, err := postgres.Timeline(context.Background(), w.e.db, w.reportOf(esVisit))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		var d struct {
			End time.Time `json:"window_end"`
		}
		if ev.Type == postgres.EventVisitWindowMissed && ev.VisitID == esVisit && json.Unmarshal(ev.Data, &d) == nil && d.End.Equal(monday(12, 0)) {
			found = true
		}
	}
	if !found {
		t.Errorf("the folio's timeline has no visit.window_missed with the window: %+v", evs)
	}
}

func (w *missedWorld) reportOf(visit int64) int64 {
	w.t.Helper()
	v, err := w.visits.Get(context.Background(), visit)
	if err != nil {
		w.t.Fatal(err)
	}
	return v.ReportID
}

// TestMissedWindowGrace: a technician who sets out within the grace (a few minutes late)
// is no missed window: the customer gets "va en camino", never an apology.
func TestMissedWindowGrace(t *testing.T) {
	t.Parallel()
	w := newMissedWorld(t)
	_, _, v := w.visit("es", mondayWindow())
	if n := w.sweep(monday(12, 5)); n != 0 {
		t.Fatalf("sweep 5 minutes after the window = %d marked; want 0", n)
	}
	if _, err := w.visits.SetStatus(context.Background(), v, dispatch.Outcome{Status: dispatch.VisitEnRoute}, nil, monday(12, 8)); err != nil {
		t.Fatal(err)
	}
	if n := w.sweep(monday(12, 30)); n != 0 || len(w.marks(v)) != 0 || len(w.apologies(v)) != 0 {
		t.Errorf("after setting out at 12:08, sweep = %d, events %v, texts %+v; want none", n, w.marks(v), w.apologies(v))
	}
}

// TestMissedWindowLookBack: a sweep that runs late (the first after the deploy, or after
// the service was down) does not apologise for a window that ended more than
// postgres.MissedLookBack ago: the customer was long since called.
func TestMissedWindowLookBack(t *testing.T) {
	t.Parallel()
	w := newMissedWorld(t)
	_, _, v := w.visit("es", mondayWindow())
	if n := w.sweep(time.Date(2026, 12, 2, 12, 0, 0, 0, mexico)); n != 0 || len(w.marks(v)) != 0 || len(w.apologies(v)) != 0 {
		t.Errorf("sweep two days after the window = %d marked, events %v, texts %+v; want none", n, w.marks(v), w.apologies(v))
	}
	if n := w.sweep(monday(12, 0).Add(postgres.MissedLookBack - time.Minute)); n != 1 {
		t.Errorf("sweep just within the look-back = %d marked; want 1", n)
	}
}

// TestMissedWindowRebooked: a visit booked into a new window before the sweep has nothing
// to apologise for; one booked again after its apology, whose new window is missed too, is
// marked and apologised for again, for the new window.
func TestMissedWindowRebooked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newMissedWorld(t)
	_, _, early := w.visit("es", mondayWindow())
	tuesday := dispatch.Span{Start: time.Date(2026, 12, 1, 10, 0, 0, 0, mexico), End: time.Date(2026, 12, 1, 12, 0, 0, 0, mexico)}
	if _, err := w.visits.Book(ctx, early, tuesday, nil, monday(12, 10)); err != nil {
		t.Fatal(err)
	}
	if n := w.sweep(monday(12, 30)); n != 0 || len(w.marks(early)) != 0 || len(w.apologies(early)) != 0 {
		t.Errorf("visit re-booked at 12:10: sweep = %d, events %v, texts %+v; want none", n, w.marks(early), w.apologies(early))
	}

	p, _, again := w.visit("es", dispatch.Span{Start: monday(14, 0), End: monday(16, 0)})
	if n := w.sweep(monday(16, 30)); n != 1 {
		t.Fatalf("sweep at 16:30 = %d marked; want 1", n)
	}
	eventually(t, 5*time.Second, "the first apology sent", func() bool { return len(w.sent(p, "Folio")) >= 2 })
	if _, err := w.visits.Book(ctx, again, dispatch.Span{Start: time.Date(2026, 12, 1, 14, 0, 0, 0, mexico), End: time.Date(2026, 12, 1, 16, 0, 0, 0, mexico)}, nil, monday(17, 0)); err != nil {
		t.Fatal(err)
	}
	// The first visit's Tuesday window has gone by too.
	if n := w.sweep(time.Date(2026, 12, 1, 16, 20, 0, 0, mexico)); n != 2 {
		t.Errorf("sweep after the second window = %d marked; want 2 (both visits' Tuesday windows)", n)
	}
	if n := w.sweep(time.Date(2026, 12, 1, 17, 0, 0, 0, mexico)); n != 0 {
		t.Errorf("sweep run again = %d marked; want 0", n)
	}
	if got := w.marks(again); len(got) != 2 || got[0] == got[1] {
		t.Errorf("events of the visit missed twice = %v; want two, one per window", got)
	}
	got := w.apologies(again)
	if len(got) != 2 || !strings.Contains(got[0].Body, "lun 30 nov, 14:00-16:00") || !strings.Contains(got[1].Body, "mar 1 dic, 14:00-16:00") {
		t.Errorf("apologies of the visit missed twice = %+v; want Monday's, then Tuesday's", got)
	}
	eventually(t, 5*time.Second, "both apologies sent", func() bool { return len(w.sent(p, "Folio")) == 4 })
}

// TestMissedWindowNotTexted: the mark is recorded whenever a window is missed, but no text
// goes to a customer who opted out, to one who was never told the window (he had opted out
// when it was booked), nor for an incident's own repair visit (no report, no customer).
// Quiet hours hold the apology of a window noticed in them; booked again meanwhile, the
// visit's apology is withdrawn.
func TestMissedWindowNotTexted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newMissedWorld(t, func(c *notify.Config) { c.Quiet = notify.QuietHours{Start: 16 * time.Hour, End: 23 * time.Hour} })

	optedOut, _, outVisit := w.visit("es", mondayWindow())
	eventually(t, 5*time.Second, "the booked text sent", func() bool { return len(w.sent(optedOut, "Folio")) == 1 })
	if _, err := w.e.db.ExecContext(ctx, `INSERT INTO sms_consent (phone, opted_out, updated_at) VALUES (?, true, now())`, optedOut); err != nil {
		t.Fatal(err)
	}

	// Opted out while his visit was booked, back in since (by hand, so nothing was told).
	untold := phone()
	if _, err := w.e.db.ExecContext(ctx, `INSERT INTO sms_consent (phone, opted_out, updated_at) VALUES (?, true, now())`, untold); err != nil {
		t.Fatal(err)
	}
	untoldVisit := w.bookFor(untold, dispatch.Span{Start: monday(12, 0), End: monday(14, 0)})
	if _, err := w.e.db.ExecContext(ctx, `DELETE FROM sms_consent WHERE phone = ?`, untold); err != nil {
		t.Fatal(err)
	}

	started := monday(6, 0)
	ii, err := dispatch.IncidentInput{AccessPoint: "NODO-SIN-CLIENTES", Title: "Caída", StartedAt: &started}.Validate(monday(7, 0))
	if err != nil {
		t.Fatal(err)
	}
	inc, err := w.incidents.Open(ctx, ii, postgres.Origin{Actor: "system"})
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 19.42, -99.15
	iv, err := w.visits.CreateForIncident(ctx, inc.ID, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, monday(7, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.visits.Book(ctx, iv.ID, dispatch.Span{Start: monday(14, 0), End: monday(16, 0)}, nil, monday(7, 0)); err != nil {
		t.Fatal(err)
	}

	quietPhone, _, quietVisit := w.visit("es", dispatch.Span{Start: monday(13, 0), End: monday(15, 0)})

	if n := w.sweep(monday(16, 30)); n != 4 {
		t.Errorf("sweep = %d marked; want 4 (every missed window is recorded)", n)
	}
	for name, v := range map[string]int64{"opted out": outVisit, "never told": untoldVisit, "incident's": iv.ID} {
		if got := w.marks(v); len(got) != 1 {
			t.Errorf("%s visit: %d window_missed events; want 1", name, len(got))
		}
		if got := w.apologies(v); len(got) != 0 {
			t.Errorf("%s visit: apologies queued = %+v; want none", name, got)
		}
	}
	var incEvents int
	if err := w.e.db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE type = ? AND incident_id = ? AND report_id IS NULL`,
		postgres.EventVisitWindowMissed, inc.ID).Scan(&incEvents); err != nil || incEvents != 1 {
		t.Errorf("incident timeline's window_missed events = %d, %v; want 1", incEvents, err)
	}
	got := w.apologies(quietVisit)
	if wantAfter := monday(23, 0); len(got) != 1 || !got[0].SendAfter.Equal(wantAfter) || got[0].To != quietPhone {
		t.Errorf("apology noticed at 16:30 in quiet hours 16:00-23:00 = %+v; want one, sent after %s", got, wantAfter)
	}
	// Booked again while it waits: the new booking's text tells him; the apology is withdrawn.
	if _, err := w.visits.Book(ctx, quietVisit, dispatch.Span{Start: time.Date(2026, 12, 1, 10, 0, 0, 0, mexico), End: time.Date(2026, 12, 1, 12, 0, 0, 0, mexico)}, nil, monday(17, 0)); err != nil {
		t.Fatal(err)
	}
	if got := w.apologies(quietVisit); len(got) != 1 || got[0].State != "cancelled" {
		t.Errorf("apology still waiting when the visit was booked again = %+v; want it cancelled", got)
	}
}

// bookFor files a report for phone and books its visit into win; it returns the visit.
func (w *missedWorld) bookFor(p string, win dispatch.Span) int64 {
	w.t.Helper()
	ctx := context.Background()
	now := monday(7, 0)
	nr, err := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente", Phone: p}}.Validate(now)
	if err != nil {
		w.t.Fatal(err)
	}
	cr, _, err := w.reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	lat, lon := 19.41, -99.14
	v, err := w.visits.Create(ctx, cr.Report.Folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.visits.Book(ctx, v.ID, win, nil, now); err != nil {
		w.t.Fatal(err)
	}
	return v.ID
}
