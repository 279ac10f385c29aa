package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// FuzzJSONRoutes sends fuzzed JSON bodies to every route of the table that takes a body,
// as an admin (whom every access rule admits), with the path naming real records (a
// report, its visit, a technician), so that bodies reach the handlers' decoding,
// validation and stores. No body may produce a 500: bad input is a 4xx naming the problem.
// The route table drives it, so a new route is fuzzed the moment it is registered. The
// seeds (an empty object and a truncated one per route) run in every `make test`.
func FuzzJSONRoutes(f *testing.F) {
	db := dispatchtest.DB(f)
	now := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC) // 07:00 on a Monday in Mexico City
	s := web.New(web.Config{DB: db, Now: func() time.Time { return now }})
	ts := httptest.NewServer(s)
	f.Cleanup(ts.Close)

	users := postgres.NewUsers(db)
	admin := &dispatch.User{Email: "fuzz-admin@despacho.example.mx", Name: "Fuzz", Role: dispatch.RoleAdmin, PasswordHash: "unused", Active: true}
	if err := users.Create(context.Background(), admin); err != nil {
		f.Fatal(err)
	}
	token := "fuzz-admin-token"
	if err := users.CreateSession(context.Background(), token, admin.ID, time.Now().AddDate(1, 0, 0)); err != nil {
		f.Fatal(err)
	}
	send := func(method, url, body string) (int, []byte, error) {
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, b, err
	}
	create := func(url, body string, out any) {
		code, b, err := send("POST", ts.URL+url, body)
		if err != nil || code != http.StatusCreated {
			f.Fatalf("POST %s = %d %s %v", url, code, b, err)
		}
		if err := json.Unmarshal(b, out); err != nil {
			f.Fatal(err)
		}
	}
	var tech, rep, visit struct {
		ID    int64
		Folio string
	}
	create("/api/technicians", `{"name":"Ana","phone":"55 1234 0001","skills":["fiber"],"home":{"lat":19.43,"lon":-99.13},
		"shifts":[{"weekday":1,"start":"08:00","end":"18:00"}]}`, &tech)
	create("/api/tickets", `{"channel":"phone","kind":"fault","customer":{"name":"Rosa","phone":"55 8765 0001"},
		"address":{"line":"Calle 1, CDMX","lat":19.40,"lon":-99.16},"description":"Sin internet"}`, &rep)
	create("/api/tickets/"+rep.Folio+"/visits", `{"duration_min":60,"skills":["fiber"]}`, &visit)

	param := regexp.MustCompile(`\{[^}]+\}`)
	var routes []web.Route
	for _, rt := range s.Routes() {
		switch rt.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			continue
		}
		if rt.Pattern == "/api/logout" {
			continue // would end the session every input uses
		}
		routes = append(routes, rt)
	}
	path := func(rt web.Route) string {
		p := param.ReplaceAllStringFunc(rt.Pattern, func(p string) string {
			switch {
			case strings.Contains(p, "folio"):
				return rep.Folio
			case strings.Contains(p, "day"):
				return "2026-11-30"
			case strings.HasPrefix(rt.Pattern, "/api/technicians/"):
				return fmt.Sprint(tech.ID)
			case strings.HasPrefix(rt.Pattern, "/api/users/"):
				return "999999" // never the admin the inputs are sent as
			default:
				return fmt.Sprint(visit.ID)
			}
		})
		if strings.HasSuffix(p, "/") {
			p += "x"
		}
		return p
	}
	for i := range routes {
		f.Add(uint16(i), "{}")
		f.Add(uint16(i), `{"id":1,"window":{"start":"2026-11-30T16:00:00Z","end":`)
	}
	f.Fuzz(func(t *testing.T, route uint16, body string) {
		rt := routes[int(route)%len(routes)]
		code, b, err := send(rt.Method, ts.URL+path(rt), body)
		if err != nil {
			t.Fatal(err)
		}
		if code >= 500 && code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with %q = %d %s", rt.Method, rt.Pattern, body, code, b)
		}
	})
}
