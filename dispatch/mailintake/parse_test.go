package mailintake

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

const phrase = "Sin servicio de internet desde ayer — colonia Juárez"

// msg joins header and body lines with CRLF.
func msg(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n")) }

func mustParse(tb testing.TB, raw []byte) *Message {
	tb.Helper()
	m, err := Parse(raw)
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, raw)
	}
	return m
}

// encodeCharset encodes s in charset; both latin labels use the
// windows-1252 encoder, because "—" exists only there and mail clients
// send it under either label.
func encodeCharset(tb testing.TB, s, charset string) []byte {
	tb.Helper()
	if charset == "utf-8" {
		return []byte(s)
	}
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		tb.Fatalf("encoding %q: %v", s, err)
	}
	return b
}

func encodeTransfer(b []byte, cte string) string {
	switch cte {
	case "quoted-printable":
		var buf bytes.Buffer
		w := quotedprintable.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.String()
	case "base64":
		s := base64.StdEncoding.EncodeToString(b)
		var lines []string
		for len(s) > 76 {
			lines = append(lines, s[:76])
			s = s[76:]
		}
		return strings.Join(append(lines, s), "\r\n")
	default:
		return string(b)
	}
}

// TestEncodings checks that Spanish text survives every charset, transfer
// encoding and body type, in the body, the subject and the sender's name.
func TestEncodings(t *testing.T) {
	t.Parallel()
	for _, charset := range []string{"utf-8", "iso-8859-1", "windows-1252"} {
		for _, cte := range []string{"8bit", "quoted-printable", "base64"} {
			for _, kind := range []string{"plain", "html"} {
				t.Run(charset+"/"+cte+"/"+kind, func(t *testing.T) {
					t.Parallel()
					body := phrase + "\nAtentamente,\nJosé Pérez"
					if kind == "html" {
						body = "<html><head><title>x</title><style>p{color:red}</style></head><body><p>" + phrase +
							"</p><p>Atentamente,<br>Jos&eacute; P&#233;rez</p></body></html>"
					}
					subjectQ := mime.QEncoding.Encode(charset, phrase)
					if charset != "utf-8" {
						// mime's encoder writes UTF-8 bytes; encode by hand.
						subjectQ = "=?" + charset + "?B?" + base64.StdEncoding.EncodeToString(encodeCharset(t, phrase, charset)) + "?="
					}
					raw := msg(
						"From: =?"+charset+"?Q?Jos=E9_P=E9rez?= <jose@example.mx>",
						"To: soporte@isp.mx",
						"Subject: "+subjectQ,
						"Message-ID: <abc@example.mx>",
						"MIME-Version: 1.0",
						"Content-Type: text/"+kind+"; charset="+charset,
						"Content-Transfer-Encoding: "+cte,
						"",
						encodeTransfer(encodeCharset(t, body, charset), cte),
					)
					if charset == "utf-8" {
						raw = bytes.Replace(raw, []byte("Jos=E9_P=E9rez"), []byte("Jos=C3=A9_P=C3=A9rez"), 1)
					}
					m := mustParse(t, raw)
					if m.Subject != phrase {
						t.Errorf("Subject = %q, want %q", m.Subject, phrase)
					}
					if m.FromName != "José Pérez" || m.FromAddress != "jose@example.mx" {
						t.Errorf("From = %q <%s>, want José Pérez <jose@example.mx>", m.FromName, m.FromAddress)
					}
					want := phrase + "\n\nAtentamente,\nJosé Pérez"
					if kind == "plain" {
						want = phrase + "\nAtentamente,\nJosé Pérez"
					}
					if m.Text != want {
						t.Errorf("Text = %q, want %q", m.Text, want)
					}
				})
			}
		}
	}
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	raw := msg(
		"Return-Path: <x@y>",
		"From: \"Pérez, José\" <Jose.Perez@Example.MX>",
		"Date: Wed, 25 Nov 2026 09:15:00 -0600",
		"Message-ID:   <  CAF+123@mail.example.mx >  ",
		"In-Reply-To: <folio-2026-000123@despacho.isp.mx>",
		"References: <a@b> <folio-2026-000123@despacho.isp.mx>",
		"Subject: Re: [Folio 2026-000123]\r\n  sigo sin servicio",
		"",
		"Hola",
	)
	m := mustParse(t, raw)
	checks := []struct{ name, got, want string }{
		{"FromName", m.FromName, "Pérez, José"},
		{"FromAddress", m.FromAddress, "Jose.Perez@example.mx"},
		{"MessageID", m.MessageID, "CAF+123@mail.example.mx"},
		{"Subject", m.Subject, "Re: [Folio 2026-000123] sigo sin servicio"},
		{"Text", m.Text, "Hola"},
		{"InReplyTo", strings.Join(m.InReplyTo, ","), "folio-2026-000123@despacho.isp.mx"},
		{"References", strings.Join(m.References, ","), "a@b,folio-2026-000123@despacho.isp.mx"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if want := time.Date(2026, 11, 25, 15, 15, 0, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", m.Date, want)
	}
	if m.IDDerived || m.Truncated || len(m.Attachments) != 0 {
		t.Errorf("IDDerived, Truncated, Attachments = %v, %v, %v; want false, false, none", m.IDDerived, m.Truncated, m.Attachments)
	}
}

func TestDerivedMessageID(t *testing.T) {
	t.Parallel()
	a := msg("From: a@b.mx", "Subject: sin internet", "", "hola")
	b := msg("From: a@b.mx", "Subject: sin internet", "", "hola de nuevo")
	ma, mb, ma2 := mustParse(t, a), mustParse(t, b), mustParse(t, bytes.Clone(a))
	if !ma.IDDerived || !strings.HasSuffix(ma.MessageID, "@mailintake.invalid") {
		t.Errorf("MessageID = %q, IDDerived = %v; want a derived ID", ma.MessageID, ma.IDDerived)
	}
	if ma.MessageID != ma2.MessageID {
		t.Errorf("same raw message gave IDs %q and %q", ma.MessageID, ma2.MessageID)
	}
	if ma.MessageID == mb.MessageID {
		t.Errorf("different messages share the derived ID %q", ma.MessageID)
	}
	if !ma.Date.IsZero() {
		t.Errorf("Date = %v, want zero without a Date header", ma.Date)
	}
}

func TestMultipart(t *testing.T) {
	t.Parallel()
	pdf := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x25, 0x50, 0x44, 0x46}, 100))
	tests := []struct {
		name  string
		raw   []byte
		text  string
		atts  []Attachment
		trunc bool
	}{
		{
			name: "alternative prefers plain",
			raw: msg("From: a@b.mx", "Content-Type: multipart/alternative; boundary=XX", "",
				"--XX", "Content-Type: text/html; charset=utf-8", "", "<p>versión <b>HTML</b></p>",
				"--XX", "Content-Type: text/plain; charset=utf-8", "", "versión texto",
				"--XX--", ""),
			text: "versión texto",
		},
		{
			name: "alternative falls back to html when plain is empty",
			raw: msg("From: a@b.mx", "Content-Type: multipart/alternative; boundary=XX", "",
				"--XX", "Content-Type: text/plain", "", "  ",
				"--XX", "Content-Type: text/html", "", "<div>solo&nbsp;HTML</div>",
				"--XX--"),
			text: "solo HTML",
		},
		{
			name: "mixed with a pdf attachment",
			raw: msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=\"=_b1\"", "",
				"preamble is ignored",
				"--=_b1", "Content-Type: text/plain; charset=iso-8859-1", "Content-Transfer-Encoding: quoted-printable", "",
				"Adjunto el recibo de la aclaraci=F3n.",
				"--=_b1", "Content-Type: application/pdf; name=\"recibo.pdf\"", "Content-Disposition: attachment; filename=\"recibo.pdf\"",
				"Content-Transfer-Encoding: base64", "", pdf,
				"--=_b1--", "epilogue"),
			text: "Adjunto el recibo de la aclaración.",
			atts: []Attachment{{"recibo.pdf", "application/pdf", 400}},
		},
		{
			name: "nested mixed > alternative > related",
			raw: msg("From: a@b.mx", "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=outer", "",
				"--outer", "Content-Type: multipart/alternative; boundary=alt", "",
				"--alt", "Content-Type: multipart/related; boundary=rel", "",
				"--rel", "Content-Type: text/html; charset=windows-1252", "", "<ul><li>M\xf3dem apagado</li><li>Luz roja</li></ul>",
				"--rel", "Content-Type: image/png", "Content-ID: <logo>", "Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=",
				"--rel--",
				"--alt--",
				"--outer", "Content-Type: image/jpeg", "Content-Disposition: attachment; filename*=utf-8''foto%20m%C3%B3dem.jpg", "Content-Transfer-Encoding: base64", "", "/9j/4AAQ",
				"--outer--"),
			text: "- Módem apagado\n- Luz roja",
			atts: []Attachment{{"", "image/png", 8}, {"foto módem.jpg", "image/jpeg", 6}},
		},
		{
			name: "mixed joins inline text parts",
			raw: msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=b", "",
				"--b", "", "primera parte",
				"--b", "Content-Type: text/plain; charset=utf-8", "Content-Disposition: inline", "", "segunda parte",
				"--b--"),
			text: "primera parte\n\nsegunda parte",
		},
		{
			name: "text attachment is not body",
			raw: msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=b", "",
				"--b", "Content-Type: text/plain", "", "cuerpo",
				"--b", "Content-Type: text/plain; name=log.txt", "Content-Disposition: attachment", "", "ping 8.8.8.8",
				"--b", "Content-Type: message/rfc822", "", "From: x@y", "", "reenviado",
				"--b--"),
			text: "cuerpo",
			atts: []Attachment{{"log.txt", "text/plain", 12}, {"", "message/rfc822", 22}},
		},
		{
			name: "unterminated multipart keeps its text",
			raw: msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=b", "",
				"--b", "Content-Type: text/plain", "", "se cortó el correo"),
			text: "se cortó el correo",
		},
		{
			name: "multipart without boundary is read as text",
			raw:  msg("From: a@b.mx", "Content-Type: multipart/mixed", "", "texto suelto"),
			text: "texto suelto",
		},
		{
			name: "malformed parameters still give the charset",
			raw:  msg("From: a@b.mx", "Content-Type: text/plain; charset=iso-8859-1; foo", "", "Ju\xe1rez"),
			text: "Juárez",
		},
		{
			name: "no content type, raw latin-1 body",
			raw:  msg("From: a@b.mx", "Subject: x", "", "se\xf1al d\xe9bil"),
			text: "señal débil",
		},
		{
			name: "broken quoted-printable is kept",
			raw:  msg("From: a@b.mx", "Content-Transfer-Encoding: quoted-printable", "", "50=25 de descuento =ZZ y a=3Db", "Juá=", "rez"),
			text: "50% de descuento =ZZ y a=b\nJuárez",
		},
		{
			name: "base64 without padding and with junk",
			raw:  msg("From: a@b.mx", "Content-Transfer-Encoding: base64", "", "U2luIHNl", "cnZpY2lv*"),
			text: "Sin servicio",
		},
		{
			name: "format=flowed",
			raw:  msg("From: a@b.mx", "Content-Type: text/plain; format=flowed", "", "una l\xc3\xadnea ", "larga", "", "-- ", "firma"),
			text: "una línea larga\n\n--\nfirma",
		},
		{
			name: "mbox line, BOM and junk header lines",
			raw:  msg("\xef\xbb\xbfFrom someone@example Wed Nov 25 10:00:00 2026", "Bad Header: x", " stray continuation", "From: a@b.mx", "X-Spam Score: 1", "", "hola"),
			text: "hola",
		},
		{
			name: "CR-only and bare LF lines, control characters",
			raw:  []byte("From: a@b.mx\nSubject: s\n\nuno\rdos\x00\x07\n\n\n\ntres  \n"),
			text: "uno\ndos\n\ntres",
		},
		{
			name:  "long text is truncated",
			raw:   msg("From: a@b.mx", "", strings.Repeat("ñ", MaxTextRunes+10)),
			text:  strings.Repeat("ñ", MaxTextRunes),
			trunc: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := mustParse(t, tt.raw)
			if m.Text != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			if fmt.Sprint(m.Attachments) != fmt.Sprint(tt.atts) {
				t.Errorf("Attachments = %v, want %v", m.Attachments, tt.atts)
			}
			if m.Truncated != tt.trunc {
				t.Errorf("Truncated = %v, want %v", m.Truncated, tt.trunc)
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"<p>Hola</p><p>Adiós</p>", "Hola\n\nAdiós"},
		{"uno<br>dos<br/>tres<BR >cuatro", "uno\ndos\ntres\ncuatro"},
		{"<script>alert('<p>x</p>')</script>visible<style>.a{}</style>", "visible"},
		{"<!-- <p>oculto</p> -->visible", "visible"},
		{"<a href='x>y'>enlace</a> y <b>negritas</b>", "enlace y negritas"},
		{"1 < 2 &amp;&amp; 3 &gt; 2 &aacute;&#233;&#x00ED; &ntilde;", "1 < 2 && 3 > 2 áéí ñ"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
		{"  muchos \n\n   espacios\t ", "muchos espacios"},
		{"<ol><li>uno<li>dos</ol>", "- uno\n- dos"},
		{"<p>sin cerrar <script>", "sin cerrar"},
		{"<div", ""},
	}
	for _, tt := range tests {
		if got := normalizeText(htmlToText(tt.in)); got != tt.want {
			t.Errorf("htmlToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	deep := "From: a@b.mx\r\n"
	for i := 0; i <= MaxDepth; i++ {
		deep += fmt.Sprintf("Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	deep += "Content-Type: text/plain\r\n\r\ndemasiado hondo\r\n"
	tests := []struct {
		name string
		raw  []byte
		want error // nil: a *ParseError with Part set
		part string
	}{
		{"too large", append(msg("From: a@b.mx", "", ""), bytes.Repeat([]byte("a"), MaxSize)...), ErrTooLarge, ""},
		{"header too large", msg("From: a@b.mx", "Subject: "+strings.Repeat("a", MaxHeaderSize), "", "texto"), ErrTooLarge, ""},
		{"no from", msg("To: a@b.mx", "Subject: hola", "", "texto"), ErrNoFrom, ""},
		{"empty from", msg("From:   ", "Subject: hola", "", "texto"), ErrNoFrom, ""},
		{"no body, no subject", msg("From: a@b.mx", "", "  \r\n "), ErrNoBody, ""},
		{"only an attachment", msg("From: a@b.mx", "Content-Type: image/png", "", "xx"), ErrNoBody, ""},
		{"too deep", []byte(deep), ErrNoBody, ""},
		{"empty", nil, nil, "header"},
		{"no header", []byte("just some text\r\nand more"), nil, "header"},
		{"unreadable from", msg("From: nadie", "Subject: hola", "", "texto"), nil, "From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(tt.raw)
			if m != nil {
				t.Errorf("Parse returned a message with error %v", err)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("Parse error = %v, want %v", err, tt.want)
				}
				return
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Part != tt.part {
				t.Errorf("Parse error = %v, want a *ParseError for %s", err, tt.part)
			}
		})
	}
}

func TestSubjectOnlyAndLooseFrom(t *testing.T) {
	t.Parallel()
	m := mustParse(t, msg("From: Juan Pérez, Ventas <juan@Example.MX>", "Subject: Sin internet", "Content-Type: image/png", "", "xx"))
	if m.FromAddress != "juan@example.mx" || m.FromName != "Juan Pérez, Ventas" {
		t.Errorf("From = %q <%s>, want Juan Pérez, Ventas <juan@example.mx>", m.FromName, m.FromAddress)
	}
	if m.Text != "" || m.Subject != "Sin internet" || len(m.Attachments) != 1 {
		t.Errorf("Text, Subject, Attachments = %q, %q, %v", m.Text, m.Subject, m.Attachments)
	}
	m = mustParse(t, msg("From: juan@example.mx (Juan)", "Sender: other@x.mx", "Subject: \xc1rbol ca\xeddo", "", "x"))
	if m.FromAddress != "juan@example.mx" || m.Subject != "Árbol caído" {
		t.Errorf("From, Subject = %q, %q; want juan@example.mx, Árbol caído", m.FromAddress, m.Subject)
	}
	m = mustParse(t, msg("Sender: oficina@isp.mx", "Subject: s", "", "x"))
	if m.FromAddress != "oficina@isp.mx" {
		t.Errorf("FromAddress = %q, want the Sender oficina@isp.mx", m.FromAddress)
	}
}

func TestPartLimit(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("From: a@b.mx\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < 2*MaxParts; i++ {
		fmt.Fprintf(&b, "--b\r\nContent-Type: text/plain\r\n\r\nparte %d\r\n", i)
	}
	b.WriteString("--b--\r\n")
	m := mustParse(t, []byte(b.String()))
	if n := strings.Count(m.Text, "parte "); n != MaxParts-1 {
		t.Errorf("read %d parts, want %d (the limit less the container)", n, MaxParts-1)
	}
}

// checkMessage asserts what Parse promises of every message it returns.
func checkMessage(tb testing.TB, m *Message) {
	tb.Helper()
	if m.MessageID == "" || m.FromAddress == "" {
		tb.Errorf("MessageID %q, FromAddress %q: want both set", m.MessageID, m.FromAddress)
	}
	if m.Text == "" && m.Subject == "" {
		tb.Errorf("neither Text nor Subject")
	}
	for _, s := range []string{m.MessageID, m.FromName, m.FromAddress, m.Subject, m.Text} {
		if !utf8.ValidString(s) {
			tb.Errorf("invalid UTF-8: %q", s)
		}
	}
	if n := utf8.RuneCountInString(m.Text); n > MaxTextRunes {
		tb.Errorf("Text has %d runes, limit %d", n, MaxTextRunes)
	}
	if strings.Contains(m.Text, "\r") || strings.Contains(m.Text, "\n\n\n") {
		tb.Errorf("Text not normalized: %q", m.Text)
	}
}

func FuzzParse(f *testing.F) {
	seeds := [][]byte{
		msg("From: \"José\" <a@b.mx>", "Subject: =?utf-8?q?Sin_servicio?=", "Message-ID: <x@y>", "", phrase),
		msg("From: a@b.mx", "Content-Type: text/html; charset=windows-1252", "Content-Transfer-Encoding: quoted-printable", "",
			"<p>Ju=E1rez</p><script>x</script>&amp;"),
		msg("From: a@b.mx", "Content-Type: multipart/alternative; boundary=XX", "",
			"--XX", "Content-Type: text/plain; charset=iso-8859-1", "Content-Transfer-Encoding: base64", "", "SnXhcmV6",
			"--XX", "Content-Type: text/html", "", "<b>x</b>", "--XX--"),
		msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=o", "",
			"--o", "Content-Type: multipart/related; boundary=r", "", "--r", "Content-Type: text/html", "", "<li>a", "--r--",
			"--o", "Content-Type: application/pdf; name=a.pdf", "Content-Transfer-Encoding: base64", "", "JVBERg==", "--o--"),
		msg("From: a@b.mx", "Content-Type: text/plain; format=flowed; delsp=yes", "", "a ", "b"),
		msg("From x", "Bad: \xff", "From: <a@b>", "", "=\r\n=4"),
		[]byte("From: a@b\n\n"),
		[]byte("From: a@b\nSubject: =?x-unknown?b?////?=\n\n<"),
		msg("From: a@b.mx", "", "Mi folio es r–2026–000123, mi número es +52 1 55 1234 5678.", "Cel. 55.1234.5678",
			"> Su folio es R-2026-000777", "-- ", "Tel: 55 5000 1000"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw)
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a message and error %v", err)
			}
			return
		}
		checkMessage(t, m)
		checkOwnFacts(t, m.Text)
		// Parsing is deterministic, the derived ID included.
		m2, err := Parse(raw)
		if err != nil || m2.MessageID != m.MessageID || m2.Text != m.Text {
			t.Fatalf("second Parse differs: %v", err)
		}
	})
}

