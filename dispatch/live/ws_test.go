package live_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
)

// TestWhoSeesWhat: staff see everything (and may narrow it), a technician only the events
// naming his technician record, the customer's status page only its report's report and
// visit events with a reduced set of data keys.
func TestWhoSeesWhat(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	var techUser int64
	// The server checks the folio's access code against the database before the hub runs,
	// so the customer holds a real report's folio and code; the hub's FolioAccess then maps
	// them to report 55, which the test's events name.
	var folio, code string
	in := startInstance(t, db, live.Options{
		TechnicianOf: func(_ context.Context, userID int64) (int64, error) {
			if userID == techUser {
				return 7, nil
			}
			return 0, dispatch.NotFound("technician")
		},
		FolioAccess: func(_ context.Context, f, c string) (int64, error) {
			if f == folio && dispatch.NormalizeAccessCode(c) == code {
				return 55, nil
			}
			return 0, dispatch.NotFound("folio")
		},
		Folios: func(_ context.Context, ids []int64) (map[int64]string, error) {
			return map[int64]string{55: "R-2026-000055"}, nil
		},
	})
	res0, err := http.Post(in.ts.URL+"/public/reports", "application/json", strings.NewReader(
		`{"customer":{"name":"Rosa","phone":"55 4444 1234"},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Folio      string `json:"folio"`
		AccessCode string `json:"access_code"`
	}
	if err := json.NewDecoder(res0.Body).Decode(&created); err != nil || res0.StatusCode != 201 {
		t.Fatalf("public report: %d %v", res0.StatusCode, err)
	}
	res0.Body.Close()
	folio, code = created.Folio, created.AccessCode
	if _, err := live.Sequence(context.Background(), db); err != nil { // its report.created is before start
		t.Fatal(err)
	}
	staffTok, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	adminTok, _ := signIn(t, in, "admin@example.mx", dispatch.RoleAdmin)
	techTok, tu := signIn(t, in, "tecnico@example.mx", dispatch.RoleTechnician)
	techUser = tu.ID
	loneTok, _ := signIn(t, in, "solo@example.mx", dispatch.RoleTechnician)

	res := httpGet(t, wsURL(in, "/ws", url.Values{"token": {loneTok}}), true)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("technician without a record: %d, want 403", res.StatusCode)
	}
	for _, q := range []url.Values{{"code": {"wrong"}}, {}} {
		res := httpGet(t, wsURL(in, "/public/reports/"+folio+"/live", q), true)
		if res.StatusCode != http.StatusNotFound {
			t.Fatalf("status page with code %q: %d, want 404", q.Get("code"), res.StatusCode)
		}
	}

	start := lastSeq(t, db)
	staff := mustDial(t, in, staffTok, start)
	narrowed := mustDial(t, in, adminTok, start)
	tech := mustDial(t, in, techTok, start)
	public, res2, err := dialURL(t, wsURL(in, "/public/reports/"+folio+"/live", url.Values{"code": {code}, "after": {itoa(start)}}), nil, nil)
	if err != nil {
		t.Fatalf("status page: %v (%s)", err, body(res2))
	}

	if err := narrowed.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":{"technician_ids":[8]}}`)); err != nil {
		t.Fatal(err)
	}
	if m := read(t, narrowed, 20*time.Second); m.Type != live.TypeSubscribed {
		t.Fatalf("reply to subscribe = %+v", m)
	}

	appendEvents(t, db,
		dispatch.Event{Type: "visit.assigned", VisitID: 1, TechnicianID: 7, ReportID: 54},
		dispatch.Event{Type: "visit.assigned", VisitID: 2, TechnicianID: 8, ReportID: 56},
		dispatch.Event{Type: "report.status_changed", ReportID: 55, Actor: "user:3", Data: data(map[string]any{"status": "in_progress", "note": "cliente molesto"})},
		dispatch.Event{Type: "sms.sent", ReportID: 55},
		dispatch.Event{Type: "visit.en_route", VisitID: 3, TechnicianID: 7, ReportID: 55, Data: data(map[string]any{"eta": "2026-11-25T17:00:00Z"})},
	)
	types := func(ms []live.Message) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Type)
		}
		return strings.Join(s, " ")
	}
	if got, want := types(readN(t, staff, 5)), "visit.assigned visit.assigned report.status_changed sms.sent visit.en_route"; got != want {
		t.Errorf("dispatcher got %q, want %q", got, want)
	}
	got := readN(t, tech, 2)
	if types(got) != "visit.assigned visit.en_route" || !strings.Contains(string(got[0].Data), `"technician_id":7`) {
		t.Errorf("technician got %q %s, want his two visits", types(got), got[0].Data)
	}
	got = readN(t, public, 2)
	if types(got) != "report.status_changed visit.en_route" {
		t.Errorf("status page got %q, want its report's two public events", types(got))
	}
	var d map[string]any
	_ = json.Unmarshal(got[0].Data, &d)
	if d["status"] != "in_progress" || d["folio"] != "R-2026-000055" || d["note"] != nil || d["actor"] != nil || d["event_id"] != nil {
		t.Errorf("status page data = %s; want status and folio only, no note, actor or event id", got[0].Data)
	}
	if got := readN(t, narrowed, 1); !strings.Contains(string(got[0].Data), `"technician_id":8`) {
		t.Errorf("subscribed admin got %s, want technician 8's event", got[0].Data)
	}

	// A marker both see proves that nothing else was queued for them.
	appendEvents(t, db, dispatch.Event{Type: "visit.assigned", TechnicianID: 7, ReportID: 55, VisitID: 9})
	if m := read(t, tech, 20*time.Second); m.Type != "visit.assigned" || !strings.Contains(string(m.Data), `"visit_id":9`) {
		t.Errorf("technician's next message = %+v, want the marker", m)
	}
	if m := read(t, public, 20*time.Second); !strings.Contains(string(m.Data), `"report_id":55`) {
		t.Errorf("status page's next message = %+v, want the marker", m)
	}
}

