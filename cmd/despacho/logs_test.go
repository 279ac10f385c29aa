package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"despacho/dispatch/dispatchtest"
	"despacho/notify/twiliotest"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines to write while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveLogged runs the real `serve` with vars (HTTP_ADDR is chosen here), its structured log
// captured, and returns the base URL and the log.
func serveLogged(t *testing.T, vars map[string]string) (base string, logs *lockedBuffer) {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	vars["HTTP_ADDR"] = addr
	if vars["PUBLIC_BASE_URL"] == "" {
		vars["PUBLIC_BASE_URL"] = "http://" + addr
	}
	logs = &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, testEnv(vars, "", pw, logs))
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "/healthz") {
			base = "http://" + addr
			break
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck
	if base == "" {
		cancel()
		t.Fatalf("serve stopped before listening (exit %d): %s", <-done, logs)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return base, logs
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, logs *lockedBuffer, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q within %s:\n%s", want, within, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNoSecrets fails for each secret found in the log, in any spelling a log line could
// carry it (as is, URL-encoded, with the national number alone).
func assertNoSecrets(t *testing.T, logs string, secrets map[string]string) {
	t.Helper()
	for what, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), strings.TrimPrefix(s, "+52")} {
			if form != "" && strings.Contains(logs, form) {
				t.Errorf("the log holds the %s (%q):\n%s", what, form, logs)
			}
		}
	}
}

// TestLogsHoldNoPersonalData runs the real `serve`: a customer files a report on the public
// form, checks it with the access code (API, status page and its live feed), staff sign in
// and look it up, the customer replies by SMS, and the folio text is sent — through the
// development outbox, and through Twilio with a failure that makes the worker reconcile
// (twilio-go lists the customer's messages with her number in the URL, and the network
// error quotes that URL). The structured log must hold none of her phone number, e-mail,
// access code, the session token or password, the Twilio auth token; phone numbers appear
// masked to their last four digits.
func TestLogsHoldNoPersonalData(t *testing.T) {
	t.Parallel()
	const (
		phone    = "+525548761234"
		email    = "rosa.mendez@correo.example.mx"
		password = "una-clave-larga-de-verdad"
	)
	masked := regexp.MustCompile(`(\+|%2B)\*+1234`)

	flow := func(t *testing.T, base string, logs *lockedBuffer, inbound func(from string)) map[string]string {
		t.Helper()
		code, b := httpDo(t, http.DefaultClient, "POST", base+"/public/reports", "",
			`{"customer":{"name":"Rosa Méndez","phone":"55 4876 1234","email":"`+email+`"},"address":{"line":"Calle 5"},"kind":"fault","description":"Sin internet"}`)
		var rep struct {
			Folio      string `json:"folio"`
			AccessCode string `json:"access_code"`
		}
		if code != 201 || json.Unmarshal(b, &rep) != nil || rep.AccessCode == "" {
			t.Fatalf("public report = %d %s", code, b)
		}
		q := "?code=" + url.QueryEscape(rep.AccessCode)
		for _, u := range []string{"/public/reports/" + rep.Folio + q, "/estado/" + rep.Folio + q, "/public/reports/" + rep.Folio + "/slots" + q} {
			if code, b := httpDo(t, http.DefaultClient, "GET", base+u, "", ""); code >= 500 {
				t.Fatalf("GET %s = %d %s", u, code, b)
			}
		}
		// A wrong code and a page posted before its script ran log too.
		httpDo(t, http.DefaultClient, "GET", base+"/public/reports/"+rep.Folio+"?code=ZZZZ9999", "", "")
		httpDo(t, http.DefaultClient, "POST", base+"/estado/"+rep.Folio+q, "", "")
		var created struct{ Token string }
		code, b = httpDo(t, http.DefaultClient, "POST", base+"/api/login", "", `{"email":"lead@example.mx","password":"`+password+`"}`)
		if code != 200 || json.Unmarshal(b, &created) != nil {
			t.Fatalf("login = %d %s", code, b)
		}
		if code, b := httpDo(t, http.DefaultClient, "GET", base+"/api/tickets/"+rep.Folio, created.Token, ""); code != 200 {
			t.Fatalf("ticket = %d %s", code, b)
		}
		httpDo(t, http.DefaultClient, "GET", base+"/api/tickets?q="+url.QueryEscape("55 4876 1234"), created.Token, "")
		if inbound != nil {
			inbound(phone)
		}
		return map[string]string{"phone number": phone, "e-mail": email, "access code": rep.AccessCode,
			"session token": created.Token, "password": password}
	}
	createLead := func(t *testing.T, dsn string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), []string{"users", "create", "--email", "lead@example.mx", "--name", "Lead", "--role", "admin"},
			testEnv(map[string]string{"DATABASE_URL": dsn}, password+"\n", &out, &errb)); code != 0 {
			t.Fatalf("users create = %d: %s", code, errb.String())
		}
	}

	t.Run("development outbox", func(t *testing.T) {
		t.Parallel()
		_, dsn := dispatchtest.DBWithURL(t)
		createLead(t, dsn)
		base, logs := serveLogged(t, map[string]string{"DATABASE_URL": dsn})
		secrets := flow(t, base, logs, nil)
		waitLog(t, logs, "sms (development outbox)", 30*time.Second)
		assertNoSecrets(t, logs.String(), secrets)
		if !masked.MatchString(logs.String()) {
			t.Errorf("the development outbox's line does not name the number by its last four digits:\n%s", logs)
		}
	})

	t.Run("twilio reconciliation", func(t *testing.T) {
		t.Parallel()
		_, dsn := dispatchtest.DBWithURL(t)
		createLead(t, dsn)
		fake := twiliotest.New()
		defer fake.Close()
		// The first send gets a 500 (maybe sent): the next attempt lists the customer's
		// messages first, and that request dies on the network.
		fake.FailNext(500)
		target, _ := url.Parse(fake.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer front.Close()
		base, logs := serveLogged(t, map[string]string{"DATABASE_URL": dsn,
			"TWILIO_ACCOUNT_SID": fake.AccountSID, "TWILIO_AUTH_TOKEN": fake.AuthToken,
			"TWILIO_FROM": "+525500000000", "TWILIO_API_BASE": front.URL})
		secrets := flow(t, base, logs, func(from string) {
			res, err := fake.Post(base+"/twilio/inbound", base+"/twilio/inbound", fake.InboundParams(twiliotest.NewSID(), from, "+525500000000", "SI"))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("inbound SMS = %d", res.StatusCode)
			}
		})
		secrets["Twilio auth token"] = fake.AuthToken
		waitLog(t, logs, "reconcile", 30*time.Second)
		assertNoSecrets(t, logs.String(), secrets)
		if !masked.MatchString(logs.String()) {
			t.Errorf("the reconciliation failure does not name the number by its last four digits:\n%s", logs)
		}
	})
}

