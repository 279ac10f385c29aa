package mailintake

import (
	"regexp"
	"strings"
	"unicode"

	"despacho/dispatch"
)

// MaxFolios is the most folios Folios returns.
const MaxFolios = 10

// folioText matches a folio as people type it in prose: "R-2026-000123",
// "r-2026-000123", "R 2026-000123", with the dashes a mail client's autocorrect
// makes of "-", or without the "R-" right after the word "folio" ("mi folio es
// el 2026-000123").
var folioText = regexp.MustCompile(`(?i)\b(?:r[ \t]?[-‐‑–—][ \t]?|folio[^\d\n]{0,20}?)(\d{4})[ \t]?[-‐‑–—][ \t]?(\d{6,12})\b`)

// ownLines returns OwnWords(text) with the quoted lines that remain between the
// sender's answers ("> ¿Y su teléfono?") blanked: only his own lines are left.
func ownLines(text string) string {
	lines := strings.Split(OwnWords(text), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), ">") {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// Folios returns the folios the sender names in his own words of text
// (OwnWords, without the quoted lines between his answers), normalized
// ("R-2026-000123"), each once, in order, at most MaxFolios. The quoted
// original, a signature and a legal notice are not read: a folio there is
// ours, or somebody else's. Whether a folio exists, and whose it is, is for the
// caller to check.
func Folios(text string) []string {
	var out []string
	for _, m := range folioText.FindAllStringSubmatch(ownLines(text), -1) {
		f, ok := dispatch.ParseFolio(dispatch.FolioPrefix + m[1] + "-" + m[2])
		if !ok || containsString(out, f) {
			continue
		}
		if out = append(out, f); len(out) == MaxFolios {
			break
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// phoneRun matches what may be a phone number as written: digits with spaces,
// dots, dashes and brackets between them, and an optional leading "+".
var phoneRun = regexp.MustCompile(`\+?[ \t]?\(?\d[\d \t().\-]{6,24}\d`)

// phoneCues say that the number after them is the sender's own: "mi número
// es", "mi cel", "llámenme al". Folded: lower case, without accents.
var phoneCues = []string{
	"mi numero", "mi num.", "mi num ", "mi no.", "mi tel", "mi cel", "mi movil", "mi whats", "mi contacto",
	"llamenme", "llamarme", "marquenme", "marcarme", "contactarme", "contactenme", "localizarme", "localizable",
	"comunicarse conmigo", "comunicarme", "escribanme", "mandenme", "enviarme",
	"my number", "my phone", "my cell", "my mobile", "call me", "text me", "reach me",
}

// lineCues are labels that say the same at the start of a line, as in a
// signature typed by hand: "Cel. 55 1234 5678", "Teléfono: …".
var lineCues = []string{
	"tel", "tels", "telefono", "telefonos", "cel", "celular", "movil", "whatsapp", "whats", "contacto",
	"phone", "mobile", "cell",
}

// notPhone are words that, between a cue and a number, say the number is
// something else: "mi número de cuenta es …", "mi número de cliente …".
var notPhone = []string{
	"cuenta", "contrato", "cliente", "folio", "reporte", "ticket", "factura", "recibo", "referencia", "tarjeta", "clabe",
	"pedido", "orden", "serie", "modem", "pago", "monto", "precio", "costo", "plan", "id", "rfc", "curp", "ine",
	"account", "invoice", "order", "serial", "price",
}

// afterNotPhone, right after a number, say it is an amount, or a line whose
// extension no text can reach.
var afterNotPhone = []string{"pesos", "mxn", "m.n", "mn", "usd", "%", "ext", "extension"}

// maxCueGap is how far (in bytes of folded text) a number may follow its cue.
const maxCueGap = 40

// Phone returns, in E.164, the first phone number the sender gives as his own
// in his own words of text (see Folios for which words are his): a number
// after "mi número es", "mi cel", "llámenme al", "my number is" and the like,
// or after a "Tel." / "Cel." label that starts a line, the label on the line
// before it at most. The number is validated as dispatch.NormalizePhone does
// (Mexican unless written with a country code; the old "+52 1" and 044/045
// forms are accepted) and must be one that can take a call or a text: a
// toll-free, premium or shared-cost number is somebody's business line, not
// the sender's. Folios, dates, amounts, account, contract and client numbers
// are not phone numbers, and a number without a cue is left alone: a customer
// quotes the company's own numbers ("llamé al 800 …") as often as his. It
// returns "" when there is none.
func Phone(text string) string {
	s := fold(ownLines(text))
	// A folio's digits are no phone number, whatever cue stands before them.
	s = folioText.ReplaceAllStringFunc(s, func(m string) string { return " folio" + strings.Repeat(" ", max(0, len(m)-6)) })
	for _, m := range phoneRun.FindAllStringIndex(s, -1) {
		start, end := m[0], m[1]
		for start < end && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		if !bounded(s, start, end) || !cued(s, start) {
			continue
		}
		if e164, ok := textablePhone(s[start:end]); ok {
			return e164
		}
	}
	return ""
}

// bounded reports whether s[start:end] stands alone: not part of a longer
// word, an address or a figure ("$1 299.00", "25/11/2026", "a5512345678",
// "5512345678.50"), nor an amount or a line with an extension.
func bounded(s string, start, end int) bool {
	if start > 0 {
		c := s[start-1]
		if isAlnum(c) || strings.IndexByte("$/@_#-", c) >= 0 {
			return false
		}
		if (c == '.' || c == ',') && start > 1 && isDigit(s[start-2]) {
			return false // "1,5512345678"; but "Cel.5512345678" is a label
		}
	}
	if end < len(s) {
		c := s[end]
		if isAlnum(c) || strings.IndexByte("/@_%$", c) >= 0 {
			return false
		}
		if (c == '.' || c == ',' || c == '-') && end+1 < len(s) && isDigit(s[end+1]) {
			return false
		}
	}
	rest := strings.TrimLeft(s[end:], " \t.,;:")
	for _, w := range afterNotPhone {
		if strings.HasPrefix(rest, w) && (len(rest) == len(w) || !isAlnum(rest[len(w)])) {
			return false
		}
	}
	return true
}

// cued reports whether a cue ends at most maxCueGap bytes before start, with
// no digit, amount or word that makes the number something else between them,
// and at most one line break.
func cued(s string, start int) bool {
	from := max(0, start-maxCueGap-32)
	cueEnd := -1
	for _, c := range phoneCues {
		if i := strings.LastIndex(s[from:start], c); i >= 0 && (from+i == 0 || !isAlnum(s[from+i-1])) {
			cueEnd = max(cueEnd, from+i+len(c))
		}
	}
	// A label that starts a line: "Cel. ", "Tel: ", "Teléfono ".
	for p := from; p < start; p++ {
		if p > 0 && s[p-1] != '\n' {
			continue
		}
		lead := p
		for lead < start && strings.IndexByte(" \t*-", s[lead]) >= 0 {
			lead++
		}
		w := lead
		for w < start && isAlnum(s[w]) {
			w++
		}
		if containsString(lineCues, s[lead:w]) {
			cueEnd = max(cueEnd, w)
		}
	}
	if cueEnd < 0 || start-cueEnd > maxCueGap {
		return false
	}
	gap := s[cueEnd:start]
	if strings.Count(gap, "\n") > 1 || strings.ContainsAny(gap, "0123456789$") {
		return false
	}
	for _, w := range strings.FieldsFunc(gap, func(r rune) bool { return r > unicode.MaxASCII || !isAlnum(byte(r)) }) {
		if containsString(notPhone, w) {
			return false
		}
	}
	return true
}

// textablePhone normalizes a number as written and reports whether it is one
// that can be called or texted (a person's: see dispatch.NormalizePersonalPhone).
func textablePhone(s string) (string, bool) {
	e164, err := dispatch.NormalizePersonalPhone("phone", s)
	return e164, err == nil
}

func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// fold lower-cases s and takes the accents off Spanish letters, so that cues
// match "Mi Número", "mi numero" and "MI NÚMERO" alike. Other runes stay.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r = unicode.ToLower(r); r {
		case 'á', 'à', 'ä':
			return 'a'
		case 'é', 'è', 'ë':
			return 'e'
		case 'í', 'ì', 'ï':
			return 'i'
		case 'ó', 'ò', 'ö':
			return 'o'
		case 'ú', 'ù', 'ü':
			return 'u'
		case 'ñ':
			return 'n'
		}
		return r
	}, s)
}