func httpGet(t *testing.T, u string, upgrade bool, hdr ...string) *http.Response {
	t.Helper()
	u = "http" + strings.TrimPrefix(u, "ws")
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if upgrade {
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// errorCode reads the contract's error body.
func errorCode(t *testing.T, res *http.Response) string {
	t.Helper()
	var e struct{ Error struct{ Code, Field string } }
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Error.Code == "" {
		t.Fatalf("%s: body is not the contract's error shape (%v)", res.Status, err)
	}
	return e.Error.Code
}

// TestBadInput: malformed requests are refused before the upgrade with the contract's
// errors; bad client messages get an error message (or, too large, a close) and never hurt
// the hub or the other clients.
func TestBadInput(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{AllowedOrigins: []string{"https://tablero.example.mx"}})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)

	cases := []struct {
		name   string
		u      string
		hdr    []string
		status int
	}{
		// An invalid after is 422 naming it, as every invalid query value of the API.
		{"after not a number", wsURL(in, "/ws", url.Values{"token": {token}, "after": {"abc"}}), nil, 422},
		{"after negative", wsURL(in, "/ws", url.Values{"token": {token}, "after": {"-5"}}), nil, 422},
		{"after too big", wsURL(in, "/ws", url.Values{"token": {token}, "after": {"99999999999999999999"}}), nil, 422},
		{"no token", wsURL(in, "/ws", nil), nil, 401},
		{"bad token", wsURL(in, "/ws", url.Values{"token": {"nope"}}), nil, 401},
		{"foreign origin", wsURL(in, "/ws", url.Values{"token": {token}}), []string{"Origin", "https://evil.example"}, 403},
		{"origin null", wsURL(in, "/ws", url.Values{"token": {token}}), []string{"Origin", "null"}, 403},
	}
	for _, tc := range cases {
		res := httpGet(t, tc.u, true, tc.hdr...)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, res.StatusCode, tc.status)
			continue
		}
		errorCode(t, res)
	}
	if res := httpGet(t, wsURL(in, "/ws", url.Values{"token": {token}}), false); res.StatusCode != 400 {
		t.Errorf("plain GET: %d, want 400", res.StatusCode)
	}
	for _, origin := range []string{"https://tablero.example.mx", "http://" + strings.TrimPrefix(in.ts.URL, "http://")} {
		if _, res, err := dial(t, in, token, -1, http.Header{"Origin": {origin}}); err != nil {
			t.Errorf("origin %s refused: %v (%s)", origin, err, body(res))
		}
	}

	start := lastSeq(t, db)
	bystander := mustDial(t, in, token, start)
	c := mustDial(t, in, token, start)
	for _, tc := range []struct{ msg, code string }{
		{"not json", "malformed"},
		{`{"subscribe":{"technician_ids":[1]}} {}`, "malformed"},
		{`{"hello":1}`, "malformed"},
		{`[]`, "malformed"},
		{`null`, "malformed"},
		{`{"subscribe":{"technician_ids":"x"}}`, "invalid_subscribe_technician_ids"},
		{`{"subscribe":{"technician_ids":[-1]}}`, "invalid_subscribe_technician_ids"},
		{`{"subscribe":{"types":["DROP TABLE"]}}`, "invalid_subscribe_types"},
	} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
			t.Fatal(err)
		}
		m := read(t, c, 20*time.Second)
		var d struct{ Code string }
		_ = json.Unmarshal(m.Data, &d)
		if m.Type != live.TypeError || d.Code != tc.code {
			t.Errorf("message %q: reply %s %s, want error %s", tc.msg, m.Type, m.Data, tc.code)
		}
	}
	appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 1})
	if m := read(t, c, 20*time.Second); m.Type != "report.noted" {
		t.Fatalf("after bad messages the client got %+v, want the next event", m)
	}

	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":{"types":["`+strings.Repeat("a", 5000)+`"]}}`)); err != nil {
		t.Fatal(err)
	}
	_, err := readErr(c, 20*time.Second)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized message: got %v, want close 1009", err)
	}
	appendEvents(t, db, dispatch.Event{Type: "report.noted", ReportID: 2})
	if got := readN(t, bystander, 2); got[1].ID != start+2 {
		t.Fatalf("bystander got ids %d, %d; want %d, %d", got[0].ID, got[1].ID, start+1, start+2)
	}
	waitFor(t, 20*time.Second, "the closed client to leave", func() bool { return in.hub.Clients() == 3 })
}

