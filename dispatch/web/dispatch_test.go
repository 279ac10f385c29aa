package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var mx = func() *time.Location { l, _ := time.LoadLocation("America/Mexico_City"); return l }()

// monday is a Monday in business time; the tests stand at 07:00 on it.
var monday = time.Date(2026, 11, 30, 0, 0, 0, 0, mx)

// newDispatchServer starts the real API at 07:00 on monday with a signed-in user per role.
func newDispatchServer(t *testing.T) (*httptest.Server, map[dispatch.Role]string, *postgres.Users, *clock) {
	t.Helper()
	db := dispatchtest.DB(t)
	c := &clock{t: monday.Add(7 * time.Hour)}
	s := web.New(web.Config{DB: db, Now: c.Now})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	tokens := map[dispatch.Role]string{}
	for _, r := range []dispatch.Role{dispatch.RoleDispatcher, dispatch.RoleAgent} {
		tokens[r] = login(t, ts, users, string(r)+"@despacho.example.mx", r)
	}
	return ts, tokens, users, c
}

// login creates a user and a session for it directly in the store: argon2id hashing under
// the race detector would cost seconds per user, and sign-in has tests of its own.
func login(t *testing.T, ts *httptest.Server, users *postgres.Users, email string, role dispatch.Role) string {
	t.Helper()
	u := &dispatch.User{Email: email, Name: "Test " + string(role), Role: role, PasswordHash: "unused", Active: true}
	if err := users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	token := fmt.Sprintf("test-%s-%d", role, time.Now().UnixNano())
	if err := users.CreateSession(context.Background(), token, u.ID, time.Now().AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	return token
}

func userID(t *testing.T, users *postgres.Users, email string) int64 {
	t.Helper()
	u, err := users.ByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// mustJSON posts body and decodes the answer, failing unless the status is want.
func mustJSON(t *testing.T, method, url, token, body string, want int, out any) {
	t.Helper()
	res, b := do(t, method, url, token, body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
}

func createTech(t *testing.T, ts *httptest.Server, token, name string, lat, lon float64, skills string, extra string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"phone":"55 1234 %04d","skills":[%s],"home":{"lat":%v,"lon":%v},
		"shifts":[{"weekday":1,"start":"08:00","end":"18:00"},{"weekday":2,"start":"08:00","end":"18:00"}]%s}`,
		name, len(name)*37%10000, skills, lat, lon, extra)
	var out struct{ ID int64 }
	mustJSON(t, "POST", ts.URL+"/api/technicians", token, body, 201, &out)
	if out.ID == 0 {
		t.Fatal("no technician id")
	}
	return out.ID
}

// createTechFor adds a fiber technician whose sign-in is the technician user email
// (already made by login) and returns his id.
func createTechFor(t *testing.T, ts *httptest.Server, token string, users *postgres.Users, email, name string, lat, lon float64) int64 {
	t.Helper()
	return createTech(t, ts, token, name, lat, lon, `"fiber"`, fmt.Sprintf(`,"user_id":%d`, userID(t, users, email)))
}

var phoneSeq struct {
	sync.Mutex
	n int
}

func createTicket(t *testing.T, ts *httptest.Server, token string, lat, lon float64) string {
	t.Helper()
	phoneSeq.Lock()
	phoneSeq.n++
	n := phoneSeq.n
	phoneSeq.Unlock()
	body := fmt.Sprintf(`{"channel":"phone","kind":"fault","customer":{"name":"Cliente %d","phone":"55 8765 %04d"},
		"address":{"line":"Calle %d, CDMX","lat":%v,"lon":%v},"subject":"Sin servicio","description":"No hay internet"}`, n, n, n, lat, lon)
	var out struct{ Folio string }
	mustJSON(t, "POST", ts.URL+"/api/tickets", token, body, 201, &out)
	return out.Folio
}

type visitOut struct {
	ID     int64
	Status string
	Folio  string
	Window *struct {
		Start, End time.Time
	}
	TechnicianID   *int64    `json:"technician_id"`
	PlannedArrival time.Time `json:"planned_arrival"`
	PlannedStart   time.Time `json:"planned_start"`
	PlannedEnd     time.Time `json:"planned_end"`
	Pinned         bool      `json:"pinned"`
	RoutePosition  int       `json:"route_position"`
	Version        int
}

func createVisit(t *testing.T, ts *httptest.Server, token, folio, body string) visitOut {
	t.Helper()
	var v visitOut
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/visits", token, body, 201, &v)
	return v
}

type slot struct{ Start, End time.Time }

func slots(t *testing.T, ts *httptest.Server, token string, id int64) []slot {
	t.Helper()
	var out struct{ Slots []slot }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d/slots?from=2026-11-30&days=1", ts.URL, id), token, "", 200, &out)
	return out.Slots
}

func window(s slot) string {
	return fmt.Sprintf(`{"start":%q,"end":%q}`, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339))
}

func TestTechniciansAPI(t *testing.T) {
	t.Parallel()
	ts, tok, users, clk := newDispatchServer(t)
	d := tok[dispatch.RoleDispatcher]
	id := createTech(t, ts, d, "Juan Pérez", 19.43, -99.13, `"Fiber","wireless"`, "")

	var tech dispatch.Technician
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), tok[dispatch.RoleAgent], "", 200, &tech)
	if tech.Phone != "+525512340370" && !strings.HasPrefix(tech.Phone, "+52") {
		t.Errorf("phone = %q, want E.164", tech.Phone)
	}
	if got, want := strings.Join(tech.Skills, ","), "fiber,wireless"; got != want {
		t.Errorf("skills = %q, want %q", got, want)
	}
	if len(tech.Shifts) != 2 || tech.Shifts[0].Weekday != 1 || !tech.Active {
		t.Errorf("technician = %+v", tech)
	}

	bad := map[string]string{
		"phone":             `{"name":"A","phone":"12","home":{"lat":1,"lon":1}}`,
		"home.lat":          `{"name":"A","phone":"5512345678","home":{"lat":91,"lon":1}}`,
		"shifts[0].end":     `{"name":"A","phone":"5512345678","home":{"lat":1,"lon":1},"shifts":[{"weekday":1,"start":"10:00","end":"09:00"}]}`,
		"shifts[0].weekday": `{"name":"A","phone":"5512345678","home":{"lat":1,"lon":1},"shifts":[{"weekday":7,"start":"10:00","end":"11:00"}]}`,
		"user_id":           `{"name":"A","phone":"5512345678","home":{"lat":1,"lon":1},"user_id":999999}`,
		"skills[0]":         `{"name":"A","phone":"5512345678","home":{"lat":1,"lon":1},"skills":["fi ber"]}`,
	}
	for field, body := range bad {
		res, b := do(t, "POST", ts.URL+"/api/technicians", d, body)
		if res.StatusCode != 422 {
			t.Errorf("%s: status = %d %s, want 422", field, res.StatusCode, b)
			continue
		}
		if _, f := errorCode(t, b); f != field {
			t.Errorf("field = %q, want %q", f, field)
		}
	}
	if res, _ := do(t, "POST", ts.URL+"/api/technicians", tok[dispatch.RoleAgent], `{}`); res.StatusCode != 403 {
		t.Errorf("agent creating a technician = %d, want 403", res.StatusCode)
	}
	if res, _ := do(t, "GET", ts.URL+"/api/technicians/424242", d, ""); res.StatusCode != 404 {
		t.Errorf("unknown technician = %d, want 404", res.StatusCode)
	}

	// PATCH with the version read; a stale version is 409.
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), d, `{"skills":["fiber"],"version":1}`, 200, &tech)
	if tech.Version != 2 || len(tech.Skills) != 1 {
		t.Errorf("after patch = %+v", tech)
	}
	if res, b := do(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), d, `{"name":"Otro","version":1}`); res.StatusCode != 409 {
		t.Errorf("stale patch = %d %s, want 409", res.StatusCode, b)
	}

	// Exceptions.
	// The answer is the exception with what it did to his visits (he has none here).
	var added struct {
		dispatch.Exception
		Moved, Unbooked, Kept []int64
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/technicians/%d/exceptions", ts.URL, id), d,
		`{"start":"2026-12-01T14:00:00Z","end":"2026-12-01T20:00:00Z","reason":"sick"}`, 201, &added)
	if added.ID == 0 || added.Reason != "sick" || added.Moved == nil || added.Unbooked == nil || added.Kept == nil {
		t.Errorf("exception added = %+v, want it with its id and the re-plan's lists", added)
	}
	if res, _ := do(t, "POST", fmt.Sprintf("%s/api/technicians/%d/exceptions", ts.URL, id), d,
		`{"start":"2026-12-01T14:00:00Z","end":"2026-12-01T10:00:00Z"}`); res.StatusCode != 422 {
		t.Errorf("exception ending before it starts = %d, want 422", res.StatusCode)
	}
	var ex struct{ Exceptions []dispatch.Exception }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/exceptions?from=2026-11-30&to=2026-12-31", ts.URL, id), d, "", 200, &ex)
	if len(ex.Exceptions) != 1 || ex.Exceptions[0].Reason != "sick" {
		t.Errorf("exceptions = %+v", ex.Exceptions)
	}

	// A technician account: linked once, sees only himself, posts his own position.
	techTok := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	uid := userID(t, users, "juan@despacho.example.mx")
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), d, fmt.Sprintf(`{"user_id":%d,"version":2}`, uid), 200, nil)
	other := createTech(t, ts, d, "Pedro", 19.4, -99.1, `"fiber"`, "")
	if res, _ := do(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, other), techTok, ""); res.StatusCode != 403 {
		t.Errorf("technician reading another = %d, want 403", res.StatusCode)
	}
	clk.Set(monday.Add(9 * time.Hour)) // on shift: positions are taken only then
	if res, b := do(t, "POST", fmt.Sprintf("%s/api/technicians/%d/position", ts.URL, id), techTok, `{"lat":19.44,"lon":-99.14}`); res.StatusCode != 204 {
		t.Errorf("position = %d %s, want 204", res.StatusCode, b)
	}
	if res, _ := do(t, "POST", fmt.Sprintf("%s/api/technicians/%d/position", ts.URL, other), techTok, `{"lat":19.44,"lon":-99.14}`); res.StatusCode != 403 {
		t.Errorf("position for another = %d, want 403", res.StatusCode)
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, id), techTok, "", 200, &tech)
	if tech.Position == nil || tech.Position.Lat != 19.44 {
		t.Errorf("position = %+v", tech.Position)
	}
}

func timeline(t *testing.T, ts *httptest.Server, token, folio string) []string {
	t.Helper()
	var out struct {
		Timeline []struct{ Type string }
	}
	mustJSON(t, "GET", ts.URL+"/api/tickets/"+folio, token, "", 200, &out)
	var types []string
	for _, e := range out.Timeline {
		types = append(types, e.Type)
	}
	return types
}

// timelineEvent is one event of a report's timeline as the API shows it.
type timelineEvent struct {
	Type  string
	Actor string // "user:ID" for staff
	Data  map[string]any
}

// lastEvent returns the report's last event of type typ (fails the test when there is none).
func lastEvent(t *testing.T, ts *httptest.Server, token, folio, typ string) timelineEvent {
	t.Helper()
	var out struct{ Timeline []timelineEvent }
	mustJSON(t, "GET", ts.URL+"/api/tickets/"+folio, token, "", 200, &out)
	for i := len(out.Timeline) - 1; i >= 0; i-- {
		if out.Timeline[i].Type == typ {
			return out.Timeline[i]
		}
	}
	t.Fatalf("timeline of %s has no %s", folio, typ)
	return timelineEvent{}
}

func TestVisitBooking(t *testing.T) {
	t.Parallel()
	ts, tok, _, clk := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	tech := createTech(t, ts, d, "Ana López", 19.43, -99.13, `"fiber"`, "")

	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":120,"skills":["fiber"]}`)
	if v.Status != "unscheduled" || v.ID == 0 {
		t.Fatalf("new visit = %+v", v)
	}
	ss := slots(t, ts, a, v.ID)
	// 2-hour visits: the window 16–18 would end the shift away from home base.
	if len(ss) != 4 || ss[0].Start.In(mx).Hour() != 8 || ss[3].Start.In(mx).Hour() != 14 {
		t.Fatalf("slots = %v, want the 2-hour windows starting 08:00 to 14:00", ss)
	}
	for _, s := range ss {
		if s.End.Sub(s.Start) != 2*time.Hour || s.Start.In(mx).Hour() < 8 || s.End.In(mx).Hour() > 18 {
			t.Errorf("slot %v–%v outside business hours or not 2 h", s.Start.In(mx), s.End.In(mx))
		}
	}
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[0]), 200, &booked)
	if booked.Status != "booked" || booked.TechnicianID == nil || *booked.TechnicianID != tech || booked.Window == nil ||
		!booked.Window.Start.Equal(ss[0].Start) || booked.PlannedArrival.IsZero() {
		t.Fatalf("booked = %+v", booked)
	}
	// The contract's fields.
	res, b := do(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), a, "")
	for _, k := range []string{`"id"`, `"status"`, `"folio"`, `"window"`, `"technician_id"`, `"planned_arrival"`, `"version"`} {
		if res.StatusCode != 200 || !strings.Contains(string(b), k) {
			t.Errorf("GET visit lacks %s: %d %s", k, res.StatusCode, b)
		}
	}
	types := strings.Join(timeline(t, ts, a, folio), ",")
	if !strings.Contains(types, "visit.created") || !strings.Contains(types, "visit.booked") || !strings.Contains(types, "report.status_changed") {
		t.Errorf("timeline = %s", types)
	}

	// One technician, 2-hour visits: the 08–10 arrival window cannot take a second one.
	v2 := createVisit(t, ts, a, createTicket(t, ts, a, 19.41, -99.15), `{"duration_min":120,"skills":["fiber"]}`)
	for _, s := range slots(t, ts, a, v2.ID) {
		if s.Start.Equal(ss[0].Start) {
			t.Errorf("the full window %v is still offered", s.Start.In(mx))
		}
	}
	res, b = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, window(ss[0]))
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "window_unavailable" {
		t.Errorf("booking a full window = %d %s, want 409 window_unavailable", res.StatusCode, b)
	}

	// Bad windows and skills.
	bad := []struct{ name, body string }{
		{"past", `{"start":"2026-11-29T16:00:00Z","end":"2026-11-29T18:00:00Z"}`},
		{"outside hours", `{"start":"2026-11-30T03:00:00Z","end":"2026-11-30T05:00:00Z"}`},
		{"shorter than the visit", `{"start":"2026-11-30T18:00:00Z","end":"2026-11-30T19:00:00Z"}`},
		{"no end", `{"start":"2026-11-30T18:00:00Z"}`},
	}
	for _, c := range bad {
		if res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, c.body); res.StatusCode != 422 {
			t.Errorf("%s: %d %s, want 422", c.name, res.StatusCode, b)
		}
	}
	// Values that are not times at all: 422 naming the field, in the API's words.
	for _, c := range []struct{ body, field string }{
		{`{"start":"mañana","end":"2026-11-30T20:00:00Z"}`, "start"},
		{`{"start":"2026-11-30T18:00:00Z","end":18}`, "end"},
		{`{"start":"2026-11-30 18:00","end":"2026-11-30T20:00:00Z"}`, "start"},
	} {
		res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, c.body)
		if _, f := errorCode(t, b); res.StatusCode != 422 || f != c.field || strings.Contains(string(b), "2006-01-02") {
			t.Errorf("book %s = %d %s, want 422 naming %s in the API's words", c.body, res.StatusCode, b, c.field)
		}
	}
	tk := createTicket(t, ts, a, 19.42, -99.14)
	for _, c := range []struct{ body, field, says string }{
		{`{"duration_min":60,"availability":[{"start":"2026-11-30T15:00:00Z","end":"2026-11-30T23:00:00Z"},{"start":"pronto","end":"2026-12-01T23:00:00Z"}]}`, "availability[1].start", "RFC 3339"},
		{`{"duration_min":60.5}`, "duration_min", "whole number"},
		{`{"duration_min":1e3}`, "duration_min", "5 to 720"}, // a whole number (1000), out of the range
		{`{"duration_min":99999999999999999999}`, "duration_min", "out of range"},
	} {
		res, b := do(t, "POST", ts.URL+"/api/tickets/"+tk+"/visits", a, c.body)
		if _, f := errorCode(t, b); res.StatusCode != 422 || f != c.field || !strings.Contains(string(b), c.says) {
			t.Errorf("create visit %s = %d %s, want 422 naming %s (%s)", c.body, res.StatusCode, b, c.field, c.says)
		}
	}
	// A skill nobody has: refused when the visit is made (it sat in the queue for good),
	// and a shift too short for it likewise.
	res, b = do(t, "POST", ts.URL+"/api/tickets/"+tk+"/visits", a, `{"duration_min":30,"skills":["satellite"]}`)
	if _, f := errorCode(t, b); res.StatusCode != 422 || f != "skills" || !strings.Contains(string(b), "satellite") {
		t.Errorf("a visit asking for a skill nobody has = %d %s, want 422 skills naming it", res.StatusCode, b)
	}
	res, b = do(t, "POST", ts.URL+"/api/tickets/"+tk+"/visits", a, `{"duration_min":660,"skills":["fiber"]}`)
	if _, f := errorCode(t, b); res.StatusCode != 422 || f != "duration_min" || !strings.Contains(string(b), "at most 600 minutes") {
		t.Errorf("a visit longer than any shift = %d %s, want 422 duration_min saying 600", res.StatusCode, b)
	}
	// One whose only technician with the skill left since: the slots and the booking say so.
	sat := createTech(t, ts, d, "Saúl Satelital", 19.43, -99.13, `"satellite"`, "")
	v3 := createVisit(t, ts, a, createTicket(t, ts, a, 19.42, -99.14), `{"duration_min":30,"skills":["satellite"]}`)
	var st struct{ Version int }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, sat), d, "", 200, &st)
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, sat), d, fmt.Sprintf(`{"active":false,"version":%d}`, st.Version), 200, nil)
	res, b = do(t, "GET", fmt.Sprintf("%s/api/visits/%d/slots?from=2026-11-30&days=2", ts.URL, v3.ID), a, "")
	if _, f := errorCode(t, b); res.StatusCode != 422 || f != "skills" {
		t.Errorf("slots for an unknown skill = %d %s, want 422 skills", res.StatusCode, b)
	}
	res, b = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v3.ID), a, window(ss[2]))
	if _, f := errorCode(t, b); res.StatusCode != 422 || f != "skills" {
		t.Errorf("booking an unknown skill = %d %s, want 422 skills", res.StatusCode, b)
	}
	if res, _ := do(t, "GET", ts.URL+"/api/visits/777777", a, ""); res.StatusCode != 404 {
		t.Errorf("unknown visit = %d, want 404", res.StatusCode)
	}
	if res, _ := do(t, "POST", ts.URL+"/api/tickets/R-2026-999999/visits", a, `{"duration_min":30}`); res.StatusCode != 404 {
		t.Errorf("visit for an unknown folio = %d, want 404", res.StatusCode)
	}

	// A hold takes the capacity until it lapses.
	v4 := createVisit(t, ts, a, createTicket(t, ts, a, 19.42, -99.15), `{"duration_min":120,"skills":["fiber"]}`)
	last := ss[len(ss)-1]
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/hold", ts.URL, v4.ID), a, window(last), 200, nil)
	res, b = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, window(last))
	if res.StatusCode != 409 {
		t.Errorf("booking a held window = %d %s, want 409", res.StatusCode, b)
	}
	// Five minutes later the hold has lapsed by itself: the window is free again.
	clk.Set(clk.Now().Add(6 * time.Minute))
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, window(last), 200, nil)
	if res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v4.ID), a, window(last)); res.StatusCode != 409 {
		t.Errorf("booking after the hold lapsed and the window was taken = %d %s, want 409", res.StatusCode, b)
	}
}

