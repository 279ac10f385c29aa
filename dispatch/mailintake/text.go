package mailintake

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
)

// decodeTransfer undoes a Content-Transfer-Encoding. Broken encodings are
// decoded as far as possible rather than refused.
func decodeTransfer(b []byte, cte string) []byte {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			return looseQP(b)
		}
		return out
	case "base64":
		return looseBase64(b)
	default: // 7bit, 8bit, binary, or unknown: as is
		return b
	}
}

// decodedSize returns how many bytes the attachment in r decodes to under a
// Content-Transfer-Encoding, as decodeTransfer would, without keeping them.
func decodedSize(r io.Reader, cte string) int {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable": // rare for attachments, and needs its fallback
		b, _ := io.ReadAll(r)
		return len(decodeTransfer(b, cte))
	case "base64":
		// looseBase64's count: the alphabet up to the first padding.
		n, buf := 0, make([]byte, 32<<10)
	read:
		for {
			k, err := r.Read(buf)
			for _, c := range buf[:k] {
				switch {
				case c == '=':
					break read
				case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
					n++
				}
			}
			if err != nil {
				break
			}
		}
		if n%4 == 1 {
			n--
		}
		return base64.RawStdEncoding.DecodedLen(n)
	default:
		n, _ := io.Copy(io.Discard, r)
		return int(n)
	}
}

// looseQP decodes quoted-printable, keeping any "=" that starts no valid
// escape or soft line break.
func looseQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
			j++
		}
		switch {
		case j < len(b) && b[j] == '\n':
			i = j
		case j+1 < len(b) && b[j] == '\r' && b[j+1] == '\n':
			i = j + 1
		case j == len(b):
			i = j
		case i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]):
			out = append(out, unhex(b[i+1])<<4|unhex(b[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// looseBase64 decodes base64 ignoring line breaks, junk characters and
// missing padding, stopping at the first padding character.
func looseBase64(b []byte) []byte {
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c == '=':
			goto done
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '+', c == '/':
			clean = append(clean, c)
		}
	}
done:
	if len(clean)%4 == 1 { // a lone trailing character carries no whole byte
		clean = clean[:len(clean)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

// decodeCharset converts b from charset to UTF-8. An empty, ASCII or UTF-8
// label on bytes that are not UTF-8, and an unknown label, are read as
// windows-1252 (a superset of the printable iso-8859-1).
func decodeCharset(b []byte, charset string) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		if utf8.Valid(b) {
			return string(b)
		}
		return windows1252(b)
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		if utf8.Valid(b) {
			return string(b)
		}
		return windows1252(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return windows1252(b)
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

// trimPartialRune drops the start of a UTF-8 character that b ends in the
// middle of.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

func windows1252(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil { // cannot happen: every byte maps
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// unflow joins the soft line breaks of format=flowed text (RFC 3676).
func unflow(s string, delsp bool) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		soft := strings.HasSuffix(l, " ") && l != "-- " && i < len(lines)-1
		if soft && delsp {
			l = l[:len(l)-1]
		}
		b.WriteString(l)
		if !soft && i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// normalizeText makes line ends "\n", drops control characters and
// byte-order marks, trims the ends of lines, and keeps at most one blank
// line in a row.
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\u00a0':
			return ' '
		case r == '\ufeff' || unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := true // drops leading blank lines
	for _, l := range lines {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// collapseSpace turns every run of white space into one space and trims.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// skipped are elements whose content is not text for people.
var skipped = map[string]bool{"script": true, "style": true, "title": true, "noscript": true, "template": true}

// breaks are elements that start a new line; paragraphs leave a blank one.
var breaks = map[string]int{
	"tr": 1, "div": 1, "dt": 1, "dd": 1, "section": 1, "article": 1, "header": 1, "footer": 1, "address": 1, "center": 1, "form": 1,
	"p": 2, "table": 2, "ul": 2, "ol": 2, "dl": 2, "blockquote": 2, "pre": 2, "hr": 2,
	"h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2,
}

// htmlToText reduces HTML to readable text: script, style and the like are
// dropped, block elements and <br> become line breaks, list items start
// with "- ", cells are separated by a space, and entities are decoded.
// It is a small tolerant scanner, not an HTML parser: it only needs to
// find tags, comments and text.
func htmlToText(s string) string {
	var b strings.Builder
	// Line breaks wait until the next text, so "</p><p>" or "</tr><tr>"
	// give one break, not two; only <br> adds up.
	pending := 0
	text := func(t string) {
		if strings.TrimSpace(t) == "" && (pending > 0 || b.Len() == 0) {
			return
		}
		if b.Len() > 0 {
			b.WriteString(strings.Repeat("\n", pending))
		}
		pending = 0
		b.WriteString(t)
	}
	skipUntil := ""
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			if skipUntil == "" {
				text(collapseHTMLSpace(html.UnescapeString(s[i : i+j])))
			}
			i += j
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		if i+1 >= len(s) || !(isLetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!' || s[i+1] == '?') {
			// "a < b" in text: a literal "<".
			if skipUntil == "" {
				text("<")
			}
			i++
			continue
		}
		end := tagEnd(s, i+1)
		tag := s[i+1 : end]
		i = end + 1
		name, closing, selfClosing := tagName(tag)
		if skipUntil != "" {
			if closing && name == skipUntil {
				skipUntil = ""
			}
			continue
		}
		if skipped[name] {
			if !closing && !selfClosing {
				skipUntil = name
			}
			continue
		}
		switch name {
		case "br":
			pending++
		case "li":
			if !closing {
				pending = max(pending, 1)
				text("- ")
			}
		case "td", "th":
			if closing {
				text(" ")
			}
		default:
			if n, ok := breaks[name]; ok {
				pending = max(pending, n)
			}
		}
	}
	// Trim the spaces the tags left around the line breaks.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == '\u00a0' }), " "))
	}
	return strings.Join(lines, "\n")
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// collapseHTMLSpace turns white space in HTML text, line breaks included,
// into single spaces, as a browser does.
func collapseHTMLSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tagEnd returns the index of the '>' that closes the tag starting at i,
// skipping quoted attribute values, or len(s)-1 if there is none.
func tagEnd(s string, i int) int {
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return len(s) - 1
}

// tagName reads "/p", "br/", "a href=…" into its lower-case name and
// whether it closes or closes itself.
func tagName(tag string) (name string, closing, selfClosing bool) {
	if strings.HasPrefix(tag, "/") {
		closing = true
		tag = tag[1:]
	}
	selfClosing = strings.HasSuffix(tag, "/")
	n := 0
	for n < len(tag) && (isLetter(tag[n]) || '0' <= tag[n] && tag[n] <= '9') {
		n++
	}
	return strings.ToLower(tag[:n]), closing, selfClosing
}
