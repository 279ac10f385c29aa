package web_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestPublicBookingOnlyOfferedWindows: a customer books one of the windows the plan offers
// him, not a time of his own. Through the booking page's API and through POST
// /api/visits/{id}/book with the code, a window inside business hours that the plan could
// keep but never offered — an exact 30-minute arrival at 10:17, a window off the grid, the
// whole day — is refused (409 window_unavailable) and the visit keeps its window; an offered
// window is booked. Staff may still agree an exact time with the customer.
func TestPublicBookingOnlyOfferedWindows(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	a := tok[dispatch.RoleAgent]
	createTech(t, ts, tok[dispatch.RoleDispatcher], "Ana Pública", 19.43, -99.13, `"fiber"`, "")
	var rep struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets", a, `{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":"55 7100 0011"},
		"address":{"line":"Calle 1","lat":19.41,"lon":-99.15},"description":"Sin servicio"}`, 201, &rep)
	v := createVisit(t, ts, a, rep.Folio, `{"duration_min":30,"skills":["fiber"]}`)
	base := ts.URL + "/public/reports/" + rep.Folio
	var got struct{ Slots []slot }
	mustJSON(t, "GET", base+"/slots?code="+rep.AccessCode+"&days=1", "", "", 200, &got)
	if len(got.Slots) < 3 {
		t.Fatalf("slots = %v, want three or more on Monday", got.Slots)
	}
	booked := got.Slots[0]
	mustJSON(t, "POST", base+"/book?code="+rep.AccessCode, "", window(booked), 200, nil)

	mid := got.Slots[1]
	zone, _ := time.LoadLocation("America/Mexico_City")
	day := mid.Start.In(zone)
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, zone)
	width := mid.End.Sub(mid.Start)
	for _, w := range []struct {
		name string
		s    slot
	}{
		{"an exact arrival", slot{mid.Start.Add(17 * time.Minute), mid.Start.Add(47 * time.Minute)}},
		{"off the grid", slot{mid.Start.Add(time.Hour), mid.Start.Add(time.Hour + width)}},
		{"the whole day", slot{day.Add(8 * time.Hour), day.Add(18 * time.Hour)}},
	} {
		for _, url := range []string{base + "/book?code=" + rep.AccessCode, fmt.Sprintf("%s/api/visits/%d/book?code=%s", ts.URL, v.ID, rep.AccessCode)} {
			res, b := do(t, "POST", url, "", window(w.s), "Origin", ts.URL)
			if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "window_unavailable" {
				t.Errorf("%s (%v–%v) at %s = %d %s, want 409 window_unavailable", w.name, w.s.Start.In(zone), w.s.End.In(zone), url, res.StatusCode, b)
			}
		}
	}
	var stored map[string]json.RawMessage
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), a, "", 200, &stored)
	var win slot
	if err := json.Unmarshal(stored["window"], &win); err != nil || !win.Start.Equal(booked.Start) || !win.End.Equal(booked.End) {
		t.Fatalf("window after the refused bookings = %s, want %v", stored["window"], booked)
	}
	// An offered window, through either door.
	mustJSON(t, "POST", base+"/book?code="+rep.AccessCode, "", window(got.Slots[2]), 200, nil)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book?code=%s", ts.URL, v.ID, rep.AccessCode), "", window(mid), 200, nil)
	// Staff may agree an exact time.
	exact := slot{mid.Start.Add(17 * time.Minute), mid.Start.Add(47 * time.Minute)}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(exact), 200, nil)
}
