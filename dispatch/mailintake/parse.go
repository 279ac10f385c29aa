package mailintake

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Limits on what Parse accepts and returns.
const (
	// MaxSize is the largest raw message Parse reads, in bytes: room for
	// the 25 MB of attachments Gmail sends, in base64. Attachments are
	// counted as they are read, never kept.
	MaxSize = 36 << 20
	// MaxHeaderSize is the largest header section Parse reads, in bytes.
	MaxHeaderSize = 1 << 20
	// MaxTextBytes is how many bytes of body text parts, as sent, Parse
	// reads in all; text beyond is cut and Message.Truncated set.
	MaxTextBytes = 1 << 20
	// MaxTextRunes is the most runes Message.Text holds; the rest is cut
	// and Message.Truncated set.
	MaxTextRunes = 20000
	// MaxDepth is how deep multiparts may nest; deeper parts are skipped.
	MaxDepth = 8
	// MaxParts is how many MIME parts Parse looks at; later ones are skipped.
	MaxParts = 100
)

// Errors returned by Parse; match them with errors.Is.
var (
	// ErrTooLarge: the raw message is over MaxSize, or its header section
	// over MaxHeaderSize.
	ErrTooLarge = errors.New("mailintake: message too large")
	// ErrNoFrom: there is no From (nor Sender) header.
	ErrNoFrom = errors.New("mailintake: no sender")
	// ErrNoBody: there is neither readable text nor a subject, so nothing
	// to file. A message with only a subject, or only a subject and
	// attachments, is accepted.
	ErrNoBody = errors.New("mailintake: no text and no subject")
)

// ParseError says which part of a message could not be read.
type ParseError struct {
	// Part names what was being read: "header" or "From".
	Part string
	Err  error
}

func (e *ParseError) Error() string { return "mailintake: bad " + e.Part + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// Message is what a report needs from an e-mail.
type Message struct {
	// MessageID is the Message-ID without angle brackets. When the header
	// is missing or empty it is derived from the raw bytes as
	// "<sha256 hex>@mailintake.invalid" (and IDDerived is set): the same
	// raw message always yields the same ID, so a retried delivery is
	// recognised, but a copy relayed with different headers is not.
	MessageID string
	IDDerived bool
	// InReplyTo and References are the message IDs (without angle
	// brackets) this one answers; they let a reply find its folio.
	InReplyTo  []string
	References []string

	FromName    string
	FromAddress string // domain part lower-cased
	Subject     string // RFC 2047 decoded, whitespace collapsed

	// Text is the readable body in UTF-8 with "\n" line ends: text/plain
	// preferred, else HTML reduced to text; inline text parts of a
	// multipart/mixed are joined by a blank line. At most MaxTextRunes, read
	// from at most MaxTextBytes.
	Text      string
	Truncated bool

	// Date is the Date header as written (its own offset), or zero if
	// absent or unparseable.
	Date time.Time

	// Attachments lists the parts that are not body text, in order.
	Attachments []Attachment

	// Automatic says that a machine, not a person, sent the message, and what
	// it is; "" when nothing says so. "auto-reply": an out-of-office or
	// vacation answer (Auto-Submitted other than "no" or "auto-forwarded",
	// X-Autoreply, X-Autorespond, Precedence: auto_reply, or an Outlook-style
	// subject such as "Respuesta automática: …"); "bounce": a delivery failure
	// (multipart/report, MAILER-DAEMON, an empty Return-Path); "receipt": a
	// read receipt; "bulk": Precedence bulk or junk. Answering such a
	// message, or filing it as a customer's report, is how mail loops start.
	Automatic string
}

// Attachment describes a part that is not body text; its content is dropped.
type Attachment struct {
	Filename    string // RFC 2047/2231 decoded; may be empty
	ContentType string // media type without parameters
	Size        int    // decoded bytes
}

// Parse reads a raw RFC 5322 message. Errors are ErrTooLarge, ErrNoFrom,
// ErrNoBody, or a *ParseError when the header section or the From address
// cannot be read at all. Malformed MIME structure is never an error: what
// can be read is kept and the rest skipped.
func Parse(raw []byte) (*Message, error) {
	if len(raw) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), MaxSize)
	}
	header, body, err := sanitizeHeader(raw)
	if errors.Is(err, errHeaderTooLarge) {
		return nil, fmt.Errorf("%w: header section over %d bytes", ErrTooLarge, MaxHeaderSize)
	}
	if err != nil {
		return nil, &ParseError{Part: "header", Err: err}
	}
	mm, err := mail.ReadMessage(bytes.NewReader(header))
	if err != nil {
		return nil, &ParseError{Part: "header", Err: err}
	}
	h := mm.Header
	m := &Message{}

	from := h.Get("From")
	if strings.TrimSpace(from) == "" {
		from = h.Get("Sender")
	}
	if strings.TrimSpace(from) == "" {
		return nil, ErrNoFrom
	}
	m.FromName, m.FromAddress, err = parseFrom(from)
	if err != nil {
		return nil, &ParseError{Part: "From", Err: err}
	}

	m.Subject = collapseSpace(decodeHeader(h.Get("Subject")))
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
	if ids := parseIDs(h.Get("Message-Id")); len(ids) > 0 {
		m.MessageID = ids[0]
	} else {
		sum := sha256.Sum256(raw)
		m.MessageID = hex.EncodeToString(sum[:]) + "@mailintake.invalid"
		m.IDDerived = true
	}
	m.InReplyTo = parseIDs(h.Get("In-Reply-To"))
	m.References = parseIDs(h.Get("References"))

	m.Automatic = automatic(h, m.Subject, m.FromAddress)

	w := &walker{}
	text := w.entity(textproto.MIMEHeader(h), bytes.NewReader(body), 0)
	m.Attachments = w.atts
	m.Text, m.Truncated = truncateRunes(normalizeText(text), MaxTextRunes)
	m.Truncated = m.Truncated || w.cut
	if m.Text == "" && m.Subject == "" {
		return nil, ErrNoBody
	}
	return m, nil
}

