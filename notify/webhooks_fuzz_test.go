package notify_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"despacho/notify"
	"despacho/notify/twiliotest"
)

// FuzzWebhookForms posts Twilio webhooks built from fuzzed fields to the real handlers on
// a real database: signed inbound texts and status callbacks with any sender, body, SID,
// status and error code, and unsigned raw bodies. None may get a 5xx (a 5xx makes Twilio
// retry for ever) or crash the handler, and an unsigned request never gets past the
// signature check. `make fuzz` runs it longer; the seeds run in every `make test`.
func FuzzWebhookForms(f *testing.F) {
	e := newEnv(f, true)
	wh := notify.NewWebhooks(e.db, e.cfg, testReports{events: e.events}, e.events, quiet)
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.StatusPath, wh.Status())
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	ts := httptest.NewServer(mux)
	f.Cleanup(ts.Close)

	f.Add(true, "+5215512345678", "Sin internet desde ayer", "SM0123456789abcdef0123456789abcdef", "delivered", "0")
	f.Add(true, "55 1234 5678", "BAJA", "", "", "")
	f.Add(true, "+5215512345678", "sí", "SMx", "undelivered", "30007")
	f.Add(false, "", "", "SM0123456789abcdef0123456789abcdef", "failed", "-1")
	f.Add(false, "+1", "\x00\xff<Message>", "SM'; DROP TABLE sms_outbox;--", "queued\u202e", "99999999999999999999")
	f.Add(true, strings.Repeat("5", 300), strings.Repeat("ñ", 2000), "SM", "read", "x")
	f.Fuzz(func(t *testing.T, inbound bool, from, body, sid, status, code string) {
		path := notify.StatusPath
		params := e.fake.StatusParams(twiliotest.Message{SID: sid, To: from}, status, 0)
		params.Set("ErrorCode", code)
		if inbound {
			path = notify.InboundPath
			params = e.fake.InboundParams(sid, from, "+525500000000", body)
		}
		res, err := e.fake.Post(ts.URL+path, public+path, params)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("signed %s webhook (from %q, body %q, sid %q, status %q, code %q) = %d %s",
				path, from, body, sid, status, code, res.StatusCode, b)
		}
		// The same fields as a raw, unsigned body: refused before anything is read.
		raw := "From=" + from + "&Body=" + body + "&MessageSid=" + sid + "&MessageStatus=" + status
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(raw))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusBadRequest {
			t.Fatalf("unsigned %s webhook %q = %d, want 403 (or 400 for an unreadable form)", path, raw, res.StatusCode)
		}
	})
}
