package pages_test

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"despacho/dispatch"
)

// signIn opens a session for email and returns the session cookie header value.
func signIn(t *testing.T, e *env, email string) string {
	t.Helper()
	res, err := http.Post(e.URL+"/api/login", "application/json", strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("login %s = %d %s", email, res.StatusCode, b)
	}
	for _, c := range res.Cookies() {
		if c.Name == "despacho_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("login set no session cookie")
	return ""
}

var assetRef = regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)

func TestPagesServeAndStaticCaching(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, body := get(t, e.URL+"/reporte")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /reporte = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// The page itself is compressed for a browser that takes it (most of it is the
	// scripts' strings), and plain for one that does not.
	plain, raw := get(t, e.URL+"/reporte", "Accept-Encoding", "identity")
	zres, zbody := get(t, e.URL+"/reporte", "Accept-Encoding", "gzip")
	if plain.Header.Get("Content-Encoding") != "" || zres.Header.Get("Content-Encoding") != "gzip" ||
		!strings.Contains(zres.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("GET /reporte Content-Encoding %q plain, %q with gzip (Vary %q); want none, gzip, and Vary naming Accept-Encoding",
			plain.Header.Get("Content-Encoding"), zres.Header.Get("Content-Encoding"), zres.Header.Get("Vary"))
	} else if zr, err := gzip.NewReader(strings.NewReader(zbody)); err != nil {
		t.Errorf("GET /reporte gzip: %v", err)
	} else if b, err := io.ReadAll(zr); err != nil || string(b) != raw || len(zbody) >= len(raw)/2 {
		t.Errorf("GET /reporte gzip: %d bytes that read as %d (%v), the plain page %d; want the same page in less than half", len(zbody), len(b), err, len(raw))
	}
	refs := assetRef.FindAllStringSubmatch(body, -1)
	if len(refs) < 3 {
		t.Fatalf("page refers to %d static files, want style sheet, icon and script: %s", len(refs), body)
	}
	for _, m := range refs {
		res, _ := get(t, e.URL+m[1], "Accept-Encoding", "gzip")
		if res.StatusCode != 200 {
			t.Fatalf("GET %s = %d", m[1], res.StatusCode)
		}
		if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "immutable") || !strings.Contains(got, "max-age=31536000") {
			t.Errorf("GET %s Cache-Control = %q, want a year, immutable", m[1], got)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatalf("GET %s has no ETag", m[1])
		}
		res, _ = get(t, e.URL+m[1], "If-None-Match", etag)
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag = %d, want 304", m[1], res.StatusCode)
		}
	}
	css := ""
	for _, m := range refs {
		if strings.HasSuffix(m[1], ".css") {
			css = m[1]
		}
	}
	res, _ = get(t, e.URL+css, "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("style sheet Content-Encoding = %q, want gzip", res.Header.Get("Content-Encoding"))
	}
	// Another version (a page from an older instance during a deploy) is served, revalidated.
	old := regexp.MustCompile(`/static/[^/]+/`).ReplaceAllString(css, "/static/0ld/")
	res, _ = get(t, e.URL+old)
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("GET %s = %d %q, want 200 no-cache", old, res.StatusCode, res.Header.Get("Cache-Control"))
	}
	res, _ = get(t, e.URL+"/static/x/no/such.js")
	if res.StatusCode != 404 {
		t.Errorf("missing static file = %d, want 404", res.StatusCode)
	}
}

