package web

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// MinAdminPassword is the shortest password an administrator may give a user (on creation
// or reset).
const MinAdminPassword = 12

// usersAPI serves the administration of staff accounts.
type usersAPI struct {
	s     *Server
	users *postgres.UserAdmin
}

func (s *Server) newUsersAPI() *usersAPI {
	return &usersAPI{s: s, users: postgres.NewUserAdmin(s.db, s.events)}
}

func checkAdminPassword(p string) error {
	if utf8.RuneCountInString(p) < MinAdminPassword {
		return dispatch.Invalid("password", "must be at least %d characters", MinAdminPassword)
	}
	return nil
}

func (a *usersAPI) list(w http.ResponseWriter, r *http.Request) error {
	us, err := a.users.List(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"users": us})
	return nil
}

type newUserInput struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// create adds a user with a role and an initial password (at least MinAdminPassword
// characters); the answer never holds the password or its hash.
func (a *usersAPI) create(w http.ResponseWriter, r *http.Request) error {
	var in newUserInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	// The e-mail and the name first, by the rules NewUser holds (as the CLI does).
	if strings.TrimSpace(in.Email) == "" {
		return dispatch.Invalid("email", "is required")
	}
	if _, err := dispatch.NormalizeEmail("email", in.Email); err != nil {
		return err
	}
	if _, err := dispatch.UserName(in.Name); err != nil {
		return err
	}
	role, err := dispatch.ParseRole(in.Role)
	if err != nil {
		return err
	}
	if err := checkAdminPassword(in.Password); err != nil {
		return err
	}
	u, err := dispatch.NewUser(in.Email, in.Name, role, in.Password)
	if err != nil {
		return err
	}
	if err := a.users.Create(r.Context(), u, Actor(r.Context()), a.s.now()); err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, u)
	return nil
}

type userPatch struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Active   *bool   `json:"active"`
	Password *string `json:"password"`
}

// patch changes a user's name, role, active flag or password. An administrator cannot
// deactivate or demote himself (409 self_change): there is then always an administrator
// left to undo a mistake. Nor can two of them take it from each other at once: the last
// active administrator keeps it (409 last_admin). Deactivation and a new password end the
// user's sessions.
func (a *usersAPI) patch(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "user")
	if err != nil {
		return err
	}
	var in userPatch
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	var c postgres.UserChange
	if in.Name != nil {
		n, err := dispatch.UserName(*in.Name) // as on creation (NewUser)
		if err != nil {
			return err
		}
		c.Name = &n
	}
	if in.Role != nil {
		role, err := dispatch.ParseRole(*in.Role)
		if err != nil {
			return err
		}
		c.Role = &role
	}
	c.Active = in.Active
	if in.Password != nil {
		if err := checkAdminPassword(*in.Password); err != nil {
			return err
		}
		h, err := dispatch.HashPassword(*in.Password)
		if err != nil {
			return err
		}
		c.PasswordHash = &h
	}
	me := Actor(r.Context())
	if me != nil && me.ID == id {
		if c.Active != nil && !*c.Active {
			return dispatch.Conflict("self_change", "you cannot deactivate your own account; ask another administrator")
		}
		if c.Role != nil && *c.Role != dispatch.RoleAdmin {
			return dispatch.Conflict("self_change", "you cannot take the administrator role from yourself; ask another administrator")
		}
	}
	u, err := a.users.Update(r.Context(), id, c, me, a.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, u)
	return nil
}
