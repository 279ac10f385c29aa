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

// TestJSONByteOrderMark: a JSON body after a UTF-8 byte order mark, which Windows tools
// (PowerShell, Notepad) write, is read as the document it is (RFC 8259 lets a reader ignore
// the mark). It was 400 "invalid character 'ï'".
func TestJSONByteOrderMark(t *testing.T) {
	ts, tokens, _, _ := newDispatchServer(t)
	body := "\uFEFF" + `{"channel":"phone","kind":"inquiry","customer":{"name":"Berta","phone":"55 4444 0004"},"description":"¿Cuál es mi plan?"}`
	res, b := do(t, "POST", ts.URL+"/api/tickets", tokens[dispatch.RoleAgent], body)
	if res.StatusCode != 201 {
		t.Fatalf("ticket after a BOM = %d %s, want 201", res.StatusCode, b)
	}
	// A second mark, or one inside, is still no JSON.
	res, b = do(t, "POST", ts.URL+"/api/tickets", tokens[dispatch.RoleAgent], "\uFEFF"+body)
	if res.StatusCode != 400 {
		t.Errorf("ticket after two BOMs = %d %s, want 400", res.StatusCode, b)
	}
}
