package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/web"
)

// TestMetricsToken: /metrics is on the public address, and it was everybody's to read
// (request counts by route and status, queue depths, the process's memory). With
// METRICS_TOKEN set only the scraper bearing it is answered; anyone else gets 401 with a
// JSON error and WWW-Authenticate. Without it /metrics stays open (development, a
// private network).
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	const token = "scrape-3f9c1a7e55d04b2e"
	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	locked := httptest.NewServer(web.New(web.Config{DB: db, Registry: r1, Gatherer: r1, MetricsToken: token}))
	t.Cleanup(locked.Close)
	open := httptest.NewServer(web.New(web.Config{DB: db, Registry: r2, Gatherer: r2}))
	t.Cleanup(open.Close)

	get := func(t *testing.T, base, auth string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	// Something to count: the metrics of a route appear once it has been called.
	for _, base := range []string{locked.URL, open.URL} {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
		}
	}
	for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Bearer " + token + "x", "Basic " + token, token} {
		res, body := get(t, locked.URL, auth)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if res.StatusCode != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "unauthenticated" ||
			!strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("Authorization %q: %d %s (WWW-Authenticate %q), want 401 unauthenticated", auth, res.StatusCode, body, res.Header.Get("WWW-Authenticate"))
		}
		if strings.Contains(body, "despacho_http_requests_total") {
			t.Fatalf("Authorization %q: the metrics were served", auth)
		}
	}
	for _, c := range []struct{ base, auth string }{{locked.URL, "Bearer " + token}, {locked.URL, "bearer  " + token}, {open.URL, ""}} {
		res, body := get(t, c.base, c.auth)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "despacho_http_requests_total") {
			t.Fatalf("%s with %q: %d, want the metrics", c.base, c.auth, res.StatusCode)
		}
	}
}
