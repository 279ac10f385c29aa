package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestPublicReportRetryFilesOnce: the report form sends its Idempotency-Key again when a
// lost connection (or a proxy's 502/504) left it without an answer. A retry of the same
// report with the key gets the first folio and access code back and files nothing more,
// texts nobody again and does not count against the number's hourly bound; the key with
// another report is refused (422 naming the header), and a key too short to be a browser's
// random one is refused too. Without a key, two sends are two reports, as before.
func TestPublicReportRetryFilesOnce(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts.Close)
	const key = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	count := func() int {
		t.Helper()
		var n int
		if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523312345678'`).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var first, again struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", key)
	if res.StatusCode != 201 || json.Unmarshal(b, &first) != nil || first.Folio == "" || first.AccessCode == "" {
		t.Fatalf("first send = %d %s, want 201 with folio and code", res.StatusCode, b)
	}
	res, b = do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", key)
	if res.StatusCode != 201 || json.Unmarshal(b, &again) != nil || again != first {
		t.Fatalf("retry = %d %s, want 201 with the first answer %+v", res.StatusCode, b, first)
	}
	if got := res.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("retry's Idempotent-Replayed = %q, want true", got)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d reports after a send and its retry, want 1", n)
	}
	// The retry is the first report's answer: it opens the first report's status.
	if res, b := do(t, "GET", ts.URL+"/public/reports/"+again.Folio+"?code="+again.AccessCode, "", ""); res.StatusCode != 200 {
		t.Fatalf("status with the retry's code = %d %s", res.StatusCode, b)
	}
	// Retries do not use up the number's five reports an hour: four more are filed.
	for range 3 {
		if res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", key); res.StatusCode != 201 {
			t.Fatalf("another retry = %d %s", res.StatusCode, b)
		}
	}
	for i := range 4 {
		body := strings.Replace(publicBody, "intermitente", "intermitente "+strings.Repeat("!", i+1), 1)
		if res, b := do(t, "POST", ts.URL+"/public/reports", "", body); res.StatusCode != 201 {
			t.Fatalf("report %d after retries = %d %s, want 201", i+2, res.StatusCode, b)
		}
	}
	if n := count(); n != 5 {
		t.Fatalf("%d reports, want 5", n)
	}

	// The key with another report, and keys no browser draws.
	other := strings.NewReplacer("33 1234 5678", "33 7777 0000", "juan@example.mx", "otra@example.mx").Replace(publicBody)
	for _, c := range []struct{ key, body, code string }{
		{key, other, "idempotency_key_reused"},
		{"k1", other, "invalid"},
		{strings.Repeat("x", 201), other, "invalid"},
		{"clave con espacios 0123456789", other, "invalid"},
	} {
		res, b := do(t, "POST", ts.URL+"/public/reports", "", c.body, "Idempotency-Key", c.key)
		if code, field := errorCode(t, b); res.StatusCode != 422 || !strings.HasPrefix(code, c.code) || field != "Idempotency-Key" {
			t.Errorf("key %.20q: got %d %s, want 422 %s naming Idempotency-Key", c.key, res.StatusCode, b, c.code)
		}
	}
	var n int
	if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523377770000'`).Scan(context.Background(), &n); err != nil || n != 0 {
		t.Fatalf("%d reports filed by refused keys (%v), want 0", n, err)
	}
	// Without a key: two sends, two reports.
	for range 2 {
		if res, b := do(t, "POST", ts.URL+"/public/reports", "", other); res.StatusCode != 201 {
			t.Fatalf("send without a key = %d %s", res.StatusCode, b)
		}
	}
	if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523377770000'`).Scan(context.Background(), &n); err != nil || n != 2 {
		t.Fatalf("%d reports from two sends without a key (%v), want 2", n, err)
	}
}
