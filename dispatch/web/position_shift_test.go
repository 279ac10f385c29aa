package web_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"despacho/dispatch"
)

// TestPositionOffShift409: a technician's phone posting his position off shift (before
// 07:30 for a shift at 08:00, in the evening, on a day off) gets 409 with the contract's
// error shape and the code off_shift, and the board shows no position; on shift it is
// taken. A position is judged by when it was taken ("at"), not when it arrived.
func TestPositionOffShift409(t *testing.T) {
	t.Parallel()
	ts, tokens, users, clk := newDispatchServer(t) // Monday 07:00
	d := tokens[dispatch.RoleDispatcher]
	techTok := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	id := createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13) // Mon and Tue 08–18
	url := fmt.Sprintf("%s/api/technicians/%d/position", ts.URL, id)
	position := func() *dispatch.Position {
		t.Helper()
		var got struct{ Position *dispatch.Position }
		mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), d, "", 200, &got)
		return got.Position
	}
	refused := func(when string, body string) {
		t.Helper()
		before := position()
		res, b := do(t, "POST", url, techTok, body)
		if res.StatusCode != 409 {
			t.Fatalf("%s: position = %d %s, want 409", when, res.StatusCode, b)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != "off_shift" || e.Error.Message == "" {
			t.Errorf("%s: body = %s, want {\"error\":{\"code\":\"off_shift\",\"message\":...}}", when, b)
		}
		if after := position(); (before == nil) != (after == nil) || before != nil && *before != *after {
			t.Errorf("%s: position went from %+v to %+v, want nothing stored", when, before, after)
		}
	}

	refused("Monday 07:00", `{"lat":19.44,"lon":-99.14}`)
	if p := position(); p != nil {
		t.Fatalf("position after an off-shift post = %+v, want none", p)
	}
	clk.Set(monday.Add(9 * time.Hour))
	mustJSON(t, "POST", url, techTok, `{"lat":19.44,"lon":-99.14}`, 204, nil)
	if p := position(); p == nil || p.Lat != 19.44 {
		t.Fatalf("position on shift = %+v, want 19.44", p)
	}
	clk.Set(monday.Add(21 * time.Hour))
	refused("Monday 21:00", `{"lat":19.50,"lon":-99.20}`)
	// Taken at 18:25, within the margin, and sent late from a poor connection: taken.
	at := monday.Add(18*time.Hour + 25*time.Minute)
	clk.Set(monday.Add(18*time.Hour + 50*time.Minute))
	mustJSON(t, "POST", url, techTok, fmt.Sprintf(`{"lat":19.45,"lon":-99.15,"at":%q}`, at.Format(time.RFC3339)), 204, nil)
	clk.Set(monday.AddDate(0, 0, 2).Add(12 * time.Hour)) // Wednesday: no shift
	refused("Wednesday noon", `{"lat":19.50,"lon":-99.20}`)
	if p := position(); p == nil || p.Lat != 19.45 || !p.At.Equal(at) {
		t.Errorf("position = %+v, want the one taken at 18:25", p)
	}
}
