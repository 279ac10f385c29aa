package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"despacho/dispatch"
)

// SessionCookie is the name of the session cookie browsers carry.
const SessionCookie = "despacho_session"

// sessionTTL is how long a session lasts after sign-in.
const sessionTTL = 12 * time.Hour

// dummyHash is checked against when the e-mail is unknown, so that the answer takes as long
// as for a known e-mail and does not reveal which e-mails exist.
var dummyHash, _ = dispatch.HashPassword("not-a-real-password")

// authenticate finds the caller from the bearer header, the session cookie or (when allowed)
// the token query parameter. It reports whether the cookie was used, which matters for CSRF.
func (s *Server) authenticate(r *http.Request, queryToken bool) (*dispatch.User, bool, error) {
	token, viaCookie := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || rest == "" {
			return nil, false, dispatch.Unauthenticated("Authorization must be: Bearer TOKEN")
		}
		token = strings.TrimSpace(rest)
	} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		token, viaCookie = c.Value, true
	} else if queryToken && r.URL.Query().Get("token") != "" {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return nil, false, dispatch.Unauthenticated("sign in first")
	}
	if len(token) > 200 {
		return nil, false, dispatch.Unauthenticated("session expired or unknown")
	}
	u, err := s.users.SessionUser(r.Context(), token, s.now())
	if err != nil {
		return nil, false, err
	}
	return u, viaCookie, nil
}

// Reauthenticate finds the caller of r again, as the route guard did, with ctx for the
// lookup: the live hub asks it of an open websocket (live.Options.Recheck), so that a
// session ended or a user deactivated since the upgrade does not keep a feed open.
func (s *Server) Reauthenticate(ctx context.Context, r *http.Request) (*dispatch.User, error) {
	u, _, err := s.authenticate(r.WithContext(ctx), true)
	return u, err
}

// sameOrigin reports whether a browser request comes from our own pages: its Origin (or,
// without one, Referer) names the host it was sent to. Requests with neither come from
// non-browser clients, which cannot carry a victim's cookie by accident.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string         `json:"token"`
	ExpiresAt time.Time      `json:"expires_at"`
	User      *dispatch.User `json:"user"`
}

// login checks the password and opens a session: the token in the body for API clients and
// an HttpOnly, SameSite=Strict cookie for browsers. Repeated failures for one e-mail or one
// client address are locked out for a while (429).
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	// Looked up as stored, but not held to the rule for new addresses: a user stored
	// before it was tightened must still sign in (see dispatch.SignInEmail).
	req.Email = dispatch.SignInEmail(req.Email)
	if req.Email == "" {
		return dispatch.Invalid("email", "is required")
	}
	if req.Password == "" {
		return dispatch.Invalid("password", "is required")
	}
	ip := clientIP(r)
	emailKey := "login-email:" + req.Email
	locked := func() error {
		if err := s.limits.login.check(emailKey); err != nil {
			return err
		}
		return s.limits.login.check("login-ip:" + ip)
	}
	if err := locked(); err != nil {
		return err
	}
	// An address with a NUL is no one's (PostgreSQL cannot even compare it: it was a 500):
	// it is not looked up, and fails as any unknown address does.
	var u *dispatch.User
	var err error
	if !strings.ContainsRune(req.Email, 0) {
		u, err = s.users.ByEmail(r.Context(), req.Email)
		if err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
			return err
		}
	}
	hash := dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	if err := s.limits.passwords.enter(r.Context()); err != nil {
		return err
	}
	// Again once our turn came: sign-ins sent together all passed the first check, and
	// those before us in line may have failed enough to lock this e-mail or address.
	if err := locked(); err != nil {
		s.limits.passwords.leave()
		return err
	}
	ok := dispatch.CheckPassword(hash, req.Password)
	s.limits.passwords.leave()
	if !ok || u == nil || !u.Active {
		s.limits.login.fail(emailKey)
		s.limits.login.fail("login-ip:" + ip)
		return dispatch.Unauthenticated("wrong e-mail or password")
	}
	s.limits.login.reset(emailKey)
	token := newToken()
	expires := s.now().Add(sessionTTL)
	if err := s.users.CreateSession(r.Context(), token, u.ID, expires); err != nil {
		return err
	}
	// Max-Age, not Expires: the browser counts the lifetime on its own clock, so a
	// browser whose clock is off (or a server on a test clock) does not drop the cookie
	// at once. The session's end is enforced here, by expires_at.
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: strings.HasPrefix(s.cfg.PublicBaseURL, "https://"),
	})
	WriteJSON(w, http.StatusOK, loginResponse{Token: token, ExpiresAt: expires.UTC(), User: u})
	return nil
}

// logout ends the caller's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		_, token, _ = strings.Cut(h, " ")
	} else if c, err := r.Cookie(SessionCookie); err == nil {
		token = c.Value
	}
	if err := s.users.DeleteSession(r.Context(), strings.TrimSpace(token)); err != nil {
		return err
	}
	// Cleared with the flags it was set with (see login).
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: strings.HasPrefix(s.cfg.PublicBaseURL, "https://")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// me returns the signed-in user.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	WriteJSON(w, http.StatusOK, Actor(r.Context()))
	return nil
}

// newToken returns 256 random bits, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
