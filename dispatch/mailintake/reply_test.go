package mailintake

import "testing"

func TestStripQuoted(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"nothing to strip", "Sigo sin servicio.\n\nGracias", "Sigo sin servicio.\n\nGracias"},
		{"gmail spanish", "Ya volvió el internet.\n\nEl mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.mx> escribió:\n> Su folio es 123\n> Saludos", "Ya volvió el internet."},
		{"gmail english", "Still down.\nOn Wed, Nov 25, 2026 at 10:00 AM Soporte <s@isp.mx> wrote:\n> Folio 123", "Still down."},
		{"outlook", "Adjunto foto.\n\n-----Mensaje original-----\nDe: Soporte\nEnviado: hoy", "Adjunto foto."},
		{"outlook line", "Adjunto foto.\n________________________________\nDe: Soporte", "Adjunto foto."},
		{"signature", "No tengo señal.\n-- \nJosé Pérez\nTel. 55 1234 5678", "No tengo señal."},
		{"trailing quote", "Correcto.\n\n> ¿Confirma su domicilio?\n>\n> Saludos", "Correcto."},
		{"interleaved quote kept", "> ¿Cuál es su domicilio?\nCalle Juárez 10\n> ¿Y su teléfono?\n5512345678", "> ¿Cuál es su domicilio?\nCalle Juárez 10\n> ¿Y su teléfono?\n5512345678"},
		{"prose that looks like a header", "El técnico me escribió:\nque vendría hoy", "El técnico me escribió:\nque vendría hoy"},
		{"all quote", "> solo cita\n> nada más", "> solo cita\n> nada más"},
		{"outlook spanish header block", "Ya reinicié el módem y sigue igual.\n\nDe: Soporte ISP <soporte@isp.mx>\nEnviado el: miércoles, 25 de noviembre de 2026 10:00\nPara: Laura Gómez <laura@example.mx>\nAsunto: Folio R-2026-000123\n\nLe informamos que su folio es R-2026-000123.", "Ya reinicié el módem y sigue igual."},
		{"outlook english header block", "Still down.\n\nFrom: Soporte ISP <soporte@isp.mx>\nSent: Wednesday, November 25, 2026 10:00 AM\nTo: Laura\nSubject: Folio R-2026-000123\n\nSu folio es R-2026-000123.", "Still down."},
		{"gmail attribution wrapped", "Sigue sin funcionar.\n\nEl mié, 25 nov 2026 a las 10:00, Soporte Técnico ISP <\nsoporte@isp.example> escribió:\n\n> Su folio es R-2026-000123.\n>", "Sigue sin funcionar."},
		{"gmail english wrapped", "Still down.\n\nOn Wed, Nov 25, 2026 at 10:00 AM Soporte Técnico ISP <soporte@isp.example>\nwrote:\n\n> Folio 123", "Still down."},
		{"de in prose is not a header", "De: mi casa no sale la señal\nFecha en que empezó: ayer", "De: mi casa no sale la señal\nFecha en que empezó: ayer"},
		{"privacy notice", "Sin internet en la sucursal.\n\nIng. Juan Pérez\n\n**AVISO DE PRIVACIDAD**: sus derechos ARCO (Acceso, Rectificación, Cancelación u Oposición)…", "Sin internet en la sucursal.\n\nIng. Juan Pérez"},
		{"notice in prose is kept", "Me llegó un aviso de privacidad raro.", "Me llegó un aviso de privacidad raro."},
		{"el in prose is not a header", "El técnico no llegó y nadie me escribió: ¿qué pasó?\nAyuda", "El técnico no llegó y nadie me escribió: ¿qué pasó?\nAyuda"},
	}
	for _, tt := range tests {
		if got := StripQuoted(tt.in); got != tt.want {
			t.Errorf("%s: StripQuoted = %q, want %q", tt.name, got, tt.want)
		}
	}
}
