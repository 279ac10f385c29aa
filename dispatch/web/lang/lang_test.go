package lang

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	for _, c := range []struct {
		name, query, cookie, accept string
		want                        Code
		sets                        bool // sets the cookie
	}{
		{name: "nothing said", want: ES},
		{name: "browser in English", accept: "en-US,en;q=0.9", want: EN},
		{name: "browser in Spanish", accept: "es-MX,es;q=0.9,en;q=0.5", want: ES},
		{name: "browser in French", accept: "fr-FR", want: ES},
		{name: "bad header", accept: "é;;q=x", want: ES},
		{name: "over-long header", accept: "en," + strings.Repeat("x", 600), want: ES},
		{name: "cookie over browser", cookie: "es", accept: "en", want: ES},
		{name: "cookie english", cookie: "en", want: EN},
		{name: "unknown cookie", cookie: "fr", accept: "en", want: EN},
		{name: "query over cookie", query: "en", cookie: "es", want: EN, sets: true},
		{name: "query spanish", query: "es", accept: "en", want: ES, sets: true},
		{name: "unknown query", query: "de", cookie: "en", want: EN},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/x?lang="+c.query, nil)
			if c.cookie != "" {
				r.AddCookie(&http.Cookie{Name: Cookie, Value: c.cookie})
			}
			if c.accept != "" {
				r.Header.Set("Accept-Language", c.accept)
			}
			w := httptest.NewRecorder()
			if got := Pick(w, r); got != c.want {
				t.Errorf("Pick = %q, want %q", got, c.want)
			}
			set := w.Result().Cookies()
			if c.sets != (len(set) == 1) {
				t.Fatalf("cookies set = %v, want one: %v", set, c.sets)
			}
			if c.sets && (set[0].Name != Cookie || set[0].Value != string(c.want)) {
				t.Errorf("cookie = %s=%s, want %s=%s", set[0].Name, set[0].Value, Cookie, c.want)
			}
		})
	}
}
