package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestIncidentEventsOnLiveStream is issue 9's "the live stream carries incident events": a
// dispatcher's websocket receives, in order and each with its incident_id, the opening of an
// incident made through the API, the attachment of its access point's report, an estimate
// change and the resolution, and the report's resolution with its compensation.
func TestIncidentEventsOnLiveStream(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	_, ts := liveServer(t, db, live.Options{FolioAccess: reports.IDForCode}, web.Config{})
	users := postgres.NewUsers(db)
	createUser(t, users, "despacho@example.mx", dispatch.RoleDispatcher)
	disp := staffToken(t, ts.URL, "despacho@example.mx")

	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?token="+disp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	res, body := do(t, "POST", ts.URL+"/api/tickets", disp,
		`{"channel":"phone","kind":"fault","customer":{"name":"Rosa","phone":"5533330001","access_point":"AP-LIVE","plan_price":300},"description":"Sin internet"}`)
	if res.StatusCode != 201 {
		t.Fatalf("ticket = %d %s", res.StatusCode, body)
	}
	folio := decodeTicket(t, body).Folio
	now := time.Now().UTC()
	res, body = do(t, "POST", ts.URL+"/api/incidents", disp,
		`{"access_point":"AP-LIVE","title":"Caída","started_at":"`+now.Add(-2*time.Hour).Format(time.RFC3339)+`"}`)
	if res.StatusCode != 201 {
		t.Fatalf("open = %d %s", res.StatusCode, body)
	}
	inc := decodeIncident(t, body)
	u := fmt.Sprintf("%s/api/incidents/%d", ts.URL, inc.ID)
	if res, body = do(t, "POST", u+"/estimate", disp, `{"estimated_restore_at":"`+now.Add(3*time.Hour).Format(time.RFC3339)+`"}`); res.StatusCode != 200 {
		t.Fatalf("estimate = %d %s", res.StatusCode, body)
	}
	if res, body = do(t, "POST", u+"/resolve", disp, `{"cause":"Fibra cortada","verdict":"upheld","restored_at":"`+now.Add(-time.Minute).Format(time.RFC3339)+`"}`); res.StatusCode != 200 {
		t.Fatalf("resolve = %d %s", res.StatusCode, body)
	}

	want := []string{"incident.opened", dispatch.EventReportAttached, "incident.estimate_changed", dispatch.EventReportIncidentEstimate,
		dispatch.EventReportResolved, "incident.resolved"}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var got []string
	for len(want) > 0 {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("still waiting for %v after %v: %v", want, got, err)
		}
		var m struct {
			Type string
			Data struct {
				IncidentID   int64  `json:"incident_id"`
				Folio        string `json:"folio"`
				Compensation *struct {
					Amount   string `json:"amount"`
					Currency string `json:"currency"`
				} `json:"compensation"`
			}
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		if m.Type != want[0] {
			continue // the report's own events, and the incident's in between
		}
		got = append(got, m.Type)
		want = want[1:]
		if m.Data.IncidentID != inc.ID {
			t.Errorf("%s carries incident_id %d; want %d (%s)", m.Type, m.Data.IncidentID, inc.ID, b)
		}
		if strings.HasPrefix(m.Type, "report.") && m.Data.Folio != folio {
			t.Errorf("%s names folio %q; want %s", m.Type, m.Data.Folio, folio)
		}
		if m.Type == dispatch.EventReportResolved && (m.Data.Compensation == nil || m.Data.Compensation.Currency != "MXN" || m.Data.Compensation.Amount == "0.00") {
			t.Errorf("report.resolved on the live stream = %s; want its compensation", b)
		}
	}
}