func TestConcurrentAssignAndBook(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	d2 := login(t, ts, users, "otra@despacho.example.mx", dispatch.RoleDispatcher)
	t1 := createTech(t, ts, d, "Uno", 19.43, -99.13, `"fiber"`, "")
	t2 := createTech(t, ts, d, "Dos", 19.44, -99.12, `"fiber"`, "")

	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
	ss := slots(t, ts, a, v.ID)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[1]), 200, &booked)

	// Two dispatchers assign the same version at once: one 200, one 409, never both.
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i, c := range []struct {
		tok  string
		tech int64
	}{{d, t1}, {d2, t2}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/assign", ts.URL, v.ID), c.tok,
				fmt.Sprintf(`{"technician_id":%d,"version":%d}`, c.tech, booked.Version))
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 409 || codes[0] == 409 && codes[1] == 200) {
		t.Errorf("concurrent assigns = %v, want one 200 and one 409", codes)
	}

	// Two customers race for the last place of a window: one 200, one 409.
	full := ss[3]
	var racers []visitOut
	for i := range 4 {
		racers = append(racers, createVisit(t, ts, a, createTicket(t, ts, a, 19.40+float64(i)*0.001, -99.16), `{"duration_min":120,"skills":["fiber"]}`))
	}
	// Two technicians, 2-hour visits: a 2-hour arrival window takes exactly two.
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, racers[0].ID), a, window(full), 200, nil)
	codes = make([]int, 3)
	for i, r := range racers[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, r.ID), a, window(full))
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		if c == 200 {
			ok++
		} else if c != 409 {
			t.Errorf("racing booking = %d, want 200 or 409", c)
		}
	}
	if ok != 1 {
		t.Errorf("racing bookings = %v, want exactly one 200", codes)
	}
	// Stale version.
	res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/assign", ts.URL, v.ID), d, fmt.Sprintf(`{"technician_id":%d,"version":%d}`, t1, booked.Version))
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "stale_version" {
		t.Errorf("stale assign = %d %s, want 409 stale_version", res.StatusCode, b)
	}
}

