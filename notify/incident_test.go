package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// TestHookIncidentTexts appends the report-level events an incident writes, with the data
// shapes dispatch/postgres/incidents.go gives them, and checks the outbox: one notice per
// attached report (and, for a held visit whose window was texted, that it is put off), one
// update per estimate change, one restore notice with the bonus, none for an opted-out
// customer, and replays queue nothing more.
func TestHookIncidentTexts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	db, cfg, events := e.db, e.cfg, e.events
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	const inc = "I-2026-000001"

	es, esFolio := report(t, db, customer(t, db, phone(), "es", false), "fault", "phone")
	en, enFolio := report(t, db, customer(t, db, phone(), "en", false), "fault", "web")
	out, outFolio := report(t, db, customer(t, db, phone(), "es", true), "fault", "phone")
	ev := func(typ string, rid int64, data map[string]any) {
		appendEvent(t, db, events, dispatch.Event{Type: typ, At: now, ReportID: rid}, data)
	}

	// The Spanish customer's visit was booked: its reminder is pending until the incident
	// holds the visit.
	start := time.Date(2026, 11, 26, 16, 0, 0, 0, time.UTC)
	appendEvent(t, db, events, dispatch.Event{Type: "visit.booked", At: now, ReportID: es, VisitID: 9},
		map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": "Luis"})
	before := len(outbox(t, db))
	if before != 2 {
		t.Fatalf("after booking: %+v; want booked and reminder", outbox(t, db))
	}

	// Thursday 26 Nov 20:00 UTC is 14:00 in Mexico City.
	est := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC)
	attached := func(folio string, estimate *time.Time, held []int64) map[string]any {
		return map[string]any{"folio": folio, "incident_id": 1, "incident_folio": inc, "access_point": "AP-7",
			"title": "Corte de fibra", "started_at": now, "estimated_restore_at": estimate, "held_visits": held}
	}
	ev(dispatch.EventReportAttached, es, attached(esFolio, &est, []int64{9}))
	ev(dispatch.EventReportAttached, es, attached(esFolio, &est, []int64{9})) // a replay
	ev(dispatch.EventReportAttached, en, attached(enFolio, nil, []int64{}))   // no estimate yet
	ev(dispatch.EventReportAttached, out, attached(outFolio, &est, nil))
	rows := outbox(t, db)
	if len(rows) != before+3 {
		t.Fatalf("after attaching: %+v; want one notice per customer who accepts texts, and one for the held visit", rows[before:])
	}
	if rows[1].Kind != "reminder" || rows[1].State != "cancelled" {
		t.Errorf("reminder of the held visit = %+v; want cancelled", rows[1])
	}
	want := "Detectamos una falla en su zona (folio " + inc + "). Estimamos restablecer el servicio jue 26 nov 14:00. Su reporte " + esFolio + " queda ligado."
	if r := rows[before]; r.Kind != "incident" || r.Body != want {
		t.Errorf("es incident notice = %s %q; want incident %q", r.Kind, r.Body, want)
	}
	want = notify.Fit("Folio " + esFolio + ": su visita del jue 26 nov, 10:00-12:00 queda pospuesta por la falla en su zona (folio " + inc + "). Le avisaremos al restablecerse el servicio y, si aún necesita la visita, el nuevo horario.")
	if r := rows[before+1]; r.Kind != "visit_held" || r.VisitID != 9 || r.Body != want {
		t.Errorf("held visit's text = %s %q; want visit_held %q", r.Kind, r.Body, want)
	}
	if r := rows[before+2]; r.Kind != "incident" || !strings.Contains(r.Body, "as soon as possible") || !strings.Contains(r.Body, enFolio) {
		t.Errorf("en incident notice = %s %q; want English, no estimate, the report's folio", r.Kind, r.Body)
	}

	// Two estimate changes: two updates per customer; a replay of the same event is one.
	est2 := est.Add(3 * time.Hour)
	estimate := func(folio string, at time.Time, prev *time.Time) map[string]any {
		return map[string]any{"folio": folio, "incident_folio": inc, "estimated_restore_at": at, "previous": prev}
	}
	ev(dispatch.EventReportIncidentEstimate, es, estimate(esFolio, est2, &est))
	ev(dispatch.EventReportIncidentEstimate, en, estimate(enFolio, est2, nil))
	ev(dispatch.EventReportIncidentEstimate, out, estimate(outFolio, est2, &est))
	replay := appendEvent(t, db, events, dispatch.Event{Type: dispatch.EventReportIncidentEstimate, At: now, ReportID: es},
		estimate(esFolio, est2.Add(time.Hour), &est2))
	if err := db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		return notify.NewOutbox(cfg, quiet).Hook(ctx, tx, &replay)
	}); err != nil {
		t.Fatal(err)
	}
	rows = outbox(t, db)[before+3:]
	if len(rows) != 3 || rows[0].Kind != "incident_estimate" || rows[1].Kind != "incident_estimate" || rows[2].Kind != "incident_estimate" {
		t.Fatalf("after the estimates: %+v; want three updates", rows)
	}
	if !strings.Contains(rows[0].Body, "jue 26 nov 17:00") || !strings.Contains(rows[1].Body, "Thu Nov 26 17:00") || !strings.Contains(rows[2].Body, "jue 26 nov 18:00") {
		t.Errorf("updates = %q, %q, %q; want the new estimates in local time", rows[0].Body, rows[1].Body, rows[2].Body)
	}

	// Resolution: a restore notice with the bonus; an improcedent verdict's zero bonus
	// is not mentioned; a replay queues nothing.
	resolved := func(folio string, amount dispatch.Centavos) map[string]any {
		return map[string]any{"folio": folio, "version": 3, "cause": "corte de fibra", "verdict": "upheld",
			"service_restored": true, "incident_id": 1, "incident_folio": inc,
			"compensation": map[string]any{"amount": amount, "currency": dispatch.Currency, "upheld": amount > 0,
				"outage_start": now, "outage_end": est2, "outage_minutes": 1080}}
	}
	ev(dispatch.EventReportResolved, es, resolved(esFolio, 34900))
	ev(dispatch.EventReportResolved, es, resolved(esFolio, 34900))
	ev(dispatch.EventReportResolved, en, resolved(enFolio, 0))
	ev(dispatch.EventReportResolved, out, resolved(outFolio, 34900))
	rows = outbox(t, db)[before+6:]
	if len(rows) != 2 || rows[0].Kind != "incident_restored" || rows[1].Kind != "incident_restored" {
		t.Fatalf("after resolving: %+v; want two restore notices", rows)
	}
	want = "Servicio restablecido en su zona (folio " + inc + "). Causa: corte de fibra. Reporte procedente. Por la interrupción se bonificará $349.00 en su próximo recibo. Responda 1 si ya tiene servicio o 2 si sigue sin servicio. Reporte " + esFolio + "."
	if rows[0].Body != notify.Fit(want) {
		t.Errorf("es restore notice = %q; want %q", rows[0].Body, notify.Fit(want))
	}
	if strings.Contains(rows[1].Body, "credited") || !strings.HasPrefix(rows[1].Body, "Service restored") {
		t.Errorf("en restore notice = %q; want English without a bonus", rows[1].Body)
	}
	seen := map[string]bool{}
	for _, r := range outbox(t, db) {
		if seen[r.Key] {
			t.Errorf("dedupe key %q twice", r.Key)
		}
		seen[r.Key] = true
		if n := len(r.Body); n == 0 {
			t.Errorf("row %d has no body", r.ID)
		}
		if _, segs := notify.Segments(r.Body); segs > 2 {
			t.Errorf("%s text has %d segments: %q", r.Kind, segs, r.Body)
		}
	}
}

