package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/mailintake"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// mailDesk is an intake server with a mail gateway token; send posts a raw message as the
// gateway and returns the status and the answer's folio.
func mailDesk(t *testing.T) (db *bun.DB, send func(raw string) (int, string, []byte)) {
	t.Helper()
	d := dispatchtest.DB(t)
	ts := httptest.NewServer(web.New(web.Config{DB: d, MailGatewayToken: "gateway-secret-token"}))
	t.Cleanup(ts.Close)
	return d, func(raw string) (int, string, []byte) {
		t.Helper()
		res, b := do(t, "POST", ts.URL+"/api/intake/email", "gateway-secret-token", raw, "Content-Type", "message/rfc822")
		var a struct{ Folio string }
		_ = json.Unmarshal(b, &a)
		return res.StatusCode, a.Folio, b
	}
}

// TestIntakeEmailRedeliveredReplyAnswers200: a message that names other messages (here an
// In-Reply-To nobody filed, as in a reply to the gateway's acknowledgement) but opens a new
// report is answered 201 once; delivered again it is answered 200 with the same folio, as
// the contract says, so the gateway does not acknowledge a second report. It was answered
// 201 again.
func TestIntakeEmailRedeliveredReplyAnswers200(t *testing.T) {
	t.Parallel()
	_, send := mailDesk(t)
	raw := "From: Laura <laura@example.mx>\r\nSubject: Re: Sin internet\r\nMessage-ID: <again@example.mx>\r\n" +
		"In-Reply-To: <ack-1@gateway.isp.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigo sin servicio.\r\n"
	code, folio, b := send(raw)
	if code != 201 || folio == "" {
		t.Fatalf("first delivery = %d %s, want 201 with a folio", code, b)
	}
	if code, again, b := send(raw); code != 200 || again != folio {
		t.Fatalf("second delivery = %d %s, want 200 with %s", code, b, folio)
	}
}

