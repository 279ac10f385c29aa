package web_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestSecurityHeaders: every answer — pages, static files, the staff and public APIs,
// errors, operability — carries the security headers. The status link carries the access
// code in its query, so the Referrer-Policy must never send the full address to another
// site; no page may be framed; a browser must not sniff types. HSTS is sent when the
// service is published over https (PUBLIC_BASE_URL), and only then: over plain http it
// would be ignored at best, and it would pin a development host to https at worst. The
// session cookie is HttpOnly and SameSite=Strict always, Secure behind https.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	users := postgres.NewUsers(db)
	u, err := dispatch.NewUser("cabeceras@example.mx", "Cabeceras", dispatch.RoleAgent, "contraseña-segura")
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/login", "/reporte", "/estado/R-2026-000001?code=ABCD1234", "/api/me", "/api/tickets/R-2026-000001",
		"/public/reports/R-2026-000001?code=ABCD1234", "/nowhere", "/healthz", "/readyz", "/api/openapi.json"}
	for _, c := range []struct {
		base string
		hsts bool
	}{{"https://despacho.example.mx", true}, {"http://localhost:8080", false}, {"", false}} {
		t.Run(c.base, func(t *testing.T) {
			ts := httptest.NewServer(web.New(web.Config{DB: db, PublicBaseURL: c.base}))
			defer ts.Close()
			for _, p := range paths {
				res, _ := do(t, "GET", ts.URL+p, "", "")
				h := res.Header
				if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options = %q, want nosniff", p, got)
				}
				switch got := h.Get("Referrer-Policy"); got {
				case "same-origin", "no-referrer", "strict-origin", "strict-origin-when-cross-origin":
				default:
					t.Errorf("%s: Referrer-Policy = %q, want one that never sends the path and query to another site", p, got)
				}
				csp := h.Get("Content-Security-Policy")
				if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") {
					t.Errorf("%s: X-Frame-Options %q, CSP %q; want DENY and frame-ancestors 'none'", p, h.Get("X-Frame-Options"), csp)
				}
				if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
					t.Errorf("%s: CSP %q, want scripts from our origin only", p, csp)
				}
				hsts := h.Get("Strict-Transport-Security")
				if c.hsts && !strings.HasPrefix(hsts, "max-age=") {
					t.Errorf("%s behind %s: Strict-Transport-Security = %q, want max-age=…", p, c.base, hsts)
				}
				if age, err := strconv.Atoi(strings.TrimPrefix(strings.Split(hsts, ";")[0], "max-age=")); c.hsts && (err != nil || age < 180*24*3600) {
					t.Errorf("%s: Strict-Transport-Security = %q, want at least 180 days", p, hsts)
				}
				if !c.hsts && hsts != "" {
					t.Errorf("%s on %q: Strict-Transport-Security = %q, want none over http", p, c.base, hsts)
				}
			}
			res, b := do(t, "POST", ts.URL+"/api/login", "", `{"email":"cabeceras@example.mx","password":"contraseña-segura"}`)
			if res.StatusCode != 200 {
				t.Fatalf("login = %d %s", res.StatusCode, b)
			}
			var session *http.Cookie
			for _, ck := range res.Cookies() {
				if ck.Name == web.SessionCookie {
					session = ck
				}
			}
			if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != c.hsts {
				t.Errorf("session cookie %+v; want HttpOnly, SameSite=Strict, Secure=%v", session, c.hsts)
			}
			// Signing out clears the cookie with the same flags it was set with.
			req, _ := http.NewRequest("POST", ts.URL+"/api/logout", nil)
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: session.Value})
			req.Header.Set("Origin", ts.URL)
			out, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out.Body.Close()
			var cleared *http.Cookie
			for _, ck := range out.Cookies() {
				if ck.Name == web.SessionCookie {
					cleared = ck
				}
			}
			if out.StatusCode != 204 || cleared == nil || cleared.MaxAge >= 0 || !cleared.HttpOnly || cleared.SameSite != http.SameSiteStrictMode || cleared.Secure != c.hsts {
				t.Errorf("sign-out = %d, cookie %+v; want 204 clearing it HttpOnly, SameSite=Strict, Secure=%v", out.StatusCode, cleared, c.hsts)
			}
		})
	}
}