// photoMail is a customer's mail with a phone photo of n bytes attached, base64 in lines
// of 76 as clients send it.
func photoMail(n int) []byte {
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0}, n/4)
	return msg("From: Laura <laura@example.mx>", "Subject: Luz roja en el módem", "Message-ID: <foto@example.mx>",
		"MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b", "",
		"--b", "Content-Type: text/plain; charset=utf-8", "", "Adjunto foto del módem, la luz LOS está en rojo.",
		"--b", "Content-Type: image/jpeg; name=IMG_0412.jpg", "Content-Disposition: attachment; filename=IMG_0412.jpg",
		"Content-Transfer-Encoding: base64", "", encodeTransfer(photo, "base64"),
		"--b--", "")
}

// TestPhotoAttached: a mail with a photo of a few megabytes, the usual "this is what my
// modem shows", is read: its text is the report, the photo is listed. It was refused as too
// large (ErrTooLarge, HTTP 413) from 1 MiB on, losing the customer's report.
func TestPhotoAttached(t *testing.T) {
	t.Parallel()
	m, err := Parse(photoMail(4 << 20))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Text != "Adjunto foto del módem, la luz LOS está en rojo." {
		t.Errorf("Text = %q", m.Text)
	}
	if want := []Attachment{{"IMG_0412.jpg", "image/jpeg", 4 << 20}}; fmt.Sprint(m.Attachments) != fmt.Sprint(want) {
		t.Errorf("Attachments = %v, want %v", m.Attachments, want)
	}
}

