package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/jobs"
	"despacho/dispatch/postgres"
	"despacho/notify/twiliotest"
)

// roundRobin is the simplest reverse proxy in front of several instances: each request
// (a websocket handshake included) goes to the next backend in turn. It records which
// backend served what.
type roundRobin struct {
	backends []*url.URL
	mu       sync.Mutex
	n        int
	served   []int
}

func (p *roundRobin) handler() http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		p.mu.Lock()
		i := p.n % len(p.backends)
		p.n++
		p.served = append(p.served, i)
		p.mu.Unlock()
		pr.SetURL(p.backends[i])
		pr.SetXForwarded()
	}}
}

// next returns which backend the next request will reach.
func (p *roundRobin) next() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n % len(p.backends)
}

func httpDo(t *testing.T, c *http.Client, method, u, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestTwoInstancesBehindProxy runs two real `serve` instances on one database — each with
// its own live hub, jobs elector and SMS worker — behind a round-robin
// httputil.ReverseProxy: a session made on one works on the other (bearer and cookie) and
// a sign-out on one ends it on both; a websocket through the proxy receives an event
// written on the other instance; texts queued by both instances reach the fake Twilio once
// each; and exactly one instance leads the timed jobs (so each runs once per tick).
func TestTwoInstancesBehindProxy(t *testing.T) {
	t.Parallel()
	db, dsn := dispatchtest.DBWithURL(t)
	fake := twiliotest.New()
	defer fake.Close()
	ctx := context.Background()
	var bases []string
	p := &roundRobin{}
	for range 2 {
		stop, base, err := serveInProcess(ctx, dsn, fake)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		bases = append(bases, base)
		u, _ := url.Parse(base)
		p.backends = append(p.backends, u)
	}
	proxy := httptest.NewServer(p.handler())
	defer proxy.Close()

	u, err := dispatch.NewUser("lead@example.mx", "Lead", dispatch.RoleAdmin, "una-clave-larga-de-verdad")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewUsers(db).Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	login := func() string {
		t.Helper()
		code, b := httpDo(t, browser, "POST", proxy.URL+"/api/login", "", `{"email":"lead@example.mx","password":"una-clave-larga-de-verdad"}`)
		var out struct{ Token string }
		if code != 200 || json.Unmarshal(b, &out) != nil || out.Token == "" {
			t.Fatalf("login through the proxy = %d %s", code, b)
		}
		return out.Token
	}

	t.Run("sessions", func(t *testing.T) {
		tok := login()
		for i := range 4 {
			if code, b := httpDo(t, http.DefaultClient, "GET", proxy.URL+"/api/me", tok, ""); code != 200 {
				t.Fatalf("GET /api/me %d with the bearer token = %d %s", i, code, b)
			}
			if code, b := httpDo(t, browser, "GET", proxy.URL+"/api/me", "", ""); code != 200 {
				t.Fatalf("GET /api/me %d with the cookie = %d %s", i, code, b)
			}
		}
		p.mu.Lock()
		served := append([]int(nil), p.served[len(p.served)-8:]...)
		p.mu.Unlock()
		if !strings.Contains(fmt.Sprint(served), "0") || !strings.Contains(fmt.Sprint(served), "1") {
			t.Fatalf("requests served by %v, want both instances", served)
		}
		if code, b := httpDo(t, http.DefaultClient, "POST", proxy.URL+"/api/logout", tok, ""); code/100 != 2 {
			t.Fatalf("logout = %d %s", code, b)
		}
		for i, base := range bases {
			if code, _ := httpDo(t, http.DefaultClient, "GET", base+"/api/me", tok, ""); code != 401 {
				t.Errorf("instance %d after logout on one = %d, want 401", i, code)
			}
		}
	})

	tok := login()
	t.Run("websocket sees the other instance's writes", func(t *testing.T) {
		wsOn := p.next()
		c, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(proxy.URL, "http")+"/ws?token="+url.QueryEscape(tok), nil)
		if err != nil {
			t.Fatalf("websocket through the proxy: %v (%v)", err, res)
		}
		defer c.Close()
		other := bases[1-wsOn]
		code, b := httpDo(t, http.DefaultClient, "POST", other+"/api/tickets", tok,
			`{"channel":"phone","kind":"fault","customer":{"name":"Rosa","phone":"55 4444 1234"},"address":{"line":"Calle 5"},"subject":"Sin servicio","description":"No hay internet"}`)
		var created struct{ Folio string }
		if code != 201 || json.Unmarshal(b, &created) != nil {
			t.Fatalf("ticket on instance %d = %d %s", 1-wsOn, code, b)
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("websocket on instance %d never saw %s created on instance %d: %v", wsOn, created.Folio, 1-wsOn, err)
			}
			if strings.Contains(string(msg), `"report.created"`) && strings.Contains(string(msg), created.Folio) {
				break
			}
		}
	})

	t.Run("outbox sends each text once", func(t *testing.T) {
		const n = 12
		for i := range n {
			body := fmt.Sprintf(`{"customer":{"name":"Cliente %d","phone":"55 7777 %04d"},"address":{"line":"Calle %d"},"kind":"fault","description":"Sin internet"}`, i, i, i)
			if code, b := httpDo(t, http.DefaultClient, "POST", proxy.URL+"/public/reports", "", body); code != 201 {
				t.Fatalf("public report %d = %d %s", i, code, b)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			var left int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sms_outbox WHERE state IN ('pending', 'sending') AND send_after <= now()").Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d texts still queued after 60 s", left)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var sent int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sms_outbox WHERE state = 'sent' AND to_phone LIKE '+52557777%'").Scan(&sent); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		got := 0
		for _, m := range fake.Messages() {
			if strings.HasPrefix(m.To, "+52557777") {
				seen[m.To+"\x00"+m.Body]++
				got++
			}
		}
		if sent < n || got != sent || len(seen) != got {
			t.Errorf("outbox rows sent %d, fake Twilio got %d (%d distinct); want at least %d, all equal", sent, got, len(seen), n)
		}
	})

	t.Run("one jobs leader", func(t *testing.T) {
		var holders int
		// Only this test's database: the cluster is shared with every package's tests, whose
		// servers hold the same key in their own databases.
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND ((classid::bigint << 32) | objid::bigint) = ?`, jobs.LeaderKey).Scan(&holders); err != nil {
			t.Fatal(err)
		}
		if holders != 1 {
			t.Errorf("%d sessions hold the jobs leader lock, want exactly 1", holders)
		}
	})
}