// TestIncidentTextsEndToEnd runs the incidents code itself with the outbox hook: opening an
// incident on a customer's access point, moving its estimate and resolving it queue the
// incident notice, the update and the restore notice with the bonus, once each.
func TestIncidentTextsEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newIncidentWorld(t, false, postgres.IncidentsConfig{})
	db := w.db
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // Wednesday 12:00 in Mexico City
	ap := "TORRE-" + randomHex(3)
	c, _ := w.fault(ap, now.Add(-2*time.Hour))
	d := w.open(ap, now.Add(-3*time.Hour), now) // estimate: 14:00
	est2 := now.Add(4 * time.Hour)
	if _, err := w.incidents.SetEstimate(ctx, d.ID, &est2, w.staff, now); err != nil {
		t.Fatal(err)
	}
	w.resolve(d.ID, now.Add(3*time.Hour))
	var kinds []string
	byKind := map[string]string{}
	for _, r := range outbox(t, db) {
		kinds = append(kinds, r.Kind)
		byKind[r.Kind] = r.Body
	}
	if got := strings.Join(kinds, " "); got != "folio incident incident_estimate incident_restored" {
		t.Fatalf("texts = %s; want folio incident incident_estimate incident_restored", got)
	}
	for kind, want := range map[string][]string{
		"incident":          {d.Folio, c.Folio, "mié 25 nov 14:00"},
		"incident_estimate": {d.Folio, "mié 25 nov 16:00"},
		"incident_restored": {d.Folio, "se bonificara $", "Responda 1"},
	} {
		for _, w := range want {
			if !strings.Contains(byKind[kind], w) {
				t.Errorf("%s text = %q; want it to contain %q", kind, byKind[kind], w)
			}
		}
	}
}