func TestVisitStatusSteps(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	pedro := login(t, ts, users, "pedro@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13)
	createTechFor(t, ts, d, users, "pedro@despacho.example.mx", "Pedro", 29.43, -99.13)

	folio := createTicket(t, ts, a, 19.40, -99.16)
	v := createVisit(t, ts, a, folio, `{"duration_min":60,"skills":["fiber"]}`)
	ss := slots(t, ts, a, v.ID)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[0]), 200, &booked)
	if booked.TechnicianID == nil || *booked.TechnicianID != tj {
		t.Fatalf("booked with %v, want Juan (%d): Pedro lives 1100 km away", booked.TechnicianID, tj)
	}
	url := fmt.Sprintf("%s/api/visits/%d/status", ts.URL, v.ID)
	if res, b := do(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), pedro, ""); res.StatusCode != 404 {
		t.Errorf("another technician reading the visit = %d %s, want 404 (as if absent)", res.StatusCode, b)
	}
	if res, b := do(t, "POST", url, pedro, `{"status":"en_route"}`); res.StatusCode != 404 {
		t.Errorf("another technician's step = %d %s, want 404 (as if absent)", res.StatusCode, b)
	}
	done := `{"status":"completed","cause":"Conector dañado","verdict":"upheld","service_restored":true}`
	if res, b := do(t, "POST", url, juan, done); res.StatusCode != 409 {
		t.Errorf("completed before on_site = %d %s, want 409", res.StatusCode, b)
	}
	if res, b := do(t, "POST", url, juan, `{"status":"flying"}`); res.StatusCode != 422 {
		t.Errorf("unknown status = %d %s, want 422", res.StatusCode, b)
	}
	mustJSON(t, "POST", url, juan, `{"status":"en_route"}`, 200, nil)
	mustJSON(t, "POST", url, juan, `{"status":"on_site"}`, 200, nil)
	if res, b := do(t, "POST", url, juan, `{"status":"completed","cause":"x","verdict":"maybe","service_restored":true}`); res.StatusCode != 422 {
		t.Errorf("bad verdict = %d %s, want 422", res.StatusCode, b)
	}
	var got visitOut
	mustJSON(t, "POST", url, juan, done, 200, &got)
	if got.Status != "completed" {
		t.Errorf("status = %q, want completed", got.Status)
	}
	var rep struct {
		Status     string
		Resolution *struct {
			Cause, Verdict  string
			ServiceRestored *bool `json:"service_restored"`
		}
	}
	mustJSON(t, "GET", ts.URL+"/api/tickets/"+folio, a, "", 200, &rep)
	if rep.Status != "resolved" {
		t.Errorf("report status = %q, want resolved", rep.Status)
	}
	types := strings.Join(timeline(t, ts, a, folio), ",")
	for _, want := range []string{"visit.en_route", "visit.on_site", "visit.completed", "report.resolved"} {
		if !strings.Contains(types, want) {
			t.Errorf("timeline %s lacks %s", types, want)
		}
	}
}

