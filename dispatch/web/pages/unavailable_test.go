package pages_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserServiceUnavailable: the proxy in front of the service answers 502, 503 or 504
// (a gateway that gave up, maintenance) with a page of its own. The report form says the
// service is unavailable for a moment and that what was typed is kept and sending again
// files nothing twice, not "something went wrong on our side"; a 500 still says that. Sent
// again once the service is back, the report is filed once, even after a 504 whose request
// reached the server. A staff page (sign-in) says the same unavailability, without the
// report form's words.
func TestBrowserServiceUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "disp@example.mx", "dispatcher")
	backend, _ := url.Parse(e.URL)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	var status atomic.Int32 // what the proxy answers POSTs with; 0: the server's answer
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := int(status.Load()); s != 0 && r.Method == http.MethodPost {
			if s == http.StatusGatewayTimeout {
				proxy.ServeHTTP(httptest.NewRecorder(), r) // the server did it; the answer is lost
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(s)
			_, _ = w.Write([]byte("<html><body><h1>" + http.StatusText(s) + "</h1></body></html>"))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	ctx := tab(t, true)
	do(t, ctx,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(front.URL+"/reporte"),
		sendKeys(chromedp.ID("name"), "Rosa Pérez"),
		sendKeys(chromedp.ID("phone"), "55 1357 2468"),
		chromedp.SetValue(chromedp.ID("kind"), "fault"),
		sendKeys(chromedp.ID("description"), "Sin internet desde ayer"),
	)
	for _, s := range []int32{502, 503, 504} {
		status.Store(s)
		pollTrue(t, ctx, `!document.querySelector('#report button[type=submit]').disabled`)
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.querySelector('#report .form-error').textContent = ''`),
			chromedp.Click(chromedp.CSS(`#report button[type=submit]`)))
		waitText(t, ctx, "#report .form-error", "El servicio no está disponible por un momento")
		waitText(t, ctx, "#report .form-error", "no se registra dos veces")
		if got := text(t, ctx, "#report .form-error"); containsAny(got, "Algo salió mal", "conexión") {
			t.Fatalf("%d: %q, want the service's unavailability, not a fault of ours or of the connection", s, got)
		}
	}
	shot(t, ctx, "report-unavailable-360")
	status.Store(500)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#report button[type=submit]`)))
	waitText(t, ctx, "#report .form-error", "Algo salió mal de nuestro lado")

	// Back: the report the 504 let through is the one shown, and the only one.
	status.Store(0)
	pollTrue(t, ctx, `!document.querySelector('#report button[type=submit]').disabled`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#report button[type=submit]`)))
	folio := text(t, ctx, "#done-folio")
	var n int
	var filed string
	if err := e.DB.NewRaw(`SELECT count(*), min(r.folio) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+525513572468'`).Scan(context.Background(), &n, &filed); err != nil {
		t.Fatal(err)
	}
	if n != 1 || folio != filed {
		t.Fatalf("%d reports (%s), page shows %s; want one, the one shown", n, filed, folio)
	}

	// A staff page: the same words for the same failure, without the form's.
	status.Store(502)
	do(t, ctx,
		chromedp.Navigate(front.URL+"/login"),
		sendKeys(chromedp.ID("email"), "disp@example.mx"),
		sendKeys(chromedp.ID("password"), "contraseña larga 1"),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
	)
	waitText(t, ctx, "#login .form-error", "El servicio no está disponible por un momento")
	if got := text(t, ctx, "#login .form-error"); containsAny(got, "Algo salió mal", "dos veces") {
		t.Fatalf("sign-in after a 502: %q", got)
	}
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
