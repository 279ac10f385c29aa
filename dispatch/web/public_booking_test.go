package web_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestPublicBooking: the booking page's API. With the folio's code the customer sees the
// windows the plan can keep for the folio's visit and books one; a wrong code is the same
// 404 as an unknown folio; a report without a visit is 409 no_visit; bad input names its
// field; a window the plan does not offer is refused and nothing changes.
func TestPublicBooking(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	a := tok[dispatch.RoleAgent]
	createTech(t, ts, tok[dispatch.RoleDispatcher], "Ana Pública", 19.43, -99.13, `"fiber"`, "")
	ticket := func(phone string) (folio, code string) {
		t.Helper()
		var out struct {
			Folio      string
			AccessCode string `json:"access_code"`
		}
		mustJSON(t, "POST", ts.URL+"/api/tickets", a, fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":%q},
			"address":{"line":"Calle 1","lat":19.41,"lon":-99.15},"description":"Sin servicio"}`, phone), 201, &out)
		return out.Folio, out.AccessCode
	}
	folio, code := ticket("55 7100 0001")
	lone, loneCode := ticket("55 7100 0002") // no visit
	v := createVisit(t, ts, a, folio, `{"duration_min":30,"skills":["fiber"]}`)
	base := ts.URL + "/public/reports/" + folio

	var got struct {
		Slots []struct{ Start, End time.Time }
	}
	mustJSON(t, "GET", base+"/slots?code="+code+"&days=2", "", "", 200, &got)
	if len(got.Slots) < 2 {
		t.Fatalf("slots = %v, want windows on Monday and Tuesday", got.Slots)
	}
	for _, c := range []struct {
		method, url, body string
		status            int
		code, field       string
	}{
		{"GET", base + "/slots?code=WRONGCODE2345", "", 404, "not_found", ""},
		{"GET", ts.URL + "/public/reports/R-2026-999999/slots?code=" + code, "", 404, "not_found", ""},
		{"GET", ts.URL + "/public/reports/" + lone + "/slots?code=" + loneCode, "", 409, "no_visit", ""},
		{"GET", base + "/slots?code=" + code + "&days=30", "", 422, "", "days"},
		{"POST", base + "/book?code=WRONGCODE2345", `{"start":"2026-11-30T16:00:00Z","end":"2026-11-30T18:00:00Z"}`, 404, "not_found", ""},
		{"POST", base + "/book?code=" + code, `{"end":"2026-11-30T18:00:00Z"}`, 422, "", "start"},
		{"POST", base + "/book?code=" + code, `{"start":"2026-11-30T16:00:00Z","end":"2026-11-30T18:00:00Z","force":true}`, 403, "", ""},
		{"POST", base + "/book?code=" + code, `{"start":`, 400, "", ""},
	} {
		res, b := do(t, c.method, c.url, "", c.body, "Origin", ts.URL)
		gotCode, gotField := errorCode(t, b)
		if res.StatusCode != c.status || (c.code != "" && gotCode != c.code) || gotField != c.field {
			t.Errorf("%s %s = %d %s, want %d %s naming %q", c.method, c.url, res.StatusCode, b, c.status, c.code, c.field)
		}
	}

	// The last window offered is booked; the visit has it.
	w := got.Slots[len(got.Slots)-1]
	var booked struct {
		ID     int64
		Status string
		Window struct{ Start, End time.Time }
	}
	mustJSON(t, "POST", base+"/book?code="+code, "", fmt.Sprintf(`{"start":%q,"end":%q}`, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339)), 200, &booked)
	if booked.ID != v.ID || booked.Status != "booked" || !booked.Window.Start.Equal(w.Start) {
		t.Fatalf("booked = %+v, want visit %d booked from %v", booked, v.ID, w.Start)
	}
	var stored map[string]json.RawMessage
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), a, "", 200, &stored)
	var win struct{ Start time.Time }
	if err := json.Unmarshal(stored["window"], &win); err != nil || !win.Start.Equal(w.Start) {
		t.Fatalf("stored window %s, want start %v", stored["window"], w.Start)
	}
}