func TestOptimizeAndUnavailable(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	west := createTech(t, ts, d, "Oeste", 19.40, -99.20, `"fiber"`, "")
	east := createTech(t, ts, d, "Este", 19.40, -99.00, `"fiber"`, "")

	// Book visits on both sides of town, each in the first window offered: booking order
	// spreads them badly, the optimiser may reorder them but never breaks a window.
	windows := map[int64]slot{}
	var ids []int64
	for i := range 8 {
		lon := -99.19
		if i%2 == 1 {
			lon = -99.01
		}
		v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40+float64(i)*0.002, lon), `{"duration_min":30,"skills":["fiber"]}`)
		ss := slots(t, ts, a, v.ID)
		s := ss[i%len(ss)]
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(s), 200, nil)
		windows[v.ID], ids = s, append(ids, v.ID)
	}
	var res struct {
		Moved        int
		Changed      []int64
		MetersBefore float64 `json:"meters_before"`
		MetersAfter  float64 `json:"meters_after"`
	}
	mustJSON(t, "POST", ts.URL+"/api/plans/2026-11-30/optimize", d, `{"time_limit_s":0.5}`, 200, &res)
	check := func(stage string) map[int64]int64 {
		owner := map[int64]int64{}
		for _, id := range ids {
			var v visitOut
			mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, id), d, "", 200, &v)
			if v.Status == "unscheduled" {
				continue
			}
			w := windows[id]
			if v.Window == nil || !v.Window.Start.Equal(w.Start) || v.PlannedStart.Before(w.Start) || v.PlannedStart.After(w.End) {
				t.Errorf("%s: visit %d starts %v, promised %v–%v", stage, id, v.PlannedStart, w.Start, w.End)
			}
			if v.TechnicianID != nil {
				owner[id] = *v.TechnicianID
			}
		}
		return owner
	}
	owner := check("after optimize")
	if res.MetersBefore <= 0 || res.MetersAfter > res.MetersBefore {
		t.Errorf("optimize: meters %v → %v, want no worse", res.MetersBefore, res.MetersAfter)
	}

	// West calls in sick from 07:00: his visits go east where the window can be kept, the
	// rest back to booking; the answer lists both.
	var un struct {
		Moved, Unbooked []int64
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/technicians/%d/unavailable", ts.URL, west), d,
		`{"from":"2026-11-30T13:00:00Z","until":"2026-12-01T00:00:00Z","reason":"sick"}`, 200, &un)
	t.Logf("optimize %+v; unavailable moved %v unbooked %v", res, un.Moved, un.Unbooked)
	var his int
	for _, tid := range owner {
		if tid == west {
			his++
		}
	}
	if len(un.Moved)+len(un.Unbooked) != his {
		t.Errorf("unavailable: moved %v + unbooked %v, want his %d visits", un.Moved, un.Unbooked, his)
	}
	after := check("after unavailable")
	for id, tid := range after {
		if tid == west {
			t.Errorf("visit %d still with the sick technician", id)
		}
	}
	for _, id := range un.Moved {
		if after[id] != east {
			t.Errorf("moved visit %d is with %d, want %d", id, after[id], east)
		}
	}
	for _, id := range un.Unbooked {
		var v visitOut
		mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, id), d, "", 200, &v)
		if v.Status != "unscheduled" || v.TechnicianID != nil {
			t.Errorf("unbooked visit = %+v, want unscheduled without technician", v)
		}
	}
}

