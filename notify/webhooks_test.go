package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/notify"
	"despacho/notify/twiliotest"
)

// testReports is a small real implementation of notify.Reports over the test database;
// answers to restore notices go to the real incident store when incidents is set.
type testReports struct {
	events    *postgres.Events
	incidents *postgres.Incidents
	// reports, when set, files reports opened by text through the real store, as serve
	// does (cmd/despacho smsReplies), so that its event hooks (incidents) run.
	reports *postgres.Reports
}

func (r testReports) StillDown(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (notify.ReportRef, error) {
	if r.incidents == nil {
		return notify.ReportRef{}, dispatch.NotFound("incident store")
	}
	folio, err := r.incidents.ReopenStillDownReport(ctx, tx, reportID, now)
	return notify.ReportRef{ID: reportID, Folio: folio}, err
}

func (r testReports) RestoreConfirmed(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (notify.ReportRef, error) {
	if r.incidents == nil {
		return notify.ReportRef{}, dispatch.NotFound("incident store")
	}
	folio, err := r.incidents.ConfirmRestored(ctx, tx, reportID, now)
	return notify.ReportRef{ID: reportID, Folio: folio}, err
}

func (r testReports) LatestOpen(ctx context.Context, tx bun.Tx, phone string, _ int64) (notify.ReportRef, error) {
	var ref notify.ReportRef
	err := tx.QueryRowContext(ctx, `
		SELECT r.id, r.folio FROM reports r JOIN customers c ON c.id = r.customer_id
		WHERE c.phone = ? AND r.status NOT IN ('resolved', 'closed', 'cancelled')
		ORDER BY r.id DESC LIMIT 1`, phone).Scan(&ref.ID, &ref.Folio)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, dispatch.NotFound("open report")
	}
	return ref, err
}

func (r testReports) OpenFromSMS(ctx context.Context, tx bun.Tx, sid, phone, body string) (notify.ReportRef, error) {
	if r.reports != nil {
		in := dispatch.ReportInput{Channel: "sms", Kind: string(dispatch.GuessKind(body)), Description: body,
			Customer: dispatch.CustomerInput{Name: phone, Phone: phone}}
		nr, err := in.Validate(time.Now())
		if err != nil {
			return notify.ReportRef{}, err
		}
		key := &postgres.IdempotencyKey{Scope: "sms:inbound", Key: sid, Hash: postgres.RequestHash([]byte(phone + "\n" + body))}
		c, _, err := r.reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Key: key})
		if err != nil {
			return notify.ReportRef{}, err
		}
		return notify.ReportRef{ID: c.Report.ID, Folio: c.Report.Folio}, nil
	}
	var cid int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO customers (name, phone) VALUES ('SMS', ?)
		ON CONFLICT (phone) WHERE phone IS NOT NULL DO UPDATE SET name = customers.name RETURNING id`, phone).Scan(&cid)
	if err != nil {
		return notify.ReportRef{}, err
	}
	ref := notify.ReportRef{Folio: fmt.Sprintf("S-%06d", seq.Add(1))}
	kind, area := string(dispatch.GuessKind(body)), "customer_service"
	if kind == "fault" {
		area = "technical"
	}
	err = tx.QueryRowContext(ctx, `
		INSERT INTO reports (folio, kind, channel, area, customer_id, description, access_code_hash)
		VALUES (?, ?, 'sms', ?, ?, ?, '\x00') RETURNING id`, ref.Folio, kind, area, cid, body).Scan(&ref.ID)
	if err != nil {
		return ref, err
	}
	return ref, r.events.Append(ctx, tx, &dispatch.Event{Type: "report.created", Actor: "customer", Channel: "sms", ReportID: ref.ID},
		map[string]any{"folio": ref.Folio, "kind": kind, "channel": "sms"})
}

func (r testReports) NoteFromSMS(ctx context.Context, tx bun.Tx, _ string, reportID int64, body string) error {
	return r.events.Append(ctx, tx, &dispatch.Event{Type: "report.note_added", Actor: "customer", Channel: "sms", ReportID: reportID},
		map[string]any{"text": body})
}

func (r testReports) nextVisit(ctx context.Context, tx bun.Tx, phone string) (notify.ReportRef, int64, error) {
	ref, err := r.LatestOpen(ctx, tx, phone, 0)
	if err != nil {
		return ref, 0, err
	}
	var visit int64
	err = tx.QueryRowContext(ctx, `SELECT visit_id FROM events WHERE report_id = ? AND type IN ('visit.booked', 'visit.rescheduled')
		ORDER BY id DESC LIMIT 1`, ref.ID).Scan(&visit)
	if errors.Is(err, sql.ErrNoRows) {
		return ref, 0, dispatch.NotFound("booked visit")
	}
	return ref, visit, err
}

func (r testReports) ConfirmNextVisit(ctx context.Context, tx bun.Tx, phone string, _ int64) (notify.ReportRef, error) {
	ref, visit, err := r.nextVisit(ctx, tx, phone)
	if err != nil {
		return ref, err
	}
	return ref, r.events.Append(ctx, tx, &dispatch.Event{Type: "visit.confirmed", Actor: "customer", Channel: "sms", ReportID: ref.ID, VisitID: visit}, nil)
}

func (r testReports) RequestReschedule(ctx context.Context, tx bun.Tx, phone string, _ int64) (notify.ReportRef, error) {
	ref, visit, err := r.nextVisit(ctx, tx, phone)
	if err != nil {
		return ref, err
	}
	return ref, r.events.Append(ctx, tx, &dispatch.Event{Type: "visit.reschedule_requested", Actor: "customer", Channel: "sms", ReportID: ref.ID, VisitID: visit}, nil)
}

const public = "https://despacho.example.mx"

type hooks struct {
	t      *testing.T
	db     *bun.DB
	fake   *twiliotest.Server
	ts     *httptest.Server
	events *postgres.Events
}

func newHooks(t *testing.T) *hooks {
	t.Helper()
	e := newEnv(t, true)
	db, fake, events := e.db, e.fake, e.events
	wh := notify.NewWebhooks(db, e.cfg, testReports{events: events}, events, quiet)
	mux := http.NewServeMux()
	mux.Handle("POST "+notify.StatusPath, wh.Status())
	mux.Handle("POST "+notify.InboundPath, wh.Inbound())
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &hooks{t: t, db: db, fake: fake, ts: ts, events: events}
}

// text posts an inbound text and returns the status and the TwiML reply's message.
func (h *hooks) text(sid, from, body string, header ...string) (int, string) {
	h.t.Helper()
	res, err := h.fake.Post(h.ts.URL+notify.InboundPath, public+notify.InboundPath,
		h.fake.InboundParams(sid, from, "+525500000000", body), header...)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	s := string(b)
	if i := strings.Index(s, "<Message>"); i >= 0 {
		s = s[i+len("<Message>"):]
		s = s[:strings.Index(s, "</Message>")]
	} else if res.StatusCode == 200 {
		s = ""
	}
	return res.StatusCode, s
}

func (h *hooks) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestWebhookSignatures(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	params := h.fake.InboundParams(twiliotest.NewSID(), phone(), "+525500000000", "hola")
	post := func(path, sig string, p url.Values) int {
		req, _ := http.NewRequest("POST", h.ts.URL+path, strings.NewReader(p.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body struct {
			Error struct{ Code, Field string }
		}
		if err := json.NewDecoder(res.Body).Decode(&body); res.StatusCode != 200 && (err != nil || body.Error.Code != "invalid_signature" || body.Error.Field != "X-Twilio-Signature") {
			t.Errorf("refused webhook: body %+v (%v); want the JSON error invalid_signature naming X-Twilio-Signature", body, err)
		}
		return res.StatusCode
	}
	tampered := url.Values{}
	for k, v := range params {
		tampered[k] = v
	}
	tampered.Set("Body", "BAJA")
	for name, code := range map[string]int{
		"missing":      post(notify.InboundPath, "", params),
		"garbage":      post(notify.InboundPath, "bm90IGEgc2lnbmF0dXJl", params),
		"wrong url":    post(notify.InboundPath, twiliotest.Signature(h.fake.AuthToken, h.ts.URL+notify.InboundPath, params), params),
		"wrong token":  post(notify.InboundPath, twiliotest.Signature("0000", public+notify.InboundPath, params), params),
		"tampered":     post(notify.InboundPath, twiliotest.Signature(h.fake.AuthToken, public+notify.InboundPath, params), tampered),
		"status, none": post(notify.StatusPath, "", h.fake.StatusParams(twiliotest.Message{SID: "SM1", To: "+5255"}, "delivered", 0)),
	} {
		if code != http.StatusForbidden {
			t.Errorf("%s signature: status %d; want 403", name, code)
		}
	}
	if n := h.count("SELECT count(*) FROM sms_inbound") + h.count("SELECT count(*) FROM sms_callbacks") + h.count("SELECT count(*) FROM reports"); n != 0 {
		t.Errorf("%d rows written by refused webhooks; want 0", n)
	}
	if code, _ := h.text(twiliotest.NewSID(), phone(), "hola"); code != 200 {
		t.Errorf("signed inbound: status %d; want 200", code)
	}
	if code, body := h.text(twiliotest.NewSID(), "", "hola"); code != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"From"`) {
		t.Errorf("signed inbound without From: %d %s; want 422 naming From", code, body)
	}
}

