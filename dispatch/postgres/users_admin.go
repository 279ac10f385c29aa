package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// UserAdmin is what administrators do to staff accounts: list, create, change role, name or
// password, deactivate. Every change is written with a "user.created" or "user.updated"
// event (no password material in it) in the same transaction.
type UserAdmin struct {
	db     *bun.DB
	events *Events
}

// NewUserAdmin returns the user administration store; events nil means a writer without
// hooks.
func NewUserAdmin(db *bun.DB, events *Events) *UserAdmin {
	if events == nil {
		events = NewEvents()
	}
	return &UserAdmin{db: db, events: events}
}

// List returns every user, active ones first, then by name.
func (s *UserAdmin) List(ctx context.Context) ([]*dispatch.User, error) {
	var rows []userRow
	if err := s.db.NewSelect().Model(&rows).Order("active DESC", "name", "id").Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	out := make([]*dispatch.User, 0, len(rows))
	for i := range rows {
		out = append(out, &rows[i].User)
	}
	return out, nil
}

// Create inserts u (already validated and hashed) and sets its id; a taken e-mail is a
// conflict (email_taken).
func (s *UserAdmin) Create(ctx context.Context, u *dispatch.User, actor *dispatch.User, now time.Time) error {
	return s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		row := &userRow{User: *u}
		_, err := tx.NewInsert().Model(row).Column("email", "name", "role", "password_hash", "active").Returning("id, created_at").Exec(ctx)
		if err != nil {
			if IsUniqueViolation(err) {
				return dispatch.Conflict("email_taken", "a user with this e-mail already exists")
			}
			return Wrap(err)
		}
		u.ID, u.CreatedAt = row.ID, row.CreatedAt
		name, uid := dispatch.ActorOf(actor)
		return s.events.Append(ctx, tx, &dispatch.Event{Type: "user.created", At: now, Actor: name, ActorUserID: uid},
			map[string]any{"user_id": u.ID, "role": u.Role})
	})
}

// UserChange is a change to a user; nil fields stay as they are. Name is already validated
// (dispatch.UserName, the rule of NewUser); PasswordHash is the new password already hashed.
type UserChange struct {
	Name         *string
	Role         *dispatch.Role
	Active       *bool
	PasswordHash *string
}

// Update applies c to user id and returns the user as stored. It never leaves no active
// administrator: taking the role or the account from the last one is a conflict
// (last_admin). A technician's account linked to a technician record keeps its role until
// the record is unlinked (technician_linked). Deactivating a user or
// setting a new password ends every session of the user at once (a stolen session does not
// outlive a reset).
func (s *UserAdmin) Update(ctx context.Context, id int64, c UserChange, actor *dispatch.User, now time.Time) (*dispatch.User, error) {
	var out *dispatch.User
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		// A change that may take administration away locks the active administrators
		// first, in id order: two admins removing each other at once then queue here, and
		// the second sees that he would remove the last one. (First, so that no lock order
		// against the user's own row below can deadlock.)
		var admins []int64
		demotes := (c.Role != nil && *c.Role != dispatch.RoleAdmin) || (c.Active != nil && !*c.Active)
		if demotes {
			if err := tx.NewRaw("SELECT id FROM users WHERE role = ? AND active ORDER BY id FOR UPDATE", dispatch.RoleAdmin).Scan(ctx, &admins); err != nil {
				return Wrap(err)
			}
		}
		var row userRow
		if err := tx.NewSelect().Model(&row).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return dispatch.NotFound("user")
			}
			return Wrap(err)
		}
		wasAdmin := row.Role == dispatch.RoleAdmin && row.Active
		data := map[string]any{"user_id": id}
		if c.Name != nil {
			row.Name = *c.Name
			data["name"] = *c.Name
		}
		if c.Role != nil && *c.Role != row.Role {
			if row.Role == dispatch.RoleTechnician {
				// His technician record would stay linked to an account that may no longer
				// open the technician's page: his route, steps and position would be
				// reachable by nobody, and the link could not be set again as it was.
				var linked []string
				if err := tx.NewRaw("SELECT name FROM technicians WHERE user_id = ?", id).Scan(ctx, &linked); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return Wrap(err)
				}
				if len(linked) > 0 {
					return dispatch.Conflict("technician_linked", "the account is linked to technician %s; unlink it on the technician first", linked[0])
				}
			}
			data["role"], data["from_role"] = *c.Role, row.Role
			row.Role = *c.Role
		}
		if c.Active != nil && *c.Active != row.Active {
			row.Active = *c.Active
			data["active"] = *c.Active
		}
		if c.PasswordHash != nil {
			row.PasswordHash = *c.PasswordHash
			data["password_reset"] = true
		}
		if demotes && wasAdmin && !(row.Role == dispatch.RoleAdmin && row.Active) && !slices.ContainsFunc(admins, func(a int64) bool { return a != id }) {
			return dispatch.Conflict("last_admin", "this is the last active administrator; make another user administrator first")
		}
		if _, err := tx.NewUpdate().Model(&row).Column("name", "role", "active", "password_hash").WherePK().Exec(ctx); err != nil {
			return Wrap(err)
		}
		if !row.Active || c.PasswordHash != nil {
			if _, err := tx.NewRaw("DELETE FROM sessions WHERE user_id = ?", id).Exec(ctx); err != nil {
				return Wrap(err)
			}
		}
		out = &row.User
		name, uid := dispatch.ActorOf(actor)
		return s.events.Append(ctx, tx, &dispatch.Event{Type: "user.updated", At: now, Actor: name, ActorUserID: uid}, data)
	})
	return out, err
}
