package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// TestSLAPoliciesSaveOfAStaleReadIsRefused: two admins open the SLA policies (version 1);
// Ana shortens urgent faults and saves; Beto, still on what he read, changes the default
// and saves. His PUT replaced the whole set, so Ana's urgent rule was undone and nobody was
// told. Now a PUT that names the version it read (as the admin page does, in the body, or
// If-Match with the ETag) is 409 stale_version when another admin saved since, and
// nothing changes; one that names none still replaces the set.
func TestSLAPoliciesSaveOfAStaleReadIsRefused(t *testing.T) {
	t.Parallel()
	db := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: db}))
	t.Cleanup(ts.Close)
	users := postgres.NewUsers(db)
	createUser(t, users, "ana@example.mx", dispatch.RoleAdmin)
	createUser(t, users, "beto@example.mx", dispatch.RoleAdmin)
	ana, beto := staffToken(t, ts.URL, "ana@example.mx"), staffToken(t, ts.URL, "beto@example.mx")

	read := func(token string) map[string]any {
		t.Helper()
		res, b := do(t, "GET", ts.URL+"/api/sla/policies", token, "")
		var d map[string]any
		if res.StatusCode != 200 || json.Unmarshal(b, &d) != nil {
			t.Fatalf("GET = %d %s", res.StatusCode, b)
		}
		return d
	}
	first := read(ana)
	if first["version"] != float64(1) {
		t.Fatalf("GET version = %v, want 1", first["version"])
	}
	read(beto)

	anas := `{"version":1,"default":{"first_response":{"basis":"business_days","days":1},"resolution":{"basis":"business_days","days":5}},
		"rules":[{"kind":"fault","priority":"urgent","first_response":{"basis":"wall_clock","minutes":15},"resolution":{"basis":"wall_clock","minutes":120}}]}`
	res, b := do(t, "PUT", ts.URL+"/api/sla/policies", ana, anas)
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v2"` || !strings.Contains(string(b), `"version":2`) {
		t.Fatalf("Ana's PUT = %d %s %s, want 200 version 2", res.StatusCode, res.Header.Get("ETag"), b)
	}

	betos := `{"version":1,"default":{"first_response":{"basis":"business_days","days":2},"resolution":{"basis":"business_days","days":10}},"rules":[]}`
	res, b = do(t, "PUT", ts.URL+"/api/sla/policies", beto, betos)
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "stale_version" {
		t.Fatalf("Beto's PUT of version 1 = %d %s, want 409 stale_version", res.StatusCode, b)
	}
	res, b = do(t, "PUT", ts.URL+"/api/sla/policies", beto, strings.Replace(betos, `"version":1,`, "", 1), "If-Match", `"v1"`)
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "stale_version" {
		t.Fatalf("Beto's PUT with If-Match v1 = %d %s, want 409 stale_version", res.StatusCode, b)
	}
	now := read(ana)
	if now["version"] != float64(2) || len(now["rules"].([]any)) != 1 {
		t.Fatalf("after the refused saves: %v, want Ana's set, version 2", now)
	}

	// Having read again, Beto saves; a bad If-Match is 422; a PUT naming no version
	// replaces what is stored.
	res, b = do(t, "PUT", ts.URL+"/api/sla/policies", beto, strings.Replace(betos, `"version":1`, `"version":2`, 1))
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v3"` {
		t.Fatalf("Beto's PUT of version 2 = %d %s", res.StatusCode, b)
	}
	if res, b := do(t, "PUT", ts.URL+"/api/sla/policies", ana, anas, "If-Match", "tres"); res.StatusCode != 422 {
		t.Fatalf("PUT with If-Match tres = %d %s, want 422", res.StatusCode, b)
	}
	res, b = do(t, "PUT", ts.URL+"/api/sla/policies", ana, strings.Replace(anas, `"version":1,`, "", 1))
	if res.StatusCode != 200 || res.Header.Get("ETag") != `"v4"` {
		t.Fatalf("PUT without a version = %d %s, want 200 version 4", res.StatusCode, b)
	}
}
