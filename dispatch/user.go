package dispatch

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Role is what a staff user may do; customers are not users (they hold folio access codes).
type Role string

// The roles. Admins may do everything; see the route table for who may do what.
const (
	RoleAdmin      Role = "admin"
	RoleDispatcher Role = "dispatcher"
	RoleAgent      Role = "agent"
	RoleTechnician Role = "technician"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleDispatcher, RoleAgent, RoleTechnician:
		return r, nil
	}
	return "", Invalid("role", "must be admin, dispatcher, agent or technician")
}

// User is a staff member who signs in.
type User struct {
	ID           int64     `bun:"id,pk,autoincrement" json:"id"`
	Email        string    `bun:"email" json:"email"`
	Name         string    `bun:"name" json:"name"`
	Role         Role      `bun:"role" json:"role"`
	PasswordHash string    `bun:"password_hash" json:"-"`
	Active       bool      `bun:"active" json:"active"`
	CreatedAt    time.Time `bun:"created_at,nullzero,default:now()" json:"created_at"`
}

// NewUser validates the fields of a new user and hashes the password. The e-mail holds the
// rule of every e-mail the service takes (NormalizeEmail), the name that of UserName.
func NewUser(email, name string, role Role, password string) (*User, error) {
	if strings.TrimSpace(email) == "" {
		return nil, Invalid("email", "is required")
	}
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil, err
	}
	if name, err = UserName(name); err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return &User{Email: email, Name: name, Role: role, PasswordHash: hash, Active: true}, nil
}

// UserName validates a user's name, given on creation or on a change, and returns it
// trimmed: 1 to 200 characters of valid UTF-8 on one line, without control characters (it
// is shown on the board, in the event log and in messages). Errors name the field "name".
func UserName(s string) (string, error) {
	s, err := cleanText("name", s, 200, true)
	if err != nil {
		return "", err
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", Invalid("name", "must be one line without control characters")
		}
	}
	return s, nil
}

// SignInEmail is the form in which a sign-in looks up its e-mail: as NormalizeEmail stores
// it (trimmed, lower-cased), without its other checks. An address stored before those
// checks were tightened (a@b, with no dot in its domain, which NewUser let through) still
// finds its user; any other address is an unknown user, never an invalid value (401).
func SignInEmail(s string) string { return canonicalEmail(s) }

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane), which keeps
// a sign-in near 20 ms on one core.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format, with its salt and
// parameters, so they can be raised later without invalidating stored hashes. Passwords
// must be 8 to 256 bytes.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", Invalid("password", "must be at least 8 characters")
	}
	if len(password) > 256 {
		return "", Invalid("password", "must be at most 256 bytes")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, in constant time for a given hash.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || t == 0 || p == 0 || mem > 1<<20 || t > 20 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
