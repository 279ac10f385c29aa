package web_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/web"
)

// TestWholeNumbersWrittenAsFloats: a whole number written with a fraction or an exponent
// (60.0, 6e1), as Python's json.dumps writes a float, is read as that whole number. It was
// 422 "must be a whole number" of a whole number. A number that is not whole, or out of the
// field's range, is still refused.
func TestWholeNumbersWrittenAsFloats(t *testing.T) {
	type doc struct {
		A int     `json:"a"`
		B []int   `json:"b"`
		C int8    `json:"c"`
		D *int64  `json:"d"`
		U uint    `json:"u"`
		F float64 `json:"f"`
	}
	for _, c := range []struct {
		body  string
		want  doc
		field string // "" when it decodes
	}{
		{`{"a":60.0,"b":[1,2.0,3e0],"c":-1.0,"d":1E3,"f":2.5}`, doc{A: 60, B: []int{1, 2, 3}, C: -1, F: 2.5}, ""},
		{`{"a":-0.0}`, doc{}, ""},
		{`{"a":60.5}`, doc{}, "a"},
		{`{"b":[1,2.25]}`, doc{}, "b[1]"},
		{`{"c":300.0}`, doc{}, "c"},
		{`{"u":-1.0}`, doc{}, "u"},
		{`{"a":1e300}`, doc{}, "a"},
	} {
		var v doc
		err := web.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(c.body)), &v)
		if c.field != "" {
			de, ok := err.(*dispatch.Error)
			if !ok || de.Kind != dispatch.KindInvalid || de.Field != c.field {
				t.Errorf("%s: %#v, want invalid naming %s", c.body, err, c.field)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v, want it read", c.body, err)
			continue
		}
		if v.D != nil {
			if *v.D != 1000 {
				t.Errorf("%s: d = %d, want 1000", c.body, *v.D)
			}
			v.D = nil
		}
		if v.A != c.want.A || v.C != c.want.C || v.F != c.want.F || len(v.B) != len(c.want.B) {
			t.Errorf("%s: %+v, want %+v", c.body, v, c.want)
		}
		for i := range c.want.B {
			if v.B[i] != c.want.B[i] {
				t.Errorf("%s: b = %v, want %v", c.body, v.B, c.want.B)
				break
			}
		}
	}

	// Through the API: a visit of 90.0 minutes, as a Python script computes 1.5 * 60.
	ts, tokens, _, _ := newDispatchServer(t)
	agent := tokens[dispatch.RoleAgent]
	folio := createTicket(t, ts, agent, 19.41, -99.11)
	var v struct {
		DurationMin int `json:"duration_min"`
	}
	mustJSON(t, "POST", ts.URL+"/api/tickets/"+folio+"/visits", agent, `{"duration_min":90.0}`, 201, &v)
	if v.DurationMin != 90 {
		t.Errorf("duration_min = %d, want 90", v.DurationMin)
	}
}