// TestLogRedaction: the logger's redaction, value by value.
func TestLogRedaction(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+525548761234", "+********1234"},
		{`Get "https://api.twilio.com/x/Messages.json?PageSize=100&To=%2B525548761234": EOF`, `Get "https://api.twilio.com/x/Messages.json?PageSize=100&To=%2B********1234": EOF`},
		{"The 'To' number +52 55 4876-1234 is not a valid phone number.", "The 'To' number +********1234 is not a valid phone number."},
		{"rosa.mendez@correo.example.mx", "[redacted]@correo.example.mx"},
		{"from=rosa%40correo.example.mx", "from=[redacted]@correo.example.mx"},
		{"/estado/R-2026-000001?code=K7P2Q9&lang=es", "/estado/R-2026-000001?code=[redacted]&lang=es"},
		{"/ws?after=3&token=abc.def-ghi", "/ws?after=3&token=[redacted]"},
		{"Authorization: Bearer abcDEF123", "Authorization: Bearer [redacted]"},
		// What must stay as it is.
		{"2026-01-02 15:04:05 +0000 UTC", "2026-01-02 15:04:05 +0000 UTC"},
		{"R-2026-000001", "R-2026-000001"},
		{"send failed (transient, status 500, code 20500)", "send failed (transient, status 500, code 20500)"},
	}
	for _, c := range cases {
		if got := redactLog(c.in); got != c.want {
			t.Errorf("redactLog(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var buf bytes.Buffer
	log := newLogger(testEnv(nil, "", io.Discard, &buf))
	log.Info("x", "password", "secreto", "err", fmt.Errorf("wrapped: %w", fmt.Errorf("to +525548761234")), "names", []string{"001_init.sql"})
	if got := buf.String(); strings.Contains(got, "secreto") || strings.Contains(got, "5548761234") || !strings.Contains(got, "001_init.sql") {
		t.Errorf("log line = %s", got)
	}
}
