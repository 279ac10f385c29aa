package web_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestReopenedTicketShowsCompensationAsOfEarlierResolution: a report resolved through its
// incident and then reopened still answered GET /api/tickets/{folio} with its compensation
// as if owed for the report as it now stands (open again). The compensation stays owed —
// it pays the outage until the incident's restore — but the ticket now says as of which
// resolution (as_of, the incident) and that it is of an earlier one (earlier_resolution),
// and the reopening's step on the timeline says the compensation was kept. Resolving the
// report again keeps it once, unchanged.
func TestReopenedTicketShowsCompensationAsOfEarlierResolution(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "despacho.re@example.mx", dispatch.RoleDispatcher)
	createUser(t, users, "agente.re@example.mx", dispatch.RoleAgent)
	disp := staffToken(t, ts.URL, "despacho.re@example.mx")
	agent := staffToken(t, ts.URL, "agente.re@example.mx")

	res, b := do(t, "POST", ts.URL+"/api/tickets", agent,
		`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":"5511190001","access_point":"AP-REABRE","plan_price":300},"description":"Sin internet"}`)
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s", res.StatusCode, b)
	}
	folio := decodeTicket(t, b).Folio
	now := time.Now().UTC()
	var inc struct {
		ID    int64
		Folio string
	}
	mustJSON(t, "POST", ts.URL+"/api/incidents", disp, fmt.Sprintf(`{"access_point":"AP-REABRE","title":"Caída","started_at":%q}`,
		now.Add(-3*time.Hour).Format(time.RFC3339)), 201, &inc)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/resolve", ts.URL, inc.ID), disp,
		fmt.Sprintf(`{"cause":"Fibra cortada","verdict":"upheld","restored_at":%q}`, now.Add(-time.Hour).Format(time.RFC3339)), 200, nil)

	type comp struct {
		Amount            string     `json:"amount"`
		Currency          string     `json:"currency"`
		AsOf              *time.Time `json:"as_of"`
		IncidentID        int64      `json:"incident_id"`
		IncidentFolio     string     `json:"incident_folio"`
		EarlierResolution *bool      `json:"earlier_resolution"`
	}
	type ticket struct {
		Status       string `json:"status"`
		Compensation *comp  `json:"compensation"`
		Timeline     []struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"timeline"`
	}
	get := func() ticket {
		t.Helper()
		var tk ticket
		mustJSON(t, "GET", ts.URL+"/api/tickets/"+folio, agent, "", 200, &tk)
		return tk
	}
	first := get()
	c := first.Compensation
	if first.Status != "resolved" || c == nil || c.Amount == "0.00" || c.Currency != "MXN" || c.AsOf == nil ||
		c.IncidentID != inc.ID || c.IncidentFolio != inc.Folio || c.EarlierResolution == nil || *c.EarlierResolution {
		t.Fatalf("resolved ticket's compensation = %+v; want it owed as of the incident's resolution, earlier_resolution false", c)
	}
	owed, asOf := c.Amount, *c.AsOf

	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/transitions", agent, `{"action":"reopen","reason":"sigue sin servicio"}`, 200, nil)
	reopened := get()
	c = reopened.Compensation
	if reopened.Status != "open" || c == nil || c.Amount != owed || c.AsOf == nil || !c.AsOf.Equal(asOf) || c.EarlierResolution == nil || !*c.EarlierResolution {
		t.Fatalf("reopened ticket's compensation = %+v; want %s still owed as of %s, earlier_resolution true", c, owed, asOf)
	}
	last := reopened.Timeline[len(reopened.Timeline)-1]
	var d struct {
		Kept *comp `json:"compensation_kept"`
	}
	if last.Type != dispatch.EventReportReopened || json.Unmarshal(last.Data, &d) != nil || d.Kept == nil || d.Kept.Amount != owed || d.Kept.IncidentFolio != inc.Folio {
		t.Errorf("reopening step = %s %s; want report.reopened with compensation_kept %s of %s", last.Type, last.Data, owed, inc.Folio)
	}

	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/transitions", agent,
		`{"action":"resolve","cause":"ONT cambiada","verdict":"upheld","service_restored":true}`, 200, nil)
	again := get()
	if c := again.Compensation; again.Status != "resolved" || c == nil || c.Amount != owed || !c.AsOf.Equal(asOf) || !*c.EarlierResolution {
		t.Errorf("resolved again: compensation = %+v; want %s once, as of %s, earlier_resolution true", c, owed, asOf)
	}
}