func TestMoveVisit(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	admin := login(t, ts, users, "admin@despacho.example.mx", dispatch.RoleAdmin)
	t1 := createTech(t, ts, d, "Uno", 19.43, -99.13, `"fiber"`, "")
	t2 := createTech(t, ts, d, "Dos", 19.44, -99.12, `"fiber"`, "")

	book := func(s slot, minutes int) visitOut {
		v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), fmt.Sprintf(`{"duration_min":%d,"skills":["fiber"]}`, minutes))
		var out visitOut
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(s), 200, &out)
		return out
	}
	ss := slots(t, ts, a, createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`).ID)
	early := book(ss[0], 60)
	late := book(ss[1], 60)
	// Move the late visit to the other technician: fine, one visit.rescheduled.
	other := t1
	if *late.TechnicianID == t1 {
		other = t2
	}
	var moved visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, late.ID), d,
		fmt.Sprintf(`{"technician_id":%d,"position":1,"version":%d}`, other, late.Version), 200, &moved)
	if moved.TechnicianID == nil || *moved.TechnicianID != other || moved.Status != "assigned" {
		t.Fatalf("moved = %+v, want with technician %d", moved, other)
	}
	// Putting the 10–12 visit before the 08–10 one on the same route breaks the early
	// visit's promise: refused with the reason, unless... never for another's window.
	var e visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, early.ID), d, "", 200, &e)
	res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, early.ID), d,
		fmt.Sprintf(`{"technician_id":%d,"position":2,"version":%d}`, other, e.Version))
	if res.StatusCode == 200 {
		// After the 10–12 visit, the early one would start after 10:00 at the earliest only if
		// the late one is first; position 2 puts it second.
		t.Fatalf("move breaking a promised window = 200 %s, want 409", b)
	}
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "breaks_rule" {
		t.Errorf("move breaking a window = %d %s, want 409 breaks_rule", res.StatusCode, b)
	}
	// A dispatcher cannot force; an admin can break the moved visit's own window.
	res, _ = do(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, early.ID), d,
		fmt.Sprintf(`{"technician_id":%d,"position":2,"version":%d,"force":true}`, other, e.Version))
	if res.StatusCode != 403 {
		t.Errorf("dispatcher forcing = %d, want 403", res.StatusCode)
	}
	var forced visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, early.ID), admin,
		fmt.Sprintf(`{"technician_id":%d,"position":2,"version":%d,"force":true}`, other, e.Version), 200, &forced)
	// The override is on the record: the assignment event says forced, by the admin.
	var me struct{ ID int64 }
	mustJSON(t, "GET", ts.URL+"/api/me", admin, "", 200, &me)
	if ev := lastEvent(t, ts, d, forced.Folio, "visit.assigned"); ev.Data["force"] != true || me.ID == 0 || ev.Actor != fmt.Sprintf("user:%d", me.ID) {
		t.Errorf("forced move event = %+v, want force true by the admin (user %d)", ev, me.ID)
	}
	if ev := lastEvent(t, ts, d, moved.Folio, "visit.assigned"); ev.Data["force"] != nil {
		t.Errorf("ordinary move event = %+v, want no force", ev)
	}
}

func TestCustomerBooksWithCode(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	createTech(t, ts, d, "Uno", 19.43, -99.13, `"fiber"`, "")
	var rep struct {
		Folio      string
		AccessCode string `json:"access_code"`
	}
	mustJSON(t, "POST", ts.URL+"/public/reports", "", `{"customer":{"name":"Rosa","phone":"55 4444 1234"},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`, 201, &rep)
	v := createVisit(t, ts, a, rep.Folio, `{"duration_min":60,"skills":["fiber"],"lat":19.41,"lon":-99.15}`)
	ss := slots(t, ts, a, v.ID)
	url := fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID)
	if res, b := do(t, "POST", url, "", window(ss[0])); res.StatusCode != 404 {
		t.Errorf("booking without a code = %d %s, want 404", res.StatusCode, b)
	}
	if res, b := do(t, "POST", url+"?code=WRONG-CODE", "", window(ss[0])); res.StatusCode != 404 {
		t.Errorf("booking with a wrong code = %d %s, want 404", res.StatusCode, b)
	}
	var got struct {
		Status       string
		TechnicianID int64 `json:"technician_id"`
	}
	mustJSON(t, "POST", url+"?code="+rep.AccessCode, "", window(ss[0]), 200, &got)
	if got.Status != "booked" || got.TechnicianID == 0 {
		t.Errorf("customer booking = %+v", got)
	}
	types := strings.Join(timeline(t, ts, a, rep.Folio), ",")
	if !strings.Contains(types, "visit.booked") {
		t.Errorf("timeline %s lacks visit.booked", types)
	}
}

func TestUrgentInsertAndRoute(t *testing.T) {
	t.Parallel()
	ts, tok, users, clk := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan@despacho.example.mx", "Juan", 19.43, -99.13)
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":45,"skills":["fiber"],"urgent":true,"priority":5}`)
	url := fmt.Sprintf("%s/api/visits/%d/insert", ts.URL, v.ID)
	if res, b := do(t, "POST", url, d, ""); res.StatusCode != 409 {
		t.Errorf("insert before opening = %d %s, want 409", res.StatusCode, b)
	}
	clk.Set(monday.Add(11*time.Hour + 20*time.Minute))
	var got visitOut
	mustJSON(t, "POST", url, d, "", 200, &got)
	if got.Status != "booked" || got.TechnicianID == nil || *got.TechnicianID != tj || got.PlannedStart.Before(clk.Now()) {
		t.Fatalf("urgent visit = %+v, want booked with Juan after now", got)
	}
	var route struct {
		Visits []visitOut
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/route?day=2026-11-30", ts.URL, tj), juan, "", 200, &route)
	if len(route.Visits) != 1 || route.Visits[0].ID != v.ID {
		t.Errorf("Juan's route = %+v, want the urgent visit", route.Visits)
	}
	var plan struct {
		Routes []struct {
			TechnicianID int64 `json:"technician_id"`
			Visits       []visitOut
		}
	}
	mustJSON(t, "GET", ts.URL+"/api/plans/2026-11-30", a, "", 200, &plan)
	if len(plan.Routes) != 1 || plan.Routes[0].TechnicianID != tj || len(plan.Routes[0].Visits) != 1 {
		t.Errorf("day plan = %+v", plan)
	}
}

func TestListVisits(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.list@despacho.example.mx", dispatch.RoleTechnician)
	tech := createTechFor(t, ts, d, users, "juan.list@despacho.example.mx", "Juan Lista", 19.43, -99.13)

	f1 := createTicket(t, ts, a, 19.40, -99.16)
	v1 := createVisit(t, ts, a, f1, `{"duration_min":30,"skills":["fiber"]}`)
	v2 := createVisit(t, ts, a, createTicket(t, ts, a, 19.41, -99.15), `{"duration_min":30,"skills":["fiber"]}`)
	v3 := createVisit(t, ts, a, createTicket(t, ts, a, 19.42, -99.14), `{"duration_min":30,"skills":["fiber"]}`)
	ss := slots(t, ts, a, v2.ID)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v2.ID), a, window(ss[0]), 200, nil)
	var b3 visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v3.ID), a, window(ss[len(ss)-1]), 200, &b3)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/unassign", ts.URL, v3.ID), d, fmt.Sprintf(`{"version":%d}`, b3.Version), 200, nil)

	type page struct {
		Items []visitOut
		Next  string
	}
	ids := func(q string) []int64 {
		t.Helper()
		var p page
		mustJSON(t, "GET", ts.URL+"/api/visits?"+q, d, "", 200, &p)
		out := []int64{}
		for _, v := range p.Items {
			out = append(out, v.ID)
		}
		return out
	}
	cases := []struct {
		q    string
		want []int64
	}{
		{"", []int64{v1.ID, v2.ID, v3.ID}},
		{"status=unscheduled", []int64{v1.ID}},
		{"status=booked,unscheduled", []int64{v1.ID, v2.ID, v3.ID}},
		{"unassigned=true&day=2026-11-30", []int64{v3.ID}},
		{"day=2026-12-01", []int64{}},
		{fmt.Sprintf("technician=%d", tech), []int64{v2.ID}},
		{"report=" + strings.ToLower(f1), []int64{v1.ID}},
	}
	for _, c := range cases {
		if got := ids(c.q); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("GET /api/visits?%s = %v, want %v", c.q, got, c.want)
		}
	}
	// Keyset pages: one at a time, every visit once, in order.
	var seen []int64
	for q, n := "limit=1", 0; ; n++ {
		var p page
		mustJSON(t, "GET", ts.URL+"/api/visits?"+q, a, "", 200, &p)
		for _, v := range p.Items {
			seen = append(seen, v.ID)
		}
		if p.Next == "" || n > 5 {
			break
		}
		q = "limit=1&after=" + p.Next
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{v1.ID, v2.ID, v3.ID}) {
		t.Errorf("paged ids = %v, want %v", seen, []int64{v1.ID, v2.ID, v3.ID})
	}
	for _, q := range []string{"status=lost", "day=30-11-2026", "technician=x", "unassigned=yes", "report=nope", "after=zzz", "limit=0"} {
		res, b := do(t, "GET", ts.URL+"/api/visits?"+q, d, "")
		field := strings.SplitN(q, "=", 2)[0]
		if code, f := errorCode(t, b); res.StatusCode != 422 || f != field {
			t.Errorf("GET /api/visits?%s = %d %s %s, want 422 naming %s", q, res.StatusCode, code, b, field)
		}
	}
	if res, _ := do(t, "GET", ts.URL+"/api/visits", juan, ""); res.StatusCode != 403 {
		t.Errorf("a technician listing visits = %d, want 403", res.StatusCode)
	}

	// The technician's route and the visit carry what the phone page shows.
	var route struct {
		Visits []map[string]any
	}
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/route?day=2026-11-30", ts.URL, tech), juan, "", 200, &route)
	if len(route.Visits) != 1 {
		t.Fatalf("route = %v, want one visit", route.Visits)
	}
	var one map[string]any
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v2.ID), juan, "", 200, &one)
	for _, got := range []map[string]any{route.Visits[0], one} {
		name, _ := got["customer_name"].(string)
		phone, _ := got["customer_phone"].(string)
		addr, _ := got["address"].(string)
		if !strings.HasPrefix(name, "Cliente ") || !strings.HasPrefix(phone, "+52") || !strings.HasPrefix(addr, "Calle ") ||
			got["lat"] != 19.41 || got["lon"] != -99.15 || got["window"] == nil {
			t.Errorf("visit for the technician = %v, want customer name, E.164 phone, address, lat/lon and window", got)
		}
	}
}