func TestInboundNewReportAndDuplicates(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	from, sid := phone(), twiliotest.NewSID()
	code, reply := h.text(sid, from, "No tengo internet desde ayer", "I-Twilio-Idempotency-Token", "tok-1")
	if code != 200 || !strings.HasPrefix(reply, "Recibimos su reporte. Folio: S-") {
		t.Fatalf("first text: %d %q; want a new folio", code, reply)
	}
	// Twilio retries: the same MessageSid, or the same idempotency token.
	_, again := h.text(sid, from, "No tengo internet desde ayer")
	_, token := h.text(twiliotest.NewSID(), from, "No tengo internet desde ayer", "I-Twilio-Idempotency-Token", "tok-1")
	if again != reply || token != reply {
		t.Errorf("replays answered %q and %q; want the first answer %q", again, token, reply)
	}
	if n := h.count("SELECT count(*) FROM reports WHERE channel = 'sms'"); n != 1 {
		t.Errorf("%d reports opened; want 1", n)
	}
	if n := h.count("SELECT count(*) FROM sms_outbox"); n != 0 {
		t.Errorf("%d texts queued; want 0 (the TwiML reply carries the folio)", n)
	}
	// The old Mexican mobile form (+52 1 …) is the same customer.
	cust := "+52" + fmt.Sprint(5500000000+seq.Add(1)%100000000)
	_, f := report(t, h.db, customer(t, h.db, cust, "es", false), "fault", "phone")
	if _, r := h.text(twiliotest.NewSID(), "+521"+cust[3:], "sigo sin servicio"); !strings.Contains(r, f) {
		t.Errorf("text from the +521 form answered %q; want a note on %s", r, f)
	}
	// More text from the same customer is a note on that report.
	_, note := h.text(twiliotest.NewSID(), from, "Ya reinicie el modem")
	if !strings.HasPrefix(note, "Agregamos su mensaje al folio S-") {
		t.Errorf("second text answered %q; want the note acknowledgement", note)
	}
	if n := h.count("SELECT count(*) FROM events WHERE type = 'report.note_added' AND data->>'text' = 'Ya reinicie el modem'"); n != 1 {
		t.Errorf("%d notes; want 1", n)
	}
}

