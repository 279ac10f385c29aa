package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
	"despacho/notify"
)

// bodyDesk is the intake behind a real HTTP server on a fresh database, with the SMS outbox
// hooked to the event log as serve wires it, so that the folio text shows whom a report
// would text. send posts a raw message as the mail gateway.
type bodyDesk struct {
	t  *testing.T
	db *bun.DB
	ts *httptest.Server
}

type intakeReply struct {
	code     int
	folio    string
	threaded bool
	keys     []string // the answer's keys, sorted
	body     string
}

func newBodyDesk(t *testing.T) *bodyDesk {
	t.Helper()
	db := dispatchtest.DB(t)
	events := postgres.NewEvents()
	events.AddHook(notify.NewOutbox(notify.Config{PublicBaseURL: "https://despacho.example.mx"}, slog.New(slog.DiscardHandler)).Hook)
	ts := httptest.NewServer(web.New(web.Config{DB: db, Events: events, MailGatewayToken: "gateway-secret-token"}))
	t.Cleanup(ts.Close)
	return &bodyDesk{t: t, db: db, ts: ts}
}

// mail is a plain-text message from from; extra are more header lines (In-Reply-To…).
func mail(from, subject, id, body string, extra ...string) string {
	h := "From: " + from + "\r\nTo: soporte@isp.example\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"
}

func (d *bodyDesk) send(raw string) intakeReply {
	d.t.Helper()
	res, b := do(d.t, "POST", d.ts.URL+"/api/intake/email", "gateway-secret-token", raw, "Content-Type", "message/rfc822")
	var a struct {
		Folio    string
		Threaded bool
	}
	var all map[string]any
	_ = json.Unmarshal(b, &a)
	_ = json.Unmarshal(b, &all)
	r := intakeReply{code: res.StatusCode, folio: a.Folio, threaded: a.Threaded, body: string(b)}
	for k := range all {
		r.keys = append(r.keys, k)
	}
	slices.Sort(r.keys)
	return r
}

// file sends a first mail, which must open a report, and returns its folio.
func (d *bodyDesk) file(from, id, body string) string {
	d.t.Helper()
	r := d.send(mail(from, "Falla de internet", id, body))
	if r.code != 201 || r.folio == "" {
		d.t.Fatalf("first mail from %s = %d %s, want 201 with a folio", from, r.code, r.body)
	}
	return r.folio
}

// messages are the texts of the customer messages on folio's timeline.
func (d *bodyDesk) messages(folio string) []string {
	d.t.Helper()
	var texts []string
	err := d.db.NewRaw(`SELECT e.data->>'text' FROM events AS e JOIN reports AS r ON r.id = e.report_id
		WHERE r.folio = ? AND e.type = 'report.customer_message' ORDER BY e.id`, folio).Scan(context.Background(), &texts)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		d.t.Fatal(err)
	}
	return texts
}

// createdData is what the intake notes in a report.created event.
type createdData struct {
	CitedFolios []string `json:"cited_folios"`
	TextPhone   *struct {
		Phone   string `json:"phone"`
		Outcome string `json:"outcome"`
	} `json:"text_phone"`
}

func (d *bodyDesk) created(folio string) createdData {
	d.t.Helper()
	var raw string
	if err := d.db.NewRaw(`SELECT e.data FROM events AS e JOIN reports AS r ON r.id = e.report_id
		WHERE r.folio = ? AND e.type = 'report.created'`, folio).Scan(context.Background(), &raw); err != nil {
		d.t.Fatalf("report.created of %s: %v", folio, err)
	}
	var c createdData
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		d.t.Fatal(err)
	}
	return c
}

// customer is the e-mail and phone of folio's customer ("" for none).
func (d *bodyDesk) customer(folio string) (email, phone string) {
	d.t.Helper()
	if err := d.db.NewRaw(`SELECT coalesce(c.email, ''), coalesce(c.phone, '') FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE r.folio = ?`, folio).Scan(context.Background(), &email, &phone); err != nil {
		d.t.Fatal(err)
	}
	return email, phone
}

func (d *bodyDesk) count(q string, args ...any) int {
	d.t.Helper()
	var n int
	if err := d.db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		d.t.Fatal(err)
	}
	return n
}

// ackQuote is the desk's acknowledgement as a mail client quotes it under a reply: its folio
// and its numbers are ours, not the customer's.
const ackQuote = "\n\nEl mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.example> escribió:\n" +
	"> Su folio es R-2026-000777. Mi número directo es 55 5000 2000.\n> Saludos"

