package postgres_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestAddCustomerMessageSender: a message found by its references joins the report whoever
// sent it, and its event names the sender (data "from", trimmed, as written). Only the
// customer's e-mail on file (trimmed, regardless of case) makes it the customer's; any
// other address (or a customer with no e-mail on file) is recorded as "email:" and the
// address in lower case, a staff user who files it stays its actor. A folio alone threads
// the customer's own address only. No message changes the report's status or version. A
// message without a sender, or from an address longer than any address, is refused and
// stores nothing. Every message was the customer's whatever its From, and the event did
// not say who wrote.
func TestAddCustomerMessageSender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	key := func(k string) *postgres.IdempotencyKey {
		return &postgres.IdempotencyKey{Scope: postgres.EmailScope, Key: k}
	}
	laura := mailReport(t, reports, "laura@example.mx", postgres.CreateOptions{Key: key("laura-1")})

	// A customer known by phone only, whose report a mail's key names (his e-mail was
	// removed, or an agent filed the first mail): nobody writes as him by e-mail.
	nr, err := (&dispatch.ReportInput{Channel: "phone", Kind: "fault", Description: "Sin internet",
		Customer: dispatch.CustomerInput{Name: "Pedro", Phone: "55 4444 3333"}}).Validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pedro, _, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Key: key("pedro-1")})
	if err != nil {
		t.Fatal(err)
	}

	u, err := dispatch.NewUser("mesa@example.mx", "Mesa", dispatch.RoleAgent, "contraseña-segura")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewUsers(db).Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	agent := "user:" + strconv.FormatInt(u.ID, 10)

	customer := postgres.Origin{Actor: "customer"}
	for _, tt := range []struct {
		name        string
		by          postgres.Origin
		from        string
		refs        []string
		folio       string
		report      int64
		actor, seen string // the event's actor and its data "from"
	}{
		{"customer", customer, "laura@example.mx", []string{"laura-1"}, "", laura.Report.ID, "customer", "laura@example.mx"},
		{"customer, other case and spaces", customer, "  LAURA@Example.MX ", []string{"nowhere", "laura-1"}, "", laura.Report.ID, "customer", "LAURA@Example.MX"},
		{"stranger", customer, "vecino@example.mx", []string{"laura-1"}, "", laura.Report.ID, "email:vecino@example.mx", "vecino@example.mx"},
		{"stranger, other case", customer, "Vecino@Example.MX", []string{"m-stranger"}, "", laura.Report.ID, "email:vecino@example.mx", "Vecino@Example.MX"},
		{"customer answering the stranger", customer, "laura@example.mx", []string{"m-stranger"}, "", laura.Report.ID, "customer", "laura@example.mx"},
		{"stranger filed by an agent", postgres.Origin{User: u}, "vecino@example.mx", []string{"laura-1"}, "", laura.Report.ID, agent, "vecino@example.mx"},
		{"customer by folio", customer, "Laura@Example.mx", nil, laura.Report.Folio, laura.Report.ID, "customer", "Laura@Example.mx"},
		{"customer without e-mail on file", customer, "pedro@example.mx", []string{"pedro-1"}, "", pedro.Report.ID, "email:pedro@example.mx", "pedro@example.mx"},
	} {
		id := "m-" + tt.name
		if tt.name == "stranger" {
			id = "m-stranger"
		}
		a, err := reports.AddCustomerMessage(ctx, postgres.CustomerMessage{Key: key(id), Refs: tt.refs, Folio: tt.folio,
			FromEmail: tt.from, Channel: dispatch.ChannelEmail, Subject: "Re: Falla", Text: tt.name, At: time.Now()}, tt.by, 200)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if a.ReportID != tt.report {
			t.Errorf("%s: threaded into report %d, want %d", tt.name, a.ReportID, tt.report)
		}
		var actor, from string
		if err := db.NewRaw(`SELECT actor, data->>'from' FROM events WHERE type = ? AND data->>'text' = ?`,
			dispatch.EventReportCustomerMessage, tt.name).Scan(ctx, &actor, &from); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if actor != tt.actor || from != tt.seen {
			t.Errorf("%s: actor %q from %q; want %q from %q", tt.name, actor, from, tt.actor, tt.seen)
		}
	}

	// A folio from another address threads nothing (it opens the sender's own report).
	_, err = reports.AddCustomerMessage(ctx, postgres.CustomerMessage{Key: key("m-folio-stranger"), Folio: laura.Report.Folio,
		FromEmail: "vecino@example.mx", Channel: dispatch.ChannelEmail, Text: "folio stranger", At: time.Now()}, customer, 200)
	if !errors.Is(err, postgres.ErrNotThreaded) {
		t.Errorf("stranger naming the folio: %v, want ErrNotThreaded", err)
	}
	// No sender: refused, nothing stored, the key not taken.
	_, err = reports.AddCustomerMessage(ctx, postgres.CustomerMessage{Key: key("m-nobody"), Refs: []string{"laura-1"},
		FromEmail: "  ", Channel: dispatch.ChannelEmail, Text: "nobody", At: time.Now()}, customer, 200)
	var de *dispatch.Error
	if !errors.As(err, &de) || de.Kind != dispatch.KindInvalid || de.Field != "from" {
		t.Errorf("message without a sender: %v, want invalid from", err)
	}
	_, err = reports.AddCustomerMessage(ctx, postgres.CustomerMessage{Key: key("m-long"), Refs: []string{"laura-1"},
		FromEmail: strings.Repeat("a", 250) + "@example.mx", Channel: dispatch.ChannelEmail, Text: "long", At: time.Now()}, customer, 200)
	if !errors.As(err, &de) || de.Kind != dispatch.KindInvalid || de.Field != "from" {
		t.Errorf("message from a 261-byte address: %v, want invalid from", err)
	}
	var events, keys int
	if err := db.NewRaw(`SELECT (SELECT count(*) FROM events WHERE data->>'text' IN ('nobody', 'long', 'folio stranger')),
		(SELECT count(*) FROM idempotency_keys WHERE key IN ('m-nobody', 'm-long', 'm-folio-stranger'))`).Scan(ctx, &events, &keys); err != nil {
		t.Fatal(err)
	}
	if events != 0 || keys != 0 {
		t.Errorf("refused messages left %d events and %d keys, want none", events, keys)
	}

	d, err := reports.Get(ctx, laura.Report.Folio)
	if err != nil {
		t.Fatal(err)
	}
	if d.Report.Status != laura.Report.Status || d.Report.Version != laura.Report.Version || d.Report.FirstRespondedAt != nil {
		t.Errorf("report after the messages: status %s version %d responded %v; want %s %d not responded",
			d.Report.Status, d.Report.Version, d.Report.FirstRespondedAt, laura.Report.Status, laura.Report.Version)
	}
}
