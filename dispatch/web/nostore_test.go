package web_test

import (
	"net/url"
	"testing"
)

// TestAPIAnswersAreNotStored: the API's answers hold customers' names, phones, addresses
// and, once, the access code; only the pages said not to keep them, so a browser or proxy
// could keep a folio's JSON on a shared desk computer (the back button, a disk cache). Every
// JSON answer, errors included, now says no-store: the staff API, the public folio API and
// a refusal and the replay of a stored answer alike.
func TestAPIAnswersAreNotStored(t *testing.T) {
	t.Parallel()
	base, tok := deskServer(t)
	res, b := do(t, "POST", base+"/api/tickets", tok, faultBody, "Idempotency-Key", "no-store-key-1")
	if res.StatusCode != 201 {
		t.Fatalf("create = %d %s", res.StatusCode, b)
	}
	c := decodeTicket(t, b)
	// The replay of a stored answer, access code included, is written from its stored bytes.
	again, b := do(t, "POST", base+"/api/tickets", tok, faultBody, "Idempotency-Key", "no-store-key-1")
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry = %d %s, want the stored answer replayed", again.StatusCode, b)
	}
	check := func(what string, cc string) {
		t.Helper()
		if cc != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", what, cc)
		}
	}
	check("POST /api/tickets (with the access code)", res.Header.Get("Cache-Control"))
	check("its replay", again.Header.Get("Cache-Control"))
	res, _ = do(t, "GET", base+"/api/tickets/"+url.PathEscape(c.Folio), tok, "")
	check("GET /api/tickets/{folio}", res.Header.Get("Cache-Control"))
	res, _ = do(t, "GET", base+"/public/reports/"+url.PathEscape(c.Folio)+"?code="+url.QueryEscape(c.AccessCode), "", "")
	if res.StatusCode != 200 {
		t.Fatalf("public status = %d", res.StatusCode)
	}
	check("GET /public/reports/{folio}", res.Header.Get("Cache-Control"))
	res, _ = do(t, "GET", base+"/api/tickets/R-2000-000001", tok, "")
	check("a 404", res.Header.Get("Cache-Control"))
}
