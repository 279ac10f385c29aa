package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

// newServer starts the real API on a fresh database behind a real HTTP server.
func newServer(t *testing.T) (*httptest.Server, *web.Server, *postgres.Users) {
	t.Helper()
	db := dispatchtest.DB(t)
	s := web.New(web.Config{DB: db})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s, postgres.NewUsers(db)
}

func createUser(t *testing.T, users *postgres.Users, email string, role dispatch.Role) {
	t.Helper()
	u, err := dispatch.NewUser(email, "Test "+string(role), role, "contraseña-segura")
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, method, url, token, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func errorCode(t *testing.T, b []byte) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Field string }
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("body is not the contract's error shape: %s", b)
	}
	return e.Error.Code, e.Error.Field
}

func TestLoginFlow(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "ana@example.mx", dispatch.RoleDispatcher)

	res, b := do(t, "POST", ts.URL+"/api/login", "", `{"email":"ANA@example.mx","password":"contraseña-segura"}`)
	if res.StatusCode != 200 {
		t.Fatalf("login = %d %s", res.StatusCode, b)
	}
	var lr struct{ Token string }
	_ = json.Unmarshal(b, &lr)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == web.SessionCookie {
			cookie = c
		}
	}
	if lr.Token == "" || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login gave token %q cookie %+v", lr.Token, cookie)
	}
	// A lifetime, not a date: the browser's clock may disagree with the server's.
	if cookie.MaxAge != 12*3600 || !cookie.Expires.IsZero() {
		t.Errorf("session cookie Max-Age %d Expires %v; want 43200 and no date", cookie.MaxAge, cookie.Expires)
	}
	res, b = do(t, "GET", ts.URL+"/api/me", lr.Token, "")
	if res.StatusCode != 200 || !bytes.Contains(b, []byte(`"role":"dispatcher"`)) {
		t.Fatalf("me = %d %s", res.StatusCode, b)
	}
	if bytes.Contains(b, []byte("argon2")) {
		t.Fatal("password hash leaked")
	}
	// Cookie-authenticated changes from another site are refused (CSRF).
	res, _ = do(t, "POST", ts.URL+"/api/logout", "", "", "Cookie", web.SessionCookie+"="+cookie.Value, "Origin", "https://evil.example")
	if res.StatusCode != 403 {
		t.Fatalf("cross-site logout = %d, want 403", res.StatusCode)
	}
	res, _ = do(t, "POST", ts.URL+"/api/logout", lr.Token, "")
	if res.StatusCode != 204 {
		t.Fatalf("logout = %d", res.StatusCode)
	}
	res, b = do(t, "GET", ts.URL+"/api/me", lr.Token, "")
	if res.StatusCode != 401 {
		t.Fatalf("me after logout = %d %s", res.StatusCode, b)
	}
}

func TestLoginBadInput(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "beto@example.mx", dispatch.RoleAgent)
	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"malformed", `{"email":`, 400, "malformed", ""},
		{"not an object", `[1,2]`, 400, "malformed", ""},
		{"wrong type", `{"email": 5, "password": "x"}`, 422, "invalid_email", "email"},
		{"missing password", `{"email":"beto@example.mx"}`, 422, "invalid_password", "password"},
		{"wrong password", `{"email":"beto@example.mx","password":"nope-nope"}`, 401, "unauthenticated", ""},
		{"unknown user", `{"email":"nadie@example.mx","password":"nope-nope"}`, 401, "unauthenticated", ""},
		{"too large", `{"email":"` + strings.Repeat("a", web.MaxBody) + `"}`, 413, "body_too_large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, b := do(t, "POST", ts.URL+"/api/login", "", c.body)
			code, field := errorCode(t, b)
			if res.StatusCode != c.status || code != c.code || field != c.field {
				t.Fatalf("got %d %s %q, want %d %s %q (%s)", res.StatusCode, code, field, c.status, c.code, c.field, b)
			}
		})
	}
}

