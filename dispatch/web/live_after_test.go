package web_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestLiveAfterHeader: a page loads its data over the API and opens /ws beside it; an event
// committed between its reads and the socket's registration was in neither. A signed-in GET
// now answers Live-After, the feed's position read before the handler: the page opens /ws
// with it as after and gets every event its answer may not show. Public answers, writes and
// the upgrade itself carry no position.
func TestLiveAfterHeader(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ctx := context.Background()
	hub, ts := liveServer(t, db, live.Options{PollInterval: 100 * time.Millisecond}, web.Config{})
	createUser(t, postgres.NewUsers(db), "despacho@example.mx", dispatch.RoleDispatcher)
	d := staffToken(t, ts.URL, "despacho@example.mx")

	report := func(name string) string {
		var rep struct{ Folio string }
		mustJSON(t, "POST", ts.URL+"/api/tickets", d, `{"customer":{"name":"`+name+`","phone":"5512345679"},"address":{"line":"Av. Juárez 10"},"kind":"fault","description":"Sin internet","channel":"phone"}`, 201, &rep)
		return rep.Folio
	}
	first := report("Rosa Pérez")
	if _, err := live.Sequence(ctx, db); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := db.QueryRowContext(ctx, "SELECT last_seq FROM live_state").Scan(&seq); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the first report fanned out", func() bool { n, _ := hub.Position(); return n >= seq })

	res, b := do(t, "GET", ts.URL+"/api/tickets?q="+first, d, "")
	after, err := strconv.ParseInt(res.Header.Get("Live-After"), 10, 64)
	if res.StatusCode != 200 || err != nil || after < seq {
		t.Fatalf("GET /api/tickets = %d, Live-After %q, want 200 and at least %d (%s)", res.StatusCode, res.Header.Get("Live-After"), seq, b)
	}
	if !strings.Contains(string(b), first) {
		t.Fatalf("the answer does not show %s: %s", first, b)
	}
	// Committed after the page's read, before its socket: the page must still hear of it.
	second := report("Juan López")

	c, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws?token="+d+"&after="+strconv.FormatInt(after, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("the feed opened with Live-After never told of %s: %v", second, err)
		}
		var m struct {
			Type string
			Data struct{ Folio string }
		}
		_ = json.Unmarshal(msg, &m)
		if m.Data.Folio == first {
			t.Errorf("the feed repeated %s, which the answer showed: %s", first, msg)
		}
		if m.Type == "report.created" && m.Data.Folio == second {
			break
		}
	}

	for _, tc := range []struct{ method, path, token string }{
		{"POST", "/api/tickets", d},             // a write: refused or not, no position
		{"GET", "/public/reports/" + first, ""}, // public: not for the customer
		{"GET", "/public/reports/" + first, d},  // nor for staff on a public route
		{"GET", "/healthz", ""},
	} {
		res, _ := do(t, tc.method, ts.URL+tc.path, tc.token, "{}")
		if v := res.Header.Get("Live-After"); v != "" {
			t.Errorf("%s %s answered Live-After %q, want none", tc.method, tc.path, v)
		}
	}
}
