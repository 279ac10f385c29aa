package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// idorWorld is two technicians with a visit each and two customers with a folio each, on
// the real server with its live hub wired as serve wires it.
type idorWorld struct {
	ts              *httptest.Server
	desk            string // an agent's token
	dispatcher      string
	juan, pedro     string // the technicians' tokens
	juanID, pedroID int64
	folioA, folioB  string
	codeA, codeB    string
	visitA, visitB  int64 // visitA is Juan's, for folio A; visitB is Pedro's, for folio B
	reports         *postgres.Reports
	hubReady        func() bool
	clock           *clock
}

func newIDORWorld(t *testing.T) *idorWorld {
	t.Helper()
	db := dispatchtest.DB(t)
	c := &clock{t: monday.Add(7 * time.Hour)}
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	techs := postgres.NewTechnicians(db, nil)
	hub := live.New(db, live.Options{
		UserOf:       func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) },
		TechnicianOf: techs.IDByUser,
		FolioAccess:  reports.IDForCode,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	s := web.New(web.Config{DB: db, Now: c.Now, Live: &web.LiveHandlers{
		WS: http.HandlerFunc(hub.ServeWS), Public: http.HandlerFunc(hub.ServePublic)}})
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		cancel()
		<-done
		ts.Close()
	})
	users := postgres.NewUsers(db)
	w := &idorWorld{ts: ts, reports: reports, hubReady: hub.Ready, clock: c}
	w.desk = login(t, ts, users, "agente@despacho.example.mx", dispatch.RoleAgent)
	w.dispatcher = login(t, ts, users, "despacho@despacho.example.mx", dispatch.RoleDispatcher)
	w.juan = login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	w.pedro = login(t, ts, users, "pedro@despacho.example.mx", dispatch.RoleTechnician)
	// Different skills make the booking choose the technician.
	w.juanID = createTech(t, ts, w.dispatcher, "Juan", 19.43, -99.13, `"fiber"`, fmt.Sprintf(`,"user_id":%d`, userID(t, users, "juan@despacho.example.mx")))
	w.pedroID = createTech(t, ts, w.dispatcher, "Pedro", 19.44, -99.14, `"copper"`, fmt.Sprintf(`,"user_id":%d`, userID(t, users, "pedro@despacho.example.mx")))
	w.folioA, w.codeA = publicReport(t, ts, "Rosa", "55 4444 1234")
	w.folioB, w.codeB = publicReport(t, ts, "Beto", "55 4444 5678")
	w.visitA = bookedVisit(t, ts, w.desk, w.folioA, "fiber", w.juanID)
	w.visitB = bookedVisit(t, ts, w.desk, w.folioB, "copper", w.pedroID)
	waitUntil(t, "live hub ready", hub.Ready)
	return w
}

func publicReport(t *testing.T, ts *httptest.Server, name, phone string) (folio, code string) {
	t.Helper()
	var rep struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/public/reports", "", fmt.Sprintf(`{"customer":{"name":%q,"phone":%q},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`, name, phone), 201, &rep)
	return rep.Folio, rep.AccessCode
}

// bookedVisit creates a visit needing skill for folio and books its first slot, which must
// give it to technician tech.
func bookedVisit(t *testing.T, ts *httptest.Server, desk, folio, skill string, tech int64) int64 {
	t.Helper()
	v := createVisit(t, ts, desk, folio, fmt.Sprintf(`{"duration_min":60,"skills":[%q],"lat":19.41,"lon":-99.15}`, skill))
	var got visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), desk, window(slots(t, ts, desk, v.ID)[0]), 200, &got)
	if got.TechnicianID == nil || *got.TechnicianID != tech {
		t.Fatalf("visit %d booked with technician %v, want %d", v.ID, got.TechnicianID, tech)
	}
	return v.ID
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// visitState is what must not change when someone else tries to touch a visit.
func (w *idorWorld) visitState(t *testing.T, id int64) string {
	t.Helper()
	var v visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", w.ts.URL, id), w.dispatcher, "", 200, &v)
	return fmt.Sprintf("%s v%d tech=%v window=%v", v.Status, v.Version, *v.TechnicianID, v.Window)
}

// denied reports whether status refuses access without saying more: 403 or 404.
func denied(status int) bool { return status == http.StatusForbidden || status == http.StatusNotFound }

