package web_test

import (
	"io"
	"net"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// pgProxy stands between the server and PostgreSQL so that a test can take the database
// away: refused (connections reset, as when PostgreSQL is down) or silent (packets
// dropped, as when its host is gone), and give it back.
type pgProxy struct {
	ln     net.Listener
	dial   func() (net.Conn, error)
	mode   atomic.Int32 // 0 pass, 1 refuse, 2 silent
	mu     sync.Mutex
	conns  []net.Conn
	closed atomic.Bool
}

func newPGProxy(t *testing.T, dsn string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	network, addr := "tcp", u.Host
	if h := u.Query().Get("host"); h != "" {
		network, addr = "unix", h
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, dial: func() (net.Conn, error) { return net.Dial(network, addr) }}
	go p.serve()
	t.Cleanup(func() { p.closed.Store(true); ln.Close(); p.cut() })
	pu := *u
	pu.Host = ln.Addr().String()
	q := u.Query()
	q.Del("host")
	pu.RawQuery = q.Encode()
	return p, pu.String()
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		switch p.mode.Load() {
		case 1:
			c.Close()
			continue
		case 2:
			p.track(c)
			go io.Copy(io.Discard, c) //nolint:errcheck
			continue
		}
		up, err := p.dial()
		if err != nil {
			c.Close()
			continue
		}
		p.track(c, up)
		go func() { io.Copy(up, c); up.Close() }() //nolint:errcheck
		go func() { io.Copy(c, up); c.Close() }()  //nolint:errcheck
	}
}

func (p *pgProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, cs...)
}

// cut closes every connection made so far.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestReadinessFollowsDatabase: /readyz answers 503 promptly while PostgreSQL is down —
// refusing connections or silent — so that the balancer takes the instance out, and 200
// again once it is back, without a restart; /healthz stays 200 and fast throughout (a
// liveness probe that failed with the database would have every instance restarted for an
// outage none of them can fix).
func TestReadinessFollowsDatabase(t *testing.T) {
	t.Parallel()
	_, dsn := dispatchtest.DBWithURL(t)
	proxy, viaProxy := newPGProxy(t, dsn)
	db, err := postgres.Open(viaProxy, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	defer ts.Close()
	probe := func(path string) (int, time.Duration) {
		start := time.Now()
		res, _ := do(t, "GET", ts.URL+path, "", "")
		return res.StatusCode, time.Since(start)
	}
	waitFor := func(want int, why string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, took := probe("/readyz")
			if took > 3*time.Second {
				t.Fatalf("%s: /readyz took %s, want an answer within 3 s", why, took)
			}
			if code == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: /readyz = %d, want %d", why, code, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor(200, "database up")
	for _, outage := range []struct {
		name string
		mode int32
	}{{"refused", 1}, {"silent", 2}} {
		proxy.mode.Store(outage.mode)
		proxy.cut()
		waitFor(503, outage.name)
		// Again, now that the pool's connections are gone: a new one must not hang.
		for range 2 {
			if code, took := probe("/readyz"); code != 503 || took > 3*time.Second {
				t.Errorf("%s: /readyz = %d in %s, want 503 within 3 s", outage.name, code, took)
			}
		}
		if code, took := probe("/healthz"); code != 200 || took > 500*time.Millisecond {
			t.Errorf("%s: /healthz = %d in %s, want 200 at once", outage.name, code, took)
		}
		proxy.mode.Store(0)
		proxy.cut()
		waitFor(200, outage.name+" then back")
	}
}
