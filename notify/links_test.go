package notify_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// linkCode returns the access code that body's link to folio's status page carries ("" when
// the body has no such link with a code).
func linkCode(body, folio string) string {
	prefix := public + "/estado/" + folio + "?code="
	i := strings.Index(body, prefix)
	if i < 0 {
		return ""
	}
	code, _, _ := strings.Cut(body[i+len(prefix):], " ")
	return code
}

// newHooksOn serves e's webhooks over reports.
func newHooksOn(t *testing.T, e *env, reports notify.Reports) *hooks {
	t.Helper()
	wh := notify.NewWebhooks(e.db, e.cfg, reports, e.events, quiet)
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &hooks{t: t, db: e.db, fake: e.fake, ts: ts, events: e.events}
}

// txReports files reports opened by text in the webhook's transaction, through
// Reports.CreateTx, as serve's adapter does (cmd/despacho smsReplies).
type txReports struct {
	testReports
	reports *postgres.Reports
}

func (r txReports) OpenFromSMS(ctx context.Context, tx bun.Tx, sid, phone, body string) (notify.ReportRef, error) {
	in := dispatch.ReportInput{Channel: "sms", Kind: string(dispatch.GuessKind(body)), Description: body,
		Customer: dispatch.CustomerInput{Name: phone, Phone: phone}}
	nr, err := in.Validate(time.Now())
	if err != nil {
		return notify.ReportRef{}, err
	}
	key := &postgres.IdempotencyKey{Scope: "sms:inbound", Key: sid, Hash: postgres.RequestHash([]byte(phone + "\n" + body))}
	c, _, err := r.reports.CreateTx(ctx, tx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Key: key})
	if err != nil {
		return notify.ReportRef{}, err
	}
	return notify.ReportRef{ID: c.Report.ID, Folio: c.Report.Folio}, nil
}

// accessHash returns the stored hash of folio's access code.
func accessHash(tb testing.TB, e *env, folio string) []byte {
	tb.Helper()
	var hash []byte
	if err := e.db.QueryRowContext(context.Background(), "SELECT access_code_hash FROM reports WHERE folio = ?", folio).Scan(&hash); err != nil {
		tb.Fatal(err)
	}
	return hash
}

// TestFolioTextLinkOpensTheStatusPage: the status page asks for the folio's access code, and
// only its hash is stored. A customer who reported by phone (or e-mail, or SMS) never saw the
// code the form shows, so the link of his folio text opened a page he could not get past.
// The folio text, queued in the transaction that made the code, now carries it in its link
// (?code=), and that code opens the report; so does the reply that is the folio text of a
// report opened by SMS.
func TestFolioTextLinkOpensTheStatusPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("phone", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, true)
		reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
		p := phone()
		in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: p}}
		nr, err := in.Validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "agent"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		drain(t, notify.NewWorker(e.db, e.twilio(), fastOptions()))
		msgs := e.fake.Messages()
		if len(msgs) != 1 || msgs[0].To != p {
			t.Fatalf("texts at Twilio: %+v; want the folio text", msgs)
		}
		code := linkCode(msgs[0].Body, c.Report.Folio)
		if code != c.AccessCode || !bytes.Equal(dispatch.HashAccessCode(c.Report.Folio, code), accessHash(t, e, c.Report.Folio)) {
			t.Errorf("folio text %q: link code %q; want the report's access code %q, which opens its page", msgs[0].Body, code, c.AccessCode)
		}
	})

	t.Run("sms", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, true)
		reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
		h := newHooksOn(t, e, txReports{testReports{events: e.events}, reports})
		code, reply := h.text(twiliotest.NewSID(), phone(), "No tengo internet desde ayer")
		var folio string
		if err := e.db.QueryRowContext(ctx, "SELECT folio FROM reports ORDER BY id DESC LIMIT 1").Scan(&folio); err != nil {
			t.Fatal(err)
		}
		ac := linkCode(reply, folio)
		if code != 200 || ac == "" || !bytes.Equal(dispatch.HashAccessCode(folio, ac), accessHash(t, e, folio)) {
			t.Errorf("reply to a new report = %d %q; want %s's link with the code that opens it", code, reply, folio)
		}
	})
}

