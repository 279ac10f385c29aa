package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/web"
)

// TestAuthorizationMatrix walks the whole route table: every route × every staff role and
// an anonymous caller. A caller the route's access rule excludes must get 401 (anonymous)
// or 403 (wrong role); a caller it admits must get past the guard (anything but 401/403,
// which the handler may still answer for its own reasons, e.g. a technician's visit of
// someone else). No request built from junk input may produce a 500, and every refusal of an
// API route is the contract's JSON error. A new route is covered the moment it is registered.
func TestAuthorizationMatrix(t *testing.T) {
	ts, s, users := newServer(t)
	roles := []dispatch.Role{dispatch.RoleAdmin, dispatch.RoleDispatcher, dispatch.RoleAgent, dispatch.RoleTechnician}
	tokens := map[dispatch.Role]string{}
	for _, r := range roles {
		email := string(r) + "@authz.example.mx"
		createUser(t, users, email, r)
		res, b := do(t, "POST", ts.URL+"/api/login", "", `{"email":"`+email+`","password":"contraseña-segura"}`)
		if res.StatusCode != 200 {
			t.Fatalf("login %s: %d %s", r, res.StatusCode, b)
		}
		var lr struct{ Token string }
		_ = json.Unmarshal(b, &lr)
		tokens[r] = lr.Token
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, rt := range s.Routes() {
		if rt.Pattern == "/api/logout" {
			continue // would end the session the other rows use
		}
		path := param.ReplaceAllStringFunc(rt.Pattern, func(p string) string {
			switch {
			case strings.Contains(p, "folio"):
				return "R-2026-999999"
			case strings.Contains(p, "day"):
				return "2026-11-30"
			default:
				return "999999"
			}
		})
		path = strings.TrimSuffix(path, "/")
		if strings.HasSuffix(rt.Pattern, "/") {
			path += "/x"
		}
		callers := append([]dispatch.Role{""}, roles...)
		for _, role := range callers {
			name := fmt.Sprintf("%s %s as %s", rt.Method, rt.Pattern, orAnon(role))
			body := ""
			if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
				body = "{}"
			}
			res, b := do(t, rt.Method, ts.URL+path, tokens[role], body)
			if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("%s: %d %s", name, res.StatusCode, b)
				continue
			}
			if res.StatusCode >= 400 && (strings.HasPrefix(rt.Pattern, "/api/") || strings.HasPrefix(rt.Pattern, "/public/")) {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
					t.Errorf("%s: %d %q is not the contract's JSON error", name, res.StatusCode, b)
				}
			}
			admitted := rt.Access.Public || (role != "" && allowedRole(rt.Access, role))
			switch {
			case !admitted && role == "" && res.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s: %d, want 401", name, res.StatusCode)
			case !admitted && role != "" && res.StatusCode != http.StatusForbidden:
				t.Errorf("%s: %d, want 403", name, res.StatusCode)
			case !admitted && role != "" && strings.Contains(string(b), rt.Method+" "+rt.Method):
				t.Errorf("%s: 403 says %s, the method twice", name, b)
			case admitted && !rt.Access.Public && res.StatusCode == http.StatusUnauthorized:
				t.Errorf("%s: 401 for an admitted caller", name)
			case admitted && len(rt.Access.Roles) > 0 && res.StatusCode == http.StatusForbidden && role != dispatch.RoleTechnician:
				// Handlers may refine access for technicians (their own visits only), not for
				// the roles the table admits outright.
				t.Errorf("%s: 403 for a role the route table admits", name)
			}
		}
	}
}

func allowedRole(a web.Access, role dispatch.Role) bool {
	if len(a.Roles) == 0 {
		return true
	}
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

func orAnon(r dispatch.Role) string {
	if r == "" {
		return "anonymous"
	}
	return string(r)
}
