package mailintake

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"despacho/dispatch"
)

// quotedAck is the acknowledgement the desk mails, as a customer's client quotes it under
// his reply: its folio, its phone and its signature are ours.
const quotedAck = "\n\nEl mié, 25 nov 2026 a las 10:00, Soporte <soporte@isp.example> escribió:\n" +
	"> Su folio es R-2026-000777. Para cualquier duda llame al 55 5000 1000.\n> Mi número directo es 55 5000 2000.\n"

func TestFolios(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, text string
		want       []string
	}{
		{"prose", "Hola, mi folio es R-2026-000123 y sigo sin servicio.", []string{"R-2026-000123"}},
		{"lower case, en dash", "ya tengo el folio r–2026–000123", []string{"R-2026-000123"}},
		{"without R after the word folio", "Mi folio es el 2026-000123.", []string{"R-2026-000123"}},
		{"spaced", "Folio: R - 2026 - 000123", []string{"R-2026-000123"}},
		{"long number", "R-2026-1234567", []string{"R-2026-1234567"}},
		{"several, each once", "Tengo R-2026-000123 y R-2026-000124; repito R-2026-000123.", []string{"R-2026-000123", "R-2026-000124"}},
		{"quoted original is ours", "Sigue sin funcionar." + quotedAck, nil},
		{"own and quoted", "Mi folio es R-2026-000123." + quotedAck, []string{"R-2026-000123"}},
		{"all quote", "> Su folio es R-2026-000777.\n> Saludos", nil},
		{"interleaved quote", "> ¿Cuál es su folio?\nNo lo tengo\n> Es R-2026-000777", nil},
		{"signature", "Sin señal.\n-- \nFolio anterior R-2025-000001", nil},
		{"a date is no folio", "Desde el 2026-11-25 sin internet", nil},
		{"too short", "R-2026-12345", nil},
		{"inside a word", "XR-2026-000123", nil},
		{"dates and prices", "Pagué $1,299.00 el 25/11/2026", nil},
	} {
		if got := Folios(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Folios = %q, want %q", tt.name, got, tt.want)
		}
	}
	var many strings.Builder
	for i := range 3 * MaxFolios {
		fmt.Fprintf(&many, "R-2026-%06d ", i)
	}
	if got := Folios(many.String()); len(got) != MaxFolios {
		t.Errorf("Folios of %d folios = %d of them, want %d", 3*MaxFolios, len(got), MaxFolios)
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, text, want string }{
		{"mi número es", "Mi número es 55 1234 5678, gracias.", "+525512345678"},
		{"+52 1", "mi número es +52 1 55 1234 5678", "+525512345678"},
		{"+52", "Mi cel: +52 (33) 1234-5678", "+523312345678"},
		{"044", "Márquenme al 044 55 1234 5678 por favor", "+525512345678"},
		{"dots", "mi teléfono es 81.8888.1234", "+528188881234"},
		{"upper case, accents", "MI NÚMERO ES EL 55-1234-5678", "+525512345678"},
		{"label at line start", "Sigo sin internet.\nSaludos,\nLaura Gómez\nCel. 5512345678", "+525512345678"},
		{"label then next line", "Mi celular es:\n55 1234 5678", "+525512345678"},
		{"english", "Please call me at (55) 1234 5678", "+525512345678"},
		{"second number is the phone", "Mi número de cliente es 5512340000 y mi cel es 55 8765 4321", "+525587654321"},
		{"first of two", "mi cel 55 1234 5678 o mi tel 55 8765 4321", "+525512345678"},
		{"answer below a quoted question", "> ¿Y su teléfono?\nMi tel es 5512345678", "+525512345678"},

		{"no cue", "Llamé al 55 5000 1000 y nadie contesta.", ""},
		{"no cue, with +52", "Les marqué al +52 55 5000 1000", ""},
		{"toll free", "mi número es 800 123 4567", ""},
		{"premium", "mi número es 900 123 4567", ""},
		{"invalid, short", "mi número es 55 1234 567", ""},
		{"invalid, not a number in Mexico", "mi número es 123 456 7890", ""},
		{"account number", "Mi número de cuenta es 5512345678", ""},
		{"contract", "mi número de contrato: 5512345678", ""},
		{"folio digits", "Mi número de folio es R-2026-551234", ""},
		{"folio right after the cue", "mi número es R-2026-5512345678", ""},
		{"price", "mi número es $5512345678", ""},
		{"amount in pesos", "mi cel 5512345678 pesos", ""},
		{"decimal", "mi cel 5512345678.50", ""},
		{"date", "mi cel 25/11/2026", ""},
		{"extension", "mi tel 55 5555 0000 ext. 123", ""},
		{"cue too far", "mi número lo tienen ustedes desde hace muchísimos años en su sistema: 55 1234 5678", ""},
		{"cue two lines up", "mi número es\n\n\n55 1234 5678", ""},
		{"in the quoted original", "Sigue sin funcionar." + quotedAck, ""},
		{"all quote", "> Mi número es 55 1234 5678", ""},
		{"in a signature", "Sin señal.\n-- \nCel. 55 1234 5678", ""},
		{"label inside a word", "Telmex 5512345678", ""},
		{"in an address", "mi cel es 5512345678@sms.example", ""},
	} {
		if got := Phone(tt.text); got != tt.want {
			t.Errorf("%s: Phone(%q) = %q, want %q", tt.name, tt.text, got, tt.want)
		}
	}
}

// TestOwnWords: unlike StripQuoted, a text that is all quote has no own words.
func TestOwnWords(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"> solo cita\n> nada más", ""},
		{"-- \nFirma", ""},
		{"Hola\n> cita", "Hola"},
	} {
		if got := OwnWords(tt.in); got != tt.want {
			t.Errorf("OwnWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkOwnFacts checks what Folios and Phone make of any text (FuzzParse calls it): folios
// of a folio's shape, each once, at most MaxFolios; a phone in E.164 that NormalizePhone
// keeps as it is; nothing when the text has no own words.
func checkOwnFacts(t *testing.T, text string) {
	t.Helper()
	folios := Folios(text)
	if len(folios) > MaxFolios {
		t.Fatalf("Folios returned %d, limit %d", len(folios), MaxFolios)
	}
	for i, f := range folios {
		if g, ok := dispatch.ParseFolio(f); !ok || g != f || slices.Contains(folios[:i], f) {
			t.Fatalf("Folios returned %q: not a normalized folio, or twice", f)
		}
	}
	phone := Phone(text)
	if phone != "" {
		if g, err := dispatch.NormalizePhone("phone", phone); err != nil || g != phone {
			t.Fatalf("Phone returned %q: normalizes to %q, %v", phone, g, err)
		}
	}
	if OwnWords(text) == "" && (len(folios) > 0 || phone != "") {
		t.Fatalf("a text without own words gave folios %q, phone %q", folios, phone)
	}
}

// FuzzOwnFacts feeds Folios and Phone any text, as FuzzParse does with the text of any
// message, more directly.
func FuzzOwnFacts(f *testing.F) {
	for _, s := range []string{
		"Mi folio es R-2026-000123 y mi número es 55 1234 5678." + quotedAck,
		"mi cel: +52 1 (55) 1234-5678\n> Folio R-2026-000777",
		"Mi número de cuenta es 5512345678; pagué $1,299.00 el 25/11/2026.",
		"folio 2026-000123\nCel.\n044 55 1234 5678 ext 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkOwnFacts(t, text)
	})
}
