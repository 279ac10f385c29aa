package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// calendarWeek is the default week as a calendar document writes it.
const calendarWeek = `{"monday":[{"open":"09:00","close":"18:00"}],"tuesday":[{"open":"09:00","close":"18:00"}],
	"wednesday":[{"open":"09:00","close":"18:00"}],"thursday":[{"open":"09:00","close":"18:00"}],
	"friday":[{"open":"09:00","close":"18:00"}],"saturday":[{"open":"09:00","close":"15:00"}],"sunday":[]}`

type calendarJSON struct {
	Version  int64  `json:"version"`
	TimeZone string `json:"time_zone"`
	Year     int    `json:"year"`
	Week     map[string][]struct {
		Open, Close string
	} `json:"week"`
	Exceptions []struct {
		Date, Name string
		Closed     bool
	} `json:"exceptions"`
	Closures []struct {
		Date, Name, Source, Replaces string
		Closed                       bool
		Hours                        []struct{ Open, Close string }
	} `json:"closures"`
}

// calendarServer starts the API on a fresh database at clock's time, with an admin, an
// agent and a dispatcher signed in.
func calendarServer(t *testing.T, c *clock) (*httptest.Server, map[dispatch.Role]string, *postgres.Users) {
	t.Helper()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db, Now: c.Now}))
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	tokens := map[dispatch.Role]string{}
	for _, r := range []dispatch.Role{dispatch.RoleAdmin, dispatch.RoleAgent, dispatch.RoleDispatcher} {
		// Sessions made directly in the store, as login does, lasting past the clock's date.
		u := &dispatch.User{Email: string(r) + "@despacho.example.mx", Name: "Test " + string(r), Role: r, PasswordHash: "unused", Active: true}
		if err := users.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		tokens[r] = "calendar-" + string(r)
		if err := users.CreateSession(context.Background(), tokens[r], u.ID, c.Now().AddDate(1, 0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	return ts, tokens, users
}

// TestCalendarAPI: desk roles read the calendar (seeded with the configured one, the
// year's statutory holidays listed by name); only an admin replaces it, naming the version
// read. A 1-business-day inquiry filed on the eve of a closure added then is due when the
// day after the closure ends, while one filed before keeps its due time; the desk's view of
// each, as the clock passes the first one's deadline, agrees with its stored due time.
func TestCalendarAPI(t *testing.T) {
	t.Parallel()
	eve := time.Date(2027, 12, 22, 10, 0, 0, 0, mx) // Wednesday; Thursday 23 will be closed
	c := &clock{t: eve}
	ts, tok, _ := calendarServer(t, c)
	admin, agent := tok[dispatch.RoleAdmin], tok[dispatch.RoleAgent]

	var cal calendarJSON
	mustJSON(t, "GET", ts.URL+"/api/calendar", agent, "", 200, &cal)
	if cal.Version != 1 || cal.TimeZone != "America/Mexico_City" || cal.Year != 2027 || len(cal.Week["monday"]) != 1 ||
		cal.Week["monday"][0].Open != "09:00" || cal.Week["saturday"][0].Close != "15:00" || len(cal.Week["sunday"]) != 0 || len(cal.Exceptions) != 0 {
		t.Fatalf("seeded calendar = %+v; want version 1, the configured week, no exceptions, 2027", cal)
	}
	if n := len(cal.Closures); n != 7 || cal.Closures[6].Date != "2027-12-25" || cal.Closures[6].Name != "Navidad" || cal.Closures[6].Source != "statutory" || !cal.Closures[6].Closed {
		t.Fatalf("closures of 2027 = %+v; want the 7 statutory holidays ending with Navidad", cal.Closures)
	}
	mustJSON(t, "GET", ts.URL+"/api/calendar?year=2030", tok[dispatch.RoleDispatcher], "", 200, &cal)
	if cal.Year != 2030 || len(cal.Closures) != 8 || cal.Closures[5].Date != "2030-10-01" {
		t.Fatalf("closures of 2030 = %+v; want 8, with the change of federal executive on 1 October", cal.Closures)
	}

	inquiry := `{"channel":"phone","kind":"inquiry","customer":{"name":"Ana","phone":"55 1111 2222"},"description":"¿Qué planes hay?"}`
	thursdayClose, fridayClose := time.Date(2027, 12, 23, 18, 0, 0, 0, mx), time.Date(2027, 12, 24, 18, 0, 0, 0, mx)
	before := decodeTicket(t, post(t, ts.URL+"/api/tickets", agent, inquiry, 201))
	if got := parseTime(t, before.DueAt); !got.Equal(thursdayClose) {
		t.Fatalf("inquiry filed Wednesday 10:00 due %v; want Thursday 18:00", got)
	}

	closure := `{"version":1,"week":` + calendarWeek + `,"exceptions":[
		{"date":"2027-12-23","name":"Cierre de fin de año","closed":true},
		{"date":"2027-02-01","name":"Abrimos medio día","hours":[{"open":"09:00","close":"13:00"}]}]}`
	if res, _ := do(t, "PUT", ts.URL+"/api/calendar", agent, closure); res.StatusCode != 403 {
		t.Fatalf("PUT as agent = %d, want 403", res.StatusCode)
	}
	if res, _ := do(t, "PUT", ts.URL+"/api/calendar", tok[dispatch.RoleDispatcher], closure); res.StatusCode != 403 {
		t.Fatalf("PUT as dispatcher = %d, want 403", res.StatusCode)
	}
	for _, m := range []string{"GET", "PUT"} {
		if res, b := do(t, m, ts.URL+"/api/calendar", "", closure); res.StatusCode != 401 {
			t.Fatalf("%s anonymous = %d %s, want 401", m, res.StatusCode, b)
		}
	}
	mustJSON(t, "PUT", ts.URL+"/api/calendar?year=2027", admin, closure, 200, &cal)
	if cal.Version != 2 || len(cal.Exceptions) != 2 || cal.Exceptions[0].Date != "2027-02-01" {
		t.Fatalf("after PUT: %+v; want version 2, exceptions in date order", cal)
	}
	var feb, dec23 bool
	for _, cl := range cal.Closures {
		switch cl.Date {
		case "2027-02-01":
			feb = cl.Source == "exception" && cl.Replaces == "Día de la Constitución" && !cl.Closed && len(cl.Hours) == 1 && cl.Hours[0].Close == "13:00"
		case "2027-12-23":
			dec23 = cl.Source == "exception" && cl.Name == "Cierre de fin de año" && cl.Closed
		}
	}
	if !feb || !dec23 || len(cal.Closures) != 8 {
		t.Fatalf("closures after PUT = %+v; want the closure, and 1 February replaced by the half day", cal.Closures)
	}

	after := decodeTicket(t, post(t, ts.URL+"/api/tickets", agent, inquiry, 201))
	if got := parseTime(t, after.DueAt); !got.Equal(fridayClose) {
		t.Fatalf("inquiry filed after the closure was added due %v; want Friday 24 December 18:00", got)
	}
	// Past Thursday's close: the one filed before is late, the other is not, each as its
	// stored due time says.
	c.Set(thursdayClose.Add(30 * time.Minute))
	for _, x := range []struct {
		folio, due string
		state      string
	}{{before.Folio, *before.DueAt, "breached"}, {after.Folio, *after.DueAt, "ok"}} {
		_, b := do(t, "GET", ts.URL+"/api/tickets/"+x.folio, agent, "")
		got := decodeTicket(t, b)
		if *got.DueAt != x.due || got.SLAState != x.state || got.SLA.Resolution.State != x.state {
			t.Errorf("desk view of %s at Thursday 18:30: due %s, state %s / %s; want due %s, %s", x.folio, *got.DueAt, got.SLAState, got.SLA.Resolution.State, x.due, x.state)
		}
	}
	var list struct {
		Items []struct {
			Folio    string
			SLAState string `json:"sla_state"`
		}
	}
	mustJSON(t, "GET", ts.URL+"/api/tickets", agent, "", 200, &list)
	for _, it := range list.Items {
		if want := map[string]string{before.Folio: "breached", after.Folio: "ok"}[it.Folio]; it.SLAState != want {
			t.Errorf("list: %s is %s; want %s", it.Folio, it.SLAState, want)
		}
	}
}

// TestCalendarRefusals: every bad calendar is refused with 4xx and the contract's error
// naming the field, and nothing is stored: the version stays 1.
func TestCalendarRefusals(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2027, 6, 1, 10, 0, 0, 0, mx)}
	ts, tok, _ := calendarServer(t, c)
	admin := tok[dispatch.RoleAdmin]
	week := func(monday string) string {
		return strings.Replace(calendarWeek, `"monday":[{"open":"09:00","close":"18:00"}]`, `"monday":[`+monday+`]`, 1)
	}
	doc := func(week, exceptions string) string {
		return `{"version":1,"week":` + week + `,"exceptions":[` + exceptions + `]}`
	}
	closed := func(date, name string) string { return `{"date":"` + date + `","name":"` + name + `","closed":true}` }
	var many []string
	for i := range 401 {
		many = append(many, closed(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly), "x"))
	}
	tests := []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"25:00", doc(week(`{"open":"09:00","close":"25:00"}`), ""), 422, "", "week.monday[0].close"},
		{"9am", doc(week(`{"open":"9am","close":"18:00"}`), ""), 422, "", "week.monday[0].open"},
		{"close before open", doc(week(`{"open":"18:00","close":"09:00"}`), ""), 422, "", "week.monday[0].close"},
		{"overlapping", doc(week(`{"open":"09:00","close":"14:00"},{"open":"13:00","close":"18:00"}`), ""), 422, "", "week.monday[1]"},
		{"never open", doc(`{"monday":[],"tuesday":[],"wednesday":[],"thursday":[],"friday":[],"saturday":[],"sunday":[]}`, ""), 422, "", "week"},
		{"missing day", `{"version":1,"week":{"monday":[]},"exceptions":[]}`, 422, "", "week.tuesday"},
		{"30 February", doc(calendarWeek, closed("2027-02-30", "Nunca")), 422, "", "exceptions[0].date"},
		{"same date twice", doc(calendarWeek, closed("2027-12-24", "Uno")+","+closed("2027-12-24", "Otro")), 422, "", "exceptions[1].date"},
		{"empty name", doc(calendarWeek, closed("2027-12-24", " ")), 422, "", "exceptions[0].name"},
		{"long name", doc(calendarWeek, closed("2027-12-24", strings.Repeat("a", 101))), 422, "", "exceptions[0].name"},
		{"closed with hours", doc(calendarWeek, `{"date":"2027-12-24","name":"x","closed":true,"hours":[{"open":"09:00","close":"12:00"}]}`), 422, "", "exceptions[0].hours"},
		{"too many", doc(calendarWeek, strings.Join(many, ",")), 422, "", "exceptions"},
		{"unknown field", `{"version":1,"weeks":` + calendarWeek + `,"exceptions":[]}`, 422, "unknown_field", "weeks"},
		{"unknown nested field", doc(calendarWeek, `{"date":"2027-12-24","name":"x","closed":true,"note":"y"}`), 422, "unknown_field", "note"},
		{"other zone", `{"version":1,"time_zone":"America/Tijuana","week":` + calendarWeek + `,"exceptions":[]}`, 422, "", "time_zone"},
		{"version 0", `{"version":0,"week":` + calendarWeek + `,"exceptions":[]}`, 422, "", "version"},
		{"no version", `{"week":` + calendarWeek + `,"exceptions":[]}`, 409, "version_required", "version"},
		{"stale version", `{"version":7,"week":` + calendarWeek + `,"exceptions":[]}`, 409, "stale_version", ""},
		{"wrong type", `{"version":1,"week":` + calendarWeek + `,"exceptions":{}}`, 422, "", "exceptions"},
		{"malformed", `{"version":1,"week":`, 400, "malformed", ""},
	}
	for _, tt := range tests {
		res, b := do(t, "PUT", ts.URL+"/api/calendar", admin, tt.body)
		code, field := errorCode(t, b)
		if res.StatusCode != tt.status || field != tt.field || (tt.code != "" && code != tt.code) {
			t.Errorf("%s: %d %s on %q; want %d %s on %q (%s)", tt.name, res.StatusCode, code, field, tt.status, tt.code, tt.field, b)
		}
	}
	if res, b := do(t, "GET", ts.URL+"/api/calendar?year=20x7", admin, ""); res.StatusCode != 422 {
		t.Errorf("GET ?year=20x7 = %d %s, want 422", res.StatusCode, b)
	}
	var cal calendarJSON
	mustJSON(t, "GET", ts.URL+"/api/calendar", admin, "", 200, &cal)
	if cal.Version != 1 || len(cal.Exceptions) != 0 {
		t.Fatalf("after the refusals: version %d, %d exceptions; want nothing stored", cal.Version, len(cal.Exceptions))
	}
	// What GET answered may be sent back as it is, with the version: it is stored again.
	res, b := do(t, "GET", ts.URL+"/api/calendar", admin, "")
	if res.StatusCode != 200 {
		t.Fatal(res.StatusCode)
	}
	mustJSON(t, "PUT", ts.URL+"/api/calendar", admin, string(b), 200, &cal)
	if cal.Version != 2 {
		t.Fatalf("the GET answer sent back: version %d, want 2", cal.Version)
	}
}
