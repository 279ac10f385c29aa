package web_test

import (
	"testing"

	"despacho/dispatch"
)

// TestNoPlaceAtZeroZero: coordinates (0,0), what a client sends for a place it does not
// know, are 422 naming lat for a report's address and for a visit, as for a technician's
// home. They were stored: the visit lay in the Gulf of Guinea, out of every technician's
// reach, and was offered no window, ever, without a word of why.
func TestNoPlaceAtZeroZero(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	agent := tokens[dispatch.RoleAgent]
	res, b := do(t, "POST", ts.URL+"/api/tickets", agent, `{"channel":"phone","kind":"fault","customer":{"name":"Nadia","phone":"55 4444 0003"},
		"address":{"line":"Calle 3","lat":0,"lon":0},"description":"Sin servicio"}`)
	if res.StatusCode != 422 {
		t.Fatalf("ticket at (0,0) = %d %s, want 422", res.StatusCode, b)
	}
	if _, field := errorCode(t, b); field != "address.lat" {
		t.Errorf("ticket at (0,0): field %q, want address.lat", field)
	}

	folio := createTicket(t, ts, agent, 19.41, -99.11)
	res, b = do(t, "POST", ts.URL+"/api/tickets/"+folio+"/visits", agent, `{"duration_min":60,"lat":0,"lon":0}`)
	if res.StatusCode != 422 {
		t.Fatalf("visit at (0,0) = %d %s, want 422", res.StatusCode, b)
	}
	if _, field := errorCode(t, b); field != "lat" {
		t.Errorf("visit at (0,0): field %q, want lat", field)
	}
	// A place on the equator or the meridian alone is still a place.
	createVisit(t, ts, agent, folio, `{"duration_min":60,"lat":0,"lon":-78.5}`)
}