func TestInboundKeywords(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	from := phone()
	rid, folio := report(t, h.db, customer(t, h.db, from, "es", false), "fault", "phone")

	// No visit yet: he is told his report is being attended, not asked to write it again.
	if _, r := h.text(twiliotest.NewSID(), from, "1"); !strings.HasPrefix(r, "No tiene una visita agendada. Su reporte "+folio) {
		t.Errorf("1 without a visit answered %q; want the no-visit reply naming his report", r)
	}
	start := time.Now().Add(48 * time.Hour)
	appendEvent(t, h.db, h.events, dispatch.Event{Type: "visit.booked", ReportID: rid, VisitID: 9},
		map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": "Luis"})
	if _, r := h.text(twiliotest.NewSID(), from, " Sí. "); r != "Gracias, su visita del folio "+folio+" queda confirmada." {
		t.Errorf("Sí answered %q; want the confirmation", r)
	}
	if _, r := h.text(twiliotest.NewSID(), from, "si 👍"); r != "Gracias, su visita del folio "+folio+" queda confirmada." {
		t.Errorf("si 👍 answered %q; want the confirmation", r)
	}
	// Visit 9 is only in the events: the booking page could not take it, so the answer
	// promises the call alone, with no link to pick a window (TestRescheduleReplyOffersTheBookingPage).
	if _, r := h.text(twiliotest.NewSID(), from, "cambiar"); r != "Recibimos su solicitud (folio "+folio+"): le llamaremos para acordar otro horario." {
		t.Errorf("cambiar answered %q; want the promise of a call", r)
	}
	if n := h.count("SELECT count(*) FROM events WHERE type IN ('visit.confirmed', 'visit.reschedule_requested') AND visit_id = 9"); n != 3 {
		t.Errorf("%d visit events; want confirmed twice and reschedule_requested", n)
	}
	if _, r := h.text(twiliotest.NewSID(), from, "ayuda"); !strings.HasPrefix(r, "Despacho: responda 1") {
		t.Errorf("ayuda answered %q; want the help text", r)
	}
	if _, r := h.text(twiliotest.NewSID(), from, "BAJA"); !strings.HasPrefix(r, "Ya no recibir") {
		t.Errorf("BAJA answered %q; want the opt-out confirmation", r)
	}
	if out, _ := notify.OptedOut(context.Background(), h.db, from); !out {
		t.Error("after BAJA the number is not opted out")
	}
	// Opted out: texts are still read, but not answered.
	if _, r := h.text(twiliotest.NewSID(), from, "ayuda"); r != "" {
		t.Errorf("help while opted out answered %q; want no reply", r)
	}
	appendEvent(t, h.db, h.events, dispatch.Event{Type: "visit.en_route", ReportID: rid, VisitID: 9}, map[string]any{"eta": start})
	if n := h.count("SELECT count(*) FROM sms_outbox WHERE kind = 'en_route'"); n != 0 {
		t.Errorf("%d en_route texts queued for an opted-out customer; want 0", n)
	}
	if _, r := h.text(twiliotest.NewSID(), from, "alta"); !strings.HasPrefix(r, "Volver") {
		t.Errorf("alta answered %q; want the opt-in confirmation", r)
	}
	var history []struct {
		OptedOut bool   `bun:"opted_out"`
		Message  string `bun:"message"`
		Source   string `bun:"source"`
	}
	if err := h.db.NewSelect().Table("sms_consent_history").Column("opted_out", "message", "source").
		Where("phone = ?", from).OrderExpr("id").Scan(context.Background(), &history); err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 || !history[0].OptedOut || history[0].Message != "BAJA" || history[1].OptedOut || history[1].Source != "sms" {
		t.Errorf("consent history = %+v; want BAJA then alta", history)
	}
	// Carrier keywords from an unknown number, answered in English.
	other := phone()
	for _, kw := range []string{"STOPALL", "unsubscribe", "Cancel", "END", "quit", "alto", "stop"} {
		h.text(twiliotest.NewSID(), other, kw)
		if out, _ := notify.OptedOut(context.Background(), h.db, other); !out {
			t.Errorf("%s did not opt out", kw)
		}
		h.text(twiliotest.NewSID(), other, "START")
	}
	if _, r := h.text(twiliotest.NewSID(), other, "STOP"); !strings.HasPrefix(r, "You will no longer") {
		t.Errorf("STOP from an unknown number answered %q; want English", r)
	}
}

func TestStatusCallbacks(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	ctx := context.Background()
	rid, _ := report(t, h.db, customer(t, h.db, phone(), "es", false), "fault", "phone")
	row := func(sid string) outboxRow {
		for _, r := range outbox(t, h.db) {
			if r.SID == sid {
				return r
			}
		}
		t.Fatalf("no row with sid %s", sid)
		return outboxRow{}
	}
	callback := func(m twiliotest.Message, status string, code int) {
		t.Helper()
		res, err := h.fake.Post(h.ts.URL+notify.StatusPath, public+notify.StatusPath, h.fake.StatusParams(m, status, code))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("status callback %s: %d; want 204", status, res.StatusCode)
		}
	}
	mk := func() twiliotest.Message {
		m := twiliotest.Message{SID: twiliotest.NewSID(), To: phone()}
		id, _, err := notify.Enqueue(ctx, h.db, notify.Notification{Key: "k" + m.SID, Kind: notify.KindFolio, ReportID: rid, To: m.To, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.db.ExecContext(ctx, "UPDATE sms_outbox SET state = 'sent', sid = ?, status = 'queued', status_rank = 2 WHERE id = ?", m.SID, id); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Out of order and repeated: delivered wins, once.
	a := mk()
	callback(a, "delivered", 0)
	callback(a, "sent", 0)
	callback(a, "delivered", 0)
	callback(a, "queued", 0)
	if r := row(a.SID); r.Status != "delivered" || r.State != "sent" {
		t.Errorf("after out-of-order callbacks: %+v; want delivered", r)
	}
	b := mk()
	callback(b, "sent", 0)
	callback(b, "undelivered", 30003)
	callback(b, "delivered", 0)
	if r := row(b.SID); r.Status != "undelivered" || r.State != "failed" || r.ErrorCode != 30003 {
		t.Errorf("after undelivered: %+v; want failed with 30003", r)
	}
	if n := h.count("SELECT count(*) FROM events WHERE type = 'sms.delivered' AND report_id = ?", rid); n != 1 {
		t.Errorf("%d sms.delivered events; want 1", n)
	}
	if n := h.count("SELECT count(*) FROM events WHERE type = 'sms.failed' AND report_id = ? AND (data->>'error_code')::int = 30003", rid); n != 1 {
		t.Errorf("%d sms.failed events with 30003; want 1", n)
	}
}

// TestStatusBeforeSIDRecorded: Twilio's callback beats the worker's commit; it is applied
// when the worker records the SID.
func TestStatusBeforeSIDRecorded(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	h.fake.OnCreate(func(m twiliotest.Message) {
		res, err := h.fake.Post(h.ts.URL+notify.StatusPath, public+notify.StatusPath, h.fake.StatusParams(m, "delivered", 0))
		if err == nil {
			res.Body.Close()
		}
	})
	enqueue(t, h.db, phone(), "rapido")
	runWorker(t, notify.NewWorker(h.db, notify.NewTwilio(testConfig(t, h.fake), time.Second), fastOptions()))
	rows := waitFinal(t, h.db, 1)
	if rows[0].State != "sent" || rows[0].Status != "delivered" {
		t.Errorf("row = %+v; want sent and delivered", rows[0])
	}
}

// refusingReports refuses to open reports, as a store would for an unusable number.
type refusingReports struct{ testReports }

func (refusingReports) OpenFromSMS(context.Context, bun.Tx, string, string, string) (notify.ReportRef, error) {
	return notify.ReportRef{}, dispatch.Invalid("customer.phone", "not a phone number")
}

func TestInboundRefusedIsNotAnError(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	cfg := testConfig(t, h.fake)
	wh := notify.NewWebhooks(h.db, cfg, refusingReports{testReports{events: h.events}}, h.events, quiet)
	ts := httptest.NewServer(wh.Inbound())
	defer ts.Close()
	res, err := h.fake.Post(ts.URL+notify.InboundPath, public+notify.InboundPath, h.fake.InboundParams(twiliotest.NewSID(), "DESPACHO", "+525500000000", "hola"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Despacho: responda 1") {
		t.Errorf("refused text: %d %s; want 200 with the help text", res.StatusCode, b)
	}
}

// TestInboundFollowsTwilioKeywords: Twilio blocks a number that texts any of its opt-out
// keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) and unblocks
// one that texts an opt-in keyword (START, UNSTOP, YES). The service's consent follows, so
// that it neither texts a number Twilio blocks nor stops texting one Twilio unblocked.
func TestInboundFollowsTwilioKeywords(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	ctx := context.Background()
	for _, kw := range []string{"REVOKE", "optout", "OptOut."} {
		from := phone()
		h.text(twiliotest.NewSID(), from, kw)
		if out, _ := notify.OptedOut(ctx, h.db, from); !out {
			t.Errorf("%s (a Twilio opt-out keyword) did not opt out", kw)
		}
	}
	if n := h.count("SELECT count(*) FROM reports"); n != 0 {
		t.Errorf("%d reports opened by opt-out keywords; want 0", n)
	}
	// Opted out with STOP, the customer texts YES: Twilio unblocks the number.
	from := phone()
	rid, _ := report(t, h.db, customer(t, h.db, from, "es", false), "fault", "phone")
	start := time.Now().Add(48 * time.Hour)
	appendEvent(t, h.db, h.events, dispatch.Event{Type: "visit.booked", ReportID: rid, VisitID: 31},
		map[string]any{"window_start": start, "window_end": start.Add(2 * time.Hour), "technician_name": "Luis"})
	h.text(twiliotest.NewSID(), from, "STOP")
	if _, r := h.text(twiliotest.NewSID(), from, "Yes"); !strings.HasPrefix(r, "Volver") {
		t.Errorf("YES while opted out answered %q; want the opt-in confirmation", r)
	}
	if out, _ := notify.OptedOut(ctx, h.db, from); out {
		t.Error("YES while opted out left the number opted out; Twilio has opted it back in")
	}
	// Not opted out, YES still confirms the visit.
	if _, r := h.text(twiliotest.NewSID(), from, "yes"); !strings.HasPrefix(r, "Gracias, su visita") {
		t.Errorf("YES answered %q; want the visit confirmed", r)
	}
}
