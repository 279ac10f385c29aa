package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// Users stores staff users and their sessions.
type Users struct {
	db       *bun.DB
	prepared *prepared
}

// NewUsers returns the user store on db.
func NewUsers(db *bun.DB) *Users { return &Users{db: db, prepared: newPrepared(db)} }

type userRow struct {
	bun.BaseModel `bun:"table:users,alias:u"`
	dispatch.User
}

// Create inserts u and sets its id; a taken e-mail is a conflict.
func (s *Users) Create(ctx context.Context, u *dispatch.User) error {
	row := &userRow{User: *u}
	_, err := s.db.NewInsert().Model(row).Column("email", "name", "role", "password_hash", "active").Returning("id, created_at").Exec(ctx)
	if err != nil {
		if IsUniqueViolation(err) {
			return dispatch.Conflict("email_taken", "a user with this e-mail already exists")
		}
		return Wrap(err)
	}
	u.ID, u.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ByEmail returns the user with that e-mail (case-insensitive).
func (s *Users) ByEmail(ctx context.Context, email string) (*dispatch.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("lower(email) = lower(?)", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("user")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return &row.User, nil
}

// ByID returns the user with that id.
func (s *Users) ByID(ctx context.Context, id int64) (*dispatch.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("user")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return &row.User, nil
}

// CreateSession stores a session for userID that ends at expires; only the token's
// SHA-256 is stored.
func (s *Users) CreateSession(ctx context.Context, token string, userID int64, expires time.Time) error {
	h := sha256.Sum256([]byte(token))
	_, err := s.db.NewRaw("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)", h[:], userID, expires).Exec(ctx)
	return Wrap(err)
}

// SessionUser returns the active user holding token, if the session has not expired at now.
func (s *Users) SessionUser(ctx context.Context, token string, now time.Time) (*dispatch.User, error) {
	h := sha256.Sum256([]byte(token))
	var rows []userRow
	// Every authenticated request asks this: a prepared statement (see prepared).
	err := s.prepared.scan(ctx, s.db, nil, `SELECT u.id, u.email, u.name, u.role, u.password_hash, u.active, u.created_at
		FROM users AS u JOIN sessions AS s ON s.user_id = u.id
		WHERE s.token_hash = ?0::bytea AND s.expires_at > ?1::timestamptz AND u.active`, []any{h[:], now}, &rows)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, dispatch.Unauthenticated("session expired or unknown")
	}
	return &rows[0].User, nil
}

// DeleteSession ends the session holding token (sign-out); unknown tokens are ignored.
func (s *Users) DeleteSession(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	_, err := s.db.NewRaw("DELETE FROM sessions WHERE token_hash = ?", h[:]).Exec(ctx)
	return Wrap(err)
}
