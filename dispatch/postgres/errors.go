package postgres

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/uptrace/bun/driver/pgdriver"

	"despacho/dispatch"
)

// SQLState returns the SQLSTATE code of a PostgreSQL error, or "".
func SQLState(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C')
	}
	return ""
}

// Constraint returns the name of the constraint a PostgreSQL error is about, or "".
func Constraint(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('n')
	}
	return ""
}

// IsUniqueViolation reports a unique-constraint violation (23505).
func IsUniqueViolation(err error) bool { return SQLState(err) == "23505" }

// IsExclusionViolation reports an exclusion-constraint violation (23P01), e.g. two visits of
// one technician overlapping.
func IsExclusionViolation(err error) bool { return SQLState(err) == "23P01" }

// Wrap turns a database failure into a domain error: connection loss, a server restart,
// shutdown, read-only or full disk, a deadlock or a serialization failure (what is left of
// them after RunInTxRetry) become Unavailable (HTTP 503: try again); domain errors and nil
// pass through; anything else is returned as is (an internal error).
func Wrap(err error) error {
	if err == nil || dispatch.ErrorKind(err) != "" || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	switch code := SQLState(err); {
	case code == "57P01", code == "57P02", code == "57P03", // admin shutdown, crash shutdown, cannot connect now
		code == "53100", code == "53200", code == "53300", // disk full, out of memory, too many connections
		code == "25006",                  // read-only transaction
		code == "40P01", code == "40001", // deadlock, serialization failure
		len(code) == 2+3 && code[:2] == "08": // connection exceptions
		return dispatch.Unavailable(err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
		return dispatch.Unavailable(err)
	}
	return err
}
