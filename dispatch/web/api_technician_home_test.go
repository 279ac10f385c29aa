package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestTechnicianHomeNeedsBothCoordinates: a home base with one coordinate is 422 naming the
// missing one, on creation and in a patch. It decoded the other as 0 and was stored: a
// home in the Atlantic (lon 0) from which no visit in Mexico is ever reachable in a day.
func TestTechnicianHomeNeedsBothCoordinates(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	disp := tokens[dispatch.RoleDispatcher]
	const shifts = `"shifts":[{"weekday":1,"start":"08:00","end":"18:00"}]`
	for _, c := range []struct{ home, field string }{
		{`{"lat":19.4}`, "home.lon"},
		{`{"lon":-99.1}`, "home.lat"},
		{`{"lat":19.4,"lon":null}`, "home.lon"},
		{`{}`, "home"},
	} {
		body := fmt.Sprintf(`{"name":"Sin casa","phone":"55 3333 0001","skills":["fiber"],"home":%s,%s}`, c.home, shifts)
		res, b := do(t, "POST", ts.URL+"/api/technicians", disp, body)
		if res.StatusCode != 422 {
			t.Errorf("create with home %s: %d %s, want 422", c.home, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("create with home %s: field %q, want %q", c.home, field, c.field)
		}
	}

	id := createTech(t, ts, disp, "Con casa", 19.40, -99.10, `"fiber"`, "")
	res, b := do(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), disp, `{"home":{"lat":20.1},"version":1}`)
	if res.StatusCode != 422 {
		t.Fatalf("patch with home {lat}: %d %s, want 422", res.StatusCode, b)
	}
	if _, field := errorCode(t, b); field != "home.lon" {
		t.Errorf("patch with home {lat}: field %q, want home.lon", field)
	}
	var got struct {
		Home    dispatch.LatLon
		Version int
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), disp, "", 200, &got)
	if got.Home != (dispatch.LatLon{Lat: 19.40, Lon: -99.10}) || got.Version != 1 {
		t.Errorf("after the refused patch: home %+v version %d, want (19.4,-99.1) at version 1", got.Home, got.Version)
	}
	// Both together still move him.
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), disp, `{"home":{"lat":19.5,"lon":-99.2},"version":1}`, 200, &got)
	if got.Home != (dispatch.LatLon{Lat: 19.5, Lon: -99.2}) {
		t.Errorf("after the patch: home %+v, want (19.5,-99.2)", got.Home)
	}
}