// errHeaderTooLarge: the header section is over MaxHeaderSize.
var errHeaderTooLarge = errors.New("header section too large")

// sanitizeHeader returns the header section of raw, without the lines
// net/textproto would refuse (no colon, a name with spaces, a stray
// continuation, an mbox "From " line) so one bad line does not lose the
// message, and the body, which it does not copy. It fails if no field is
// left, or with errHeaderTooLarge.
func sanitizeHeader(raw []byte) (header, body []byte, err error) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	var out bytes.Buffer
	out.Grow(min(len(raw), 16<<10) + 2)
	rest := raw
	kept, fields := false, 0
	for len(rest) > 0 {
		if len(raw)-len(rest) > MaxHeaderSize {
			return nil, nil, errHeaderTooLarge
		}
		line, tail, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			tail = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			if fields == 0 && !found {
				rest = tail
				break
			}
			if fields == 0 {
				rest = tail // leading blank lines
				continue
			}
			out.WriteString("\r\n")
			return out.Bytes(), tail, nil
		}
		rest = tail
		if line[0] == ' ' || line[0] == '\t' {
			if kept {
				out.Write(line)
				out.WriteString("\r\n")
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		name = bytes.TrimRight(name, " \t")
		kept = ok && validFieldName(name)
		if kept {
			out.Write(name)
			out.WriteByte(':')
			out.Write(value)
			out.WriteString("\r\n")
			fields++
		}
	}
	if len(raw)-len(rest) > MaxHeaderSize {
		return nil, nil, errHeaderTooLarge
	}
	if fields == 0 {
		return nil, nil, errors.New("no header fields")
	}
	out.WriteString("\r\n")
	return out.Bytes(), nil, nil
}

func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	return strings.NewReader(decodeCharset(b, charset)), nil
}}

// decodeHeader decodes RFC 2047 words and raw 8-bit bytes to UTF-8. Raw
// bytes are converted first: encoded words are ASCII and survive it.
func decodeHeader(s string) string {
	s = decodeCharset([]byte(s), "")
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		s = d
	}
	return strings.ToValidUTF8(fixC1(s), "\uFFFD")
}

// fixC1 maps C1 control characters to their windows-1252 meaning. The
// standard library decodes "iso-8859-1" words strictly, but senders that
// say iso-8859-1 mean windows-1252 (as browsers assume): byte 0x97 is "—".
func fixC1(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x80 && r <= 0x9f {
			return charmap.Windows1252.DecodeByte(byte(r))
		}
		return r
	}, s)
}

