package mailintake

import "testing"

// TestAutomatic: out-of-office replies, bounces, read receipts and bulk mail say so in
// Message.Automatic; a person's mail, replies and forwards included, does not.
func TestAutomatic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"person", msg("From: Laura <laura@example.mx>", "Subject: Sin internet", "", "No tengo servicio."), ""},
		{"reply", msg("From: laura@example.mx", "Subject: RE: RV: Folio R-2026-000123", "In-Reply-To: <a@b>", "", "Sigue igual."), ""},
		{"auto-submitted no", msg("From: laura@example.mx", "Auto-Submitted: no", "Subject: Hola", "", "Sin internet"), ""},
		{"auto-forwarded", msg("From: Laura <laura@example.mx>", "Auto-Submitted: auto-forwarded", "Subject: Sin internet", "", "No tengo servicio."), ""},
		{"customer's words", msg("From: laura@example.mx", "Subject: La respuesta automática no me sirvió", "", "Quiero hablar con alguien."), ""},
		{"gmail vacation", msg("From: Laura <laura@example.mx>", "Auto-Submitted: auto-replied", "Subject: Fuera de la oficina", "", "Regreso el lunes."), "auto-reply"},
		{"exchange ooo", msg("From: Laura <laura@example.mx>", "Auto-Submitted: Auto-Generated", "X-Auto-Response-Suppress: All",
			"Subject: =?utf-8?Q?Respuesta_autom=C3=A1tica:_Sin_internet?=", "", "Estoy de vacaciones."), "auto-reply"},
		{"x-autoreply", msg("From: laura@example.mx", "X-Autoreply: yes", "Subject: Re: Sin internet", "", "Gracias por su correo."), "auto-reply"},
		{"x-autorespond", msg("From: laura@example.mx", "X-Autorespond: Vacation", "Subject: Re: Sin internet", "", "Gracias."), "auto-reply"},
		{"precedence auto_reply", msg("From: laura@example.mx", "Precedence: auto_reply", "Subject: Re: x", "", "Gracias."), "auto-reply"},
		{"outlook subject only", msg("From: laura@example.mx", "Subject: Respuesta automática: Falla de internet", "", "Estoy fuera."), "auto-reply"},
		{"english subject only", msg("From: laura@example.mx", "Subject: Automatic reply: Folio R-2026-000123", "", "I am away."), "auto-reply"},
		{"bounce", msg("From: Mail Delivery System <MAILER-DAEMON@mx.isp.example>", "Subject: Undelivered Mail Returned to Sender",
			"Content-Type: multipart/report; report-type=delivery-status; boundary=b", "",
			"--b", "Content-Type: text/plain", "", "No se pudo entregar a laura@example.mx",
			"--b", "Content-Type: message/delivery-status", "", "Action: failed", "--b--"), "bounce"},
		{"bounce without report", msg("From: MAILER-DAEMON@mx.isp.example", "Subject: failure notice", "", "Sorry."), "bounce"},
		{"null return path", msg("Return-Path: <>", "From: postmaster@example.mx", "Subject: Undeliverable: Falla", "", "Delivery failed."), "bounce"},
		{"read receipt", msg("From: laura@example.mx", "Subject: Leído: Folio R-2026-000123",
			"Content-Type: multipart/report; report-type=disposition-notification; boundary=b", "",
			"--b", "Content-Type: text/plain", "", "Su mensaje fue leído.",
			"--b", "Content-Type: message/disposition-notification", "", "Disposition: manual-action/MDN-sent-manually; displayed", "--b--"), "receipt"},
		{"bulk", msg("From: promo@tienda.example", "Precedence: bulk", "Subject: Ofertas", "", "50% de descuento"), "bulk"},
		{"group address", msg("From: 'Laura' via Sistemas <sistemas@empresa.mx>", "Precedence: list", "Subject: Sin enlace", "", "Se cayó el enlace."), ""},
	}
	for _, tt := range tests {
		m := mustParse(t, tt.raw)
		if m.Automatic != tt.want {
			t.Errorf("%s: Automatic = %q, want %q", tt.name, m.Automatic, tt.want)
		}
	}
}
