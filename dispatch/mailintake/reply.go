package mailintake

import (
	"regexp"
	"strings"
)

// replyHeader matches the line a mail client writes above a quoted reply,
// in Spanish or English: "El mié, 25 nov 2026 a las 10:00, Ana <a@b.mx>
// escribió:", "On Wed, Nov 25, 2026 at 10:00 AM Ana <a@b.mx> wrote:".
var replyHeader = regexp.MustCompile(`(?i)^(el|on)\b.{4,200}\b(escribió|wrote)\s*:$`)

// isReplyHeader requires a digit (the date) besides the pattern, so that
// prose like "El técnico me escribió:" is not taken for one.
func isReplyHeader(line string) bool {
	return replyHeader.MatchString(line) && strings.ContainsAny(line, "0123456789")
}

// outlookFrom and outlookSent are the first two lines of the header block
// Outlook writes above the quoted original, with no separator line in its
// plain text: "De: Soporte <s@isp.mx>" then "Enviado el: miércoles, …"
// ("From:", "Sent:" in English; "Fecha:"/"Date:" in other clients).
var (
	outlookFrom = regexp.MustCompile(`(?i)^(de|from)\s*:\s*\S`)
	outlookSent = regexp.MustCompile(`(?i)^(enviado|enviado el|sent|fecha|date)\s*:`)
)

// quoteStart reports whether lines[i] starts the quoted original: an
// attribution line (which Gmail wraps in two when long), or Outlook's
// header block (a From line followed within three lines by its date).
func quoteStart(lines []string, i int) bool {
	t := strings.TrimSpace(lines[i])
	if isReplyHeader(t) {
		return true
	}
	if i+1 < len(lines) && isReplyHeader(t+" "+strings.TrimSpace(lines[i+1])) {
		return true
	}
	if outlookFrom.MatchString(t) {
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			if outlookSent.MatchString(strings.TrimSpace(lines[j])) {
				return true
			}
		}
	}
	return false
}

// notices start the legal text that company mail servers append to every
// message: in Mexico a privacy notice naming the ARCO rights (Acceso,
// Rectificación, Cancelación, Oposición) is usual. Lower case, without
// accents.
var notices = []string{
	"aviso de privacidad", "aviso de confidencialidad", "aviso legal", "nota de confidencialidad",
	"privacy notice", "confidentiality notice", "disclaimer:",
}

var unaccent = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u")

func isNotice(line string) bool {
	t := unaccent.Replace(strings.ToLower(strings.TrimLeft(line, " \t*_-=:")))
	for _, n := range notices {
		if strings.HasPrefix(t, n) {
			return true
		}
	}
	return false
}

// separators start a forwarded or quoted original in Outlook and others.
var separators = []string{
	"-----original message-----",
	"-----mensaje original-----",
	"________________________________",
	"-------- mensaje original --------",
	"-------- original message --------",
}

// StripQuoted returns text without the tail a reply drags along: the
// signature (from a "-- " line), the quoted original (from an "El … escribió:"
// or "On … wrote:" line, even wrapped in two, an Outlook "-----Mensaje
// original-----" separator, or Outlook's "De: … / Enviado el: …" block), a
// legal notice ("Aviso de privacidad: …"), and a trailing block of "> " lines. It never returns less than
// the first non-empty line, so a message that is all quote keeps its text.
// Parse does not call it; Message.Text is the whole body.
func StripQuoted(text string) string {
	if out := OwnWords(text); out != "" {
		return out
	}
	return strings.TrimSpace(text)
}

// OwnWords is StripQuoted without its fallback: what the sender wrote himself,
// "" when the text is all quote, signature or notice. Facts that act on a
// report (a folio, a phone number) are read from it only: a quoted original
// or somebody else's signature is not the sender's word.
func OwnWords(text string) string {
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i, l := range lines {
		t := strings.TrimSpace(l)
		lower := strings.ToLower(t)
		isSep := false
		for _, s := range separators {
			if lower == s {
				isSep = true
			}
		}
		if l == "-- " || l == "--" || isSep || quoteStart(lines, i) || isNotice(t) {
			cut = i
			break
		}
	}
	// A trailing block of quoted lines, with blank lines among them.
	for cut > 0 {
		t := strings.TrimSpace(lines[cut-1])
		if t != "" && !strings.HasPrefix(t, ">") {
			break
		}
		cut--
	}
	return strings.TrimSpace(strings.Join(lines[:cut], "\n"))
}