// TestIntakeEmailFolioInBodyThreads: a customer who writes a new mail (no In-Reply-To, no
// References, no folio in the subject) saying "mi folio es …" in his own words has it
// added to that folio's timeline, answered 200 {"folio","threaded":true}, and a redelivery
// changes nothing. A folio in the quoted original is not his word: it neither threads nor
// spoils the one he wrote. Each opened a new report.
func TestIntakeEmailFolioInBodyThreads(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	folio := d.file("Laura <laura@example.mx>", "first@example.mx", "No tengo internet.")
	raw := mail("Laura <LAURA@Example.mx>", "Sigo sin servicio", "again@example.mx",
		"Buenas tardes, mi folio es "+strings.ToLower(folio)+" y sigue sin funcionar."+ackQuote)
	for range 2 {
		r := d.send(raw)
		if r.code != 200 || r.folio != folio || !r.threaded {
			t.Fatalf("mail naming its folio in the body = %d %s; want 200 threaded into %s", r.code, r.body, folio)
		}
	}
	// Only the quoted original names a folio (the report's own): a new mail, no thread.
	if r := d.send(mail("laura@example.mx", "Otra cosa", "quoted-only@example.mx", "Quiero cambiar de plan."+
		"\n\nEl mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.example> escribió:\n> Su folio es "+folio)); r.code != 201 || r.folio == folio {
		t.Fatalf("folio only in the quote = %d %s; want a new report", r.code, r.body)
	}
	if got, want := d.messages(folio), []string{"Buenas tardes, mi folio es " + strings.ToLower(folio) + " y sigue sin funcionar."}; !slices.Equal(got, want) {
		t.Fatalf("customer messages = %q, want %q", got, want)
	}
	if n := d.count(`SELECT count(*) FROM reports`); n != 2 {
		t.Fatalf("reports = %d, want 2", n)
	}
}

// TestIntakeEmailFolioOfSomebodyElse: a folio in the body, or in the subject, of a mail
// from an address that is not the report's customer's e-mail on file does not put the
// mail on that folio's timeline: it opens a report of the sender's own that notes the
// folio (report.created "cited_folios") for the agent, and the answer names only the new
// folio. A folio that does not exist gets the same answer, so that nobody learns from it
// which folios exist. The body's folio was ignored and the subject's not noted.
func TestIntakeEmailFolioOfSomebodyElse(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	folio := d.file("Laura <laura@example.mx>", "laura-1@example.mx", "No tengo internet.")

	stranger := d.send(mail("Otro <otro@example.mx>", "Agregar al reporte", "stranger-body@example.mx",
		"Mi folio es "+folio+"; agreguen que ya pagué y quiero la visita mañana."))
	bySubject := d.send(mail("otro@example.mx", "Re: "+folio, "stranger-subject@example.mx", "Hola"))
	missing := d.send(mail("laura@example.mx", "Otro problema", "missing@example.mx", "Mi folio es R-2026-999999, ¿qué pasó?"))
	for name, r := range map[string]intakeReply{"body": stranger, "subject": bySubject, "missing": missing} {
		if r.code != 201 || r.folio == "" || r.folio == folio || strings.Contains(r.body, folio) || r.threaded ||
			!slices.Equal(r.keys, []string{"folio"}) {
			t.Errorf("%s: answer %d %s; want 201 with a new folio and nothing else", name, r.code, r.body)
		}
	}
	if got := d.messages(folio); len(got) != 0 {
		t.Fatalf("%s got the strangers' words on its timeline: %q", folio, got)
	}
	for _, tt := range []struct {
		r     intakeReply
		email string
		cited []string
	}{
		{stranger, "otro@example.mx", []string{folio}},
		{bySubject, "otro@example.mx", []string{folio}},
		{missing, "laura@example.mx", []string{"R-2026-999999"}},
	} {
		if email, _ := d.customer(tt.r.folio); email != tt.email {
			t.Errorf("%s filed for %s, want %s", tt.r.folio, email, tt.email)
		}
		if got := d.created(tt.r.folio).CitedFolios; !slices.Equal(got, tt.cited) {
			t.Errorf("%s notes the folios %q, want %q", tt.r.folio, got, tt.cited)
		}
	}
}