// TestTechnicianCannotReachAnothersWork: technician Juan, with a valid session, tries every
// technician route on Pedro's visit and Pedro's record by id; each is refused and Pedro's
// visit, route and media are unchanged. Juan's own requests work (the control).
func TestTechnicianCannotReachAnothersWork(t *testing.T) {
	t.Parallel()
	w := newIDORWorld(t)
	base := w.ts.URL
	// Pedro is at the address and has taken a photo.
	step := fmt.Sprintf("%s/api/visits/%d/status", base, w.visitB)
	mustJSON(t, "POST", step, w.pedro, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", step, w.pedro, `{"status":"on_site"}`, 200, nil)
	if code, b := upload(t, base, w.pedro, w.visitB, "photo", "pedro-photo-0001", testJPEG(t, 64, 48, 7)); code != 201 {
		t.Fatalf("Pedro's photo = %d %s", code, b)
	}
	before := w.visitState(t, w.visitB)
	photo := testJPEG(t, 64, 48, 8)

	attempts := []struct{ name, method, path, body string }{
		{"read Pedro's visit", "GET", fmt.Sprintf("/api/visits/%d", w.visitB), ""},
		{"complete Pedro's visit", "POST", fmt.Sprintf("/api/visits/%d/status", w.visitB), `{"status":"completed","cause":"Router dañado","verdict":"upheld","service_restored":true}`},
		{"not-complete Pedro's visit", "POST", fmt.Sprintf("/api/visits/%d/status", w.visitB), `{"status":"not_completed","reason":"customer_absent"}`},
		{"read Pedro", "GET", fmt.Sprintf("/api/technicians/%d", w.pedroID), ""},
		{"read Pedro's route", "GET", fmt.Sprintf("/api/technicians/%d/route?day=2026-11-30", w.pedroID), ""},
		{"move Pedro's position", "POST", fmt.Sprintf("/api/technicians/%d/position", w.pedroID), `{"lat":19.0,"lon":-99.0}`},
		{"list Pedro's media", "GET", fmt.Sprintf("/api/visits/%d/media", w.visitB), ""},
		{"read Pedro's photo", "GET", fmt.Sprintf("/api/visits/%d/media/1", w.visitB), ""},
		{"book Pedro's visit", "POST", fmt.Sprintf("/api/visits/%d/book", w.visitB), `{"start":"2026-11-30T16:00:00Z","end":"2026-11-30T18:00:00Z"}`},
	}
	for _, a := range attempts {
		res, b := do(t, a.method, base+a.path, w.juan, a.body)
		if !denied(res.StatusCode) {
			t.Errorf("Juan: %s (%s %s) = %d %s, want 403 or 404", a.name, a.method, a.path, res.StatusCode, b)
		}
	}
	if code, b := upload(t, base, w.juan, w.visitB, "photo", "juan-photo-0001", photo); !denied(code) {
		t.Errorf("Juan: upload a photo to Pedro's visit = %d %s, want 403 or 404", code, b)
	}
	if code, b := upload(t, base, w.juan, w.visitB, "signature", "juan-sign-0001", testPNG(t)); !denied(code) {
		t.Errorf("Juan: upload a signature to Pedro's visit = %d %s, want 403 or 404", code, b)
	}

	if got := w.visitState(t, w.visitB); got != before {
		t.Errorf("Pedro's visit after Juan's attempts = %s, want %s", got, before)
	}
	var media struct{ Media []mediaOut }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/media", base, w.visitB), w.desk, "", 200, &media)
	if len(media.Media) != 1 {
		t.Errorf("Pedro's visit has %d media, want only his 1 photo", len(media.Media))
	}
	var pedro struct {
		Position *struct{ Lat, Lon float64 }
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", base, w.pedroID), w.dispatcher, "", 200, &pedro)
	if pedro.Position != nil && pedro.Position.Lat == 19.0 {
		t.Errorf("Pedro's position = %+v: Juan moved it", pedro.Position)
	}

	// The control: Juan's own visit and route answer, and his route shows only his visit.
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", base, w.visitA), w.juan, "", 200, nil)
	var route struct{ Visits []visitOut }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/route?day=2026-11-30", base, w.juanID), w.juan, "", 200, &route)
	if len(route.Visits) != 1 || route.Visits[0].ID != w.visitA {
		t.Errorf("Juan's route = %+v, want only visit %d", route.Visits, w.visitA)
	}
	w.clock.Set(monday.Add(9 * time.Hour)) // on shift: positions are taken only then
	mustJSON(t, "POST", fmt.Sprintf("%s/api/technicians/%d/position", base, w.juanID), w.juan, `{"lat":19.42,"lon":-99.12}`, 204, nil)
}

// TestAccessCodeOpensOnlyItsFolio: customer A's code opens folio A on every public door
// (status, live websocket, booking) and nothing of folio B; a wrong code and an unknown
// folio answer alike, so folios cannot be told apart by guessing.
func TestAccessCodeOpensOnlyItsFolio(t *testing.T) {
	t.Parallel()
	w := newIDORWorld(t)
	base := w.ts.URL

	// Status: A's code on B's folio looks exactly like an unknown folio.
	res, own := do(t, "GET", base+"/public/reports/"+w.folioA+"?code="+w.codeA, "", "")
	if res.StatusCode != 200 || !strings.Contains(string(own), w.folioA) {
		t.Fatalf("own status = %d %s, want 200", res.StatusCode, own)
	}
	cross, crossBody := do(t, "GET", base+"/public/reports/"+w.folioB+"?code="+w.codeA, "", "")
	unknown, unknownBody := do(t, "GET", base+"/public/reports/R-2026-999999?code="+w.codeA, "", "")
	if cross.StatusCode != 404 || unknown.StatusCode != 404 || string(crossBody) != string(unknownBody) {
		t.Errorf("A's code on folio B = %d %s; on an unknown folio = %d %s; want the same 404", cross.StatusCode, crossBody, unknown.StatusCode, unknownBody)
	}
	if strings.Contains(string(crossBody), w.folioB) || strings.Contains(string(crossBody), "Beto") {
		t.Errorf("the refusal tells about folio B: %s", crossBody)
	}

	// Booking B's visit with A's code: refused like a visit that does not exist, nothing changes.
	before := w.visitState(t, w.visitB)
	ss := slots(t, w.ts, w.desk, w.visitB)
	book := func(visit int64, code string) (*http.Response, []byte) {
		return do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book?code=%s", base, visit, code), "", window(ss[len(ss)-1]))
	}
	res, b1 := book(w.visitB, w.codeA)
	res2, b2 := book(999999, w.codeA)
	if res.StatusCode != 404 || res2.StatusCode != 404 || string(b1) != string(b2) {
		t.Errorf("booking B's visit with A's code = %d %s; an unknown visit = %d %s; want the same 404", res.StatusCode, b1, res2.StatusCode, b2)
	}
	if got := w.visitState(t, w.visitB); got != before {
		t.Errorf("B's visit after A's booking attempt = %s, want %s", got, before)
	}

	// Live: A's code does not open B's feed; A's feed carries nothing of B.
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	liveURL := func(folio, code string) string {
		return wsBase + "/public/reports/" + folio + "/live?" + url.Values{"code": {code}}.Encode()
	}
	d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if c, res, err := d.Dial(liveURL(w.folioB, w.codeA), nil); err == nil {
		c.Close()
		t.Errorf("A's code opened folio B's live feed")
	} else if res == nil || res.StatusCode != 404 {
		t.Errorf("A's code on B's live feed: %v, want a 404 answer", err)
	}
	c, res, err := d.Dial(liveURL(w.folioA, w.codeA), nil)
	if err != nil {
		t.Fatalf("A's own live feed: %v (%v)", err, res)
	}
	defer c.Close()
	// Pedro (folio B) gets going first, then Juan (folio A).
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", base, w.visitB), w.pedro, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", base, w.visitA), w.juan, `{"status":"en_route"}`, 200, nil)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("A's live feed: %v", err)
	}
	var m struct {
		Type string
		Data map[string]any
	}
	_ = json.Unmarshal(msg, &m)
	idA, err := w.reports.IDForCode(context.Background(), w.folioA, w.codeA)
	if err != nil {
		t.Fatal(err)
	}
	if m.Data["report_id"] != float64(idA) || strings.Contains(string(msg), w.folioB) {
		t.Errorf("A's first live message = %s, want one about report %d (%s) only", msg, idA, w.folioA)
	}
	for _, secret := range []string{"technician_id", "actor", "phone", "Pedro"} {
		if strings.Contains(string(msg), secret) {
			t.Errorf("A's live message shows %q: %s", secret, msg)
		}
	}
}

