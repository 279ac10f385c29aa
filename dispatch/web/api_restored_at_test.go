package web_test

import (
	"encoding/json"
	"strings"
	"testing"

	"despacho/dispatch"
)

// TestRestoredAtTooEarlySaysSo: a service_restored_at years before the report is refused
// (422 naming it) with a message that says why; it said "must not be in the future", so the
// agent looked for a future date in a past one.
func TestRestoredAtTooEarlySaysSo(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	agent := tokens[dispatch.RoleAgent]
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	url := ts.URL + "/api/tickets/" + folio + "/transitions"
	for _, c := range []struct{ at, want string }{
		{"2020-01-01T10:00:00-06:00", "year before"},
		{"0000-01-01T00:00:00+06:00", "year before"},
		{"2030-01-01T10:00:00-06:00", "future"},
	} {
		res, b := do(t, "POST", url, agent, `{"action":"resolve","cause":"Fibra cortada","verdict":"upheld","service_restored":true,"service_restored_at":"`+c.at+`"}`)
		var e struct {
			Error struct{ Code, Message, Field string }
		}
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 422 || e.Error.Field != "service_restored_at" {
			t.Errorf("restored at %s: %d %s, want 422 naming service_restored_at", c.at, res.StatusCode, b)
			continue
		}
		if !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("restored at %s: message %q, want one saying %q", c.at, e.Error.Message, c.want)
		}
	}
}
