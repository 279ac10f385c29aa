package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/notify"
)

// TestDevPageLanguage: the development outbox speaks Spanish unless the visitor chose
// English the way every other page lets him (?lang=, remembered in a cookie, or
// Accept-Language), and shows its times in the business time zone (it was English only).
func TestDevPageLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	id := enqueue(t, e.db, phone(), "Su folio es 123")
	// 18:30 UTC is 12:30 in Mexico City.
	if _, err := e.db.NewRaw(`UPDATE sms_outbox SET created_at = '2026-03-10T18:30:00Z' WHERE id = ?`, id).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	page := func(target string, header ...string) (*httptest.ResponseRecorder, string) {
		t.Helper()
		req := httptest.NewRequest("GET", target, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		notify.DevPage(e.db, e.cfg).ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d %s", target, rec.Code, rec.Body)
		}
		return rec, rec.Body.String()
	}
	spanish := []string{`<html lang="es">`, "Bandeja de SMS", "Modo de desarrollo", "en cola (America/Mexico_City)", "2026-03-10 12:30:00", "Su folio es 123"}
	english := []string{`<html lang="en">`, "SMS outbox", "Development mode", "queued (America/Mexico_City)", "2026-03-10 12:30:00", "Su folio es 123"}
	check := func(how, body string, want, not []string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q:\n%s", how, w, body)
			}
		}
		for _, n := range not {
			if strings.Contains(body, n) {
				t.Errorf("%s: page has %q, of the other language:\n%s", how, n, body)
			}
		}
	}
	_, body := page("/dev/sms")
	check("default", body, spanish, []string{"SMS outbox", "Development mode", "queued"})
	_, body = page("/dev/sms", "Accept-Language", "es-MX,es;q=0.9")
	check("Accept-Language es-MX", body, spanish, nil)
	_, body = page("/dev/sms", "Accept-Language", "en-US,en;q=0.9")
	check("Accept-Language en-US", body, english, []string{"Bandeja", "Modo de desarrollo"})
	rec, body := page("/dev/sms?lang=en", "Accept-Language", "es-MX")
	check("?lang=en", body, english, []string{"Bandeja"})
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "despacho_lang" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value != "en" {
		t.Fatalf("?lang=en set cookie %v; want despacho_lang=en, as the other pages", cookie)
	}
	_, body = page("/dev/sms", "Cookie", "despacho_lang=en", "Accept-Language", "es-MX")
	check("cookie en", body, english, nil)
	_, body = page("/dev/sms?lang=es", "Accept-Language", "en-US")
	check("?lang=es", body, spanish, nil)
}