// TestIntakeEmailThreadsAfterADay: the hourly purge of idempotency keys (serve runs it with
// the prefix "" for keys older than a day) keeps e-mail Message-IDs: a customer's reply the
// next day still joins its report, and a message the gateway delivers again after a day
// does not open a second one. Both opened a new report once the purge had run.
func TestIntakeEmailThreadsAfterADay(t *testing.T) {
	t.Parallel()
	db, send := mailDesk(t)
	first := "From: Laura <laura@example.mx>\r\nSubject: Falla de internet\r\nMessage-ID: <day-1@example.mx>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nNo tengo internet.\r\n"
	code, folio, b := send(first)
	if code != 201 || folio == "" {
		t.Fatalf("first mail = %d %s", code, b)
	}
	// What serve's hourly job does once the key is more than a day old.
	if _, err := postgres.PurgeIdempotencyKeys(context.Background(), db, "", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	reply := "From: Laura <laura@example.mx>\r\nSubject: Re: Falla de internet\r\nMessage-ID: <day-2@example.mx>\r\n" +
		"In-Reply-To: <day-1@example.mx>\r\nReferences: <day-1@example.mx>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigue igual.\r\n"
	if code, f, b := send(reply); code != 200 || f != folio {
		t.Errorf("reply the next day = %d %s, want 200 threaded into %s", code, b, folio)
	}
	if code, f, b := send(first); code != 200 || f != folio {
		t.Errorf("first mail delivered again the next day = %d %s, want 200 with %s", code, b, folio)
	}
}

// TestIntakeEmailIgnoresAutomaticMail: out-of-office answers, bounces and read receipts
// are answered 202 {"ignored": why} and neither open a report (with a customer
// "MAILER-DAEMON", and an acknowledgement the gateway would mail back: a loop) nor go on
// the timeline of the report they answer. Each opened a report or added a message.
func TestIntakeEmailIgnoresAutomaticMail(t *testing.T) {
	t.Parallel()
	db, send := mailDesk(t)
	code, folio, b := send("From: Laura <laura@example.mx>\r\nSubject: Falla de internet\r\nMessage-ID: <orig@example.mx>\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nNo tengo internet.\r\n")
	if code != 201 || folio == "" {
		t.Fatalf("first mail = %d %s", code, b)
	}
	for _, tt := range []struct{ name, raw, why string }{
		{"out of office", "From: Laura <laura@example.mx>\r\nSubject: =?utf-8?Q?Respuesta_autom=C3=A1tica:_Folio_" + folio + "?=\r\n" +
			"Auto-Submitted: auto-generated\r\nMessage-ID: <ooo@example.mx>\r\nIn-Reply-To: <orig@example.mx>\r\n\r\nEstoy de vacaciones.\r\n", "auto-reply"},
		{"vacation", "From: laura@example.mx\r\nSubject: Re: Falla de internet\r\nAuto-Submitted: auto-replied\r\n" +
			"Message-ID: <vac@example.mx>\r\n\r\nRegreso el lunes.\r\n", "auto-reply"},
		{"bounce", "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.isp.example>\r\n" +
			"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce@mx.isp.example>\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nNo se pudo entregar a laura@example.mx\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--b--\r\n", "bounce"},
		{"read receipt", "From: laura@example.mx\r\nSubject: =?iso-8859-1?Q?Le=EDdo:_Folio_" + folio + "?=\r\nMessage-ID: <mdn@example.mx>\r\n" +
			"Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nSu mensaje fue le\xeddo.\r\n--b--\r\n", "receipt"},
	} {
		code, _, b := send(tt.raw)
		var a struct{ Ignored string }
		_ = json.Unmarshal(b, &a)
		if code != 202 || a.Ignored != tt.why {
			t.Errorf("%s = %d %s, want 202 ignored %q", tt.name, code, b, tt.why)
		}
	}
	var reports, messages int
	if err := db.NewRaw(`SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM events WHERE type = 'report.customer_message')`).
		Scan(context.Background(), &reports, &messages); err != nil {
		t.Fatal(err)
	}
	if reports != 1 || messages != 0 {
		t.Errorf("reports, customer messages = %d, %d; want 1, 0", reports, messages)
	}
}

// TestIntakeEmailWithPhoto: a customer's mail with a phone photo attached (4 MB, over the
// 1 MiB of a JSON body) files its report; it was refused 413 and the report was lost. Over
// mailintake.MaxSize it is still 413.
func TestIntakeEmailWithPhoto(t *testing.T) {
	t.Parallel()
	_, send := mailDesk(t)
	photo := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, 1<<20))
	var lines []string
	for len(photo) > 76 {
		lines, photo = append(lines, photo[:76]), photo[76:]
	}
	lines = append(lines, photo)
	raw := "From: Laura <laura@example.mx>\r\nSubject: Luz roja en el módem\r\nMessage-ID: <foto@example.mx>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto foto del módem, la luz LOS está en rojo.\r\n" +
		"--b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=IMG_0412.jpg\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		strings.Join(lines, "\r\n") + "\r\n--b--\r\n"
	if code, folio, b := send(raw); code != 201 || folio == "" {
		t.Fatalf("mail with a photo = %d %.300s, want 201 with a folio", code, b)
	}
	huge := "From: laura@example.mx\r\nSubject: x\r\nContent-Type: image/jpeg\r\n\r\n" + strings.Repeat("a", mailintake.MaxSize)
	if code, _, b := send(huge); code != 413 {
		t.Fatalf("mail over MaxSize = %d %.300s, want 413", code, b)
	}
}

// TestIntakeEmailKindFromOwnWords: the kind of a report filed by e-mail is guessed from
// the customer's words, not from the quoted original nor from the privacy notice Mexican
// companies append (whose ARCO rights name "Cancelación"): both were cancellations.
func TestIntakeEmailKindFromOwnWords(t *testing.T) {
	t.Parallel()
	db, send := mailDesk(t)
	for _, tt := range []struct{ name, raw string }{
		{"privacy notice", "From: Juan Pérez <jperez@empresa.mx>\r\nSubject: Sucursal Centro\r\nMessage-ID: <arco@empresa.mx>\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\nEstamos sin internet desde las 9.\r\n\r\nIng. Juan Pérez\r\nGerente de Sistemas\r\n\r\n" +
			"AVISO DE PRIVACIDAD: Usted puede ejercer sus derechos ARCO (Acceso, Rectificación, Cancelación u Oposición) en privacidad@empresa.mx.\r\n"},
		{"quoted original", "From: Laura <laura@example.mx>\r\nSubject: Re: Su reporte\r\nMessage-ID: <quoted@example.mx>\r\n" +
			"In-Reply-To: <ack-9@gateway.isp.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSigue sin internet.\r\n\r\n" +
			"El mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.example> escribió:\r\n> Si desea cancelar su servicio llame al 800 123 4567.\r\n"},
	} {
		code, folio, b := send(tt.raw)
		if code != 201 {
			t.Fatalf("%s = %d %s", tt.name, code, b)
		}
		var kind string
		if err := db.NewRaw(`SELECT kind FROM reports WHERE folio = ?`, folio).Scan(context.Background(), &kind); err != nil {
			t.Fatal(err)
		}
		if kind != "fault" {
			t.Errorf("%s: kind = %s, want fault", tt.name, kind)
		}
	}
}
