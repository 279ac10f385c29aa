package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestPositionErrorsNameTheBodysFields: the body of POST /api/technicians/{id}/position is
// the point itself, {"lat","lon","at"}; an error names the field as sent. A coordinate out
// of range was named "position.lat", a field no client sends, and a missing lon was
// named "lat".
func TestPositionErrorsNameTheBodysFields(t *testing.T) {
	ts, tokens, users, _ := newDispatchServer(t) // Monday 07:00
	techTok := login(t, ts, users, "rita@despacho.example.mx", dispatch.RoleTechnician)
	id := createTechFor(t, ts, tokens[dispatch.RoleDispatcher], users, "rita@despacho.example.mx", "Rita", 19.43, -99.13)
	url := fmt.Sprintf("%s/api/technicians/%d/position", ts.URL, id)
	for _, c := range []struct{ body, field string }{
		{`{"lat":95,"lon":-99.1}`, "lat"},
		{`{"lat":19.4,"lon":-199}`, "lon"},
		{`{"lat":19.4}`, "lon"},
		{`{"lon":-99.1}`, "lat"},
	} {
		res, b := do(t, "POST", url, techTok, c.body)
		if res.StatusCode != 422 {
			t.Errorf("%s: %d %s, want 422", c.body, res.StatusCode, b)
			continue
		}
		if _, field := errorCode(t, b); field != c.field {
			t.Errorf("%s: field %q, want %q", c.body, field, c.field)
		}
	}
}
