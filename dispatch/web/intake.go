package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"despacho/dispatch"
	"despacho/dispatch/mailintake"
	"despacho/dispatch/postgres"
)

type intakeAnswer struct {
	Folio string `json:"folio"`
}

// intakeIgnored answers a message that a machine sent (mailintake.Message.Automatic).
type intakeIgnored struct {
	Ignored string `json:"ignored"`
}

// intakeEmail files a report from a raw RFC 5322 message (Content-Type: message/rfc822),
// sent by an agent or by the mail gateway with its token. A reply joins the report it
// answers (threadEmail). Otherwise the sender is matched to a customer by e-mail or becomes
// a new one; the kind is guessed from the words used; a phone number he gives as his in
// his own words fills in a phone he lacks (postgres.CreateOptions.TextPhone), and the
// folios he names are noted on the new report (Cited). A message
// a machine sent (an out-of-office answer, a bounce, a read receipt, bulk mail) files nothing
// and is answered 202 {"ignored": what it is}. The same
// Message-ID again answers 200 with the first folio and creates nothing: the id is claimed
// in the same transaction as the report.
func (s *Server) intakeEmail(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "message/rfc822" {
		return &dispatch.Error{Kind: dispatch.KindMalformed, Code: "unsupported_media_type", Message: "Content-Type must be message/rfc822"}
	}
	// Mail is bigger than JSON: a photo of the modem is the usual attachment. Parse refuses
	// what is over its own limit.
	raw, err := io.ReadAll(io.LimitReader(r.Body, mailintake.MaxSize+1))
	if err != nil {
		return dispatch.Malformed("cannot read the message: %v", err)
	}
	msg, err := mailintake.Parse(raw)
	var pe *mailintake.ParseError
	switch {
	case errors.Is(err, mailintake.ErrTooLarge):
		return &dispatch.Error{Kind: dispatch.KindTooLarge, Code: "body_too_large", Message: "the message is too large"}
	case errors.Is(err, mailintake.ErrNoFrom):
		return dispatch.Invalid("from", "the message has no sender")
	case errors.Is(err, mailintake.ErrNoBody):
		return dispatch.Invalid("body", "the message has no subject and no text")
	case errors.As(err, &pe):
		return dispatch.Malformed("cannot read the message's %s: %v", pe.Part, pe.Err)
	case err != nil:
		return dispatch.Malformed("cannot read the message: %v", err)
	}
	if msg.Automatic != "" {
		// Not a customer's words: filing it would open a report for an out-of-office
		// answer or for MAILER-DAEMON, and the gateway's acknowledgement of it could start
		// a mail loop.
		WriteJSON(w, http.StatusAccepted, intakeIgnored{Ignored: msg.Automatic})
		return nil
	}
	key := emailKey(msg.MessageID)
	// A folio or a phone number acts on a report only from the sender's own words: the
	// quoted original carries our folio and our numbers, a signature somebody else's.
	facts := readFacts(msg)
	if threaded, err := s.threadEmail(w, r, msg, key, facts); err != nil || threaded {
		return err
	}
	name := strings.TrimSpace(msg.FromName)
	if name == "" {
		name, _, _ = strings.Cut(msg.FromAddress, "@")
	}
	desc := msg.Text
	if strings.TrimSpace(desc) == "" {
		desc = msg.Subject
	}
	// The kind comes from the customer's own words: a quoted original or a company's privacy
	// notice (whose ARCO rights say "Cancelación") would make a fault a cancellation.
	kind := dispatch.GuessKind(msg.Subject + "\n" + mailintake.StripQuoted(desc))
	in := dispatch.ReportInput{
		Channel:     string(dispatch.ChannelEmail),
		Kind:        string(kind),
		Subject:     cutRunes(msg.Subject, dispatch.MaxSubject),
		Description: cutRunes(desc, dispatch.MaxDescription),
		Customer:    dispatch.CustomerInput{Name: cutRunes(name, 200), Email: msg.FromAddress},
	}
	nr, err := in.Validate(s.now())
	if err != nil {
		var de *dispatch.Error
		if errors.As(err, &de) && strings.HasPrefix(de.Field, "customer.") {
			return dispatch.Invalid("from", "the sender's address cannot be used: %s", de.Message)
		}
		return err
	}
	by := postgres.Origin{User: Actor(r.Context()), Actor: "customer"}
	// The phone goes as a guess to fill in, never as the customer's phone: that would find
	// whichever customer has the number, and file a stranger's mail under him.
	created, answer, err := s.reports.Create(r.Context(), nr, by, postgres.CreateOptions{
		Key:       &postgres.IdempotencyKey{Scope: postgres.EmailScope, Key: key},
		Answer:    func(c *postgres.Created) (int, any) { return http.StatusCreated, intakeAnswer{Folio: c.Report.Folio} },
		TextPhone: facts.phone,
		Cited:     facts.cited(),
	})
	if err != nil {
		return err
	}
	if answer != nil && answer.Replayed {
		writeRaw(w, http.StatusOK, answer.Body)
		return nil
	}
	WriteJSON(w, http.StatusCreated, intakeAnswer{Folio: created.Report.Folio})
	return nil
}