// TestTextBytesLimit: text parts are read up to MaxTextBytes in all; the rest is cut and
// Truncated set, even when what was read reduces to fewer than MaxTextRunes.
func TestTextBytesLimit(t *testing.T) {
	t.Parallel()
	html := "<p>inicio</p>" + strings.Repeat("<span></span>", MaxTextBytes/13+1) + "<p>FIN</p>"
	m, err := Parse(msg("From: a@b.mx", "Content-Type: multipart/mixed; boundary=b", "",
		"--b", "Content-Type: text/html", "", html, "--b", "Content-Type: text/plain", "", "otra parte", "--b--"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if m.Text != "inicio" || !m.Truncated {
		t.Errorf("Text, Truncated = %q, %v; want \"inicio\", true", m.Text, m.Truncated)
	}
}

// TestTextCutMidCharacter: a UTF-8 text part cut at MaxTextBytes inside a character is
// still read as UTF-8, not as windows-1252 ("Ã±" for every "ñ").
func TestTextCutMidCharacter(t *testing.T) {
	t.Parallel()
	for _, cte := range []string{"8bit", "base64", "quoted-printable"} {
		body := []byte("x" + strings.Repeat("ñ", MaxTextBytes))
		m, err := Parse(msg("From: a@b.mx", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: "+cte, "",
			encodeTransfer(body, cte)))
		if err != nil {
			t.Fatalf("%s: Parse: %v", cte, err)
		}
		if want := "x" + strings.Repeat("ñ", MaxTextRunes-1); m.Text != want || !m.Truncated {
			t.Errorf("%s: Text starts %q, Truncated %v; want %q…, true", cte, m.Text[:min(20, len(m.Text))], m.Truncated, want[:20])
		}
	}
}
