package notify_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
)

// newHookedWorld is an incidentWorld with the incident hook wired as serve wires it: one
// event log whose hooks are the outbox and the incident store's ReportHook, so that a
// fault report filed during an incident attaches in its creating transaction. incidentFirst
// swaps the two hooks (serve runs the outbox first); the texts must not depend on it. The
// inbound webhook files texted reports through the real reports store. icfg configures
// the incident store (its Reports is set to the world's).
func newHookedWorld(t *testing.T, incidentFirst bool, icfg postgres.IncidentsConfig) *incidentWorld {
	t.Helper()
	w := &incidentWorld{env: newEnv(t, true), tb: t, worker: fastOptions()}
	w.events = postgres.NewEvents()
	outbox := notify.NewOutbox(w.cfg, quiet).Hook
	if !incidentFirst {
		w.events.AddHook(outbox)
	}
	w.reports = postgres.NewReports(w.db, w.events, dispatch.SLA{})
	var err error
	icfg.Reports = w.reports
	if w.incidents, err = postgres.NewIncidents(w.db, w.events, icfg); err != nil {
		t.Fatal(err)
	}
	w.events.AddHook(w.incidents.ReportHook)
	if incidentFirst {
		w.events.AddHook(outbox)
	}
	u, err := dispatch.NewUser("despacho-"+randomHex(4)+"@example.mx", "Dora Despacho", dispatch.RoleDispatcher, "contraseña-segura")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewUsers(w.db).Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	w.staff = postgres.Origin{User: u}
	wh := notify.NewWebhooks(w.db, w.cfg, testReports{events: w.events, incidents: w.incidents, reports: w.reports}, w.events, quiet)
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	w.hooks = &hooks{t: t, db: w.db, fake: w.fake, ts: ts, events: w.events}
	return w
}

// faultIn files, through the reports store, a fault report by a new customer with phone p
// and language lang on access point ap, made at.
func (w *incidentWorld) faultIn(p, lang, ap string, at time.Time) *dispatch.Report {
	w.tb.Helper()
	price := 300.0
	in := dispatch.ReportInput{Channel: "web", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Cliente " + p, Phone: p, Language: lang, AccessPoint: ap, PlanPrice: &price}}
	nr, err := in.Validate(at)
	if err != nil {
		w.tb.Fatal(err)
	}
	c, _, err := w.reports.Create(context.Background(), nr, w.staff, postgres.CreateOptions{Trusted: true})
	if err != nil {
		w.tb.Fatal(err)
	}
	return c.Report
}

// textsTo returns the bodies the fake Twilio received for phone p.
func (w *incidentWorld) textsTo(p string) []string {
	var out []string
	for _, m := range w.fake.Messages() {
		if m.To == p {
			out = append(out, m.Body)
		}
	}
	return out
}

// TestFolioTextDuringIncident is issue 9's "a customer who reports during the incident gets
// the incident's status in the folio SMS instead of a visit promise", through the real
// flow: an incident is open on an access point (its estimate moved once), customers of that
// access point file fault reports, the incident hook attaches each in its creating
// transaction, the worker sends to the fake Twilio — and each of them receives exactly one
// text: their folio, the incident's folio as a known outage in their area and the current
// estimate, in their language, with no visit in it. The customer who had reported before
// the incident keeps the usual texts. Both orders of the two hooks give the same texts.
func TestFolioTextDuringIncident(t *testing.T) {
	t.Parallel()
	for _, order := range []struct {
		name          string
		incidentFirst bool
	}{{"outbox hook first, as serve", false}, {"incident hook first", true}} {
		t.Run(order.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newHookedWorld(t, order.incidentFirst, postgres.IncidentsConfig{})
			now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // Wednesday 12:00 in Mexico City
			ap := "NODO-" + randomHex(3)
			_, earlyPhone := w.fault(ap, now.Add(-2*time.Hour))
			d := w.open(ap, now.Add(-3*time.Hour), now)
			est := now.Add(5 * time.Hour) // 17:00 in Mexico City
			if _, err := w.incidents.SetEstimate(ctx, d.ID, &est, w.staff, now); err != nil {
				t.Fatal(err)
			}
			esPhone, enPhone := phone(), phone()
			es := w.faultIn(esPhone, "es", ap, now.Add(time.Minute))
			en := w.faultIn(enPhone, "en", ap, now.Add(2*time.Minute))
			elsewhere := w.faultIn(phone(), "es", "OTRO-"+randomHex(3), now.Add(3*time.Minute))
			for _, r := range []*dispatch.Report{es, en} {
				if _, inc := w.reportIncident(r.ID); inc != d.ID {
					t.Fatalf("report %s attached to %d; want incident %d", r.Folio, inc, d.ID)
				}
			}
			rows := w.sendAll()

			for _, c := range []struct {
				phone, lang string
				r           *dispatch.Report
				want        []string
			}{
				{esPhone, "es", es, []string{es.Folio, d.Folio, "falla conocida en su zona", "Estimamos restablecer el servicio mié 25 nov 17:00"}},
				{enPhone, "en", en, []string{en.Folio, d.Folio, "known outage in your area", "restore service by Wed Nov 25 17:00"}},
			} {
				got := w.textsTo(c.phone)
				if len(got) != 1 {
					t.Fatalf("%s customer received %d texts %q; want exactly one", c.lang, len(got), got)
				}
				for _, s := range c.want {
					if !strings.Contains(got[0], s) {
						t.Errorf("%s folio text %q; want it to contain %q", c.lang, got[0], s)
					}
				}
				if ac := linkCode(got[0], c.r.Folio); ac == "" || !bytes.Equal(dispatch.HashAccessCode(c.r.Folio, ac), accessHash(t, w.env, c.r.Folio)) {
					t.Errorf("%s folio text %q; want its status link with the access code that opens it", c.lang, got[0])
				}
				for _, promise := range []string{"visita", "visit", "técnico", "tecnico", "technician", "agend"} {
					if strings.Contains(strings.ToLower(got[0]), promise) {
						t.Errorf("%s folio text %q promises a visit (%q)", c.lang, got[0], promise)
					}
				}
				var kinds []string
				for _, row := range rows {
					if row.To == c.phone {
						kinds = append(kinds, row.Kind)
					}
				}
				if strings.Join(kinds, " ") != string(notify.KindFolioIncident) {
					t.Errorf("%s customer's outbox = %v; want one %s", c.lang, kinds, notify.KindFolioIncident)
				}
			}
			var earlyKinds []string
			for _, row := range rows {
				if row.To == earlyPhone {
					earlyKinds = append(earlyKinds, row.Kind)
				}
			}
			if got := strings.Join(earlyKinds, " "); got != "folio incident incident_estimate" {
				t.Errorf("the customer who reported before the incident got %s; want folio incident incident_estimate", got)
			}
			if _, inc := w.reportIncident(elsewhere.ID); inc != 0 {
				t.Errorf("a report of another access point attached to %d", inc)
			}
			for _, row := range rows {
				if row.Kind == string(notify.KindFolio) && strings.Contains(row.Body, elsewhere.Folio) {
					return
				}
			}
			t.Errorf("the report of another access point got no ordinary folio text: %+v", rows)
		})
	}
}