// emailKey is the idempotency key of a Message-ID. Message-IDs have no length limit and may
// carry any byte: long or odd ones are keyed by their digest.
func emailKey(id string) string {
	if len(id) > 300 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		sum := sha256.Sum256([]byte(id))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// subjectFolio finds a folio in a subject such as "Re: Tu reporte R-2026-000123".
var subjectFolio = regexp.MustCompile(`(?i)\bR-[0-9]{4}-[0-9]{6,12}\b`)

// maxRefs bounds how many referenced Message-IDs are looked up.
const maxRefs = 50

// mailFacts are what a message's subject and its sender's own words say about the report
// it belongs to.
type mailFacts struct {
	subjectFolio string   // the folio in the subject, "" if none
	bodyFolios   []string // the folios in the sender's own words (mailintake.Folios)
	phone        string   // the phone number he gives as his (mailintake.Phone), "" if none
}

func readFacts(msg *mailintake.Message) mailFacts {
	var f mailFacts
	if folio, ok := dispatch.ParseFolio(subjectFolio.FindString(msg.Subject)); ok {
		f.subjectFolio = folio
	}
	f.bodyFolios = mailintake.Folios(msg.Text)
	f.phone = mailintake.Phone(msg.Text)
	return f
}

// folio is the folio the message claims to belong to: the subject's (our acknowledgement
// puts it there), else the one folio the sender's words name; "" when they name none, or
// several (which one would be a guess: the agent decides).
func (f mailFacts) folio() string {
	if f.subjectFolio != "" {
		return f.subjectFolio
	}
	if len(f.bodyFolios) == 1 {
		return f.bodyFolios[0]
	}
	return ""
}

// cited are the folios the message names, each once, for a report it opens.
func (f mailFacts) cited() []string {
	var out []string
	if f.subjectFolio != "" {
		out = append(out, f.subjectFolio)
	}
	for _, b := range f.bodyFolios {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// threadEmail adds msg to the timeline of the report it answers, if any, and writes the
// answer: 200 {"folio","threaded":true}. A reply is recognised by its In-Reply-To or
// References naming a message already filed (the first e-mail of a report or an earlier
// reply), else by the folio it names (mailFacts.folio: in its subject, or the one folio
// in the sender's own words) when the sender's address is that report's customer's e-mail
// on file. A folio that does not exist and one of somebody else's are alike: the message
// opens a report of its own that notes the folio, and the answer says nothing of the
// folio named, so that a stranger can neither write on another's timeline nor learn which
// folios exist. The quoted original is left out of the text. The event names the sender's
// address (data "from"); a reply by references from another address than the customer's
// e-mail on file (a forward, a neighbour in copy, a forged reply) joins the thread as from
// that address (actor "email:ADDRESS", Reports.AddCustomerMessage), not as the customer.
// A phone number the customer gives in his words is added to him when he has none
// (Reports.AddTextPhone, which refuses it from anybody else). It reports false (and writes
// nothing) when the message belongs to no report.
func (s *Server) threadEmail(w http.ResponseWriter, r *http.Request, msg *mailintake.Message, key string, facts mailFacts) (bool, error) {
	var refs []string
	for _, id := range append(append([]string(nil), msg.InReplyTo...), msg.References...) {
		if k := emailKey(id); k != key && !slices.Contains(refs, k) && len(refs) < maxRefs {
			refs = append(refs, k)
		}
	}
	folio := facts.folio()
	if len(refs) == 0 && folio == "" {
		return false, nil
	}
	text := mailintake.StripQuoted(msg.Text)
	if strings.TrimSpace(text) == "" {
		text = msg.Subject
	}
	answer, err := s.reports.AddCustomerMessage(r.Context(), postgres.CustomerMessage{
		Key:  &postgres.IdempotencyKey{Scope: postgres.EmailScope, Key: key},
		Refs: refs, Folio: folio, FromEmail: msg.FromAddress,
		Channel: dispatch.ChannelEmail, Subject: cutRunes(msg.Subject, dispatch.MaxSubject),
		Text: cutRunes(text, dispatch.MaxDescription), At: s.now(),
	}, postgres.Origin{Actor: "customer"}, http.StatusOK) // the store names a stranger by his address
	if errors.Is(err, postgres.ErrNotThreaded) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if facts.phone != "" && answer.ReportID != 0 {
		// After the message, in a transaction of its own: the message is on the timeline
		// whatever becomes of the number. A redelivery (after a failure here) tries again;
		// the number is then on file, or stored now. Only the customer's own address may
		// fill in his phone: AddTextPhone checks the sender again.
		if _, err := s.reports.AddTextPhone(r.Context(), answer.ReportID, msg.FromAddress, facts.phone, s.now(),
			postgres.Origin{Actor: "customer"}); err != nil {
			return false, err
		}
	}
	status := answer.Status
	if answer.Replayed {
		// The first delivery may have opened a report (201) when the message named no
		// filed message then; again, it is the same Message-ID again: 200.
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	writeRaw(w, status, answer.Body)
	return true, nil
}

// cutRunes cuts s to at most n runes and drops control characters other than line breaks
// and tabs, which mail may carry but report texts refuse.
func cutRunes(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
