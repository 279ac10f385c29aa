package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestPublicStatusShowsOutageAndCompensation: the customer's status answer said nothing of
// the mass outage his report is attached to, nor, once it was resolved, of what he is owed.
// It now shows the outage as he may see it — its folio, title and state, when it began, the
// restore estimate he was told and the restore — and, once resolved, the compensation owed
// (amount, MXN). Never the incident's internal notes, its access point, nor who handled it.
func TestPublicStatusShowsOutageAndCompensation(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "despacho.pub@example.mx", dispatch.RoleDispatcher)
	createUser(t, users, "agente.pub@example.mx", dispatch.RoleAgent)
	disp := staffToken(t, ts.URL, "despacho.pub@example.mx")
	agent := staffToken(t, ts.URL, "agente.pub@example.mx")

	var tk struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets", agent,
		`{"channel":"phone","kind":"fault","customer":{"name":"Rosa","phone":"5511180001","access_point":"OLT-NORTE-7","plan_price":300},"description":"Sin internet"}`, 201, &tk)
	now := time.Now().UTC().Truncate(time.Second)
	started := now.Add(-3 * time.Hour)
	var inc struct {
		ID    int64
		Folio string
	}
	mustJSON(t, "POST", ts.URL+"/api/incidents", disp, fmt.Sprintf(`{"access_point":"OLT-NORTE-7","title":"Corte de fibra en la zona norte","started_at":%q}`,
		started.Format(time.RFC3339)), 201, &inc)
	est := now.Add(2 * time.Hour)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/estimate", ts.URL, inc.ID), disp, fmt.Sprintf(`{"estimated_restore_at":%q}`, est.Format(time.RFC3339)), 200, nil)

	type status struct {
		Status   string `json:"status"`
		Incident *struct {
			Folio              string     `json:"folio"`
			Title              string     `json:"title"`
			Status             string     `json:"status"`
			StartedAt          time.Time  `json:"started_at"`
			EstimatedRestoreAt *time.Time `json:"estimated_restore_at"`
			RestoredAt         *time.Time `json:"restored_at"`
		} `json:"incident"`
		Compensation *struct {
			Amount   string `json:"amount"`
			Currency string `json:"currency"`
		} `json:"compensation"`
		Timeline []struct{ Type string } `json:"timeline"`
	}
	look := func() (status, string) {
		t.Helper()
		res, b := do(t, "GET", ts.URL+"/public/reports/"+tk.Folio+"?code="+tk.AccessCode, "", "")
		if res.StatusCode != 200 {
			t.Fatalf("status = %d %s", res.StatusCode, b)
		}
		var st status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"OLT-NORTE", "nota interna", "user:", "Test dispatcher", "access_point", "plan_price"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("status answer shows %q: %s", secret, b)
			}
		}
		return st, string(b)
	}

	st, b := look()
	i := st.Incident
	if i == nil || i.Folio != inc.Folio || i.Title != "Corte de fibra en la zona norte" || i.Status != "open" || !i.StartedAt.Equal(started) ||
		i.EstimatedRestoreAt == nil || !i.EstimatedRestoreAt.Equal(est) || i.RestoredAt != nil {
		t.Fatalf("open outage: incident = %+v; want %s, its title, open, started %s, estimate %s (%s)", i, inc.Folio, started, est, b)
	}
	if st.Compensation != nil {
		t.Errorf("open outage: compensation = %+v; want none before the restore", st.Compensation)
	}
	attached := false
	for _, s := range st.Timeline {
		attached = attached || s.Type == dispatch.EventReportAttached
	}
	if !attached {
		t.Errorf("timeline %+v; want the attachment to the outage", st.Timeline)
	}

	restored := now.Add(-time.Hour)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/resolve", ts.URL, inc.ID), disp,
		fmt.Sprintf(`{"cause":"Fibra cortada por obra","verdict":"upheld","restored_at":%q,"notes":"nota interna: cuadrilla 3 tardó"}`, restored.Format(time.RFC3339)), 200, nil)
	var staff struct {
		Compensation struct{ Amount string } `json:"compensation"`
	}
	mustJSON(t, "GET", ts.URL+"/api/tickets/"+tk.Folio, agent, "", 200, &staff)
	st, b = look()
	i = st.Incident
	if i == nil || i.Status != "resolved" || i.RestoredAt == nil || !i.RestoredAt.Equal(restored) {
		t.Fatalf("resolved outage: incident = %+v; want resolved, restored at %s (%s)", i, restored, b)
	}
	if c := st.Compensation; c == nil || c.Amount != staff.Compensation.Amount || c.Amount == "0.00" || c.Currency != "MXN" {
		t.Fatalf("resolved outage: compensation = %+v; want %s MXN, as staff see it (%s)", c, staff.Compensation.Amount, b)
	}

	// A report with no outage says neither.
	var other struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets", agent,
		`{"channel":"phone","kind":"fault","customer":{"name":"Luis","phone":"5511180002","access_point":"OLT-SUR-1"},"description":"Sin internet"}`, 201, &other)
	res, ob := do(t, "GET", ts.URL+"/public/reports/"+other.Folio+"?code="+other.AccessCode, "", "")
	if res.StatusCode != 200 || strings.Contains(string(ob), `"incident"`) || strings.Contains(string(ob), `"compensation"`) {
		t.Errorf("status of a report without outage = %d %s; want no incident nor compensation", res.StatusCode, ob)
	}
}
