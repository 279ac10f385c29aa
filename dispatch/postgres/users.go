package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// Users stores staff users and their sessions.
type Users struct {
	db       *bun.DB
	prepared *prepared
	// lookups batches concurrent SessionUser calls into one query (lookupBatch).
	lookups *batcher[*lookup]
}

// NewUsers returns the user store on db.
func NewUsers(db *bun.DB) *Users {
	s := &Users{db: db, prepared: newPrepared(db)}
	s.lookups = &batcher[*lookup]{leaders: defaultLeaders(), max: maxLookupBatch, run: s.lookupBatch}
	return s
}

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
//
// Every authenticated request asks this, so lookups that arrive together are answered by
// one query (see batcher), always from the database: a sign-out or a deactivation on any
// instance holds for the next request. Under `bench tickets` this took a third of
// PostgreSQL's CPU per report off when each request had its own query.
func (s *Users) SessionUser(ctx context.Context, token string, now time.Time) (*dispatch.User, error) {
	l := &lookup{hash: sha256.Sum256([]byte(token)), now: now, done: make(chan struct{})}
	s.lookups.submit(l)
	select {
	case <-l.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	if l.user == nil {
		return nil, dispatch.Unauthenticated("session expired or unknown")
	}
	return l.user, nil
}

// lookup is one SessionUser waiting for its batch.
type lookup struct {
	hash [32]byte
	now  time.Time
	done chan struct{} // closed when user and err are final

	user *dispatch.User // nil: no active session
	err  error
}

const (
	// maxLookupBatch bounds the tokens of one session query.
	maxLookupBatch = 64
	// lookupTimeout bounds a session query: it runs on its own context, since one client
	// going away must not fail the others' lookups.
	lookupTimeout = 10 * time.Second
)

// lookupBatch answers the lookups of batch with one query (prepared; the tokens' hashes
// go as one text parameter, so that its text is the same for any batch).
func (s *Users) lookupBatch(batch []*lookup) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	hashes := make([]string, 0, len(batch))
	seen := make(map[[32]byte]bool, len(batch))
	for _, l := range batch {
		if !seen[l.hash] {
			seen[l.hash] = true
			hashes = append(hashes, hex.EncodeToString(l.hash[:]))
		}
	}
	var rows []struct {
		userRow
		TokenHash []byte    `bun:"token_hash"`
		ExpiresAt time.Time `bun:"expires_at"`
	}
	err := s.prepared.scan(ctx, s.db, nil, `SELECT s.token_hash, s.expires_at,
			u.id, u.email, u.name, u.role, u.password_hash, u.active, u.created_at
		FROM sessions AS s JOIN users AS u ON u.id = s.user_id
		WHERE s.token_hash IN (SELECT decode(h, 'hex') FROM unnest(string_to_array(?0::text, ',')) AS h) AND u.active`,
		[]any{strings.Join(hashes, ",")}, &rows)
	found := make(map[[32]byte]int, len(rows))
	for i, r := range rows {
		if len(r.TokenHash) == 32 {
			found[[32]byte(r.TokenHash)] = i
		}
	}
	for _, l := range batch {
		if err != nil {
			l.err = err
		} else if i, ok := found[l.hash]; ok && rows[i].ExpiresAt.After(l.now) {
			u := rows[i].User
			l.user = &u
		}
		close(l.done)
	}
}

// DeleteSession ends the session holding token (sign-out); unknown tokens are ignored.
func (s *Users) DeleteSession(ctx context.Context, token string) error {
	h := sha256.Sum256([]byte(token))
	_, err := s.db.NewRaw("DELETE FROM sessions WHERE token_hash = ?", h[:]).Exec(ctx)
	return Wrap(err)
}
