package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/notify"
)

// serveErr adapts a handler returning errors the way web.Server does, for this test.
func serveErr(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			code := map[dispatch.Kind]int{dispatch.KindInvalid: 422, dispatch.KindMalformed: 400, dispatch.KindNotFound: 404, dispatch.KindTooLarge: 413}[dispatch.ErrorKind(err)]
			if code == 0 {
				code = 500
			}
			w.WriteHeader(code)
		}
	})
}

func TestTemplateHandlers(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	h := notify.TemplateHandlers{Store: notify.NewTemplates(db, mexico)}
	mux := http.NewServeMux()
	mux.Handle("GET /api/sms/templates", serveErr(h.List))
	mux.Handle("GET /api/sms/templates/{kind}/{lang}", serveErr(h.Get))
	mux.Handle("PUT /api/sms/templates/{kind}/{lang}", serveErr(h.Put))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tt := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/sms/templates", "", 200},
		{"GET", "/api/sms/templates/booked/en", "", 200},
		{"GET", "/api/sms/templates/nope/en", "", 404},
		{"GET", "/api/sms/templates/booked/fr", "", 404},
		{"PUT", "/api/sms/templates/booked/es", `{"body":"{{.Folio"}`, 422},
		{"PUT", "/api/sms/templates/booked/es", `{"body":"{{.Nada}}"}`, 422},
		{"PUT", "/api/sms/templates/booked/es", `{"body":5}`, 422},
		{"PUT", "/api/sms/templates/booked/es", `{}`, 422},
		{"PUT", "/api/sms/templates/booked/es", `{"body":`, 400},
		{"PUT", "/api/sms/templates/booked/es", `{"body":"` + strings.Repeat("a", 70000) + `"}`, 413},
		{"PUT", "/api/sms/templates/booked/es", `{"body":"Visita {{.Window}} con {{.Technician}}, folio {{.Folio}}"}`, 200},
	} {
		if code, body := do(tt.method, tt.path, tt.body); code != tt.want {
			t.Errorf("%s %s %.40s: %d %s; want %d", tt.method, tt.path, tt.body, code, body, tt.want)
		}
	}
	_, body := do("GET", "/api/sms/templates/booked/es", "")
	var tp notify.Template
	if err := json.Unmarshal([]byte(body), &tp); err != nil {
		t.Fatal(err)
	}
	if want := "Visita mar 24 nov, 10:00-12:00 con Maria, folio R-2026-000123"; !tp.Custom || tp.Sample != want || tp.Segments != 1 {
		t.Errorf("template after PUT = %+v; want custom, sample %q in 1 segment", tp, want)
	}
}
