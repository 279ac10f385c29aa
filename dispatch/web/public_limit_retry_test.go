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

// TestPublicReportRetryAtPhoneLimit: the answer to a number's fifth report within the hour
// (its limit) is lost on the way to the phone. The form sends it again with the same key:
// the customer gets that report's folio and access code, not the number's 429, and nothing
// more is filed. The limit still holds for everything that is not that retry: the same
// report under a new key is refused 429 phone_report_limit, and the first key with another
// report is refused 422 before anything is counted or filed.
func TestPublicReportRetryAtPhoneLimit(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts.Close)
	count := func() int {
		t.Helper()
		var n int
		if err := db.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+523312345678'`).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range 4 {
		body := strings.Replace(publicBody, "intermitente", "intermitente "+strings.Repeat("!", i+1), 1)
		if res, b := do(t, "POST", ts.URL+"/public/reports", "", body); res.StatusCode != 201 {
			t.Fatalf("report %d = %d %s, want 201", i+1, res.StatusCode, b)
		}
	}
	const key = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	type created struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	var fifth created
	res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", key)
	if res.StatusCode != 201 || json.Unmarshal(b, &fifth) != nil || fifth.Folio == "" {
		t.Fatalf("fifth report = %d %s, want 201 with a folio", res.StatusCode, b)
	}
	// Its answer was lost: the form sends it again, twice (the customer pressed again).
	for i := range 2 {
		var again created
		res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", key)
		if res.StatusCode != 201 || json.Unmarshal(b, &again) != nil || again != fifth {
			t.Fatalf("retry %d of the fifth report = %d %s, want 201 with its answer %+v", i+1, res.StatusCode, b, fifth)
		}
		if got := res.Header.Get("Idempotent-Replayed"); got != "true" {
			t.Errorf("retry %d: Idempotent-Replayed = %q, want true", i+1, got)
		}
	}
	if n := count(); n != 5 {
		t.Fatalf("%d reports after the retries, want 5", n)
	}
	// The limit is not bypassed with another key, whatever the body.
	for _, k := range []string{"ffffffffffffffffffffffffffffffff", "0123456789abcdef0123456789abcdef"} {
		res, b := do(t, "POST", ts.URL+"/public/reports", "", publicBody, "Idempotency-Key", k)
		if code, _ := errorCode(t, b); res.StatusCode != 429 || code != "phone_report_limit" {
			t.Fatalf("the fifth report under a new key %s = %d %s, want 429 phone_report_limit", k, res.StatusCode, b)
		}
	}
	// The fifth report's key with another report: refused, nothing filed.
	other := strings.Replace(publicBody, "intermitente", "sin servicio", 1)
	res, b = do(t, "POST", ts.URL+"/public/reports", "", other, "Idempotency-Key", key)
	if code, field := errorCode(t, b); res.StatusCode != 422 || code != "idempotency_key_reused" || field != "Idempotency-Key" {
		t.Fatalf("the key with another report = %d %s, want 422 idempotency_key_reused", res.StatusCode, b)
	}
	if n := count(); n != 5 {
		t.Fatalf("%d reports in the end, want 5", n)
	}
	// The retry still opens the fifth report's status.
	if res, b := do(t, "GET", ts.URL+"/public/reports/"+fifth.Folio+"?code="+fifth.AccessCode, "", ""); res.StatusCode != 200 {
		t.Fatalf("status with the retried answer's code = %d %s", res.StatusCode, b)
	}
}
