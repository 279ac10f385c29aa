package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

// TestHeldVisitIsTold: an outage is opened on the access point of three customers with a
// booked visit each. The incident holds their visits (no technician goes to a customer of
// a known outage), and each customer was texted the outage — but never that his visit was
// off: he stayed home waiting for it. Now each is texted once, in his language, that the
// visit of the window he was told is put off because of the outage in his area; the one
// who sent BAJA gets nothing. The held visit's step on the timeline is a reason code (shown
// in the reader's language), not an English sentence. When the outage is resolved the
// visit is cancelled without another text (the restore notice is his text); a customer
// whose service is still down gets a new visit, whose booking is texted as any booking.
func TestHeldVisitIsTold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, false)
	reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
	visits := postgres.NewVisits(e.db, e.events, reports, planning.Config{Zone: mexico})
	incidents, err := postgres.NewIncidents(e.db, e.events, postgres.IncidentsConfig{Reports: reports})
	if err != nil {
		t.Fatal(err)
	}
	now := monday(9, 0)
	tech := &dispatch.Technician{Name: "Juan Pérez", Phone: "55 1234 5678", Skills: []string{"fiber"}, Home: dispatch.LatLon{Lat: 19.43, Lon: -99.13},
		Shifts: []dispatch.WeeklyShift{{Weekday: 1, Start: "08:00", End: "18:00"}, {Weekday: 2, Start: "08:00", End: "18:00"}}}
	if err := postgres.NewTechnicians(e.db, e.events).Create(ctx, tech, nil); err != nil {
		t.Fatal(err)
	}
	type cust struct {
		lang, phone, folio string
		visit              int64
	}
	custs := []*cust{{lang: "es"}, {lang: "en"}, {lang: "es"}} // the third sends BAJA
	price := dispatch.Centavos(30000)
	for i, c := range custs {
		c.phone = phone()
		in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: c.phone, Language: c.lang}}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		cr, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "system"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.folio = cr.Report.Folio
		if _, err := postgres.NewAccessPoints(e.db).Set(ctx, cr.Report.CustomerID, "TORRE-7", &price); err != nil {
			t.Fatal(err)
		}
		lat, lon := 19.40, -99.16
		v, err := visits.Create(ctx, c.folio, dispatch.NewVisit{DurationMin: 60, Skills: []string{"fiber"}, Lat: &lat, Lon: &lon}, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		c.visit = v.ID
		start := time.Date(2026, 12, 1, 10+2*i, 0, 0, 0, mexico)
		if _, err := visits.Book(ctx, v.ID, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, now); err != nil {
			t.Fatal(err)
		}
	}
	sendDue(t, e.db)
	if _, err := e.db.ExecContext(ctx, `INSERT INTO sms_consent (phone, opted_out, updated_at) VALUES (?, true, now())`, custs[2].phone); err != nil {
		t.Fatal(err)
	}
	started := now.Add(-time.Hour)
	ii, err := dispatch.IncidentInput{AccessPoint: "TORRE-7", Title: "Corte de fibra", StartedAt: &started}.Validate(now)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := incidents.Open(ctx, ii, postgres.Origin{Actor: "system"})
	if err != nil || inc.Attached != 3 {
		t.Fatalf("open = %+v, %v; want the three reports attached", inc, err)
	}

	held := func(c *cust) []outboxRow {
		var out []outboxRow
		for _, r := range outbox(t, e.db) {
			if r.Kind == "visit_held" && r.To == c.phone {
				out = append(out, r)
			}
		}
		return out
	}
	want := map[string]string{
		custs[0].phone: "Folio " + custs[0].folio + ": su visita del mar 1 dic, 10:00-12:00 queda pospuesta por la falla en su zona (folio " + inc.Folio + ").",
		custs[1].phone: "Folio " + custs[1].folio + ": your visit on Tue Dec 1, 12:00-14:00 is put off because of the outage in your area (folio " + inc.Folio + ").",
	}
	for _, c := range custs[:2] {
		got := held(c)
		if len(got) != 1 || got[0].VisitID != c.visit || got[0].State != "pending" || !strings.HasPrefix(got[0].Body, want[c.phone]) {
			t.Errorf("%s customer's held-visit texts = %+v; want one, pending, %q…", c.lang, got, want[c.phone])
		}
	}
	if got := held(custs[2]); len(got) != 0 {
		t.Errorf("opted-out customer's held-visit texts = %+v; want none", got)
	}
	var reasons []string
	if err := e.db.NewRaw(`SELECT data->>'reason' FROM events WHERE type = 'visit.unassigned' AND incident_id = ? ORDER BY id`, inc.ID).Scan(ctx, &reasons); err != nil {
		t.Fatal(err)
	}
	if len(reasons) != 3 || reasons[0] != postgres.ReasonIncidentHeld {
		t.Errorf("held visits' timeline reasons = %q; want %q each (a code, named in the reader's language)", reasons, postgres.ReasonIncidentHeld)
	}

	// Resolved: the restore notice, no cancellation text; the held texts are gone too if
	// they had not left.
	sendDue(t, e.db)
	restored := now.Add(2 * time.Hour)
	if _, err := incidents.Resolve(ctx, inc.ID, dispatch.IncidentResolution{Cause: "corte de fibra", Verdict: "upheld", RestoredAt: &restored},
		postgres.Origin{Actor: "system"}, restored); err != nil {
		t.Fatal(err)
	}
	for _, r := range outbox(t, e.db) {
		if r.To == custs[0].phone && r.Kind == "cancelled" {
			t.Errorf("cancellation text after the outage was resolved: %q; want the restore notice alone", r.Body)
		}
	}
	// Still down: a new visit, booked and texted as any booking.
	r, err := incidents.ReopenStillDown(ctx, custs[0].folio, dispatch.ChannelSMS, postgres.Origin{Actor: "customer"}, restored.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := visits.ByReport(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var next int64
	for _, v := range vs {
		if v.Status == dispatch.VisitUnscheduled {
			next = v.ID
		}
	}
	start := time.Date(2026, 12, 1, 16, 0, 0, 0, mexico)
	if _, err := visits.Book(ctx, next, dispatch.Span{Start: start, End: start.Add(2 * time.Hour)}, nil, restored.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var booked []string
	for _, r := range outbox(t, e.db) {
		if r.VisitID == next && r.Kind == "booked" && r.State == "pending" {
			booked = append(booked, r.Body)
		}
	}
	if len(booked) != 1 || !strings.Contains(booked[0], "mar 1 dic, 16:00-18:00") {
		t.Errorf("booked texts of the new visit = %q; want the booking of 16:00-18:00", booked)
	}
}