// TestOnlyCreationTextsLinkTheStatusPage: the texts queued after a report's creation cannot
// carry its access code (only the hash is kept), and the page they linked asked for it:
// "Responda 2 o entre a … para reagendar" sent a customer who reported by phone to a page he
// could not open. Their default texts offer an SMS reply instead; only the texts of a
// report's creation link the page, with the code. The answer to "2" is the one exception:
// the customer asked to move his visit, is promised the call, and is offered the page
// besides, told that the code is in his folio text.
func TestOnlyCreationTextsLinkTheStatusPage(t *testing.T) {
	t.Parallel()
	for _, lang := range notify.Languages {
		for _, kind := range notify.Kinds {
			got, err := notify.Render(string(kind), notify.DefaultTemplate(kind, lang), notify.SampleFor(kind, lang, mexico))
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			creation := kind == notify.KindFolio || kind == notify.KindFolioIncident ||
				kind == notify.KindReplyNewReport || kind == notify.KindReplyNewReportIncident
			switch {
			case kind == notify.KindReplyReschedule:
				if !strings.Contains(got, "/estado/R-2026-000123 ") || !strings.Contains(got, map[string]string{"es": "llamaremos", "en": "call you"}[lang]) ||
					!strings.Contains(got, map[string]string{"es": "digo de acceso del mensaje de su folio", "en": "access code from your folio text"}[lang]) {
					t.Errorf("%s/%s = %q; want the call, and the page with where its code is", lang, kind, got)
				}
			case creation && !strings.Contains(got, "/estado/R-2026-000123?code="):
				t.Errorf("%s/%s = %q; want the status link with the access code", lang, kind, got)
			case !creation && strings.Contains(got, "/estado"):
				t.Errorf("%s/%s = %q; sends the customer to a page that asks for a code this text cannot carry", lang, kind, got)
			}
		}
	}
}

// TestRedactAccessCodes: only a hash of a report's access code is kept, yet the folio text
// that carried it stayed in sms_outbox, and the reply that was a folio text in
// sms_inbound, for ever: whoever could read those tables could open every report's page.
// RedactAccessCodes (run hourly by serve for what is a day old) takes the code out of the
// link of texts already sent and of stored replies; a text still to be sent keeps it.
func TestRedactAccessCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, true)
	reports := postgres.NewReports(e.db, e.events, dispatch.SLA{})
	file := func() (folio, code string) {
		in := dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: phone()}}
		nr, err := in.Validate(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "agent"}, postgres.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Report.Folio, c.AccessCode
	}
	sentFolio, sentCode := file()
	drain(t, notify.NewWorker(e.db, e.twilio(), fastOptions()))
	pendingFolio, pendingCode := file() // queued, not sent
	h := newHooksOn(t, e, txReports{testReports{events: e.events}, reports})
	if _, reply := h.text(twiliotest.NewSID(), phone(), "No tengo internet desde ayer"); !strings.Contains(reply, "?code=") {
		t.Fatalf("reply to a new report = %q; want its link with the code", reply)
	}
	body := func(folio string) string {
		var b string
		if err := e.db.QueryRowContext(ctx, `SELECT o.body FROM sms_outbox o JOIN reports r ON r.id = o.report_id
			WHERE r.folio = ? AND o.kind = 'folio'`, folio).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !strings.Contains(body(sentFolio), sentCode) {
		t.Fatalf("sent folio text %q lacks its code before the redaction; the test proves nothing", body(sentFolio))
	}
	n, err := notify.RedactAccessCodes(ctx, e.db, time.Now().Add(time.Minute))
	if err != nil || n != 2 {
		t.Errorf("RedactAccessCodes = %d, %v; want the sent text and the stored reply", n, err)
	}
	if b := body(sentFolio); strings.Contains(b, sentCode) || !strings.Contains(b, "/estado/"+sentFolio) {
		t.Errorf("sent folio text after the redaction = %q; want its link without the code", b)
	}
	if b := body(pendingFolio); !strings.Contains(b, "?code="+pendingCode) {
		t.Errorf("pending folio text after the redaction = %q; want it as it will be sent", b)
	}
	if n := h.count("SELECT count(*) FROM sms_inbound WHERE reply LIKE '%?code=%' AND reply NOT LIKE '%?code=…%'"); n != 0 {
		t.Errorf("%d stored replies still carry an access code", n)
	}
	seen := &updatesSeen{}
	e.db.AddQueryHook(seen)
	if n, err := notify.RedactAccessCodes(ctx, e.db, time.Now().Add(time.Minute)); err != nil || n != 0 {
		t.Errorf("a second RedactAccessCodes = %d, %v; want nothing left to do", n, err)
	}
	// Hourly, it reads only the texts still to redact (an index of them, which a redacted
	// text leaves), not every text ever stored: over 1.5 million texts, 2.2–2.7 s an hour.
	// With sequential scans off, a plan that cannot use the index shows one anyway.
	for i, index := range []string{"sms_outbox_unredacted_idx", "sms_inbound_unredacted_idx"} {
		if len(seen.qs) <= i {
			t.Fatalf("%d updates seen, want two", len(seen.qs))
		}
		var plan []string
		err := e.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			return tx.NewRaw("EXPLAIN "+seen.qs[i]).Scan(ctx, &plan)
		})
		if p := strings.Join(plan, "\n"); err != nil || !strings.Contains(p, index) {
			t.Errorf("redaction %s (%v) does not read by %s: the index's condition and the query's differ (notify.codePattern changed without a migration?):\n%s", seen.qs[i], err, index, p)
		}
	}
}

// updatesSeen keeps the UPDATEs bun ran, in order.
type updatesSeen struct{ qs []string }

func (h *updatesSeen) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *updatesSeen) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if strings.HasPrefix(ev.Query, "UPDATE") {
		h.qs = append(h.qs, ev.Query)
	}
}