// TestCodeGuessingLocksOut: wrong access codes for a folio count together on every public
// door that takes one — status, booking its visit and the live feed — and after ten the
// address is locked out of that folio, even with a right code (TestCodeLockoutIsPerFolioAndAddress:
// not of other folios).
func TestCodeGuessingLocksOut(t *testing.T) {
	t.Parallel()
	for _, door := range []string{"status and booking", "live feed"} {
		t.Run(door, func(t *testing.T) {
			t.Parallel()
			db := dispatchtest.DB(t)
			reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
			_, ts := liveServer(t, db, live.Options{FolioAccess: reports.IDForCode}, web.Config{})
			folio, code := publicReport(t, ts, "Rosa", "55 4444 1234")
			var visit int64
			if err := db.NewRaw(`INSERT INTO visits (report_id, duration_min, address, lat, lon)
				SELECT id, 60, 'Calle 5', 19.41, -99.15 FROM reports WHERE folio = ? RETURNING id`, folio).Scan(context.Background(), &visit); err != nil {
				t.Fatal(err)
			}
			wrong := strings.Repeat("Z", len(code))
			d := &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
			for i := range 10 {
				var status int
				switch {
				case door == "live feed":
					c, res, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/public/reports/"+folio+"/live?code="+wrong, nil)
					if err == nil {
						c.Close()
					}
					if res != nil {
						status = res.StatusCode
					}
				case i%2 == 0:
					res, _ := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+wrong, "", "")
					status = res.StatusCode
				default:
					res, _ := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book?code=%s", ts.URL, visit, wrong), "", `{"start":"2026-11-30T16:00:00Z","end":"2026-11-30T18:00:00Z"}`)
					status = res.StatusCode
				}
				if status != 404 {
					t.Fatalf("%s: wrong code %d = %d, want 404", door, i+1, status)
				}
			}
			res, b := do(t, "GET", ts.URL+"/public/reports/"+folio+"?code="+code, "", "")
			if res.StatusCode != 429 {
				t.Fatalf("%s: the right code after 10 wrong ones = %d %s, want 429 (locked out)", door, res.StatusCode, b)
			}
			if c, res, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/public/reports/"+folio+"/live?code="+code, nil); err == nil {
				c.Close()
				t.Errorf("%s: the live feed opened while locked out", door)
			} else if res == nil || res.StatusCode != 429 {
				t.Errorf("%s: live feed while locked out: %v, want 429", door, err)
			}
		})
	}
}