func TestLoginLockout(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "caro@example.mx", dispatch.RoleAgent)
	var last int
	for range 12 {
		res, _ := do(t, "POST", ts.URL+"/api/login", "", `{"email":"caro@example.mx","password":"adivinando"}`)
		last = res.StatusCode
	}
	if last != 429 {
		t.Fatalf("after 12 wrong passwords: %d, want 429", last)
	}
	// Even the right password is refused while locked out.
	res, _ := do(t, "POST", ts.URL+"/api/login", "", `{"email":"caro@example.mx","password":"contraseña-segura"}`)
	if res.StatusCode != 429 {
		t.Fatalf("right password during lockout: %d, want 429", res.StatusCode)
	}
}

// TestSignInFloodIsBounded: wrong sign-ins sent all at once from one address. Each passes
// the lockout check before any has failed, so before the password gate every one of them
// ran its 19 MiB argon2id check at the same time (400 took a server to 2.3 GiB). Now the
// checks take turns, and a sign-in whose turn comes after the address was locked out is
// refused without one: at most the lockout's 10 failures and the checks already running
// (one per core) are answered 401, the rest 429.
func TestSignInFloodIsBounded(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "flor@example.mx", dispatch.RoleAgent)
	const n = 200
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(ts.URL+"/api/login", "application/json", strings.NewReader(`{"email":"flor@example.mx","password":"adivinando"}`))
			if err != nil {
				codes <- -1
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[401]+count[429] != n {
		t.Fatalf("answers %v; want only 401 and 429", count)
	}
	if most := 10 + max(2, runtime.GOMAXPROCS(0)); count[401] > most {
		t.Errorf("%d password checks ran (answers %v); want at most %d", count[401], count, most)
	}
}

func TestUnknownRouteAndHeaders(t *testing.T) {
	t.Parallel()
	ts, _, _ := newServer(t)
	res, b := do(t, "GET", ts.URL+"/api/nothing-here", "", "")
	if res.StatusCode != 404 {
		t.Fatalf("unknown route = %d", res.StatusCode)
	}
	errorCode(t, b)
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP = %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("headers = %v", res.Header)
	}
	res, _ = do(t, "GET", ts.URL+"/api/me", "", "")
	if res.StatusCode != 401 {
		t.Fatalf("me anonymous = %d", res.StatusCode)
	}
	res, _ = do(t, "GET", ts.URL+"/readyz", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("readyz = %d", res.StatusCode)
	}
}

// TestOpenAPIMatchesRoutes fails when a registered route is missing from the OpenAPI
// document or the document lists a route that does not exist.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, s, _ := newServer(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(web.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	methods := regexp.MustCompile(`^(get|put|post|delete|patch|head|options)$`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if methods.MatchString(m) {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	registered := map[string]bool{}
	for _, r := range s.Routes() {
		registered[r.Method+" "+r.Pattern] = true
	}
	var missing, extra []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not documented: %v; documented but not registered: %v", missing, extra)
	}
}

// TestPageFormsPostedByTheBrowser: a page's form that the browser sends itself, before the
// page's script ran, posts to the page (the templates say method="post", so nothing typed
// lands in a URL), and the server only sends the browser back to the same address, with
// no session cookie, whatever the form held.
func TestPageFormsPostedByTheBrowser(t *testing.T) {
	t.Parallel()
	ts, _, users := newServer(t)
	createUser(t, users, "ana@example.mx", dispatch.RoleDispatcher)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/tech", "/login?next=%2Fdesk", "/reporte", "/estado", "/estado/R-2026-000001", "/estado/R-2026-000001/horario?code=x", "/board", "/desk", "/admin"} {
		form := "email=ana%40example.mx&password=contrase%C3%B1a-segura&name=Rosa"
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ts.URL)
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != path {
			t.Errorf("POST %s: %d to %q, want 303 to the same address", path, res.StatusCode, res.Header.Get("Location"))
		}
		if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("POST %s set cookies %v: a form the script did not send must not sign anyone in", path, c)
		}
	}
}
