package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestPublicReportRetryReformatted: a retry of POST /public/reports with the same
// Idempotency-Key and the same report, its JSON ordered and spaced otherwise (a form that
// serialises it again) or with a field no report has, gets the first answer, as the staff's
// POST /api/tickets does (TestTicketRetryReformatted). It was compared byte for byte and
// refused as another request (422 idempotency_key_reused): the customer never learnt his
// folio. Another report under the same key is still refused.
func TestPublicReportRetryReformatted(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts.Close)
	const key = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	first := `{"customer":{"name":"Luisa Ortega","phone":"33 1111 2233","email":"luisa@example.mx"},"address":{"line":"Av. Vallarta 100"},"kind":"fault","description":"Sin internet desde ayer"}`
	again := `{
  "kind": "fault",
  "description": "Sin internet desde ayer",
  "address": {"line": "Av. Vallarta 100"},
  "customer": {"email": "luisa@example.mx", "phone": "33 1111 2233", "name": "Luisa Ortega"},
  "sent_at": "2026-11-30T07:00:05-06:00"
}`
	var a, b struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	res, body := do(t, "POST", ts.URL+"/public/reports", "", first, "Idempotency-Key", key)
	if res.StatusCode != 201 || json.Unmarshal(body, &a) != nil || a.Folio == "" {
		t.Fatalf("first = %d %s, want 201 with a folio", res.StatusCode, body)
	}
	res, body = do(t, "POST", ts.URL+"/public/reports", "", again, "Idempotency-Key", key)
	if res.StatusCode != 201 || res.Header.Get("Idempotent-Replayed") != "true" || json.Unmarshal(body, &b) != nil || b != a {
		t.Fatalf("reformatted retry = %d %s (replayed %q), want 201 replayed with %+v", res.StatusCode, body, res.Header.Get("Idempotent-Replayed"), a)
	}
	var n int
	if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523311112233'`).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d reports after a send and its reformatted retry, want 1", n)
	}
	res, body = do(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Luisa Ortega","phone":"33 1111 2233"},"address":{"line":"Av. Vallarta 100"},"kind":"fault","description":"Otra cosa"}`, "Idempotency-Key", key)
	if code, field := errorCode(t, body); res.StatusCode != 422 || code != "idempotency_key_reused" || field != "Idempotency-Key" {
		t.Errorf("another report under the key = %d %s, want 422 idempotency_key_reused", res.StatusCode, body)
	}
}
