package notify_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/notify"
)

// TestTemplateShowsOnlyWhatItsTextsCarry: sample data fills every value, so a template
// naming a value its texts never carry (the folio text has no window, the answer to BAJA
// no folio) rendered well on the admin page, was saved, and every customer was then texted
// "su visita el ." or "Folio : ya no recibirá mensajes"; a value named only in a branch
// the sample skips was saved unchecked, and the admin's text silently gave way to the
// default. Now the PUT is 422 naming the value and what those texts carry; a value that may
// be empty (no estimate yet) is shown only inside an {{if}} that tests it.
func TestTemplateShowsOnlyWhatItsTextsCarry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	h := notify.TemplateHandlers{Store: notify.NewTemplates(e.db, mexico)}
	mux := http.NewServeMux()
	mux.Handle("PUT /api/sms/templates/{kind}/{lang}", serveErr(h.Put))
	mux.Handle("GET /api/sms/templates/{kind}/{lang}", serveErr(h.Get))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	put := func(kind, body string) int {
		b, _ := json.Marshal(map[string]string{"body": body})
		req, _ := http.NewRequest("PUT", ts.URL+"/api/sms/templates/"+kind+"/es", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck
		res.Body.Close()
		return res.StatusCode
	}

	for _, c := range []struct{ kind, body string }{
		{"folio", "Folio {{.Folio}}: lo visitamos el {{.Window}}."},                    // no window yet
		{"reply_stop", "Folio {{.Folio}}: ya no recibirá mensajes."},                   // no folio in a BAJA answer
		{"incident_area", "Falla {{.Incident}} (folio {{.Folio}})."},                   // no report of his
		{"booked", "Visita {{.Window}}.{{if not .Restored}} Causa: {{.Cause}}{{end}}"}, // a branch the sample skips
		{"booked", "Visita {{.Window}}.{{if .Folio}}{{else}} {{.Nombre}}{{end}}"},      // unknown, in an untaken branch
		{"incident", "Falla {{.Incident}}: restablecemos {{.Restore}}."},               // no estimate yet: "restablecemos ."
		{"cancelled", "Folio {{.Folio}}: visita cancelada ({{.Reason}})."},             // no reason given: "()"
	} {
		if code := put(c.kind, c.body); code != 422 {
			t.Errorf("PUT %s %q = %d; want 422", c.kind, c.body, code)
		}
	}
	if err := notify.CheckKind(notify.KindFolio, "Folio {{.Folio}}: {{.Window}}", "es", mexico); err == nil ||
		!strings.Contains(err.Error(), "{{.Window}}") || !strings.Contains(err.Error(), "{{.Folio}}") {
		t.Errorf("CheckKind(folio with a window) = %v; want it to name {{.Window}} and what folio texts carry", err)
	}

	for _, c := range []struct{ kind, body string }{
		{"folio", "Su folio es {{.Folio}} ({{.KindName}}). {{.StatusURL}}"},
		{"reply_stop", "Ya no recibirá mensajes. Estado: {{.StatusURL}}"},
		{"incident", "Falla {{.Incident}}.{{if .Restore}} Restablecemos {{.Restore}}.{{else}} Sin estimado.{{end}}"},
		{"cancelled", "Folio {{.Folio}}: visita cancelada{{if .Reason}} ({{.Reason}}){{end}}."},
	} {
		if code := put(c.kind, c.body); code != 200 {
			t.Errorf("PUT %s %q = %d; want 200", c.kind, c.body, code)
		}
	}

	// The admin page's sample and list of values are those of the kind's texts.
	res, err := http.Get(ts.URL + "/api/sms/templates/reply_stop/es")
	if err != nil {
		t.Fatal(err)
	}
	var tp notify.Template
	if err := json.NewDecoder(res.Body).Decode(&tp); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if strings.Join(tp.Values, " ") != "StatusURL" {
		t.Errorf("values of reply_stop = %v; want [StatusURL]", tp.Values)
	}

	// What a customer gets from the folio template saved above: every value filled.
	cid := customer(t, e.db, phone(), "es", false)
	rid, folio := report(t, e.db, cid, "fault", "phone")
	appendEvent(t, e.db, e.events, dispatch.Event{Type: "report.created", At: time.Now(), ReportID: rid},
		map[string]any{"folio": folio, "kind": "fault", "channel": "phone"})
	rows := outbox(t, e.db)
	if len(rows) != 1 || rows[0].Body != "Su folio es "+folio+" (falla). https://despacho.example.mx/estado/"+folio {
		t.Fatalf("folio text = %+v; want the admin's text with every value filled", rows)
	}

	// Every default passes the check of its own kind in both languages.
	for _, k := range notify.Kinds {
		for _, l := range notify.Languages {
			if err := notify.CheckKind(k, notify.DefaultTemplate(k, l), l, mexico); err != nil {
				t.Errorf("default %s/%s: %v", k, l, err)
			}
		}
	}
}

