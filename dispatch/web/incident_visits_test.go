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

// TestIncidentVisitAPI: a dispatcher plans a visit for an open incident itself; it is
// listed in the queue with the incident's folio, booked into the plan, shown on the
// technician's route and worked to completion by him; the incident stays open and its
// detail shows the visit and its events. Bad input: 403, 404, 422 lat, 409 once resolved.
func TestIncidentVisitAPI(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.nodo@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan.nodo@despacho.example.mx", "Juan", 19.43, -99.13)
	// An ordinary customer visit on the same day, so the queue and plan hold both kinds.
	ordinary := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":45,"skills":["fiber"]}`)

	var inc struct {
		ID    int64
		Folio string
	}
	started := monday.Add(6 * time.Hour).Format(time.RFC3339)
	mustJSON(t, "POST", ts.URL+"/api/incidents", d, fmt.Sprintf(`{"access_point":"NODO-1","title":"Caída del nodo","started_at":%q}`, started), 201, &inc)
	url := fmt.Sprintf("%s/api/incidents/%d/visits", ts.URL, inc.ID)
	body := `{"address":"Nodo 1, caseta","lat":19.42,"lon":-99.15,"skills":["fiber"],"duration_min":90,"priority":6}`

	res, b := do(t, "POST", url, a, body)
	if res.StatusCode != 403 {
		t.Errorf("agent plans an incident visit = %d %s, want 403", res.StatusCode, b)
	}
	res, b = do(t, "POST", fmt.Sprintf("%s/api/incidents/%d/visits", ts.URL, inc.ID+1000), d, body)
	wantError(t, res.StatusCode, b, 404, "")
	res, b = do(t, "POST", url, d, `{"address":"Nodo 1","skills":["fiber"],"duration_min":90}`)
	wantError(t, res.StatusCode, b, 422, "lat")
	// Coordinates out of range name the body's own field (they were "location.lat").
	res, b = do(t, "POST", url, d, `{"address":"Nodo 1","lat":91,"lon":-99.15,"skills":["fiber"],"duration_min":90}`)
	wantError(t, res.StatusCode, b, 422, "lat")
	res, b = do(t, "POST", url, d, `{"address":"Nodo 1","lat":19.42,"lon":-181,"skills":["fiber"],"duration_min":90}`)
	wantError(t, res.StatusCode, b, 422, "lon")

	var iv struct {
		visitOut
		IncidentID    int64  `json:"incident_id"`
		IncidentFolio string `json:"incident_folio"`
	}
	mustJSON(t, "POST", url, d, body, 201, &iv)
	if iv.IncidentID != inc.ID || iv.IncidentFolio != inc.Folio || iv.Folio != "" || iv.Status != "unscheduled" {
		t.Fatalf("incident visit = %+v, want incident %d %s, no folio, unscheduled", iv, inc.ID, inc.Folio)
	}

	// The board's queue lists it with the incident's folio, beside the customer's visit.
	var queue struct {
		Items []struct {
			ID            int64
			Folio         string
			IncidentFolio string `json:"incident_folio"`
		}
	}
	mustJSON(t, "GET", ts.URL+"/api/visits?status=unscheduled", d, "", 200, &queue)
	found := map[int64]string{}
	for _, it := range queue.Items {
		found[it.ID] = it.Folio + it.IncidentFolio
	}
	if found[iv.ID] != inc.Folio || found[ordinary.ID] == "" {
		t.Fatalf("queue = %+v, want the incident visit labelled %s and the customer's visit", queue.Items, inc.Folio)
	}
	// Filtered by the incident, only its visit; a malformed incident folio is refused.
	mustJSON(t, "GET", ts.URL+"/api/visits?incident="+strings.ToLower(inc.Folio), d, "", 200, &queue)
	if len(queue.Items) != 1 || queue.Items[0].ID != iv.ID {
		t.Fatalf("visits of %s = %+v, want only %d", inc.Folio, queue.Items, iv.ID)
	}
	res, b = do(t, "GET", ts.URL+"/api/visits?incident=R-2026-000001", d, "")
	wantError(t, res.StatusCode, b, 422, "incident")

	// Booked like any visit, it goes on Juan's route with the ordinary one.
	for _, id := range []int64{iv.ID, ordinary.ID} {
		ss := slots(t, ts, d, id)
		if len(ss) == 0 {
			t.Fatalf("no slots for visit %d", id)
		}
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, id), d, window(ss[len(ss)/2]), 200, nil)
	}
	var opt struct{ Visits int }
	mustJSON(t, "POST", ts.URL+"/api/plans/2026-11-30/optimize", d, `{"time_limit_s":0.5}`, 200, &opt)
	if opt.Visits != 2 {
		t.Errorf("optimised day placed %d visits, want 2", opt.Visits)
	}
	var route struct {
		Visits []struct {
			ID            int64
			IncidentFolio string `json:"incident_folio"`
		}
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/route?day=2026-11-30", ts.URL, tj), juan, "", 200, &route)
	onRoute := false
	for _, v := range route.Visits {
		onRoute = onRoute || (v.ID == iv.ID && v.IncidentFolio == inc.Folio)
	}
	if len(route.Visits) != 2 || !onRoute {
		t.Fatalf("Juan's route = %+v, want both visits, the incident's labelled %s", route.Visits, inc.Folio)
	}

	// Juan works it; completing it does not resolve the incident.
	status := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, iv.ID)
	mustJSON(t, "POST", status, juan, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", status, juan, `{"status":"on_site"}`, 200, nil)
	mustJSON(t, "POST", status, juan, `{"status":"completed","cause":"fibra troncal cortada","verdict":"upheld","service_restored":true}`, 200, nil)
	var detail struct {
		Status string
		Visits []struct {
			ID     int64
			Status string
		}
		Timeline []struct {
			Type    string
			VisitID int64 `json:"visit_id"`
		}
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/incidents/%d", ts.URL, inc.ID), d, "", 200, &detail)
	if detail.Status != "open" || len(detail.Visits) != 1 || detail.Visits[0].ID != iv.ID || detail.Visits[0].Status != "completed" {
		t.Fatalf("incident = %s with visits %+v, want open with its completed visit", detail.Status, detail.Visits)
	}
	types := map[string]bool{}
	for _, e := range detail.Timeline {
		if e.VisitID == iv.ID {
			types[e.Type] = true
		}
	}
	for _, want := range []string{"visit.created", "visit.booked", "visit.en_route", "visit.on_site", "visit.completed"} {
		if !types[want] {
			t.Errorf("incident timeline lacks %s of its visit: %+v", want, detail.Timeline)
		}
	}

	// Resolved by the dispatcher; a resolved incident gets no more visits.
	restored := monday.Add(6*time.Hour + 50*time.Minute).Format(time.RFC3339)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/resolve", ts.URL, inc.ID), d,
		fmt.Sprintf(`{"cause":"fibra troncal cortada","verdict":"upheld","restored_at":%q}`, restored), 200, nil)
	res, b = do(t, "POST", url, d, body)
	wantError(t, res.StatusCode, b, 409, "")
}

