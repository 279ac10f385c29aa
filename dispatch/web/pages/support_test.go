package pages_test

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestSupportPhoneOnCustomerPages: the customers' pages tell them, where nothing more can
// be done online, to call ("llámenos": a visit the technician has set out for, a report at
// its hourly limit), and gave no number to call. With SUPPORT_PHONE set, every page a
// visitor who is not signed in sees ends with it, as dialled in Mexico and as a tel: link;
// staff pages do not; without it, no footer.
func TestSupportPhoneOnCustomerPages(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	get := func(t *testing.T, srv http.Handler, path, token string) string {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		if token != "" {
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: token})
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", path, rec.Code)
		}
		return html.UnescapeString(string(b))
	}
	const footer = `<footer class="support">¿Dudas? Llámenos al <a href="tel:+528001234567">800 123 4567</a></footer>`
	with := web.New(web.Config{DB: db, SupportPhone: "+528001234567"})
	for _, path := range []string{"/reporte", "/estado", "/estado/R-2026-000001/horario?code=x"} {
		if body := get(t, with, path, ""); !strings.Contains(body, footer) {
			t.Errorf("%s: no support footer %s", path, footer)
		}
	}
	users := postgres.NewUsers(db)
	u, err := dispatch.NewUser("agente@example.mx", "Agente", dispatch.RoleAgent, password)
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	tok := "support-test-" + strings.Repeat("a", 40)
	if err := users.CreateSession(t.Context(), tok, u.ID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if body := get(t, with, "/desk", tok); strings.Contains(body, `class="support"`) {
		t.Error("/desk, signed in: the customers' support footer is shown to staff")
	}
	without := web.New(web.Config{DB: db})
	if body := get(t, without, "/reporte", ""); strings.Contains(body, `class="support"`) {
		t.Error("/reporte without SUPPORT_PHONE: a support footer is shown")
	}
	if got := dispatch.DisplayPhone("+525512345678"); got != "55 1234 5678" {
		t.Errorf("DisplayPhone(+525512345678) = %q, want 55 1234 5678", got)
	}
}