func parseFrom(s string) (name, addr string, err error) {
	s = decodeCharset([]byte(s), "")
	p := mail.AddressParser{WordDecoder: wordDecoder}
	if list, perr := p.ParseList(s); perr == nil && len(list) > 0 {
		name, addr = list[0].Name, list[0].Address
	} else if name, addr = looseAddress(s); addr == "" {
		if perr == nil {
			perr = errors.New("no address")
		}
		return "", "", fmt.Errorf("%q: %w", s, perr)
	}
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		addr = addr[:at] + strings.ToLower(addr[at:])
	}
	return collapseSpace(strings.ToValidUTF8(name, "\uFFFD")), strings.ToValidUTF8(addr, "\uFFFD"), nil
}

// looseAddress digs an address out of a From that net/mail refuses, such as
// `Juan Pérez, Ventas <juan@example.mx>` or `juan@example.mx (Juan)`.
func looseAddress(s string) (name, addr string) {
	if lt := strings.LastIndexByte(s, '<'); lt >= 0 {
		if gt := strings.IndexByte(s[lt:], '>'); gt > 0 {
			cand := strings.TrimSpace(s[lt+1 : lt+gt])
			if looksLikeAddr(cand) {
				name = strings.Trim(strings.TrimSpace(s[:lt]), `"' `)
				return decodeHeader(name), cand
			}
		}
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(" \t<>\"'(),;[]", r) }) {
		if looksLikeAddr(f) {
			return "", f
		}
	}
	return "", ""
}

func looksLikeAddr(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t<>\"")
}

// parseIDs returns the message IDs in a Message-ID, In-Reply-To or
// References header, without angle brackets. IDs not in brackets are taken
// as whitespace-separated words.
func parseIDs(s string) []string {
	var ids []string
	rest := s
	for {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(rest[lt:], '>')
		if gt < 0 {
			break
		}
		if id := strings.TrimSpace(rest[lt+1 : lt+gt]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[lt+gt+1:]
	}
	if ids == nil {
		for _, f := range strings.Fields(s) {
			if f = strings.Trim(f, "<>,"); f != "" {
				ids = append(ids, f)
			}
		}
	}
	for i, id := range ids {
		ids[i] = strings.ToValidUTF8(id, "\uFFFD")
	}
	return ids
}

// walker collects what a MIME tree holds.
type walker struct {
	parts int
	atts  []Attachment
	text  int  // bytes of text parts read, at most MaxTextBytes
	cut   bool // text was left unread
}

// readText reads a text part within what is left of MaxTextBytes and
// decodes it. An unterminated last part reads up to the end with an error;
// its text is still worth having.
func (w *walker) readText(r io.Reader, cte string, params map[string]string) string {
	left := MaxTextBytes - w.text
	b, _ := io.ReadAll(io.LimitReader(r, int64(left)+1))
	cut := len(b) > left
	if cut {
		b, w.cut = b[:left], true
	}
	w.text += len(b)
	b = decodeTransfer(b, cte)
	if cut {
		// The cut may split a character; a split UTF-8 one would make the
		// whole part read as windows-1252.
		b = trimPartialRune(b)
	}
	return decodeCharset(b, params["charset"])
}

// entity returns the readable text of one MIME entity, recording
// attachments on the way.
func (w *walker) entity(h textproto.MIMEHeader, body io.Reader, depth int) string {
	w.parts++
	mediatype, params := contentType(h.Get("Content-Type"))
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	filename := dparams["filename"]
	if filename == "" {
		filename = params["name"]
	}
	filename = decodeHeader(filename)

	if strings.HasPrefix(mediatype, "multipart/") {
		if params["boundary"] == "" {
			// Without a boundary the parts cannot be found; read it as text.
			return w.readText(body, h.Get("Content-Transfer-Encoding"), params)
		}
		return w.multipart(mediatype, params["boundary"], body, depth)
	}

	cte := h.Get("Content-Transfer-Encoding")
	isText := mediatype == "text/plain" || mediatype == "text/html"
	if !isText || disp == "attachment" || (filename != "" && disp != "inline") {
		w.atts = append(w.atts, Attachment{Filename: filename, ContentType: mediatype, Size: decodedSize(body, cte)})
		return ""
	}
	text := w.readText(body, cte, params)
	if mediatype == "text/html" {
		return htmlToText(text)
	}
	if strings.EqualFold(params["format"], "flowed") {
		text = unflow(text, strings.EqualFold(params["delsp"], "yes"))
	}
	return text
}

func (w *walker) multipart(mediatype, boundary string, body io.Reader, depth int) string {
	if depth >= MaxDepth {
		return ""
	}
	type child struct {
		mediatype string
		text      string
	}
	var kids []child
	mr := multipart.NewReader(body, boundary)
	for w.parts < MaxParts {
		p, err := mr.NextRawPart()
		if err != nil {
			break // io.EOF, or a broken structure: keep what was read
		}
		mt, _ := contentType(p.Header.Get("Content-Type"))
		kids = append(kids, child{mt, w.entity(p.Header, p, depth+1)})
	}
	nonEmpty := func(c child) bool { return strings.TrimSpace(c.text) != "" }
	switch mediatype {
	case "multipart/alternative":
		// Prefer plain text, then a nested multipart (which may hold
		// plain text), then HTML, then anything readable.
		for _, want := range []func(string) bool{
			func(mt string) bool { return mt == "text/plain" },
			func(mt string) bool { return strings.HasPrefix(mt, "multipart/") },
			func(string) bool { return true },
		} {
			for _, c := range kids {
				if want(c.mediatype) && nonEmpty(c) {
					return c.text
				}
			}
		}
		return ""
	case "multipart/related":
		// The first part is the root document; the rest are its resources.
		if len(kids) > 0 {
			return kids[0].text
		}
		return ""
	default: // mixed, signed, report, digest and unknown kinds
		var texts []string
		for _, c := range kids {
			if nonEmpty(c) {
				texts = append(texts, c.text)
			}
		}
		return strings.Join(texts, "\n\n")
	}
}

// contentType returns the lower-case media type and its parameters;
// missing or unreadable, it is text/plain. When the parameters are
// malformed, charset and boundary are still dug out by hand.
func contentType(s string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(s)
	if mt == "" || strings.Count(mt, "/") != 1 {
		mt = "text/plain"
	}
	if params == nil {
		params = map[string]string{}
	}
	if err != nil {
		for _, name := range []string{"charset", "boundary"} {
			if v := looseParam(s, name); v != "" {
				params[name] = v
			}
		}
	}
	return mt, params
}

// looseParam finds name=value in a malformed header value.
func looseParam(s, name string) string {
	i := indexASCIIFold(s, name+"=")
	if i < 0 {
		return ""
	}
	v := strings.TrimLeft(s[i+len(name)+1:], " \t")
	if strings.HasPrefix(v, `"`) {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 {
			return v[1 : 1+end]
		}
		v = v[1:]
	}
	if end := strings.IndexAny(v, "; \t\r\n"); end >= 0 {
		v = v[:end]
	}
	return v
}

// indexASCIIFold is strings.Index ignoring ASCII case; unlike lower-casing
// first it keeps byte offsets on invalid UTF-8. needle must be lower case.
func indexASCIIFold(s, needle string) int {
outer:
	for i := 0; i+len(needle) <= len(s); i++ {
		for j := 0; j < len(needle); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				continue outer
			}
		}
		return i
	}
	return -1
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for k := 0; k < n; k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], true
}

