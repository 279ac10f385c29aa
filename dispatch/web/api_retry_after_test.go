package web_test

import (
	"regexp"
	"strconv"
	"testing"

	"despacho/dispatch"
)

// TestRateLimitedSaysWhenToRetry: a 429 carries Retry-After, in whole seconds, agreeing
// with its message, so that a client backing off by the standard header waits as long as
// asked. It carried none: such a client retried at once and stayed locked out.
func TestRateLimitedSaysWhenToRetry(t *testing.T) {
	ts, _, users := newServer(t)
	createUser(t, users, "lucia@example.mx", dispatch.RoleAgent)
	check := func(what, method, path, body string) {
		t.Helper()
		for range 60 {
			res, b := do(t, method, ts.URL+path, "", body)
			if res.StatusCode != 429 {
				continue
			}
			ra := res.Header.Get("Retry-After")
			secs, err := strconv.Atoi(ra)
			if err != nil || secs < 1 {
				t.Fatalf("%s: 429 %s with Retry-After %q, want whole seconds", what, b, ra)
			}
			m := regexp.MustCompile(`try again in (\d+) s`).FindSubmatch(b)
			if m == nil || string(m[1]) != ra {
				t.Errorf("%s: Retry-After %s, message %s: want the same wait", what, ra, b)
			}
			return
		}
		t.Fatalf("%s: no 429 after 60 requests", what)
	}
	check("public form", "POST", "/public/reports", `{}`)
	check("sign-in lockout", "POST", "/api/login", `{"email":"lucia@example.mx","password":"adivinando"}`)
}