// TestAccessCodeEntropy: access codes are drawn uniformly from their alphabet with at least
// 64 bits, and only a salted hash of them is stored.
func TestAccessCodeEntropy(t *testing.T) {
	t.Parallel()
	seen := map[rune]int{}
	codes := map[string]bool{}
	const n = 5000
	for range n {
		c := dispatch.NewAccessCode()
		if codes[c] {
			t.Fatalf("code %s drawn twice in %d", c, n)
		}
		codes[c] = true
		for _, r := range c {
			seen[r]++
		}
	}
	sample := dispatch.NewAccessCode()
	bits := float64(len(sample)) * math.Log2(float64(len(seen)))
	if bits < 64 {
		t.Errorf("access codes carry %.1f bits (%d symbols of %d), want at least 64: dispatch.AccessCodeLen must be 13 or more", bits, len(sample), len(seen))
	}
	// Uniform: every symbol within 25% of its expected count (a biased modulo would show).
	want := float64(n*len(sample)) / float64(len(seen))
	for r, got := range seen {
		if math.Abs(float64(got)-want) > want/4 {
			t.Errorf("symbol %q drawn %d times, want about %.0f", r, got, want)
		}
	}

	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts.Close)
	folio, code := publicReport(t, ts, "Rosa", "55 4444 1234")
	var row string
	if err := db.QueryRowContext(context.Background(), "SELECT to_jsonb(r)::text FROM reports r WHERE folio = ?", folio).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToUpper(row), code) {
		t.Errorf("the reports row holds the access code in clear: %s", row)
	}
	var hash []byte
	if err := db.QueryRowContext(context.Background(), "SELECT access_code_hash FROM reports WHERE folio = ?", folio).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if len(hash) != 32 || string(hash) != string(dispatch.HashAccessCode(folio, code)) {
		t.Errorf("stored hash = %x, want the folio-salted SHA-256 of the code", hash)
	}
}