// autoSubjects start the subjects of out-of-office answers from clients
// that do not say so in a header (older Outlook and Exchange), lower case.
var autoSubjects = []string{
	"respuesta automática:", "respuesta automatica:", "automatic reply:", "auto reply:", "auto-reply:", "autoreply:",
	"fuera de la oficina:", "out of office:", "out of office reply:", "out of office autoreply:",
}

// automatic returns Message.Automatic for a message's header, decoded subject
// and From address.
func automatic(h mail.Header, subject, from string) string {
	mt, params := contentType(h.Get("Content-Type"))
	local, _, _ := strings.Cut(strings.ToLower(from), "@")
	switch {
	case mt == "multipart/report" && strings.EqualFold(params["report-type"], "disposition-notification"):
		return "receipt"
	case mt == "multipart/report", mt == "message/delivery-status", local == "mailer-daemon",
		strings.TrimSpace(h.Get("Return-Path")) == "<>":
		return "bounce"
	}
	// auto-forwarded is a person's message sent on by a mailbox rule (the
	// address customers know forwarding to the desk): still his words.
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && !strings.HasPrefix(v, "no") &&
		!strings.HasPrefix(v, "auto-forwarded") {
		return "auto-reply"
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond"} {
		if v := strings.ToLower(strings.TrimSpace(h.Get(name))); v != "" && v != "no" {
			return "auto-reply"
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "auto_reply":
		return "auto-reply"
	case "bulk", "junk":
		// Not "list": a customer may write through a group address (Google
		// Groups marks every message so), and that is still his report.
		return "bulk"
	}
	lower := strings.ToLower(subject)
	for _, p := range autoSubjects {
		if strings.HasPrefix(lower, p) {
			return "auto-reply"
		}
	}
	return ""
}