// TestReplanFromNow re-plans the day at 10:45 with the test clock: Juan is still driving to
// his 08–10 visit and so cannot keep his 10–12 one; the re-plan keeps the visit under way
// with him, plans nothing before now, and gives the 10–12 visit to Otro, who is free.
func TestReplanFromNow(t *testing.T) {
	t.Parallel()
	ts, tok, users, clk := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.late@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan.late@despacho.example.mx", "Juan", 19.43, -99.13)
	at := func(h, m int) time.Time { return monday.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	win := func(h int) string {
		return fmt.Sprintf(`{"start":%q,"end":%q}`, at(h, 0).Format(time.RFC3339), at(h+2, 0).Format(time.RFC3339))
	}
	va := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
	vb := createVisit(t, ts, a, createTicket(t, ts, a, 19.45, -99.10), `{"duration_min":30,"skills":["fiber"]}`)
	vc := createVisit(t, ts, a, createTicket(t, ts, a, 19.41, -99.15), `{"duration_min":30,"skills":["fiber"]}`)
	var ba, bb visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, va.ID), a, win(8), 200, &ba)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, vb.ID), a, win(10), 200, &bb)
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, vc.ID), a, win(14), 200, nil)
	if *ba.TechnicianID != tj || *bb.TechnicianID != tj || bb.PlannedStart.After(at(10, 15)) {
		t.Fatalf("booked %+v and %+v, want both with Juan, the second about 10:00", ba, bb)
	}
	otro := createTech(t, ts, d, "Otro", 19.45, -99.10, `"fiber"`, "")

	clk.Set(at(8, 30))
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, va.ID), juan, `{"status":"en_route"}`, 200, nil)
	var before visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, va.ID), d, "", 200, &before)

	now := at(10, 45)
	clk.Set(now)
	var res struct{ Changed []int64 }
	mustJSON(t, "POST", ts.URL+"/api/plans/2026-11-30/optimize", d, `{"time_limit_s":0.5}`, 200, &res)
	var ga, gb visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, va.ID), d, "", 200, &ga)
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, vb.ID), d, "", 200, &gb)
	if ga.Status != "en_route" || ga.TechnicianID == nil || *ga.TechnicianID != tj || !ga.PlannedStart.Equal(before.PlannedStart) {
		t.Errorf("visit under way after the re-plan = %+v, want en_route with Juan, untouched (%v)", ga, before.PlannedStart)
	}
	if gb.TechnicianID == nil || *gb.TechnicianID != otro || gb.PlannedStart.Before(now) || gb.PlannedStart.After(at(12, 0)) {
		t.Errorf("10–12 visit after the re-plan = technician %v at %v, want Otro (%d) between %v and 12:00",
			gb.TechnicianID, gb.PlannedStart.In(mx), otro, now.In(mx))
	}
	var gc visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, vc.ID), d, "", 200, &gc)
	if gc.TechnicianID == nil || *gc.TechnicianID != tj || gc.RoutePosition != 2 || ga.RoutePosition != 1 || gc.PlannedStart.Before(at(14, 0)) {
		t.Errorf("Juan's route after the re-plan: under way at %d, 14–16 visit = %+v; want positions 1 and 2, the second within 14–16",
			ga.RoutePosition, gc)
	}
	if fmt.Sprint(res.Changed) != fmt.Sprint([]int64{vb.ID}) {
		t.Errorf("changed = %v, want [%d]: one re-notification, for the visit that changed technician", res.Changed, vb.ID)
	}
}

