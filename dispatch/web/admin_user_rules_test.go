package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"despacho/dispatch"
)

// TestAdminUserEmailRule: the admin API took a@b, which the customer rule (NormalizeEmail)
// refuses; every e-mail now holds that one rule (422 naming "email"). Sign-in looks an
// address up as it is stored and refuses none: a user stored under a@b before the rule
// still signs in, and can still be renamed, given a new password and deactivated.
func TestAdminUserEmailRule(t *testing.T) {
	t.Parallel()
	ts, _, users, _ := newDispatchServer(t)
	admin := login(t, ts, users, "jefa@despacho.example.mx", dispatch.RoleAdmin)
	for _, email := range []string{"a@b", "luis@localhost", "Luis <luis@example.mx>", strings.Repeat("l", 250) + "@example.mx"} {
		body := fmt.Sprintf(`{"email":%q,"name":"Luis","role":"agent","password":"una-contraseña-larga"}`, email)
		res, b := do(t, "POST", ts.URL+"/api/users", admin, body)
		if _, field := errorCode(t, b); res.StatusCode != 422 || field != "email" {
			t.Errorf("create with e-mail %q = %d %s, want 422 field email", email, res.StatusCode, b)
		}
	}

	// Created with any case and spaces around, found by sign-in in any case.
	mustJSON(t, "POST", ts.URL+"/api/users", admin, `{"email":"  Élia.Ruiz@Example.MX ","name":"Élia","role":"agent","password":"una-contraseña-larga"}`, 201, nil)
	mustJSON(t, "POST", ts.URL+"/api/login", "", `{"email":"ÉLIA.RUIZ@example.mx ","password":"una-contraseña-larga"}`, 200, nil)

	// Stored by an earlier release, whose NewUser took a@b.
	hash, err := dispatch.HashPassword("una-contraseña-larga")
	if err != nil {
		t.Fatal(err)
	}
	old := &dispatch.User{Email: "viejo@intranet", Name: "Viejo", Role: dispatch.RoleAgent, PasswordHash: hash, Active: true}
	if err := users.Create(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	var lr struct {
		Token string
		User  struct{ Email string }
	}
	mustJSON(t, "POST", ts.URL+"/api/login", "", `{"email":" Viejo@INTRANET","password":"una-contraseña-larga"}`, 200, &lr)
	if lr.User.Email != "viejo@intranet" {
		t.Errorf("signed in as %q, want viejo@intranet", lr.User.Email)
	}
	if res, b := do(t, "POST", ts.URL+"/api/login", "", `{"email":"nadie@intranet","password":"una-contraseña-larga"}`); res.StatusCode != 401 {
		t.Errorf("sign-in of an unknown address outside the rule = %d %s, want 401 as any unknown address", res.StatusCode, b)
	}
	url := fmt.Sprintf("%s/api/users/%d", ts.URL, old.ID)
	var got userOut
	mustJSON(t, "PATCH", url, admin, `{"name":"Viejo Conocido","role":"dispatcher"}`, 200, &got)
	if got.Email != "viejo@intranet" || got.Name != "Viejo Conocido" || got.Role != "dispatcher" {
		t.Errorf("legacy user after a change = %+v", got)
	}
	mustJSON(t, "PATCH", url, admin, `{"active":false}`, 200, nil)
}

// TestAdminUserNameRule: a name given by PATCH was only trimmed and held to 200 bytes, so
// it could carry control characters or a line break that creation should refuse, and a
// name of 200 characters with accents was refused; create and change now hold the same rule
// (dispatch.UserName), 422 naming "name", and a refused change changes nothing.
func TestAdminUserNameRule(t *testing.T) {
	t.Parallel()
	ts, _, users, _ := newDispatchServer(t)
	admin := login(t, ts, users, "jefa@despacho.example.mx", dispatch.RoleAdmin)
	login(t, ts, users, "luis@despacho.example.mx", dispatch.RoleAgent)
	url := fmt.Sprintf("%s/api/users/%d", ts.URL, userID(t, users, "luis@despacho.example.mx"))
	for _, name := range []string{"", "   ", "Luis\x1b[2J", "Luis\nBorrar", "Luis\tGómez", "Luis\u2028Gómez", "Luis\u0000", strings.Repeat("ñ", 201)} {
		for _, c := range []struct{ method, url, body string }{
			{"PATCH", url, `{"name":` + jsonString(t, name) + `,"role":"dispatcher"}`},
			{"POST", ts.URL + "/api/users", `{"email":"otro@example.mx","name":` + jsonString(t, name) + `,"role":"agent","password":"una-contraseña-larga"}`},
		} {
			res, b := do(t, c.method, c.url, admin, c.body)
			if _, field := errorCode(t, b); res.StatusCode != 422 || field != "name" {
				t.Errorf("%s with name %q = %d %s, want 422 field name", c.method, name, res.StatusCode, b)
			}
		}
	}
	u, err := users.ByEmail(context.Background(), "luis@despacho.example.mx")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Test agent" || u.Role != dispatch.RoleAgent {
		t.Errorf("after the refused changes: %q, %s; want the user as he was", u.Name, u.Role)
	}
	long := strings.Repeat("ñ", 200) // 200 characters, 400 bytes
	var got userOut
	mustJSON(t, "PATCH", url, admin, fmt.Sprintf(`{"name":%q}`, "  "+long+" "), 200, &got)
	if got.Name != long {
		t.Errorf("name after a change of 200 characters = %q, want it trimmed", got.Name)
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdminRoleOfLinkedTechnician: an admin gave the account of a technician linked to a
// technician record another role. The record stayed linked to an account that may no
// longer open the technician's page: his route, steps and position were reachable by
// nobody, and the link could not be made again as it was (only a technician's account may
// be linked). Now 409 technician_linked while the record is linked; unlinked, the role
// changes.
func TestAdminRoleOfLinkedTechnician(t *testing.T) {
	t.Parallel()
	ts, tok, users, _ := newDispatchServer(t)
	admin := login(t, ts, users, "jefa@despacho.example.mx", dispatch.RoleAdmin)
	login(t, ts, users, "juan@despacho.example.mx", dispatch.RoleTechnician)
	juan := userID(t, users, "juan@despacho.example.mx")
	tech := createTech(t, ts, tok[dispatch.RoleDispatcher], "Juan", 19.43, -99.13, `"fiber"`, fmt.Sprintf(`,"user_id":%d`, juan))
	url := fmt.Sprintf("%s/api/users/%d", ts.URL, juan)
	res, b := do(t, "PATCH", url, admin, `{"role":"dispatcher"}`)
	if code, _ := errorCode(t, b); res.StatusCode != 409 || code != "technician_linked" {
		t.Fatalf("role of a linked technician's account = %d %s, want 409 technician_linked", res.StatusCode, b)
	}
	var got userOut
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, tech), tok[dispatch.RoleDispatcher], "", 200, nil)
	// Renaming him or resetting his password is not a change of role.
	mustJSON(t, "PATCH", url, admin, `{"name":"Juan Pérez"}`, 200, &got)
	if got.Role != "technician" {
		t.Errorf("after a rename, role %q, want technician", got.Role)
	}
	var rec struct{ Version int }
	mustJSON(t, "GET", fmt.Sprintf("%s/api/technicians/%d", ts.URL, tech), tok[dispatch.RoleDispatcher], "", 200, &rec)
	mustJSON(t, "PATCH", fmt.Sprintf("%s/api/technicians/%d", ts.URL, tech), tok[dispatch.RoleDispatcher], fmt.Sprintf(`{"user_id":0,"version":%d}`, rec.Version), 200, nil)
	mustJSON(t, "PATCH", url, admin, `{"role":"dispatcher"}`, 200, &got)
	if got.Role != "dispatcher" {
		t.Errorf("after unlinking, role %q, want dispatcher", got.Role)
	}
}
