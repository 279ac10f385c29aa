// Package dispatch is the domain of the service: customers, reports and their folios,
// visits, technicians, the legal moves between their states, and the events that record
// every change. It holds vocabulary and rules; PostgreSQL, HTTP and SMS live in adapters.
package dispatch

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error for the outside world; the HTTP layer maps each kind to one
// status code in one place.
type Kind string

// The error kinds. Anything that is not an *Error is an internal failure (HTTP 500).
const (
	KindInvalid         Kind = "invalid"         // a value breaks a rule (422), Field names it
	KindMalformed       Kind = "malformed"       // the request cannot be parsed (400)
	KindNotFound        Kind = "not_found"       // no such thing, or not visible to the caller (404)
	KindConflict        Kind = "conflict"        // illegal state change, stale version, overlap (409)
	KindForbidden       Kind = "forbidden"       // signed in but not allowed (403)
	KindUnauthenticated Kind = "unauthenticated" // not signed in (401)
	KindTooLarge        Kind = "too_large"       // body over the limit (413)
	KindRateLimited     Kind = "rate_limited"    // too many attempts (429)
	KindUnavailable     Kind = "unavailable"     // the database or another dependency is down (503)
)

// Error is a domain error with a kind, a stable machine code, a human message and, where one
// input field is at fault, its name (JSON path such as "customer.phone").
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Field   string
	// RetryAfter is how long the client is to wait before trying again (429), sent as the
	// Retry-After header; 0 says nothing.
	RetryAfter time.Duration
	Err        error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	s := string(e.Kind) + ": " + e.Message
	if e.Field != "" {
		s = string(e.Kind) + ": " + e.Field + ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports that field holds a value the rules refuse (HTTP 422).
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_" + codeFromField(field), Message: fmt.Sprintf(format, args...), Field: field}
}

// Malformed reports a request that cannot be parsed at all (HTTP 400).
func Malformed(format string, args ...any) *Error {
	return &Error{Kind: KindMalformed, Code: "malformed", Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing thing; use it too when the caller may not see it, so that ids
// cannot be probed.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Message: what + " not found"}
}

// Conflict reports an illegal change given the current state (HTTP 409); code is stable
// for clients, e.g. "illegal_transition", "stale_version", "overlap".
func Conflict(code, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Forbidden reports a signed-in caller acting beyond their role.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: KindForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// Unauthenticated reports a missing or expired session.
func Unauthenticated(msg string) *Error {
	return &Error{Kind: KindUnauthenticated, Code: "unauthenticated", Message: msg}
}

// Unavailable wraps a failure of the database or another dependency that a retry may fix.
func Unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: "unavailable", Message: "service temporarily unavailable", Err: err}
}

// ErrorKind returns the kind of err, or "" for an internal error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

func codeFromField(field string) string {
	if field == "" {
		return "value"
	}
	b := []byte(field)
	for i, c := range b {
		if c == '.' || c == '[' || c == ']' {
			b[i] = '_'
		}
	}
	return string(b)
}
