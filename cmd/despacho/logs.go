package main

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// newLogger returns the process's structured logger: JSON on standard error, every value
// passed through redactAttr first.
func newLogger(e env) *slog.Logger {
	level := slog.LevelInfo
	if e.getenv("LOG_LEVEL") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}))
}

// Logs leave the process (collectors, tickets, screenshots): they must not carry customers'
// phone numbers or e-mail addresses, access codes or credentials. Our own log calls name
// none, but values come from elsewhere too: the development outbox logs each text's
// number, and errors quote what libraries put in them (twilio-go's request URL when it
// lists a customer's messages holds her number, Twilio's 21211 names it, PostgreSQL quotes
// a value it could not read). So the handler redacts every string value and every error
// at the last moment, whoever logged it.
var (
	// A phone as E.164 ("+525512345678"), URL-encoded ("%2B52…") or written with spaces
	// and dashes ("+52 55 1234-5678"); the last four digits stay, as staff quote them.
	logPhone = regexp.MustCompile(`(?:\+|%2[Bb])\d(?:[ \-.]?\d){7,14}`)
	// An e-mail address, plain or URL-encoded; its domain stays.
	logEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+(?:@|%40)((?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,})`)
	// An access code or token in a query string (the SMS and status links carry ?code=).
	logQuerySecret = regexp.MustCompile(`(?i)([?&](?:code|access_code|token)=)[^&#\s"']+`)
	// Credentials in a quoted header.
	logBearer = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+`)
)

// logSecretKeys are attribute names whose values are never logged at all.
var logSecretKeys = map[string]bool{
	"password": true, "token": true, "access_code": true, "code": true, "authorization": true,
	"cookie": true, "auth_token": true, "idempotency_key": true, "session": true,
}

// redactAttr is the logger's ReplaceAttr: secrets by name are replaced whole; strings,
// errors and Stringers have phone numbers masked to their last four digits, e-mail
// addresses to their domain, and query-string codes and credentials removed.
func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
		return a
	}
	if logSecretKeys[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[redacted]")
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != redactLog(s) {
			return slog.String(a.Key, redactLog(s))
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			return slog.String(a.Key, redactLog(v.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, redactLog(v.String()))
		}
	}
	return a
}

// redactLog masks what redactAttr describes in one string.
func redactLog(s string) string {
	if !strings.ContainsAny(s, "+%@=") && !strings.Contains(strings.ToLower(s), "bearer") && !strings.Contains(strings.ToLower(s), "basic") {
		return s // the common case: nothing to look for
	}
	s = logQuerySecret.ReplaceAllString(s, "${1}[redacted]")
	s = logBearer.ReplaceAllString(s, "$1 [redacted]")
	s = logPhone.ReplaceAllStringFunc(s, maskPhone)
	return logEmail.ReplaceAllString(s, "[redacted]@$1")
}

// maskPhone keeps a phone's prefix sign and last four digits: "+525512345678" →
// "+********5678".
func maskPhone(p string) string {
	prefix, rest := p[:1], p[1:]
	if strings.HasPrefix(p, "%") {
		prefix, rest = p[:3], p[3:]
	}
	digits := 0
	for _, r := range rest {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	var b strings.Builder
	b.WriteString(prefix)
	seen := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			continue
		}
		seen++
		if seen <= digits-4 {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