// TestTextedReportDuringIncident: a customer of the access point who texts a fault during
// the incident gets one answer — the reply to their text — with their new folio, the
// incident's folio and its estimate; the outbox queues nothing more for them.
func TestTextedReportDuringIncident(t *testing.T) {
	t.Parallel()
	w := newHookedWorld(t, false, postgres.IncidentsConfig{})
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	ap := "NODO-" + randomHex(3)
	w.fault(ap, now.Add(-time.Hour))
	d := w.open(ap, now.Add(-2*time.Hour), now) // estimate 14:00 in Mexico City
	p := phone()
	cid := customer(t, w.db, p, "es", false)
	if _, err := w.db.ExecContext(context.Background(), "UPDATE customers SET access_point = ? WHERE id = ?", ap, cid); err != nil {
		t.Fatal(err)
	}
	code, reply := w.hooks.text("SM"+randomHex(16), p, "No tengo internet desde hace una hora")
	if code != 200 {
		t.Fatalf("inbound = %d %q", code, reply)
	}
	var folio string
	var inc int64
	if err := w.db.QueryRowContext(context.Background(), "SELECT folio, coalesce(incident_id, 0) FROM reports WHERE customer_id = ?", cid).Scan(&folio, &inc); err != nil {
		t.Fatal(err)
	}
	if inc != d.ID {
		t.Fatalf("texted report attached to %d; want %d", inc, d.ID)
	}
	for _, s := range []string{folio, d.Folio, "falla conocida", "mié 25 nov 14:00"} {
		if !strings.Contains(reply, s) {
			t.Errorf("reply %q; want it to contain %q", reply, s)
		}
	}
	if ac := linkCode(reply, folio); ac == "" || !bytes.Equal(dispatch.HashAccessCode(folio, ac), accessHash(t, w.env, folio)) {
		t.Errorf("reply %q; want its status link with the access code that opens it", reply)
	}
	w.sendAll()
	if got := w.textsTo(p); len(got) != 0 {
		t.Errorf("the customer who texted also received %q; want only the reply", got)
	}
}

// reportIncident returns the status of report id and the incident it is attached to (0:
// none).
func (w *incidentWorld) reportIncident(id int64) (status string, incident int64) {
	w.tb.Helper()
	err := w.db.QueryRowContext(context.Background(), "SELECT status, coalesce(incident_id, 0) FROM reports WHERE id = ?", id).Scan(&status, &incident)
	if err != nil {
		w.tb.Fatal(err)
	}
	return status, incident
}

// TestFolioTextWhenRuleOpensIncident: the report that makes the incident rule open an
// incident (here the second fault of an access point within 30 minutes) is attached as it
// is filed, so its one text is the incident's status; the earlier reporter, told their
// folio already, gets the incident notice.
func TestFolioTextWhenRuleOpensIncident(t *testing.T) {
	t.Parallel()
	w := newHookedWorld(t, false, postgres.IncidentsConfig{Rule: dispatch.IncidentRule{Threshold: 2, Window: 30 * time.Minute}})
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	ap := "NODO-" + randomHex(3)
	first, firstPhone := w.fault(ap, now)
	secondPhone := phone()
	second := w.faultIn(secondPhone, "es", ap, now.Add(5*time.Minute))
	_, inc := w.reportIncident(second.ID)
	if _, inc1 := w.reportIncident(first.ID); inc == 0 || inc1 != inc {
		t.Fatalf("reports attached to %d and %d; want one incident opened by the rule", inc1, inc)
	}
	rows := w.sendAll()
	kinds := map[string][]string{}
	for _, r := range rows {
		kinds[r.To] = append(kinds[r.To], r.Kind)
	}
	if got := strings.Join(kinds[firstPhone], " "); got != "folio incident" {
		t.Errorf("first reporter's texts = %s; want folio incident", got)
	}
	if got := strings.Join(kinds[secondPhone], " "); got != string(notify.KindFolioIncident) {
		t.Errorf("second reporter's texts = %s; want one %s", got, notify.KindFolioIncident)
	}
	if got := w.textsTo(secondPhone); len(got) != 1 || !strings.Contains(got[0], second.Folio) || !strings.Contains(got[0], "lo antes posible") {
		t.Errorf("second reporter received %q; want one text with the folio and no estimate yet", got)
	}
}
