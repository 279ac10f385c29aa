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

// TestBrowserReportAnswerLost: the customer's report reaches the server but its answer
// does not reach the phone (the load balancer gives up: 504). The page keeps the form and
// says the connection failed; the customer presses the button again and gets the folio of
// the report already filed — one report, not two. Editing the form after such a failure
// sends another report, which is filed (not refused for reusing the first one's key).
func TestBrowserReportAnswerLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	backend, _ := url.Parse(e.URL)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	var lose atomic.Int32 // answers of POST /public/reports still to lose
	lose.Store(1)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/public/reports" && lose.Add(-1) >= 0 {
			proxy.ServeHTTP(httptest.NewRecorder(), r) // the server files it; the answer is lost
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	count := func(phone string) int {
		t.Helper()
		var n int
		if err := e.DB.NewRaw(`SELECT count(*) FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = ?`, phone).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	ctx := tab(t, true)
	do(t, ctx,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(front.URL+"/reporte"),
		sendKeys(chromedp.ID("name"), "Rosa Pérez"),
		sendKeys(chromedp.ID("phone"), "55 2468 1357"),
		chromedp.SetValue(chromedp.ID("kind"), "fault"),
		sendKeys(chromedp.ID("description"), "Sin internet desde ayer"),
		chromedp.Click(chromedp.CSS(`#report button[type=submit]`)),
	)
	waitText(t, ctx, "#report .form-error", "Intente de nuevo")
	if n := count("+525524681357"); n != 1 {
		t.Fatalf("%d reports after the lost answer, want 1 (the server filed it)", n)
	}
	var filed string
	if err := e.DB.NewRaw(`SELECT r.folio FROM reports r JOIN customers c ON c.id = r.customer_id WHERE c.phone = '+525524681357'`).Scan(context.Background(), &filed); err != nil {
		t.Fatal(err)
	}
	// Again: the answer of the report already filed.
	pollTrue(t, ctx, `!document.querySelector('#report button[type=submit]').disabled`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#report button[type=submit]`)))
	if got := text(t, ctx, "#done-folio"); got != filed {
		t.Fatalf("folio shown after pressing again = %q, want the one filed, %q", got, filed)
	}
	if n := count("+525524681357"); n != 1 {
		t.Fatalf("%d reports after pressing again, want still 1", n)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("done-link")))
	waitText(t, ctx, "#result", filed)

	// Lost again, then the customer edits what he wrote: that is another report.
	lose.Store(1)
	do(t, ctx,
		chromedp.Navigate(front.URL+"/reporte"),
		sendKeys(chromedp.ID("name"), "Rosa Pérez"),
		sendKeys(chromedp.ID("phone"), "55 2468 9999"),
		chromedp.SetValue(chromedp.ID("kind"), "fault"),
		sendKeys(chromedp.ID("description"), "El módem parpadea"),
		chromedp.Click(chromedp.CSS(`#report button[type=submit]`)),
	)
	waitText(t, ctx, "#report .form-error", "Intente de nuevo")
	pollTrue(t, ctx, `!document.querySelector('#report button[type=submit]').disabled`)
	do(t, ctx,
		sendKeys(chromedp.ID("description"), " y se apaga"),
		chromedp.Click(chromedp.CSS(`#report button[type=submit]`)),
	)
	pollTrue(t, ctx, `!document.getElementById('done').hidden || !document.querySelector('#report .form-error').hidden`)
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('done').hidden ? document.querySelector('#report .form-error').textContent : document.getElementById('done-folio').textContent`)); !strings.HasPrefix(shown, "R-") {
		t.Fatalf("after editing and sending: %q, want the edited report's folio", shown)
	}
	if n := count("+525524689999"); n != 2 {
		t.Fatalf("%d reports for the second number, want 2 (the lost one and the edited one)", n)
	}
}
