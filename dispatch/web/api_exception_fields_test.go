package web_test

import (
	"fmt"
	"testing"

	"despacho/dispatch"
)

// TestExceptionErrorsNameTheFieldSent: POST /api/technicians/{id}/unavailable and
// /exceptions accept the span as start/end or as from/until; a refused value is named as
// the client sent it. A `from` a year away was answered 422 `start`, an `end` more than 14
// days after the start was answered `until`, and an `until` before the start `end`: a
// client that looked for the field it sent found none. A bound sent under both its names
// (start and from) was taken under one and the other dropped; it is refused, naming the alias.
func TestExceptionErrorsNameTheFieldSent(t *testing.T) {
	t.Parallel()
	ts, tok, _, _ := newDispatchServer(t)
	d := tok[dispatch.RoleDispatcher]
	tech := createTech(t, ts, d, "Campos", 19.40, -99.10, `"fiber"`, "")
	unavailable := fmt.Sprintf("/api/technicians/%d/unavailable", tech)
	exceptions := fmt.Sprintf("/api/technicians/%d/exceptions", tech)

	for _, c := range []struct{ name, path, body, field string }{
		{"unavailable from years away", unavailable,
			`{"from":"2062-12-04T08:00:00-06:00","until":"2062-12-04T18:00:00-06:00"}`, "from"},
		{"unavailable start years away", unavailable,
			`{"start":"2062-12-04T08:00:00-06:00","end":"2062-12-04T18:00:00-06:00"}`, "start"},
		{"unavailable until before from", unavailable,
			`{"from":"2026-12-04T18:00:00-06:00","until":"2026-12-04T08:00:00-06:00"}`, "until"},
		{"unavailable end before start", unavailable,
			`{"start":"2026-12-04T18:00:00-06:00","end":"2026-12-04T08:00:00-06:00"}`, "end"},
		{"unavailable until alone in the past", unavailable,
			`{"until":"2026-01-04T08:00:00-06:00"}`, "until"},
		{"unavailable end alone in the past", unavailable,
			`{"end":"2026-01-04T08:00:00-06:00"}`, "end"},
		{"unavailable without its end", unavailable, `{"from":"2026-12-04T08:00:00-06:00"}`, "until"},
		{"unavailable over 14 days by until", unavailable,
			`{"from":"2026-12-01T08:00:00-06:00","until":"2026-12-20T08:00:00-06:00"}`, "until"},
		{"unavailable over 14 days by end", unavailable,
			`{"start":"2026-12-01T08:00:00-06:00","end":"2026-12-20T08:00:00-06:00"}`, "end"},
		{"unavailable with a bad reason", unavailable,
			`{"from":"2026-12-01T08:00:00-06:00","until":"2026-12-01T18:00:00-06:00","reason":"bored"}`, "reason"},
		{"unavailable with a NUL in its note", unavailable,
			`{"from":"2026-12-01T08:00:00-06:00","until":"2026-12-01T18:00:00-06:00","note":"a\u0000b"}`, "note"},
		{"unavailable with a from that is no time", unavailable, `{"from":"mañana","until":"2026-12-01T18:00:00-06:00"}`, "from"},
		{"exception from years away", exceptions,
			`{"from":"2062-12-04T08:00:00-06:00","until":"2062-12-04T18:00:00-06:00"}`, "from"},
		{"exception start years away", exceptions,
			`{"start":"2062-12-04T08:00:00-06:00","end":"2062-12-04T18:00:00-06:00"}`, "start"},
		{"exception until over a year after from", exceptions,
			`{"from":"2026-12-01T08:00:00-06:00","until":"2028-12-01T08:00:00-06:00"}`, "until"},
		{"exception until before from", exceptions,
			`{"from":"2026-12-04T18:00:00-06:00","until":"2026-12-04T08:00:00-06:00"}`, "until"},
		{"exception without a start", exceptions, `{"end":"2026-12-04T18:00:00-06:00"}`, "start"},
		{"exception with until and no from", exceptions, `{"until":"2026-12-04T18:00:00-06:00"}`, "from"},
		// A bound under both its names: one would be dropped without a word.
		{"unavailable with start and from", unavailable,
			`{"start":"2026-12-04T08:00:00-06:00","from":"2026-12-05T08:00:00-06:00","until":"2026-12-05T18:00:00-06:00"}`, "from"},
		{"exception with end and until", exceptions,
			`{"start":"2026-12-04T08:00:00-06:00","end":"2026-12-04T18:00:00-06:00","until":"2026-12-05T18:00:00-06:00"}`, "until"},
	} {
		res, b := do(t, "POST", ts.URL+c.path, d, c.body)
		if res.StatusCode != 422 {
			t.Errorf("%s: %s = %d %s, want 422 %s", c.name, c.body, res.StatusCode, b, c.field)
			continue
		}
		if code, field := errorCode(t, b); field != c.field || code != "invalid_"+c.field {
			t.Errorf("%s: %s = %s %q, want invalid_%s %q", c.name, c.body, code, field, c.field, c.field)
		}
	}

	// Nothing was recorded; well-formed spans under either name still go through.
	var got struct{ Exceptions []dispatch.Exception }
	mustJSON(t, "GET", ts.URL+exceptions+"?from=2026-01-01&to=2027-01-01", d, "", 200, &got)
	if len(got.Exceptions) != 0 {
		t.Fatalf("exceptions after the refusals = %+v, want none", got.Exceptions)
	}
	mustJSON(t, "POST", ts.URL+unavailable, d, `{"from":"2026-12-01T08:00:00-06:00","until":"2026-12-01T18:00:00-06:00"}`, 200, nil)
	mustJSON(t, "POST", ts.URL+exceptions, d, `{"start":"2026-12-02T08:00:00-06:00","end":"2026-12-02T18:00:00-06:00","reason":"sick"}`, 201, nil)
}
