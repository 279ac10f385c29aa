package web_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestLockoutBehindTrustedProxy: behind a load balancer every request comes from the
// balancer's address. With the balancer trusted, X-Forwarded-For names the customer, so one
// guesser locked out after ten wrong codes does not lock out the customer next to him, and
// a forged X-Forwarded-For from outside the trusted network changes nothing.
func TestLockoutBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	t.Cleanup(ts.Close)
	folio, code := publicReport(t, ts, "Rosa", "55 4444 1234")
	wrong := strings.Repeat("Z", len(code))
	status := func(xff, c string) int {
		t.Helper()
		res, _ := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+c, "", "", "X-Forwarded-For", xff)
		return res.StatusCode
	}
	for i := range 10 {
		if got := status("203.0.113.7", wrong); got != 404 {
			t.Fatalf("guess %d = %d, want 404", i+1, got)
		}
	}
	if got := status("203.0.113.7", code); got != 429 {
		t.Errorf("the guesser with the right code = %d, want 429 (locked out)", got)
	}
	if got := status("198.51.100.20", code); got != 200 {
		t.Errorf("another customer behind the same balancer = %d, want 200", got)
	}
	// The guesser prepends a forged address; the balancer appends his real one, which counts.
	if got := status("198.51.100.20, 203.0.113.7", code); got != 429 {
		t.Errorf("forged X-Forwarded-For = %d, want 429: the address the trusted proxy saw counts", got)
	}
}

// TestForwardedForIgnoredWithoutTrust: with no trusted proxies the header is the caller's
// word and is ignored, so it cannot be used to dodge the lockout.
func TestForwardedForIgnoredWithoutTrust(t *testing.T) {
	t.Parallel()
	ts, _, _ := newServer(t)
	folio, code := publicReport(t, ts, "Rosa", "55 4444 1235")
	wrong := strings.Repeat("Z", len(code))
	for i := range 10 {
		res, _ := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+wrong, "", "", "X-Forwarded-For", "203.0.113."+string(rune('0'+i)))
		if res.StatusCode != 404 {
			t.Fatalf("guess %d = %d, want 404", i+1, res.StatusCode)
		}
	}
	if res, _ := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+code, "", "", "X-Forwarded-For", "198.51.100.20"); res.StatusCode != 429 {
		t.Errorf("right code with a fresh X-Forwarded-For = %d, want 429: the header is not trusted", res.StatusCode)
	}
}
