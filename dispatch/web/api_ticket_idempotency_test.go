package web_test

import (
	"encoding/json"
	"testing"

	"despacho/dispatch"
)

// TestTicketRetryReformatted: a retry of POST /api/tickets with the same Idempotency-Key
// and the same report, its JSON spaced or ordered otherwise (a client that serialises
// again) or with a field no report has, gets the first answer. It was refused as another
// request (422 idempotency_key_reused), so a client could not learn the folio it filed.
func TestTicketRetryReformatted(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	agent := tokens[dispatch.RoleAgent]
	first := `{"channel":"phone","kind":"fault","customer":{"name":"Irma","phone":"55 4444 0002"},"address":{"line":"Calle 9","lat":19.4,"lon":-99.1},"subject":"Sin servicio","description":"Desde ayer"}`
	again := `{
  "description": "Desde ayer",
  "subject": "Sin servicio",
  "address": {"lon": -99.1, "lat": 19.4, "line": "Calle 9"},
  "customer": {"phone": "55 4444 0002", "name": "Irma"},
  "kind": "fault",
  "channel": "phone",
  "sent_at": "2026-11-30T07:00:05-06:00"
}`
	folio := func(b []byte) string {
		var out struct{ Folio string }
		if err := json.Unmarshal(b, &out); err != nil || out.Folio == "" {
			t.Fatalf("no folio in %s", b)
		}
		return out.Folio
	}
	res, b := do(t, "POST", ts.URL+"/api/tickets", agent, first, "Idempotency-Key", "retry-1")
	if res.StatusCode != 201 {
		t.Fatalf("first = %d %s, want 201", res.StatusCode, b)
	}
	want := folio(b)
	res, b = do(t, "POST", ts.URL+"/api/tickets", agent, again, "Idempotency-Key", "retry-1")
	if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %s (replayed %q), want 201 replayed", res.StatusCode, b, res.Header.Get("Idempotent-Replayed"))
	}
	if got := folio(b); got != want {
		t.Errorf("retry folio = %s, want %s", got, want)
	}
	// Another report under the same key is still refused.
	res, b = do(t, "POST", ts.URL+"/api/tickets", agent, `{"channel":"phone","kind":"fault","customer":{"name":"Irma","phone":"55 4444 0002"},"description":"Desde hoy"}`, "Idempotency-Key", "retry-1")
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "idempotency_key_reused" || field != "Idempotency-Key" {
		t.Errorf("other report = %d %s %s, want 422 idempotency_key_reused", res.StatusCode, code, field)
	}
}