// TestIncidentVisitOnLiveStream: a dispatcher's websocket carries the events of a visit
// planned for an incident with the incident's id (the incident's live stream), and the
// visit's id.
func TestIncidentVisitOnLiveStream(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	_, ts := liveServer(t, db, live.Options{}, web.Config{})
	createUser(t, postgres.NewUsers(db), "despacho@example.mx", dispatch.RoleDispatcher)
	disp := staffToken(t, ts.URL, "despacho@example.mx")
	c, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?token="+disp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	started := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	res, body := do(t, "POST", ts.URL+"/api/incidents", disp, `{"access_point":"AP-VIVO","title":"Caída","started_at":"`+started+`"}`)
	if res.StatusCode != 201 {
		t.Fatalf("open = %d %s", res.StatusCode, body)
	}
	inc := decodeIncident(t, body)
	var v struct{ ID int64 }
	mustJSON(t, "POST", fmt.Sprintf("%s/api/incidents/%d/visits", ts.URL, inc.ID), disp, `{"lat":19.42,"lon":-99.15,"duration_min":60}`, 201, &v)

	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("no visit.created of the incident's visit on the stream: %v", err)
		}
		var m struct {
			Type string
			Data struct {
				IncidentID    int64  `json:"incident_id"`
				VisitID       int64  `json:"visit_id"`
				ReportID      int64  `json:"report_id"`
				IncidentFolio string `json:"incident_folio"`
			}
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		if m.Type != "visit.created" {
			continue
		}
		if m.Data.IncidentID != inc.ID || m.Data.VisitID != v.ID || m.Data.ReportID != 0 || m.Data.IncidentFolio != inc.Folio {
			t.Fatalf("visit.created on the stream = %s, want incident %d %s, visit %d, no report", b, inc.ID, inc.Folio, v.ID)
		}
		return
	}
}