// TestIntakeEmailSeveralFoliosInBody: a mail whose own words name two folios, both the
// sender's, goes on neither timeline (which one would be a guess): it opens a report that
// notes both. A folio in the subject is the one the mail answers, whatever the body names.
func TestIntakeEmailSeveralFoliosInBody(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	f1 := d.file("laura@example.mx", "one@example.mx", "No tengo internet.")
	f2 := d.file("laura@example.mx", "two@example.mx", "El cobro está mal.")
	r := d.send(mail("laura@example.mx", "Mis reportes", "both@example.mx", "Tengo los folios "+f1+" y "+f2+", ¿hay novedades?"))
	if r.code != 201 || r.folio == f1 || r.folio == f2 {
		t.Fatalf("two folios in the body = %d %s; want a new report", r.code, r.body)
	}
	if got := d.created(r.folio).CitedFolios; !slices.Equal(got, []string{f1, f2}) {
		t.Fatalf("new report notes %q, want %q", got, []string{f1, f2})
	}
	if r := d.send(mail("laura@example.mx", "Re: "+f1, "subject-wins@example.mx", "Como dije en el "+f2+", sigue igual.")); r.code != 200 || r.folio != f1 {
		t.Fatalf("folio in the subject, another in the body = %d %s; want 200 threaded into %s", r.code, r.body, f1)
	}
	if n1, n2 := len(d.messages(f1)), len(d.messages(f2)); n1 != 1 || n2 != 0 {
		t.Fatalf("customer messages on %s, %s = %d, %d; want 1, 0", f1, f2, n1, n2)
	}
}

// TestIntakeEmailAllQuotedBody: a body that is all quote (a reply sent without a word)
// names no folio and no phone of the sender's, though the quote holds both: the mail opens
// a report that notes nothing and stores no phone.
func TestIntakeEmailAllQuotedBody(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	folio := d.file("laura@example.mx", "first@example.mx", "No tengo internet.")
	r := d.send(mail("laura@example.mx", "Sin asunto", "empty-reply@example.mx",
		"> Su folio es "+folio+".\n> Mi número es 55 1234 5678.\n> Saludos"))
	if r.code != 201 || r.folio == folio {
		t.Fatalf("all-quoted mail = %d %s; want a new report", r.code, r.body)
	}
	if c := d.created(r.folio); c.CitedFolios != nil || c.TextPhone != nil {
		t.Fatalf("all-quoted mail noted folios %q and phone %+v", c.CitedFolios, c.TextPhone)
	}
	if _, phone := d.customer(r.folio); phone != "" || len(d.messages(folio)) != 0 {
		t.Fatalf("all-quoted mail: phone %q, messages %q", phone, d.messages(folio))
	}
}

// TestIntakeEmailPhoneInBody: a phone number the customer gives in his own words ("mi
// número es 55 1234 5678", "+52 1 33 …") is stored on him in E.164 when he has none, so
// that he is texted: the folio text of a new report goes to it, and a reply to his folio
// adds it (report.customer_phone_added on the timeline). A number in the quoted original
// is not his. A phone on file is not replaced by another one read from a mail. Numbers in
// mail bodies were never read.
func TestIntakeEmailPhoneInBody(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	// A new customer: the folio text goes to the number he wrote.
	r := d.send(mail("Ana <ana@example.mx>", "Sin internet", "ana-1@example.mx", "No tengo internet desde ayer. Mi número es 55 1234 5678, gracias."+ackQuote))
	if r.code != 201 {
		t.Fatalf("new mail = %d %s", r.code, r.body)
	}
	if _, phone := d.customer(r.folio); phone != "+525512345678" {
		t.Fatalf("customer phone = %q, want +525512345678", phone)
	}
	if c := d.created(r.folio); c.TextPhone == nil || c.TextPhone.Phone != "+525512345678" || c.TextPhone.Outcome != postgres.TextPhoneStored {
		t.Fatalf("report.created text_phone = %+v, want +525512345678 stored", c.TextPhone)
	}
	if n := d.count(`SELECT count(*) FROM sms_outbox WHERE kind = 'folio' AND to_phone = '+525512345678'`); n != 1 {
		t.Fatalf("folio texts to the number = %d, want 1", n)
	}

	// A customer known by e-mail only answers his folio with his number.
	folio := d.file("laura@example.mx", "laura-1@example.mx", "No tengo internet.")
	reply := mail("laura@example.mx", "Re: Falla de internet", "laura-2@example.mx", "Sigue igual. Mi cel es +52 1 33 1234 5678"+ackQuote,
		"In-Reply-To: <laura-1@example.mx>")
	for range 2 {
		if r := d.send(reply); r.code != 200 || r.folio != folio {
			t.Fatalf("reply with a number = %d %s", r.code, r.body)
		}
	}
	if _, phone := d.customer(folio); phone != "+523312345678" {
		t.Fatalf("customer phone after the reply = %q, want +523312345678", phone)
	}
	added := `SELECT count(*) FROM events AS e JOIN reports AS r ON r.id = e.report_id
		WHERE r.folio = ? AND e.type = ? AND e.data->>'phone' = '+523312345678'`
	if n := d.count(added, folio, postgres.EventCustomerPhoneAdded); n != 1 {
		t.Fatalf("%s events = %d, want 1", postgres.EventCustomerPhoneAdded, n)
	}

	// Another number later does not replace the one on file.
	if r := d.send(mail("laura@example.mx", "Re: "+folio, "laura-3@example.mx", "Ahora mi número es 81 8888 1234")); r.code != 200 {
		t.Fatalf("second number = %d %s", r.code, r.body)
	}
	r = d.send(mail("laura@example.mx", "Otra falla", "laura-4@example.mx", "Mi número es 81 8888 1234"))
	if _, phone := d.customer(folio); phone != "+523312345678" {
		t.Fatalf("customer phone = %q after other numbers, want +523312345678 kept", phone)
	}
	if c := d.created(r.folio); c.TextPhone == nil || c.TextPhone.Outcome != postgres.TextPhoneKept {
		t.Fatalf("report.created text_phone = %+v, want kept", c.TextPhone)
	}
	if n := d.count(`SELECT count(*) FROM events WHERE type = ?`, postgres.EventCustomerPhoneAdded); n != 1 {
		t.Fatalf("%s events = %d, want 1", postgres.EventCustomerPhoneAdded, n)
	}
}