// TestTemplateShowsWhatItsTextIsFor: a booked text of "Hola" was saved, and every customer
// booked from then on was texted "Hola" — no day, no window. An admin's template must show
// what its text exists to tell (the folio text its folio, a window text its window, the
// "on the way" text its ETA, the outcome its cause, verdict and whether service is back),
// in any branch; the 422 names the value; templates that show it are saved.
func TestTemplateShowsWhatItsTextIsFor(t *testing.T) {
	for _, c := range []struct {
		kind    notify.Kind
		body    string
		missing string
	}{
		{notify.KindBooked, "Hola", "{{.Window}}"},
		{notify.KindReminder, "Mañana lo visita {{.Technician}}.", "{{.Window}}"},
		{notify.KindFolio, "Recibimos su reporte: {{.StatusURL}}", "{{.Folio}}"},
		{notify.KindEnRoute, "{{.Technician}} va en camino.", "{{.ETA}}"},
		{notify.KindTechnician, "Folio {{.Folio}}: cambio de técnico el {{.Window}}.", "{{.Technician}}"},
		{notify.KindCompleted, "Folio {{.Folio}} resuelto: {{.Cause}}.", "{{.Verdict}}"},
		{notify.KindCompleted, "Folio {{.Folio}}: {{.Cause}}, {{.Verdict}}.", "{{.Restored}}"},
	} {
		err := notify.CheckKind(c.kind, c.body, "es", mexico)
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Field != "body" || !strings.HasPrefix(de.Message, c.missing+" is missing") {
			t.Errorf("CheckKind(%s, %q) = %v; want 422 on body saying %s is missing", c.kind, c.body, err, c.missing)
		}
	}
	for _, c := range []struct {
		kind notify.Kind
		body string
	}{
		{notify.KindBooked, "Cita: {{.Window}}."},
		{notify.KindCompleted, "{{.Cause}} ({{.Verdict}}).{{if .Restored}} Servicio restablecido.{{else}} Sigue sin servicio.{{end}}"},
		{notify.KindCancelled, "Su visita fue cancelada."},
	} {
		if err := notify.CheckKind(c.kind, c.body, "es", mexico); err != nil {
			t.Errorf("CheckKind(%s, %q) = %v; want it accepted", c.kind, c.body, err)
		}
	}
	for _, k := range notify.Kinds {
		for _, lang := range []string{"es", "en"} {
			if err := notify.CheckKind(k, notify.DefaultTemplate(k, lang), lang, mexico); err != nil {
				t.Errorf("the default %s/%s: %v", k, lang, err)
			}
		}
	}
}

// TestTemplateKeepsItsLinkAndBonus: an admin could save the folio text without its status
// link — the one place the access code is ever written to a customer who reported by
// phone — and the outage's restore text without the bonus owed. Both are refused, and
// the restore text must also show the outcome (cause and verdict) when there is one.
func TestTemplateKeepsItsLinkAndBonus(t *testing.T) {
	for _, c := range []struct {
		kind    notify.Kind
		body    string
		missing string
	}{
		{notify.KindFolio, "Recibimos su reporte. Folio: {{.Folio}}.", "{{.StatusURL}}"},
		{notify.KindIncidentRestored, "Servicio restablecido (folio {{.Incident}}).{{if .Cause}} Causa: {{.Cause}}.{{end}}{{if .Verdict}} {{.Verdict}}.{{end}}", "{{.Compensation}}"},
		{notify.KindIncidentRestored, "Servicio restablecido (folio {{.Incident}}).{{if .Compensation}} Bono: {{.Compensation}}.{{end}}", "{{.Cause}}"},
	} {
		err := notify.CheckKind(c.kind, c.body, "es", mexico)
		var de *dispatch.Error
		if !errors.As(err, &de) || de.Field != "body" || !strings.HasPrefix(de.Message, c.missing+" is missing") {
			t.Errorf("CheckKind(%s, %q) = %v; want 422 on body saying %s is missing", c.kind, c.body, err, c.missing)
		}
	}
}