// TestSlowClientCutOff: a client that stops reading is cut off with 1013 once its queue is
// full, without holding up anyone else, and resumes with `after`.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{SendQueue: 2})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	start := lastSeq(t, db)
	q := url.Values{"token": {token}, "after": {itoa(start)}}
	// The slow client never reads (a phone in a tunnel).
	_, res, err := dialURL(t, wsURL(in, "/ws", q), nil, smallReadBuffer)
	if err != nil {
		t.Fatalf("dial: %v (%s)", err, body(res))
	}
	fast := collect(mustDial(t, in, token, start))
	waitFor(t, 20*time.Second, "both clients live", func() bool { return in.hub.Clients() == 2 })

	// Rounds of one 256 KB event until the socket buffers and the queue of two rounds
	// overflow for the client that does not read (about 4 MB here; more on some kernels).
	pad := strings.Repeat("x", 256<<10)
	total := 0
	for metric(t, in.reg, "despacho_live_clients_cut_off_total") == 0 {
		if total >= 500 {
			t.Fatalf("%d events fanned out and the client that does not read is still connected", total)
		}
		appendEvents(t, db, dispatch.Event{Type: "report.noted", Data: data(map[string]any{"n": total, "pad": pad})})
		total++
		waitFor(t, 20*time.Second, "the fast client to get the round", func() bool { return fast.len() == total })
	}
	waitFor(t, 20*time.Second, "the slow client to be disconnected", func() bool { return in.hub.Clients() == 1 })

	// It resumes, from where it stood, with everything it missed.
	again := mustDial(t, in, token, start)
	got := readN(t, again, total)
	t.Logf("cut off after %d events", total)
	for i, m := range got {
		if m.ID != start+1+int64(i) {
			t.Fatalf("resumed message %d has id %d, want %d", i, m.ID, start+1+int64(i))
		}
	}
}

// TestCloseEndsEverything: Close (what serve calls at shutdown, since http.Server.Shutdown
// leaves hijacked connections alone) says goodbye to every client with 1001, refuses new
// ones, ends Run and leaves no goroutine behind.
func TestCloseEndsEverything(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t, goleak.IgnoreCurrent()) })
	db := dispatchtest.DB(t)
	in := startInstance(t, db, live.Options{})
	token, _ := signIn(t, in, "despacho@example.mx", dispatch.RoleDispatcher)
	c1 := mustDial(t, in, token, -1)
	c2 := mustDial(t, in, token, 0)
	waitFor(t, 20*time.Second, "two clients", func() bool { return in.hub.Clients() == 2 })
	in.hub.Close()
	for _, c := range []*websocket.Conn{c1, c2} {
		if _, err := readErr(c, 20*time.Second); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("client at shutdown got %v, want close 1001", err)
		}
	}
	if in.hub.Clients() != 0 || in.hub.Ready() {
		t.Errorf("after Close: %d clients, ready %v; want 0, false", in.hub.Clients(), in.hub.Ready())
	}
	res := httpGet(t, wsURL(in, "/ws", url.Values{"token": {token}}), true)
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("connect after Close: %d, want 503", res.StatusCode)
	}
	errorCode(t, res)
}
