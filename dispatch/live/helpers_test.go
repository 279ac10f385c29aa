package live_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

func TestMain(m *testing.M) { dispatchtest.Main(m) }

// instance is one running despacho instance as far as live updates go: the real HTTP
// server with its route guard and sessions, and a hub mounted on it.
type instance struct {
	db  *bun.DB
	hub *live.Hub
	ts  *httptest.Server
	reg *prometheus.Registry
}

// startInstance runs a hub with opts on db behind a real web.Server and waits until its
// listener is connected. It stops when the test ends.
func startInstance(tb testing.TB, db *bun.DB, opts live.Options) *instance {
	tb.Helper()
	reg := prometheus.NewRegistry()
	opts.Registry = reg
	opts.UserOf = func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) }
	// As serve wires it: open websockets are rechecked by the API's own authentication.
	var srv *web.Server
	opts.Recheck = func(ctx context.Context, r *http.Request) (*dispatch.User, error) { return srv.Reauthenticate(ctx, r) }
	hub := live.New(db, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	srv = web.New(web.Config{DB: db, Live: &web.LiveHandlers{
		WS:     http.HandlerFunc(hub.ServeWS),
		Public: http.HandlerFunc(hub.ServePublic),
	}})
	ts := httptest.NewServer(srv)
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("hub.Run = %v, want nil", err)
		}
		ts.Close()
	})
	waitFor(tb, 30*time.Second, "hub ready", hub.Ready)
	return &instance{db: db, hub: hub, ts: ts, reg: reg}
}

// waitFor polls cond until it holds, failing the test after limit (a hang guard, not a
// timing assertion).
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s after %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// signIn creates an active user with role and opens a real session for it, as POST
// /api/login does (without paying for argon2 under the race detector on every test); it
// returns the session token.
func signIn(tb testing.TB, in *instance, email string, role dispatch.Role) (string, *dispatch.User) {
	tb.Helper()
	ctx := context.Background()
	u := &dispatch.User{Email: email, Name: "Test " + string(role), Role: role, PasswordHash: "not-used", Active: true}
	users := postgres.NewUsers(in.db)
	if err := users.Create(ctx, u); err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := users.CreateSession(ctx, token, u.ID, time.Now().Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	return token, u
}

func wsURL(in *instance, path string, q url.Values) string {
	return "ws" + strings.TrimPrefix(in.ts.URL, "http") + path + "?" + q.Encode()
}

// dial opens a websocket on path with the token in the query (as a browser would).
func dial(tb testing.TB, in *instance, token string, after int64, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	q := url.Values{"token": {token}}
	if after >= 0 {
		q.Set("after", itoa(after))
	}
	return dialURL(tb, wsURL(in, "/ws", q), hdr, nil)
}

func dialURL(tb testing.TB, u string, hdr http.Header, d *websocket.Dialer) (*websocket.Conn, *http.Response, error) {
	tb.Helper()
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	c, res, err := d.Dial(u, hdr)
	if c != nil {
		tb.Cleanup(func() { c.Close() })
	}
	return c, res, err
}

func mustDial(tb testing.TB, in *instance, token string, after int64) *websocket.Conn {
	tb.Helper()
	c, res, err := dial(tb, in, token, after, nil)
	if err != nil {
		tb.Fatalf("dial: %v (%s)", err, body(res))
	}
	return c
}

func body(res *http.Response) string {
	if res == nil {
		return "no response"
	}
	b, _ := io.ReadAll(res.Body)
	return res.Status + " " + string(b)
}

// read returns the next message, failing after limit.
func read(tb testing.TB, c *websocket.Conn, limit time.Duration) live.Message {
	tb.Helper()
	m, err := readErr(c, limit)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	return m
}

func readErr(c *websocket.Conn, limit time.Duration) (live.Message, error) {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	var m live.Message
	_, b, err := c.ReadMessage()
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// readN reads n event messages.
func readN(tb testing.TB, c *websocket.Conn, n int) []live.Message {
	tb.Helper()
	out := make([]live.Message, 0, n)
	for len(out) < n {
		out = append(out, read(tb, c, 20*time.Second))
	}
	return out
}

// lastSeq returns the last number of the live sequence: a client connecting with it as
// `after` misses nothing appended later.
func lastSeq(tb testing.TB, db *bun.DB) int64 {
	tb.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), "SELECT last_seq FROM live_state").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// appendEvents writes evs in one transaction through the real event log writer.
func appendEvents(tb testing.TB, db *bun.DB, evs ...dispatch.Event) []int64 {
	tb.Helper()
	ctx := context.Background()
	log := postgres.NewEvents()
	ids := make([]int64, len(evs))
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range evs {
			if err := log.Append(ctx, tx, &evs[i], nil); err != nil {
				return err
			}
			ids[i] = evs[i].ID
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

func data(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// metric returns the value of a counter or gauge in reg.
func metric(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			if m.Gauge != nil {
				return m.Gauge.GetValue()
			}
		}
	}
	tb.Fatalf("metric %s not found", name)
	return 0
}

// collector reads every message of a connection in the background.
type collector struct {
	mu   sync.Mutex
	msgs []live.Message
	err  error
	done chan struct{}
}

func collect(c *websocket.Conn) *collector {
	col := &collector{done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for {
			_ = c.SetReadDeadline(time.Time{})
			var m live.Message
			_, b, err := c.ReadMessage()
			if err == nil {
				err = json.Unmarshal(b, &m)
			}
			col.mu.Lock()
			if err != nil {
				col.err = err
				col.mu.Unlock()
				return
			}
			col.msgs = append(col.msgs, m)
			col.mu.Unlock()
		}
	}()
	return col
}

func (col *collector) len() int {
	col.mu.Lock()
	defer col.mu.Unlock()
	return len(col.msgs)
}

func (col *collector) messages() []live.Message {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]live.Message(nil), col.msgs...)
}

// smallReadBuffer dials with a tiny socket receive buffer, so that a client that does not
// read backs up the server quickly.
var smallReadBuffer = &websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	},
}
