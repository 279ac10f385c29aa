package web_test

import (
	"fmt"
	"slices"
	"testing"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// threadMessage is a report.customer_message as GET /api/tickets/{folio} shows it.
type threadMessage struct{ actor, from, text string }

// threadMessages are the e-mail messages on folio's timeline, as an agent reads them.
func (d *bodyDesk) threadMessages(tok, folio string) (ticketJSON, []threadMessage) {
	d.t.Helper()
	res, b := do(d.t, "GET", d.ts.URL+"/api/tickets/"+folio, tok, "")
	if res.StatusCode != 200 {
		d.t.Fatalf("GET %s = %d %s", folio, res.StatusCode, b)
	}
	g := decodeTicket(d.t, b)
	var out []threadMessage
	for _, ev := range g.Timeline {
		if ev.Type == dispatch.EventReportCustomerMessage {
			from, _ := ev.Data["from"].(string)
			text, _ := ev.Data["text"].(string)
			out = append(out, threadMessage{ev.Actor, from, text})
		}
	}
	return g, out
}

// transition moves folio as the agent and fails the test unless it is done.
func (d *bodyDesk) transition(tok, folio, body string) {
	d.t.Helper()
	if res, b := do(d.t, "POST", d.ts.URL+"/api/tickets/"+folio+"/transitions", tok, body); res.StatusCode != 200 {
		d.t.Fatalf("transition %s on %s = %d %s", body, folio, res.StatusCode, b)
	}
}

// TestIntakeEmailThreadSender: a reply threaded by its In-Reply-To / References joins the
// report's timeline whoever sent it, and the event says who did (data "from"). From the
// customer's e-mail on file (whatever the case of the address and the display name) it is
// the customer's ("customer"); from any other address (a neighbour in copy, a forward, a
// forged reply, even one that takes the customer's name) it is recorded as from that
// address (actor "email:ADDRESS"), and it acts on nothing as the customer would: no phone
// filled in, the report waiting on the customer stays so (its SLA clock stopped), a
// resolved one stays resolved. A follow-up of the stranger's, threaded by his own
// Message-ID, is still his; the customer answering it is still the customer. Every reply
// was the customer's, and no event said who wrote.
func TestIntakeEmailThreadSender(t *testing.T) {
	t.Parallel()
	d := newBodyDesk(t)
	createUser(t, postgres.NewUsers(d.db), "mesa@example.mx", dispatch.RoleAgent)
	tok := staffToken(t, d.ts.URL, "mesa@example.mx")

	folio := d.file(`"Laura Gómez" <laura@example.mx>`, "laura-1@example.mx", "No tengo internet.")
	d.transition(tok, folio, `{"action":"wait_customer","reason":"¿Qué luces tiene el módem?"}`)
	before, _ := d.threadMessages(tok, folio)

	for _, m := range []struct{ from, id, body, refs string }{
		{"Laura <laura@example.mx>", "laura-2@example.mx", "La luz LOS está en rojo.", "In-Reply-To: <laura-1@example.mx>"},
		{"LAURA GOMEZ <LAURA@EXAMPLE.MX>", "laura-3@example.mx", "Sigue en rojo.", "References: <laura-1@example.mx> <laura-2@example.mx>"},
		{`"Laura Gómez" <vecino@example.mx>`, "vecino-1@example.mx", "Yo tampoco tengo. Mi número es 55 1111 2222", "In-Reply-To: <laura-1@example.mx>"},
		{"Vecino <Vecino@Example.mx>", "vecino-2@example.mx", "Ya me volvió, ciérrenlo.", "In-Reply-To: <vecino-1@example.mx>"},
		{"laura@example.mx", "laura-4@example.mx", "A mí no me ha vuelto.", "References: <laura-1@example.mx> <vecino-1@example.mx>\r\nIn-Reply-To: <vecino-2@example.mx>"},
	} {
		raw := mail(m.from, "Re: Falla de internet", m.id, m.body+ackQuote, m.refs)
		for range 2 { // a redelivery changes nothing
			if r := d.send(raw); r.code != 200 || r.folio != folio || !r.threaded {
				t.Fatalf("reply %s from %s = %d %s; want 200 threaded into %s", m.id, m.from, r.code, r.body, folio)
			}
		}
	}

	after, got := d.threadMessages(tok, folio)
	want := []threadMessage{
		{"customer", "laura@example.mx", "La luz LOS está en rojo."},
		{"customer", "LAURA@example.mx", "Sigue en rojo."},
		{"email:vecino@example.mx", "vecino@example.mx", "Yo tampoco tengo. Mi número es 55 1111 2222"},
		{"email:vecino@example.mx", "Vecino@example.mx", "Ya me volvió, ciérrenlo."},
		{"customer", "laura@example.mx", "A mí no me ha vuelto."},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("messages on the timeline (actor, from, text):\n got %v\nwant %v", got, want)
	}
	if after.Status != "waiting_customer" || after.Version != before.Version || !after.SLAPaused {
		t.Errorf("after the replies: status %s version %d paused %v; want waiting_customer version %d paused",
			after.Status, after.Version, after.SLAPaused, before.Version)
	}
	if _, phone := d.customer(folio); phone != "" {
		t.Errorf("customer phone = %q from a stranger's reply, want none", phone)
	}
	if n := d.count(`SELECT count(*) FROM events WHERE type = ?`, postgres.EventCustomerPhoneAdded); n != 0 {
		t.Errorf("%s events = %d, want 0", postgres.EventCustomerPhoneAdded, n)
	}

	// A resolved report: a stranger's "no ha vuelto" neither reopens it nor speaks for the
	// customer.
	done := d.file("ana@example.mx", "ana-1@example.mx", "Sin servicio.")
	d.transition(tok, done, `{"action":"resolve","cause":"Fibra cortada","verdict":"upheld","service_restored":true}`)
	resolved, _ := d.threadMessages(tok, done)
	if r := d.send(mail("otro@example.mx", "Re: Sin servicio", "otro-1@example.mx", "No ha vuelto, reabran.", "In-Reply-To: <ana-1@example.mx>")); r.code != 200 || r.folio != done {
		t.Fatalf("stranger's reply to a resolved report = %d %s", r.code, r.body)
	}
	g, got := d.threadMessages(tok, done)
	if want := []threadMessage{{"email:otro@example.mx", "otro@example.mx", "No ha vuelto, reabran."}}; !slices.Equal(got, want) {
		t.Errorf("messages on %s = %v, want %v", done, got, want)
	}
	if g.Status != resolved.Status || g.Version != resolved.Version {
		t.Errorf("resolved report after a stranger's reply: status %s version %d; want %s %d", g.Status, g.Version, resolved.Status, resolved.Version)
	}
}

// String shows a message in failures.
func (m threadMessage) String() string { return fmt.Sprintf("{%s %s %q}", m.actor, m.from, m.text) }
