package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/web"
)

// TestTypeErrorsNameTheArrayElement: a value of the wrong JSON type inside an array is 422
// naming the element by its index ("shifts[1].weekday"), as the rules' own errors name it.
// encoding/json drops the index, so the field was "shifts.weekday": with a week of shifts,
// the client could not tell which one.
func TestTypeErrorsNameTheArrayElement(t *testing.T) {
	type shift struct {
		Weekday int    `json:"weekday"`
		Start   string `json:"start"`
	}
	type doc struct {
		Skills []string          `json:"skills"`
		Shifts []shift           `json:"shifts"`
		Grid   [][]float64       `json:"grid"`
		ByDay  map[string]*shift `json:"by_day"`
		Count  int8              `json:"count"`
	}
	for _, c := range []struct{ body, field string }{
		{`{"skills":["fiber",2]}`, "skills[1]"},
		{`{"shifts":[{"weekday":1},{"weekday":"2"}]}`, "shifts[1].weekday"},
		{`{"shifts":[{"weekday":1},{"weekday":2.5}]}`, "shifts[1].weekday"},
		{`{"shifts":[{"weekday":1,"start":"09:00"},{"weekday":2,"start":9}]}`, "shifts[1].start"},
		{`{"grid":[[1,2],[3,"x"]]}`, "grid[1][1]"},
		{`{"by_day":{"lunes":{"weekday":"1"}}}`, "by_day.lunes.weekday"},
		{`{"SHIFTS":[{"weekday":1},{"Weekday":true}]}`, "SHIFTS[1].Weekday"},
		{`{"count":300}`, "count"},
		{`{"skills":"fiber"}`, "skills"},
	} {
		var v doc
		err := web.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(c.body)), &v)
		de, ok := err.(*dispatch.Error)
		if !ok || de.Kind != dispatch.KindInvalid || de.Field != c.field {
			t.Errorf("%s: %#v, want invalid naming %s", c.body, err, c.field)
		}
	}

	// Through the API: a technician's third shift with a weekday in quotes.
	ts, tokens, _, _ := newDispatchServer(t)
	res, b := do(t, "POST", ts.URL+"/api/technicians", tokens[dispatch.RoleDispatcher],
		`{"name":"Tere","phone":"55 3333 0002","skills":["fiber"],"home":{"lat":19.4,"lon":-99.1},
		"shifts":[{"weekday":1,"start":"09:00","end":"18:00"},{"weekday":2,"start":"09:00","end":"18:00"},{"weekday":"3","start":"09:00","end":"18:00"}]}`)
	if res.StatusCode != 422 {
		t.Fatalf("technician = %d %s, want 422", res.StatusCode, b)
	}
	if _, field := errorCode(t, b); field != "shifts[2].weekday" {
		t.Errorf("technician: field %q, want shifts[2].weekday", field)
	}
}
