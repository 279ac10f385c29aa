package web_test

import (
	"testing"

	"despacho/dispatch"
)

// TestJSONContentTypeCase: the media type is compared whole and regardless of case (RFC
// 9110). "Application/JSON" from a client was refused as not JSON (400), while
// "application/jsonp", another type, was read as JSON.
func TestJSONContentTypeCase(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	agent := tokens[dispatch.RoleAgent]
	body := `{"channel":"phone","kind":"inquiry","customer":{"name":"Rosa","phone":"55 4444 0001"},"subject":"Plan","description":"¿Qué planes hay?"}`
	for _, c := range []struct {
		ct   string
		want int
	}{
		{"application/json", 201},
		{"Application/JSON", 201},
		{"APPLICATION/JSON; charset=UTF-8", 201},
		{"application/json ; charset=utf-8", 201},
		{"application/jsonp", 400},
		{"application/json-seq", 400},
		{"text/plain", 400},
	} {
		res, b := do(t, "POST", ts.URL+"/api/tickets", agent, body, "Content-Type", c.ct)
		if res.StatusCode != c.want {
			t.Errorf("Content-Type %q: %d %s, want %d", c.ct, res.StatusCode, b, c.want)
			continue
		}
		if c.want == 400 {
			if code, _ := errorCode(t, b); code != "unsupported_media_type" {
				t.Errorf("Content-Type %q: code %q, want unsupported_media_type", c.ct, code)
			}
		}
	}
}
