package web_test

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestCodeLockoutIsPerFolioAndAddress: ten wrong access codes locked the client address
// out of every folio, so behind a carrier's NAT (one public address for thousands of
// phones) one guesser locked out every customer checking his report. The lockout is now
// per folio and address — ten wrong codes for a folio from an address lock that address out
// of that folio only, whichever door took them (status page or booking) — plus a cap per
// folio: thirty wrong codes for a folio from any number of addresses lock the folio for
// everyone but the addresses that opened it with its code before, so that its code cannot
// be guessed from many addresses either. Both last 15 minutes; the answers are the same
// 404 (wrong code) and 429 (locked out).
func TestCodeLockoutIsPerFolioAndAddress(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ts := httptest.NewServer(web.New(web.Config{DB: db, Now: clock, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
	t.Cleanup(ts.Close)
	desk := login(t, ts, postgres.NewUsers(db), "agente.lock@despacho.example.mx", dispatch.RoleAgent)

	type report struct{ folio, code string }
	file := func(phone string) report {
		t.Helper()
		var r struct {
			Folio      string
			AccessCode string `json:"access_code"`
		}
		mustJSON(t, "POST", ts.URL+"/api/tickets", desk, fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente","phone":%q},"address":{"line":"Calle 5","lat":19.41,"lon":-99.15},"description":"Sin internet"}`, phone), 201, &r)
		return report{r.Folio, r.AccessCode}
	}
	a, b, c, d := file("5511160001"), file("5511160002"), file("5511160003"), file("5511160004")
	va := createVisit(t, ts, desk, a.folio, `{"duration_min":60,"skills":["fiber"]}`)
	wrong := func(r report) string { return strings.Repeat("Z", len(r.code)) }
	status := func(from string, r report, code string) int {
		t.Helper()
		res, _ := do(t, "GET", ts.URL+"/public/reports/"+r.folio+"?code="+code, "", "", "X-Forwarded-For", from)
		return res.StatusCode
	}
	book := func(from string, visit int64, code string) int {
		t.Helper()
		res, _ := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book?code=%s", ts.URL, visit, code), "",
			`{"start":"2026-12-01T16:00:00Z","end":"2026-12-01T18:00:00Z"}`, "X-Forwarded-For", from)
		return res.StatusCode
	}

	// Behind the carrier's NAT, a guesser tries A's folio on both doors.
	const nat = "203.0.113.50"
	for i := range 10 {
		got := 0
		if i%2 == 0 {
			got = status(nat, a, wrong(a))
		} else {
			got = book(nat, va.ID, wrong(a))
		}
		if got != 404 {
			t.Fatalf("wrong code %d for %s from the NAT = %d, want 404", i+1, a.folio, got)
		}
	}
	if got := status(nat, a, a.code); got != 429 {
		t.Errorf("%s from the NAT after ten wrong codes = %d, want 429 (that address locked out of that folio)", a.folio, got)
	}
	if got := book(nat, va.ID, a.code); got != 429 {
		t.Errorf("booking %s from the NAT after ten wrong codes = %d, want 429", a.folio, got)
	}
	// Every other customer behind the same address is not held up.
	if got := status(nat, b, b.code); got != 200 {
		t.Errorf("another customer behind the NAT = %d, want 200: the guesser locked out only %s", got, a.folio)
	}
	// A's customer from his own address is not either (A is below its folio cap).
	if got := status("198.51.100.7", a, a.code); got != 200 {
		t.Errorf("%s from another address = %d, want 200", a.folio, got)
	}

	// C's code guessed from many addresses, none of them reaching ten: after thirty wrong
	// codes the folio is locked for every address that has not opened it.
	holder := "192.0.2.200"
	if got := status(holder, c, c.code); got != 200 {
		t.Fatalf("C's customer = %d, want 200", got)
	}
	n := 0
	for addr := 1; n < 30; addr++ {
		for range 6 {
			if n == 30 {
				break
			}
			n++
			if got := status(fmt.Sprintf("192.0.2.%d", addr), c, wrong(c)); got != 404 {
				t.Fatalf("wrong code %d for %s = %d, want 404", n, c.folio, got)
			}
		}
	}
	if got := status("192.0.2.100", c, c.code); got != 429 {
		t.Errorf("%s from a fresh address after 30 wrong codes from many = %d, want 429 (the folio locked)", c.folio, got)
	}
	if got := status(holder, c, c.code); got != 200 {
		t.Errorf("%s from the address that opened it before = %d, want 200", c.folio, got)
	}
	if got := status("192.0.2.100", d, d.code); got != 200 {
		t.Errorf("another folio from a fresh address = %d, want 200", got)
	}

	// Fifteen minutes later both locks are over.
	advance(16 * time.Minute)
	if got := status(nat, a, a.code); got != 200 {
		t.Errorf("%s from the NAT 16 min later = %d, want 200", a.folio, got)
	}
	if got := status("192.0.2.100", c, c.code); got != 200 {
		t.Errorf("%s from a fresh address 16 min later = %d, want 200", c.folio, got)
	}
}
