package web_test

import (
	"testing"

	"despacho/dispatch"
)

// TestNULInLookups: a NUL in what is looked up (a sign-in's e-mail, the incidents'
// access_point filter) is answered as any other unknown or invalid value: 401 for the
// sign-in, 422 naming access_point for the filter. PostgreSQL cannot take a NUL in text,
// and each was a 500.
func TestNULInLookups(t *testing.T) {
	ts, tokens, users, _ := newDispatchServer(t)
	createUser(t, users, "nul@example.mx", dispatch.RoleAgent)
	res, b := do(t, "POST", ts.URL+"/api/login", "", `{"email":"nul@example.mx\u0000","password":"contraseña-segura"}`)
	if res.StatusCode != 401 {
		t.Errorf("sign-in with a NUL in the e-mail = %d %s, want 401", res.StatusCode, b)
	}
	res, b = do(t, "GET", ts.URL+"/api/incidents?access_point=AP%00X", tokens[dispatch.RoleDispatcher], "")
	if res.StatusCode != 422 {
		t.Fatalf("incidents?access_point with a NUL = %d %s, want 422", res.StatusCode, b)
	}
	if _, field := errorCode(t, b); field != "access_point" {
		t.Errorf("incidents?access_point with a NUL: field %q, want access_point", field)
	}
	mustJSON(t, "GET", ts.URL+"/api/incidents?access_point=AP-NORTE-01", tokens[dispatch.RoleDispatcher], "", 200, nil)
}
