package web_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestIncidentCustomersAPI: GET /api/incidents/{id}/customers lists, for the board's map,
// every customer of the incident's access point — the one who reported with their report's
// folio and the coordinates of their address, the one who did not with neither — and not
// the customers of another access point. Technicians may not read it; an unknown incident
// is 404.
func TestIncidentCustomersAPI(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "despacho@example.mx", dispatch.RoleDispatcher)
	createUser(t, users, "agente@example.mx", dispatch.RoleAgent)
	createUser(t, users, "tecnico@example.mx", dispatch.RoleTechnician)
	disp := staffToken(t, ts.URL, "despacho@example.mx")
	agent := staffToken(t, ts.URL, "agente@example.mx")
	tech := staffToken(t, ts.URL, "tecnico@example.mx")

	ticket := func(kind, name, phone, ap string) ticketJSON {
		t.Helper()
		body := fmt.Sprintf(`{"channel":"phone","kind":%q,"customer":{"name":%q,"phone":%q,"access_point":%q,"plan_price":300},
			"address":{"line":"Calle 5 #10","lat":19.44,"lon":-99.14},"description":"Sin internet"}`, kind, name, phone, ap)
		res, b := do(t, "POST", ts.URL+"/api/tickets", agent, body)
		if res.StatusCode != 201 {
			t.Fatalf("ticket = %d %s", res.StatusCode, b)
		}
		return decodeTicket(t, b)
	}
	reporter := ticket("fault", "Rosa Reporta", "5544440001", "AP-MAPA")
	// A customer put on the access point who never reported a fault (an inquiry gave their
	// address), and one elsewhere.
	quiet := ticket("inquiry", "Quino Quieto", "5544440002", "AP-OTRO")
	ticket("fault", "Otto Otro", "5544440003", "AP-OTRO")
	res, b := do(t, "PUT", fmt.Sprintf("%s/api/customers/%d/access-point", ts.URL, quiet.Customer.ID), disp, `{"access_point":"AP-MAPA"}`)
	if res.StatusCode != 200 {
		t.Fatalf("move customer = %d %s", res.StatusCode, b)
	}
	start := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	res, b = do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-MAPA","title":"Caída","started_at":"`+start+`"}`)
	if res.StatusCode != 201 {
		t.Fatalf("open = %d %s", res.StatusCode, b)
	}
	inc := decodeIncident(t, b)
	u := fmt.Sprintf("%s/api/incidents/%d/customers", ts.URL, inc.ID)

	res, b = do(t, "GET", u, agent, "")
	var got struct {
		IncidentID int64 `json:"incident_id"`
		Items      []struct {
			ID       int64
			Name     string
			Lat, Lon *float64
			Folio    *string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil || res.StatusCode != 200 || got.IncidentID != inc.ID || len(got.Items) != 2 {
		t.Fatalf("customers = %d %s; want the two customers of AP-MAPA", res.StatusCode, b)
	}
	r, q := got.Items[0], got.Items[1]
	if r.ID != reporter.Customer.ID || r.Folio == nil || *r.Folio != reporter.Folio || r.Lat == nil || *r.Lat != 19.44 || r.Lon == nil || *r.Lon != -99.14 {
		t.Errorf("reporter = %+v; want customer %d with folio %s at 19.44,-99.14", r, reporter.Customer.ID, reporter.Folio)
	}
	if q.ID != quiet.Customer.ID || q.Folio != nil || q.Lat == nil {
		t.Errorf("customer who did not report on AP-MAPA = %+v; want no folio, coordinates from their address", q)
	}
	res, b = do(t, "GET", fmt.Sprintf("%s/api/incidents/%s/customers", ts.URL, inc.Folio), disp, "")
	if res.StatusCode != 200 {
		t.Fatalf("by folio = %d %s", res.StatusCode, b)
	}
	res, b = do(t, "GET", u, tech, "")
	wantError(t, res.StatusCode, b, 403, "")
	res, b = do(t, "GET", ts.URL+"/api/incidents/999999/customers", disp, "")
	wantError(t, res.StatusCode, b, 404, "")
}