// TestBookingKeepsAvailability: a customer free only 10:00–14:00 is offered slots inside it
// and nothing else; a booking or hold outside it is 422 window, unless an admin forces it.
func TestBookingKeepsAvailability(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	admin := login(t, ts, users, "admin.avail@despacho.example.mx", dispatch.RoleAdmin)
	createTech(t, ts, d, "Ana", 19.43, -99.13, `"fiber"`, "")
	createTech(t, ts, d, "Beto", 19.44, -99.12, `"fiber"`, "")
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	win := func(h int) string {
		return fmt.Sprintf(`{"start":%q,"end":%q}`, at(h).Format(time.RFC3339), at(h+2).Format(time.RFC3339))
	}
	body := fmt.Sprintf(`{"duration_min":30,"skills":["fiber"],"availability":[{"start":%q,"end":%q}]}`,
		at(10).Format(time.RFC3339), at(14).Format(time.RFC3339))
	newVisit := func() visitOut { return createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), body) }

	v := newVisit()
	ss := slots(t, ts, a, v.ID)
	if len(ss) != 2 {
		t.Errorf("slots = %v, want the two inside 10:00–14:00", ss)
	}
	for _, s := range ss {
		if s.Start.Before(at(10)) || s.End.After(at(14)) {
			t.Errorf("slot %v–%v outside the customer's availability 10:00–14:00", s.Start.In(mx), s.End.In(mx))
		}
	}
	for _, h := range []int{8, 13, 14} {
		for _, verb := range []string{"book", "hold"} {
			res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/%s", ts.URL, v.ID, verb), a, win(h))
			if _, f := errorCode(t, b); res.StatusCode != 422 || f != "window" {
				t.Errorf("%s %02d:00 outside availability = %d %s, want 422 window", verb, h, res.StatusCode, b)
			}
		}
	}
	forced := strings.TrimSuffix(win(8), "}") + `,"force":true}`
	if res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), d, forced); res.StatusCode != 403 {
		t.Errorf("dispatcher forcing a window outside availability = %d %s, want 403", res.StatusCode, b)
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, win(10), 200, nil)

	w := newVisit()
	var got visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, w.ID), admin, forced, 200, &got)
	if got.Window == nil || !got.Window.Start.Equal(at(8)) {
		t.Errorf("forced booking = %+v, want the 08:00 window", got)
	}
	// The override is recorded: the booking event says it was forced, and by whom.
	var me struct{ ID int64 }
	mustJSON(t, "GET", ts.URL+"/api/me", admin, "", 200, &me)
	if ev := lastEvent(t, ts, a, got.Folio, "visit.booked"); ev.Data["force"] != true || me.ID == 0 || ev.Actor != fmt.Sprintf("user:%d", me.ID) {
		t.Errorf("forced booking event = %+v, want force true by the admin (user %d)", ev, me.ID)
	}
	// An ordinary booking records no override.
	if ev := lastEvent(t, ts, a, v.Folio, "visit.booked"); ev.Data["force"] != nil {
		t.Errorf("ordinary booking event = %+v, want no force", ev)
	}
}

// TestMoveKeepsPins: three visits in one window with Juan; the first two pinned. Moving an
// unpinned visit between them is fine, reordering the pinned ones is refused with the
// visit in the way, and nothing goes before the visit Juan is driving to.
func TestMoveKeepsPins(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.pins@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan.pins@despacho.example.mx", "Juan", 19.43, -99.13)
	win := fmt.Sprintf(`{"start":%q,"end":%q}`, monday.Add(10*time.Hour).Format(time.RFC3339), monday.Add(13*time.Hour).Format(time.RFC3339))
	for i := range 4 {
		v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40+float64(i)*0.01, -99.16), `{"duration_min":30,"skills":["fiber"]}`)
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, win, 200, nil)
	}
	route := func() []visitOut {
		t.Helper()
		var r struct{ Visits []visitOut }
		mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d/route?day=2026-11-30", ts.URL, tj), d, "", 200, &r)
		return r.Visits
	}
	get := func(id int64) visitOut {
		t.Helper()
		var v visitOut
		mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, id), d, "", 200, &v)
		return v
	}
	move := func(id int64, pos int) (int, string, []byte) {
		t.Helper()
		res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, id), d,
			fmt.Sprintf(`{"technician_id":%d,"position":%d,"version":%d}`, tj, pos, get(id).Version))
		code := ""
		if res.StatusCode != 200 {
			code, _ = errorCode(t, b)
		}
		return res.StatusCode, code, b
	}
	r := route()
	if len(r) != 4 {
		t.Fatalf("Juan's route = %+v, want 4 visits", r)
	}
	first, p1, p2, free := r[0].ID, r[1].ID, r[2].ID, r[3].ID
	for _, id := range []int64{p1, p2} {
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/pin", ts.URL, id), d, fmt.Sprintf(`{"pinned":true,"version":%d}`, get(id).Version), 200, nil)
	}
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, first), juan, `{"status":"en_route"}`, 200, nil)

	if st, code, b := move(p2, 2); st != 409 || code != "breaks_pin" || !strings.Contains(string(b), fmt.Sprint(p1)) {
		t.Errorf("moving pinned visit %d before pinned %d = %d %s, want 409 breaks_pin naming %d", p2, p1, st, b, p1)
	}
	if st, code, b := move(p1, 4); st != 409 || code != "breaks_pin" || !strings.Contains(string(b), fmt.Sprint(p2)) {
		t.Errorf("moving pinned visit %d after pinned %d = %d %s, want 409 breaks_pin naming %d", p1, p2, st, b, p2)
	}
	if st, code, b := move(free, 1); st != 409 || code != "breaks_pin" || !strings.Contains(string(b), fmt.Sprint(first)) {
		t.Errorf("moving before the visit under way = %d %s, want 409 breaks_pin naming %d", st, b, first)
	}
	if st, _, b := move(free, 3); st != 200 {
		t.Fatalf("moving an unpinned visit between pinned ones = %d %s, want 200", st, b)
	}
	got := []int64{}
	for _, v := range route() {
		got = append(got, v.ID)
	}
	if want := []int64{first, p1, free, p2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("route after the move = %v, want %v", got, want)
	}
	if v := get(p2); !v.Pinned || v.TechnicianID == nil || *v.TechnicianID != tj {
		t.Errorf("pinned visit %d = %+v, want still pinned to Juan", p2, v)
	}
}

// TestPatchTechnicianReplans: Ana loses a skill, then is made inactive; each change re-plans
// her upcoming days at once, in the PATCH's transaction, and lists what happened.
func TestPatchTechnicianReplans(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	ana := createTech(t, ts, d, "Ana", 19.43, -99.13, `"fiber","satellite"`, "")
	at := func(h int) time.Time { return monday.Add(time.Duration(h) * time.Hour) }
	win := func(h int) string {
		return fmt.Sprintf(`{"start":%q,"end":%q}`, at(h).Format(time.RFC3339), at(h+2).Format(time.RFC3339))
	}
	book := func(skill string, h int) visitOut {
		v := createVisit(t, ts, a, createTicket(t, ts, a, 19.41, -99.15), fmt.Sprintf(`{"duration_min":30,"skills":[%q]}`, skill))
		var out visitOut
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, win(h), 200, &out)
		return out
	}
	v1, v2, sat := book("fiber", 10), book("fiber", 12), book("satellite", 14)
	beto := createTech(t, ts, d, "Beto", 19.44, -99.12, `"fiber"`, "")

	type patched struct {
		ID      int64
		Active  bool
		Version int
		Replan  *struct{ Moved, Unbooked, Kept []int64 }
	}
	var p patched
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, ana), d, `{"name":"Ana María","version":1}`, 200, &p)
	if p.Replan != nil {
		t.Errorf("renaming re-planned: %+v", p.Replan)
	}
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, ana), d, fmt.Sprintf(`{"skills":["fiber"],"version":%d}`, p.Version), 200, &p)
	if p.Replan == nil || fmt.Sprint(p.Replan.Kept) != fmt.Sprint([]int64{v1.ID, v2.ID}) ||
		fmt.Sprint(p.Replan.Unbooked) != fmt.Sprint([]int64{sat.ID}) || len(p.Replan.Moved) != 0 {
		t.Fatalf("dropping satellite re-planned %+v, want kept %d %d and unbooked %d", p.Replan, v1.ID, v2.ID, sat.ID)
	}
	var s visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, sat.ID), d, "", 200, &s)
	if s.Status != "unscheduled" || s.TechnicianID != nil || s.Window != nil {
		t.Errorf("satellite visit = %+v, want back to booking", s)
	}

	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, ana), d, fmt.Sprintf(`{"active":false,"version":%d}`, p.Version), 200, &p)
	if p.Active || p.Replan == nil || fmt.Sprint(p.Replan.Moved) != fmt.Sprint([]int64{v1.ID, v2.ID}) || len(p.Replan.Unbooked)+len(p.Replan.Kept) != 0 {
		t.Fatalf("deactivating re-planned %+v, want both fiber visits moved", p.Replan)
	}
	for _, v := range []visitOut{v1, v2} {
		var g visitOut
		mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), d, "", 200, &g)
		if g.TechnicianID == nil || *g.TechnicianID != beto || g.Window == nil || !g.Window.Start.Equal(v.Window.Start) ||
			g.PlannedStart.Before(v.Window.Start) || g.PlannedStart.After(v.Window.End) {
			t.Errorf("visit %d after Ana left = %+v, want with Beto within its promised window %v", v.ID, g, v.Window)
		}
		n := 0
		for _, typ := range timeline(t, ts, a, v.Folio) {
			if typ == "visit.rescheduled" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("visit %d has %d visit.rescheduled, want exactly one re-notification", v.ID, n)
		}
	}
	// A stale version changes nothing.
	if res, b := do(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, beto), d, `{"active":false,"version":99}`); res.StatusCode != 409 {
		t.Errorf("stale PATCH = %d %s, want 409", res.StatusCode, b)
	}
}

