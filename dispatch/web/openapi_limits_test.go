package web_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPITellsLimits: the OpenAPI document the binary serves said neither that dates a
// year or more away are refused (422, dispatch.Horizon) nor that a 429 carries
// Retry-After. Now every documented 429 declares the Retry-After header, and every
// operation that checks a date against the horizon says so, as does the API's description.
func TestOpenAPITellsLimits(t *testing.T) {
	t.Parallel()
	ts, _, _ := newServer(t)
	res, b := do(t, "GET", ts.URL+"/api/openapi.json", "", "")
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/openapi.json = %d", res.StatusCode)
	}
	type response struct {
		Ref     string                     `json:"$ref"`
		Headers map[string]json.RawMessage `json:"headers"`
	}
	var doc struct {
		Info struct {
			Description string `json:"description"`
		} `json:"info"`
		Components struct {
			Responses map[string]response `json:"responses"`
		} `json:"components"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if d := doc.Info.Description; !strings.Contains(d, "Retry-After") || !strings.Contains(d, "more than a year") {
		t.Errorf("the API's description = %q, want it to tell of Retry-After and of the one-year horizon", d)
	}
	n429 := 0
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Description string              `json:"description"`
				Responses   map[string]response `json:"responses"`
			}
			if json.Unmarshal(raw, &op) != nil {
				continue // path-level parameters
			}
			r, ok := op.Responses["429"]
			if !ok {
				continue
			}
			n429++
			if name, found := strings.CutPrefix(r.Ref, "#/components/responses/"); found {
				r = doc.Components.Responses[name]
			}
			if _, ok := r.Headers["Retry-After"]; !ok {
				t.Errorf("%s %s: its 429 declares no Retry-After header", strings.ToUpper(method), path)
			}
		}
	}
	if n429 < 5 {
		t.Errorf("%d operations document a 429, want at least 5 (sign-in, the public form, the status page, the bookings)", n429)
	}
	for _, c := range []struct{ method, path string }{
		{"post", "/api/visits/{id}/book"}, {"post", "/api/visits/{id}/hold"}, {"get", "/api/visits/{id}/slots"},
		{"post", "/api/tickets/{folio}/visits"}, {"post", "/api/incidents/{id}/visits"},
		{"post", "/api/technicians/{id}/exceptions"}, {"post", "/api/technicians/{id}/unavailable"},
		{"post", "/public/reports/{folio}/book"},
	} {
		var op struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(doc.Paths[c.path][c.method], &op); err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
			continue
		}
		if !strings.Contains(op.Description, "more than a year from now") {
			t.Errorf("%s %s does not say that dates more than a year from now are refused: %q", strings.ToUpper(c.method), c.path, op.Description)
		}
	}
}