// TestNoInlineCode checks every template and page for what the Content-Security-Policy
// forbids: inline scripts, inline styles and on* handler attributes; and scripts for
// innerHTML, which would turn user text into markup.
func TestNoInlineCode(t *testing.T) {
	t.Parallel()
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`javascript:`),
	}
	err := fs.WalkDir(os.DirFS("."), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch filepath.Ext(p) {
		case ".html":
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAll(b, -1) {
				if !strings.Contains(string(tag), " src=") {
					t.Errorf("%s: %s has no src: inline scripts are refused by the Content-Security-Policy", p, tag)
				}
			}
			for _, re := range bad {
				if loc := re.FindIndex(b); loc != nil {
					t.Errorf("%s: %q is refused by the Content-Security-Policy", p, b[loc[0]:min(loc[1]+20, len(b))])
				}
			}
		case ".js":
			for _, w := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				if strings.Contains(string(b), w) {
					t.Errorf("%s uses %s: build elements with textContent instead", p, w)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFormsPost: every form of the templates posts (or closes its dialog). A form without
// a method that the browser sends itself, before its page's script ran, puts what was
// typed into the address (TestBrowserFormBeforeScript).
func TestFormsPost(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	forms := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range regexp.MustCompile(`<form[^>]*>`).FindAll(b, -1) {
			forms++
			if !regexp.MustCompile(`\smethod="(post|dialog)"`).Match(tag) {
				t.Errorf("%s: %s: give it method=\"post\"", p, tag)
			}
		}
	}
	if forms < 8 {
		t.Errorf("found %d forms in the templates, want at least 8", forms)
	}
}

func TestStaffPagesNeedSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tu := e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	e.user(t, "tec2@example.mx", dispatch.RoleTechnician)
	technician(t, e, token(t, e, "disp@example.mx"), "Juan Técnico", tu.ID, 19.43, -99.13)
	for _, p := range []string{"/board", "/desk", "/tech", "/admin", "/board?day=2026-11-25"} {
		res, _ := get(t, e.URL+p)
		want := "/login?next=" + strings.NewReplacer("/", "%2F", "?", "%3F", "=", "%3D").Replace(p)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("anonymous GET %s = %d Location %q, want 303 %q", p, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	disp := signIn(t, e, "disp@example.mx")
	tec := signIn(t, e, "tec@example.mx")
	unlinked := signIn(t, e, "tec2@example.mx")
	cases := []struct {
		cookie, path string
		status       int
	}{
		{disp, "/board", 200}, {disp, "/desk", 200}, {disp, "/tech", 403},
		{tec, "/tech", 200}, {tec, "/board", 403}, {tec, "/desk", 403}, {unlinked, "/tech", 404},
		{disp, "/admin", 403}, {tec, "/admin", 403},
	}
	for _, c := range cases {
		res, body := get(t, e.URL+c.path, "Cookie", c.cookie)
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s = %d %s, want %d HTML", c.path, res.StatusCode, res.Header.Get("Content-Type"), c.status)
		}
		if c.status == 403 && !strings.Contains(body, "no tiene acceso") {
			t.Errorf("GET %s 403 page does not say why: %s", c.path, body)
		}
	}
	for _, c := range []struct{ cookie, want string }{{"", "/reporte"}, {disp, "/board"}, {tec, "/tech"}} {
		res, _ := get(t, e.URL+"/", "Cookie", c.cookie)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != c.want {
			t.Errorf("GET / as %q = %d %q, want 303 %q", c.cookie, res.StatusCode, res.Header.Get("Location"), c.want)
		}
	}
	// A next that leaves the site is dropped.
	_, body := get(t, e.URL+"/login?next=//evil.example/x")
	if !strings.Contains(body, `data-next=""`) {
		t.Error("login page keeps a next that leaves the site")
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, path string
		hdr        []string
		want       string
		lang       string
	}{
		{"default Spanish", "/reporte", nil, "Enviar reporte", "es"},
		{"query", "/reporte?lang=en", nil, "Send report", "en"},
		{"cookie", "/reporte", []string{"Cookie", "despacho_lang=en"}, "Send report", "en"},
		{"Accept-Language", "/reporte", []string{"Accept-Language", "en-GB,en;q=0.9"}, "Send report", "en"},
		{"Accept-Language Spanish first", "/reporte", []string{"Accept-Language", "es-MX,en;q=0.5"}, "Enviar reporte", "es"},
		{"query wins over cookie", "/reporte?lang=es", []string{"Cookie", "despacho_lang=en"}, "Enviar reporte", "es"},
		{"junk", "/reporte?lang=xx", []string{"Accept-Language", ";;;"}, "Enviar reporte", "es"},
	}
	for _, c := range cases {
		res, body := get(t, e.URL+c.path, c.hdr...)
		if res.StatusCode != 200 || !strings.Contains(body, c.want) || !strings.Contains(body, `<html lang="`+c.lang+`">`) {
			t.Errorf("%s: GET %s = %d, want %q in lang %s", c.name, c.path, res.StatusCode, c.want, c.lang)
		}
	}
	res, _ := get(t, e.URL+"/reporte?lang=en")
	found := false
	for _, c := range res.Cookies() {
		found = found || (c.Name == "despacho_lang" && c.Value == "en")
	}
	if !found {
		t.Error("?lang=en did not set the language cookie")
	}
	// The scripts' strings travel in a data attribute, as JSON.
	_, body := get(t, e.URL+"/reporte?lang=en")
	m := regexp.MustCompile(`data-i18n="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no data-i18n on the page")
	}
	var cat map[string]string
	if err := json.Unmarshal([]byte(htmlUnescape(m[1])), &cat); err != nil || cat["err.offline"] == "" {
		t.Fatalf("data-i18n is not the catalog: %v", err)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&#43;", "+").Replace(s)
}
