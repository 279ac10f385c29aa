package web_test

import (
	"testing"

	"despacho/dispatch"
)

// TestCreateVisitLocation pins what the desk relies on to create a visit for a report whose
// address has no coordinates (every report filed by e-mail or on the public web form): the
// request's own lat, lon and address place the visit; without them it is 422 lat, and
// half of them or out of range is 422 naming the field; the answer carries the place.
func TestCreateVisitLocation(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	a := tok[dispatch.RoleAgent]
	var rep struct{ Folio string }
	mustJSON(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Rosa Pérez","phone":"5512345678"},"address":{"line":"Av. Juárez 10"},"kind":"fault","description":"Sin internet"}`, 201, &rep)
	url := ts.URL + "/api/tickets/" + rep.Folio + "/visits"

	for _, c := range []struct{ body, field string }{
		{`{"duration_min":60,"skills":["fiber"]}`, "lat"},
		{`{"duration_min":60,"skills":["fiber"],"lon":-99.14}`, "lat"},
		{`{"duration_min":60,"skills":["fiber"],"lat":19.44}`, "lon"},
		{`{"duration_min":60,"skills":["fiber"],"lat":91,"lon":-99.14}`, "lat"},
		{`{"duration_min":60,"skills":["fiber"],"lat":19.44,"lon":-180.5}`, "lon"},
	} {
		res, b := do(t, "POST", url, a, c.body)
		wantError(t, res.StatusCode, b, 422, c.field)
	}

	var v struct {
		visitOut
		Address  string
		Lat, Lon float64
	}
	mustJSON(t, "POST", url, a, `{"duration_min":60,"skills":["fiber"],"address":"Av. Juárez 10, casa azul","lat":19.44,"lon":-99.14}`, 201, &v)
	if v.Status != "unscheduled" || v.Folio != rep.Folio || v.Address != "Av. Juárez 10, casa azul" || v.Lat != 19.44 || v.Lon != -99.14 {
		t.Fatalf("visit = %+v, want unscheduled on %s at the place given", v, rep.Folio)
	}
	// Without an address of its own the visit takes the report's line (another report's:
	// the first one has its open visit).
	mustJSON(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Rosa Pérez","phone":"5512345678"},"address":{"line":"Av. Juárez 10"},"kind":"fault","description":"Sigue sin internet"}`, 201, &rep)
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+rep.Folio+"/visits", a, `{"duration_min":30,"skills":["fiber"],"lat":19.45,"lon":-99.15}`, 201, &v)
	if v.Address != "Av. Juárez 10" || v.Lat != 19.45 {
		t.Fatalf("second visit = %q (%v, %v), want the report's line at the coordinates given", v.Address, v.Lat, v.Lon)
	}
}
