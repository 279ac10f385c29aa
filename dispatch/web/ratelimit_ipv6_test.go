package web_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestPublicLimitsCountIPv6Networks: a home or a phone on IPv6 is given a whole /64 (often
// a /56) and may take any address in it, a new one per request. The public limits count the
// network, not the address: rotating addresses inside one /64 neither dodges the lockout
// after ten wrong access codes nor the form's per-minute limit, while a customer on
// another /64 is not held up.
func TestPublicLimitsCountIPv6Networks(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	t.Cleanup(ts.Close)
	folio, code := publicReport(t, ts, "Rosa", "55 4444 1299")
	wrong := strings.Repeat("Z", len(code))
	status := func(xff, c string) int {
		t.Helper()
		res, _ := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+c, "", "", "X-Forwarded-For", xff)
		return res.StatusCode
	}
	for i := range 10 {
		if got := status(fmt.Sprintf("2001:db8:0:1::%x", i+1), wrong); got != 404 {
			t.Fatalf("guess %d = %d, want 404", i+1, got)
		}
	}
	if got := status("2001:db8:0:1:abcd::99", code); got != 429 {
		t.Errorf("the guesser from another address of his /64 = %d, want 429 (locked out)", got)
	}
	if got := status("2001:db8:0:2::1", code); got != 200 {
		t.Errorf("a customer on another /64 = %d, want 200", got)
	}
	last := 0
	for i := range 35 {
		res, _ := do(t, "POST", ts.URL+"/public/reports", "", `{}`, "X-Forwarded-For", fmt.Sprintf("2001:db8:0:3::%x", i+1))
		last = res.StatusCode
	}
	if last != 429 {
		t.Errorf("35 submissions from one /64, each from its own address: the last = %d, want 429", last)
	}
}