// TestControlsNeedVersion: assign, move, unassign and pin all name the version read: missing
// is 422 version, stale is 409 stale_version, and neither changes the visit.
func TestControlsNeedVersion(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	tech := createTech(t, ts, d, "Uno", 19.43, -99.13, `"fiber"`, "")
	v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40, -99.16), `{"duration_min":30,"skills":["fiber"]}`)
	var booked visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(slots(t, ts, a, v.ID)[0]), 200, &booked)
	controls := []struct{ path, body string }{
		{"assign", fmt.Sprintf(`"technician_id":%d`, tech)},
		{"move", fmt.Sprintf(`"technician_id":%d,"position":1`, tech)},
		{"unassign", ""},
		{"pin", `"pinned":true`},
	}
	for _, c := range controls {
		url := fmt.Sprintf("%s/api/visits/%d/%s", ts.URL, v.ID, c.path)
		res, b := do(t, "POST", url, d, "{"+c.body+"}")
		if code, f := errorCode(t, b); res.StatusCode != 422 || f != "version" {
			t.Errorf("%s without a version = %d %s %s, want 422 version", c.path, res.StatusCode, code, b)
		}
		sep := ","
		if c.body == "" {
			sep = ""
		}
		res, b = do(t, "POST", url, d, "{"+c.body+sep+fmt.Sprintf(`"version":%d`, booked.Version+7)+"}")
		if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "stale_version" {
			t.Errorf("%s with a stale version = %d %s, want 409 stale_version", c.path, res.StatusCode, b)
		}
	}
	var now visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, v.ID), d, "", 200, &now)
	if now.Version != booked.Version || now.Status != "booked" || now.Pinned {
		t.Errorf("after refused controls the visit = %+v, want unchanged %+v", now, booked)
	}
	// With the version read, unassign and pin work.
	var un visitOut
	mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/unassign", ts.URL, v.ID), d, fmt.Sprintf(`{"version":%d}`, booked.Version), 200, &un)
	if un.TechnicianID != nil || un.Version <= booked.Version {
		t.Errorf("unassigned = %+v, want no technician and a new version", un)
	}
	if res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/unassign", ts.URL, v.ID), d, ""); res.StatusCode != 422 {
		t.Errorf("unassign with no body = %d %s, want 422 version", res.StatusCode, b)
	}
}

// TestFinishedVisitsKeepTheirPlace: a technician's finished visit keeps its place at the
// head of his day; re-planning the rest (optimise) numbers them after it, so no two of his
// visits share a route position, and a move's position counts the finished visit too.
func TestFinishedVisitsKeepTheirPlace(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	d, a := tok[dispatch.RoleDispatcher], tok[dispatch.RoleAgent]
	juan := login(t, ts, users, "juan.pos@despacho.example.mx", dispatch.RoleTechnician)
	tj := createTechFor(t, ts, d, users, "juan.pos@despacho.example.mx", "Juan", 19.43, -99.13)
	var ids []int64
	for i := range 3 {
		v := createVisit(t, ts, a, createTicket(t, ts, a, 19.40+float64(i)*0.01, -99.16), `{"duration_min":60,"skills":["fiber"]}`)
		ss := slots(t, ts, a, v.ID)
		var b visitOut
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/book", ts.URL, v.ID), a, window(ss[2*i]), 200, &b)
		if b.TechnicianID == nil || *b.TechnicianID != tj {
			t.Fatalf("visit %d booked with %v, want Juan", v.ID, b.TechnicianID)
		}
		ids = append(ids, v.ID)
	}
	first := ids[0]
	for _, step := range []string{`{"status":"en_route"}`, `{"status":"on_site"}`,
		`{"status":"completed","cause":"Conector dañado","verdict":"upheld","service_restored":true}`} {
		mustJSON(t, "POST", fmt.Sprintf("%s/api/visits/%d/status", ts.URL, first), juan, step, 200, nil)
	}
	positions := func(stage string) map[int64]int {
		t.Helper()
		var out struct{ Items []visitOut }
		mustJSON(t, "GET", fmt.Sprintf("%s/api/visits?day=2026-11-30&technician=%d", ts.URL, tj), d, "", 200, &out)
		pos := map[int64]int{}
		seen := map[int]int64{}
		if len(out.Items) != 3 {
			t.Fatalf("%s: Juan's day lists %d visits, want 3", stage, len(out.Items))
		}
		for _, v := range out.Items {
			if v.Status == "cancelled" {
				continue
			}
			if other, dup := seen[v.RoutePosition]; dup {
				t.Errorf("%s: visits %d and %d both at position %d", stage, other, v.ID, v.RoutePosition)
			}
			seen[v.RoutePosition] = v.ID
			pos[v.ID] = v.RoutePosition
		}
		for p := 1; p <= len(pos); p++ {
			if _, ok := seen[p]; !ok {
				t.Errorf("%s: positions %v lack %d", stage, pos, p)
			}
		}
		return pos
	}
	if p := positions("after completing the first"); p[first] != 1 {
		t.Errorf("completed visit at %d, want 1", p[first])
	}
	mustJSON(t, "POST", ts.URL+"/api/plans/2026-11-30/optimize", d, `{"time_limit_s":0.5}`, 200, nil)
	if p := positions("after optimising"); p[first] != 1 {
		t.Errorf("completed visit at %d after optimising, want 1", p[first])
	}
	// Position 2 is the first place after the finished visit: the last visit moves there.
	var last visitOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/visits/%d", ts.URL, ids[2]), d, "", 200, &last)
	res, b := do(t, "POST", fmt.Sprintf("%s/api/visits/%d/move", ts.URL, ids[2]), d,
		fmt.Sprintf(`{"technician_id":%d,"position":2,"version":%d}`, tj, last.Version))
	if res.StatusCode == 200 {
		if p := positions("after moving"); p[ids[2]] != 2 {
			t.Errorf("moved visit at %d, want 2", p[ids[2]])
		}
	} else if code, _ := errorCode(t, b); code != "breaks_rule" {
		// Its promised window may forbid going first; then the refusal says so.
		t.Errorf("move to position 2 = %d %s, want 200 or a rule refusal", res.StatusCode, b)
	}
}