// TestIntakeEmailPhoneOfSomebodyElse: a mail giving the number of an existing customer
// is not filed under that customer (a number from free text never finds one) and does not
// take the number from him; a stranger replying in a customer's thread does not set that
// customer's phone. A mail naming a customer's number in its body would otherwise read his
// reports' texts and timeline as his.
func TestIntakeEmailPhoneOfSomebodyElse(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	ctx := context.Background()
	if _, err := d.db.ExecContext(ctx, `INSERT INTO customers (name, phone, email, language) VALUES ('Víctor', '+525587654321', 'victor@example.mx', 'es')`); err != nil {
		t.Fatal(err)
	}
	r := d.send(mail("otro@example.mx", "Sin internet", "otro-1@example.mx", "Mi número es 55 8765 4321"))
	if r.code != 201 {
		t.Fatalf("mail = %d %s", r.code, r.body)
	}
	if email, phone := d.customer(r.folio); email != "otro@example.mx" || phone != "" {
		t.Fatalf("filed for %s with phone %q; want otro@example.mx without a phone", email, phone)
	}
	if c := d.created(r.folio); c.TextPhone == nil || c.TextPhone.Outcome != postgres.TextPhoneTaken {
		t.Fatalf("report.created text_phone = %+v, want taken", c.TextPhone)
	}
	if n := d.count(`SELECT count(*) FROM customers WHERE phone = '+525587654321' AND email = 'victor@example.mx'`); n != 1 {
		t.Fatal("the customer lost his number")
	}

	// Somebody the thread reached replies in it with his number: the message goes on the
	// timeline (by its references), the number not on the customer.
	folio := d.file("laura@example.mx", "laura-1@example.mx", "No tengo internet.")
	if r := d.send(mail("vecino@example.mx", "Re: Falla de internet", "vecino-1@example.mx", "Yo tampoco tengo. Mi número es 55 1111 2222",
		"In-Reply-To: <laura-1@example.mx>")); r.code != 200 || r.folio != folio {
		t.Fatalf("reply by another address = %d %s", r.code, r.body)
	}
	if _, phone := d.customer(folio); phone != "" {
		t.Fatalf("customer phone = %q from a stranger's reply, want none", phone)
	}
}

// TestIntakeEmailPhoneBadInput: numbers that are not the sender's phone are not stored: an
// invalid one, a toll-free one, an account number, a folio's digits, a price, one without a
// cue, one in the quoted original or in a signature.
func TestIntakeEmailPhoneBadInput(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	for i, body := range []string{
		"Mi número es 55 1234 567",
		"Mi número es 800 123 4567",
		"Mi número de cuenta es 5512345678",
		"Mi número de folio es R-2026-551234",
		"Mi número es $5512345678",
		"Llamé al 55 5000 1000 y nadie contesta.",
		"Sigue igual." + ackQuote,
		"Sin señal.\n-- \nCel. 55 1234 5678",
	} {
		r := d.send(mail("cliente@example.mx", "Sin internet", "bad-"+string(rune('a'+i))+"@example.mx", body))
		if r.code != 201 {
			t.Fatalf("%q = %d %s", body, r.code, r.body)
		}
		if _, phone := d.customer(r.folio); phone != "" {
			t.Errorf("%q stored phone %s", body, phone)
		}
		if c := d.created(r.folio); c.TextPhone != nil {
			t.Errorf("%q: text_phone %+v", body, c.TextPhone)
		}
	}
}
