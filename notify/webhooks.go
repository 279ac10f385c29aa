package notify

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	twclient "github.com/twilio/twilio-go/client"
	"github.com/twilio/twilio-go/twiml"
	"github.com/uptrace/bun"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// Paths of the two Twilio webhooks; the signature covers PUBLIC_BASE_URL + path.
const (
	StatusPath  = "/twilio/status"
	InboundPath = "/twilio/inbound"
)

// ReportRef names a report to the customer.
type ReportRef struct {
	ID    int64
	Folio string
}

// Reports is what inbound texts need from the reports store. Every method is given the
// webhook's transaction (tx), which also records the inbound message: working in it, a
// redelivered webhook finds the message recorded and nothing is done twice. An adapter
// over a store that runs its own transactions may ignore tx; it should then make
// OpenFromSMS and NoteFromSMS idempotent on messageSID (Twilio's MessageSid), so that a
// crash between its commit and the webhook's cannot open a second report. Methods that
// change a report write their own events (e.g. "report.noted", "visit.confirmed",
// "visit.reschedule_requested") for the timeline and the dispatchers' board.
type Reports interface {
	// LatestOpen returns the open report a text from phone is about: answered, the report
	// of the recent text the customer answers (0 when none), while it is the phone's and
	// open; otherwise the phone's customer's latest open report. NotFound when none.
	LatestOpen(ctx context.Context, tx bun.Tx, phone string, answered int64) (ReportRef, error)
	// OpenFromSMS opens a report (channel sms) for the phone, creating the customer when
	// unknown, with body as its description.
	OpenFromSMS(ctx context.Context, tx bun.Tx, messageSID, phone, body string) (ReportRef, error)
	// NoteFromSMS adds body to a report's timeline as the customer's note.
	NoteFromSMS(ctx context.Context, tx bun.Tx, messageSID string, reportID int64, body string) error
	// ConfirmNextVisit records that the customer confirmed a booked visit: visitID, the
	// visit of the text the customer answers (0 when it named none), while it is the
	// phone's and still booked; otherwise their next booked visit. NotFound when there is
	// none.
	ConfirmNextVisit(ctx context.Context, tx bun.Tx, phone string, visitID int64) (ReportRef, error)
	// RequestReschedule records that the customer asks for another time, for dispatchers to
	// act on: for visitID (as for ConfirmNextVisit) while it is the phone's and booked or
	// waiting to be booked again (it could not be completed, or went back to booking);
	// otherwise for their next booked visit. NotFound when there is none.
	RequestReschedule(ctx context.Context, tx bun.Tx, phone string, visitID int64) (ReportRef, error)
	// StillDown answers the restore notice of report reportID (KindIncidentRestored, sent
	// when an incident resolved the report) with "service is still down": the report
	// reopens with a normal visit. A report already reopened is returned unchanged.
	// NotFound when the report is not one an incident resolved.
	StillDown(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (ReportRef, error)
	// RestoreConfirmed answers the same notice, or the outcome text of a report resolved
	// otherwise (KindCompleted), with "service is back": the report records the customer's
	// confirmation. NotFound when the report is not resolved (reopened meanwhile).
	RestoreConfirmed(ctx context.Context, tx bun.Tx, reportID int64, now time.Time) (ReportRef, error)
}

// Webhooks serves Twilio's status callbacks and inbound texts.
type Webhooks struct {
	db        *bun.DB
	cfg       Config
	validator twclient.RequestValidator
	reports   Reports
	events    EventLog
	log       *slog.Logger
	now       func() time.Time
}

// NewWebhooks returns the webhook handlers. Without an auth token (development) no
// signature can be checked and every call is refused.
func NewWebhooks(db *bun.DB, cfg Config, reports Reports, events EventLog, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.Default()
	}
	if events == nil {
		events = postgres.NewEvents()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Webhooks{db: db, cfg: cfg, validator: twclient.NewRequestValidator(cfg.AuthToken),
		reports: reports, events: events, log: log, now: time.Now}
}

// WithClock has the webhooks read the time from now instead of the system clock (tests
// standing on a given evening); call it during wiring. It returns h.
func (h *Webhooks) WithClock(now func() time.Time) *Webhooks {
	h.now = now
	return h
}

// verify parses the form and checks X-Twilio-Signature against PUBLIC_BASE_URL + path.
func (h *Webhooks) verify(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "malformed", "the body is not a readable form", "")
		return false
	}
	sig := r.Header.Get("X-Twilio-Signature")
	u := h.cfg.PublicBaseURL + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	if h.cfg.AuthToken == "" || sig == "" || !h.validator.Validate(u, params, sig) {
		writeError(w, http.StatusForbidden, "invalid_signature", "X-Twilio-Signature is missing or does not match", "X-Twilio-Signature")
		return false
	}
	// Signed, so from Twilio; still, what it relays is what a phone sent. A text is never
	// refused for its bytes (the customer's words would be lost): invalid UTF-8 and control
	// characters PostgreSQL cannot store in text (NUL) or no one can read are replaced.
	for _, v := range r.PostForm {
		for i := range v {
			v[i] = printable(v[i])
		}
	}
	return true
}

// writeError answers a refused or failed webhook call with the contract's JSON error,
// {"error": {"code","message","field"}}; Twilio logs the body in its console.
func writeError(w http.ResponseWriter, status int, code, message, field string) {
	body := map[string]string{"code": code, "message": message}
	if field != "" {
		body["field"] = field
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// printable is s as valid UTF-8 without control characters other than newline, carriage
// return and tab; each invalid byte sequence or control character becomes U+FFFD.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
}

// Status serves POST /twilio/status: a delivery callback. Status moves only forward
// (queued < sending < sent < delivered | undelivered | failed), so late and repeated
// callbacks change nothing; a callback for a SID not yet recorded is kept and applied
// when the worker records it.
func (h *Webhooks) Status() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.verify(w, r) {
			return
		}
		sid := r.PostForm.Get("MessageSid")
		status := r.PostForm.Get("MessageStatus")
		if status == "" {
			status = r.PostForm.Get("SmsStatus")
		}
		if sid == "" || statusRank(status) == 0 {
			field := "MessageStatus"
			if sid == "" {
				field = "MessageSid"
			}
			writeError(w, http.StatusUnprocessableEntity, "invalid", "a MessageSid and a known MessageStatus are required", field)
			return
		}
		var code *int
		if c, err := strconv.Atoi(r.PostForm.Get("ErrorCode")); err == nil && c != 0 {
			code = &c
		}
		now := h.now().UTC()
		err := inTx(r.Context(), h.db, h.events, func(ctx context.Context, tx bun.Tx) error {
			if err := lockSID(ctx, tx, sid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO sms_callbacks (sid, status, error_code, received_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (sid, status) DO NOTHING`, sid, status, code, now); err != nil {
				return postgres.Wrap(err)
			}
			_, err := applyStatus(ctx, tx, h.events, sid, status, code, now)
			return err
		})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (h *Webhooks) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	if dispatch.ErrorKind(err) == dispatch.KindUnavailable {
		status, code = http.StatusServiceUnavailable, "unavailable" // Twilio retries
	}
	h.log.ErrorContext(r.Context(), "notify: webhook failed", "path", r.URL.Path, "err", err)
	writeError(w, status, code, "the webhook could not be recorded; Twilio retries", "")
}

// sidLockSpace is the first key of the transaction advisory locks taken per message SID.
const sidLockSpace = 74133

// lockSID serialises, per SID, a status callback with the worker recording that SID: without
// it, a callback stored while the worker's transaction is still open would be seen by
// neither (the callback finds no row with the SID, the worker finds no callback).
func lockSID(ctx context.Context, tx bun.Tx, sid string) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(?))", sidLockSpace, sid)
	return postgres.Wrap(err)
}

type callback struct {
	Status    string `bun:"status"`
	ErrorCode *int   `bun:"error_code"`
}

// statusRank orders Twilio's message statuses; final ones share the top rank so that the
// first final status wins. Unknown statuses rank 0 and are ignored.
func statusRank(s string) int {
	switch s {
	case "accepted", "scheduled":
		return 1
	case "queued":
		return 2
	case "sending":
		return 3
	case "sent":
		return 4
	case "delivered", "undelivered", "failed", "canceled":
		return 5
	case "read":
		return 6
	}
	return 0
}

// applyStatus moves the outbox row of sid to status when that is a move forward, and
// writes sms.delivered or sms.failed on the report's timeline. It reports whether the row
// changed.
func applyStatus(ctx context.Context, tx bun.Tx, events EventLog, sid, status string, code *int, now time.Time) (bool, error) {
	rank := statusRank(status)
	if rank == 0 {
		return false, nil
	}
	var row struct {
		ID       int64  `bun:"id"`
		Kind     string `bun:"kind"`
		ReportID int64  `bun:"report_id,nullzero"`
		VisitID  int64  `bun:"visit_id,nullzero"`
	}
	final := status == "undelivered" || status == "failed"
	err := tx.NewRaw(`
		UPDATE sms_outbox SET status = ?, status_rank = ?, error_code = coalesce(?, error_code),
		       state = CASE WHEN ? THEN 'failed' ELSE state END, updated_at = ?
		WHERE sid = ? AND status_rank < ?
		RETURNING id, kind, report_id, visit_id`, status, rank, code, final, now, sid, rank).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, postgres.Wrap(err)
	}
	var typ string
	data := map[string]any{"outbox_id": row.ID, "kind": row.Kind, "sid": sid, "status": status}
	switch {
	case status == "delivered":
		typ = "sms.delivered"
	case final:
		typ = "sms.failed"
		if code != nil {
			data["error_code"] = *code
		}
	default:
		return true, nil
	}
	return true, events.Append(ctx, tx, &dispatch.Event{Type: typ, At: now, Actor: "twilio", Channel: "sms",
		ReportID: row.ReportID, VisitID: row.VisitID}, data)
}

// Keywords recognised in an inbound text (the whole text, upper-cased, accents removed).
// The opt-out and opt-in words include Twilio's own (which block and unblock the number at
// Twilio), so that consent here follows Twilio's; YES, also Twilio's, opts in only a number
// that opted out (see Inbound).
var (
	optOutWords  = words("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "BAJA", "ALTO")
	optInWords   = words("START", "UNSTOP", "ALTA")
	helpWords    = words("AYUDA", "HELP", "INFO")
	confirmWords = words("1", "SI", "CONFIRMO", "CONFIRMAR", "YES", "CONFIRM")
	changeWords  = words("2", "CAMBIAR", "CAMBIO", "CHANGE")
	noWords      = words("NO", "NEGATIVO", "NOPE")
	englishWords = words("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "START", "UNSTOP", "HELP", "INFO", "YES", "CONFIRM", "CHANGE")
)

// Phrases that, inside an answer to a restore notice, say service is still down or is back
// ("Todavía no tengo internet", "ya funciona, gracias"); still-down ones are tried first,
// since "NO FUNCIONA" contains "FUNCIONA". A still-down phrase is matched as whole words
// ("bueno tengo internet" holds no "NO TENGO"), its last word also with a plural or verb
// ending ("no funcionan", "sin señales").
var (
	stillDownPhrases = phrases("SIN SERVICIO", "SIN INTERNET", "SIN SENAL", "SIN LINEA", "NO TENGO", "NO FUNCIONA",
		"NO SIRVE", "NO HAY", "NO JALA", "SIGUE FALLANDO", "SIGUE SIN", "SIGUE IGUAL", "SIGUE MAL", "TODAVIA NO", "AUN NO",
		// The negations of the restored phrases below ("no ha regresado", "volvió a fallar").
		"NO REGRESO", "NO HA REGRESADO", "NO VOLVIO", "NO HA VUELTO", "NO QUEDO", "NO HA QUEDADO", "NO SE ARREGLO",
		"NO SE HA ARREGLADO", "VOLVIO A FALLAR", "VOLVIO A CAER", "SE VOLVIO A IR",
		"STILL DOWN", "NOT WORKING", "STILL NO", "DOES NOT WORK", "DOESNT WORK", "DOESN'T WORK", "NO SERVICE")
	// Words that say it only as whole words: "Gracias, igualmente" is no "igual".
	stillDownWords = []string{"IGUAL", "NADA"}
	// Phrases that hold a still-down word or phrase and say nothing of the kind: courtesy
	// ("de nada" read as "nada" reopened reports), and good news ("nada mal", "nada más
	// para avisar que ya funciona", "ya no hay fallas"). They are taken out of an answer
	// before it is read, so "no hay problema, pero sigue sin internet" is still down. "Ya
	// nada" ("hoy ya nada": nothing works any more) and "no hay nada" stay still down.
	notStillDown = phrases("DE NADA", "POR NADA", "NADA QUE AGRADECER", "NADA MAL", "NADA MAS",
		"NO HAY DE QUE", "NO HAY PROBLEMA", "NO HAY NINGUN PROBLEMA", "NO HAY FALLA",
		"NO TENGO PROBLEMA", "NO TENGO NINGUN PROBLEMA", "NO TENGO FALLA", "NO TENGO QUEJA")
	restoredPhrases = phrases("YA TENGO", "YA FUNCIONA", "YA HAY", "YA SIRVE", "YA JALA", "FUNCIONA BIEN", "TODO BIEN",
		"YA REGRESO", "REGRESO", "YA VOLVIO", "VOLVIO", "YA QUEDO", "YA SE ARREGLO",
		"WORKS", "IT'S BACK", "ITS BACK", "IS BACK")
)

// agreeWords agree to what they answer: to a text that asks to confirm a visit (booked,
// reminder) they confirm it as "1" does — many customers answer "Ok" or "Perfecto" where
// the text asked for a 1 — and to anything else they are acknowledgements (ackWords).
var agreeWords = words("OK", "OKAY", "OKEY", "OK OK", "VALE", "ENTERADO", "ENTERADA", "PERFECTO", "DE ACUERDO",
	"CORRECTO", "SALE", "ESTA BIEN", "MUY BIEN", "BIEN", "EXCELENTE", "GOT IT")

// ackWords acknowledge a text without answering it ("Gracias!", "Ok gracias" → "OK"; "👍"
// alone, and a picture without words, are ""): they ask for nothing, and get nothing,
// neither a report, nor a note, nor a reply (see Inbound).
var ackWords = words("", "GRACIAS", "MUCHAS GRACIAS", "MIL GRACIAS", "OK", "OKAY", "OKEY", "OK OK", "VALE", "ENTERADO",
	"ENTERADA", "PERFECTO", "BIEN", "MUY BIEN", "EXCELENTE", "THANKS", "THANK YOU", "GOT IT",
	// The courtesy that answers ours ("Gracias por su paciencia" → "De nada").
	"DE NADA", "POR NADA", "IGUALMENTE", "A USTED", "NO HAY DE QUE", "NO HAY PROBLEMA", "SIN PROBLEMA")

// declineWords turn down, politely, whatever a text offered ("No, gracias" to the notice
// that offers a report if service is still down): Keyword keeps the courtesy on them, since
// "NO" alone answers a restore notice "still down". They are words of the customer's own
// that never open a report: a note on the report they answer, or on the open one, and
// nothing when none is open (see Inbound).
var declineWords = words("NO GRACIAS", "NO MUCHAS GRACIAS", "NO MIL GRACIAS", "NO THANKS", "NO THANK YOU")

// fields returns the words of s (in Keyword form): its runs of letters and digits.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// phrases splits each phrase into its words (see fields).
func phrases(ps ...string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = fields(p)
	}
	return out
}

// endings are what the last word of a still-down phrase may carry: plurals and the
// plural of a verb ("NO SIRVE" in "no sirven").
var endings = words("", "S", "N", "ES", "EN")

// phraseAt reports whether phrase p is said by the words ws from the i-th on: each word
// whole, the last one perhaps with one of the endings.
func phraseAt(ws []string, i int, p []string) bool {
	if len(p) == 0 || i+len(p) > len(ws) {
		return false
	}
	for j, w := range p {
		rest, ok := strings.CutPrefix(ws[i+j], w)
		if !ok || rest != "" && (j < len(p)-1 || !endings[rest]) {
			return false
		}
	}
	return true
}

// StillDown reports whether an answer to the restore notice (in Keyword form) says service
// is still down: "2" (the notice's own option), "NO", or a phrase like "sigue sin servicio".
func StillDown(kw string) bool {
	if changeWords[kw] || noWords[kw] {
		return true
	}
	ws := fields(kw)
	for _, p := range notStillDown {
		for i := range ws {
			if phraseAt(ws, i, p) {
				for j := range p {
					ws[i+j] = "" // no word, so no phrase runs across the gap
				}
			}
		}
	}
	for i := range ws {
		for _, p := range stillDownPhrases {
			if phraseAt(ws, i, p) {
				return true
			}
		}
		for _, w := range stillDownWords {
			if ws[i] == w {
				return true
			}
		}
	}
	return false
}

// restoredYes reports whether an answer to the restore notice says service is back: "1",
// "SI" and the confirmations, or a phrase like "ya tengo servicio". Callers try StillDown
// first.
func restoredYes(kw string) bool {
	if confirmWords[kw] {
		return true
	}
	ws := fields(kw)
	for i := range ws {
		for _, p := range restoredPhrases {
			if phraseAt(ws, i, p) {
				return true
			}
		}
	}
	return false
}

// restoreAnswerWindow is how long after a restore notice a reply still answers it; the
// incident store reopens reports for a still-down answer over the same span.
const restoreAnswerWindow = 7 * 24 * time.Hour

// lastText is the latest text sent (or due) to a phone: what an answer like "2" answers.
type lastText struct {
	Kind     Kind
	ReportID int64
	VisitID  int64
	Key      string
	At       time.Time
}

// incident returns the incident folio an area notice's key names (incident_area:NOTICE:FOLIO:…).
func (l lastText) incident() string {
	if parts := strings.Split(l.Key, ":"); len(parts) >= 3 && parts[0] == "incident_area" {
		return parts[2]
	}
	return ""
}

// latestText returns the last text the outbox sent, or was sending, to phone by now; a zero
// lastText when none. Cancelled, skipped and failed texts never reached the customer, and a
// reminder due tomorrow has not been read yet.
func latestText(ctx context.Context, tx bun.Tx, phone string, now time.Time) (lastText, error) {
	var row struct {
		Kind     string    `bun:"kind"`
		ReportID int64     `bun:"report_id,nullzero"`
		VisitID  int64     `bun:"visit_id,nullzero"`
		Key      string    `bun:"dedupe_key"`
		At       time.Time `bun:"at"`
	}
	// Texts go in the order they fall due (send_after: when queued, or a reminder's hour);
	// sent_at is not that order, since the workers send concurrently.
	err := tx.NewRaw(`SELECT kind, report_id, visit_id, dedupe_key, send_after AS at FROM sms_outbox
		WHERE to_phone = ? AND state NOT IN ('cancelled', 'skipped', 'failed') AND send_after <= ?
		ORDER BY send_after DESC, id DESC LIMIT 1`, phone, now).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return lastText{}, nil
	}
	if err != nil {
		return lastText{}, postgres.Wrap(err)
	}
	return lastText{Kind: Kind(row.Kind), ReportID: row.ReportID, VisitID: row.VisitID, Key: row.Key, At: row.At}, nil
}

func words(ws ...string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// unaccent returns a transformer that drops accents. A chain keeps buffers between calls
// and is not safe for concurrent use: each text gets its own (inbound webhooks run at once).
func unaccent() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// Keyword returns the normalised form of an inbound text for keyword matching: upper case,
// accents removed, runs of spaces, tabs and line breaks made one space, surrounding
// punctuation and emoji dropped ("Sí." → "SI", "Sí 👍" → "SI", "1️⃣" → "1"), and the
// courtesy around a word dropped ("Baja, por favor" → "BAJA", "2 porfa" → "2", "Sí,
// gracias" → "SI"; "Gracias" and "Muchas gracias" alone stay themselves: an
// acknowledgement is not cut down to a word of it, "MUCHAS"; nor is a refusal, "No,
// gracias" → "NO GRACIAS", see declineWords).
func Keyword(body string) string {
	s, _, err := transform.String(unaccent(), body)
	if err != nil {
		s = body
	}
	s = strings.ToUpper(trimKeyword(strings.Join(strings.Fields(s), " ")))
	if d := strings.Join(fields(s), " "); declineWords[d] {
		return d // "No, gracias!" is "NO GRACIAS", not "NO"
	}
	for cut := true; cut && !ackWords[s]; {
		cut = false
		for _, c := range courtesy {
			if rest, ok := strings.CutSuffix(s, " "+c); ok && trimKeyword(rest) != "" {
				s, cut = trimKeyword(rest), true
			} else if rest, ok := strings.CutPrefix(s, c+" "); ok && trimKeyword(rest) != "" {
				s, cut = trimKeyword(rest), true
			}
		}
	}
	return s
}

// courtesy is what a customer may write around a keyword, longest first (so that "MUCHAS
// GRACIAS" goes whole).
var courtesy = []string{"MUCHAS GRACIAS", "THANK YOU", "POR FAVOR", "PORFAVOR", "GRACIAS", "PLEASE", "THANKS", "PORFA", "PLS"}

// trimKeyword drops surrounding spaces, punctuation and emoji: symbols are the emoji (and
// their skin tones), Me the keycap that makes 1 into 1️⃣, Cf the joiners of emoji
// sequences.
func trimKeyword(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r)
	})
}

// Inbound serves POST /twilio/inbound: a customer's text, answered with TwiML. The same
// MessageSid (or I-Twilio-Idempotency-Token) again gets the first answer and acts on
// nothing.
func (h *Webhooks) Inbound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.verify(w, r) {
			return
		}
		sid := r.PostForm.Get("MessageSid")
		if sid == "" {
			sid = r.PostForm.Get("SmsSid")
		}
		from := normalizeFrom(r.PostForm.Get("From"))
		text := strings.TrimSpace(r.PostForm.Get("Body"))
		if sid == "" || from == "" {
			field := "From"
			if sid == "" {
				field = "MessageSid"
			}
			writeError(w, http.StatusUnprocessableEntity, "invalid", "a MessageSid and a From number are required", field)
			return
		}
		token := r.Header.Get("I-Twilio-Idempotency-Token")
		var reply string
		err := inTx(r.Context(), h.db, h.events, func(ctx context.Context, tx bun.Tx) error {
			var err error
			reply, err = h.handleInbound(ctx, tx, sid, token, from, text)
			return err
		})
		if k := dispatch.ErrorKind(err); k != "" && k != dispatch.KindUnavailable {
			// The reports store refused what the text asked (an unusable sender number,
			// say): nothing was recorded; answer with the help text rather than an error.
			h.log.WarnContext(r.Context(), "notify: inbound text refused", "message_sid", sid, "err", err)
			reply, err = RenderKind(r.Context(), h.db, KindReplyHelp, "es", Data{StatusURL: h.cfg.PublicBaseURL + "/estado"})
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var els []twiml.Element
		if reply != "" {
			els = append(els, &twiml.MessagingMessage{Body: reply})
		}
		xml, err := twiml.Messages(els)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(xml))
	})
}

func (h *Webhooks) handleInbound(ctx context.Context, tx bun.Tx, sid, token, from, text string) (string, error) {
	now := h.now().UTC()
	var tok any
	if token != "" {
		tok = token
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO sms_inbound (message_sid, idempotency_token, from_phone, body, action, received_at)
		VALUES (?, ?, ?, ?, 'received', ?) ON CONFLICT DO NOTHING`, sid, tok, from, text, now)
	if err != nil {
		return "", postgres.Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var reply string
		err := tx.QueryRowContext(ctx, `
			SELECT reply FROM sms_inbound WHERE message_sid = ? OR (? <> '' AND idempotency_token = ?)
			LIMIT 1`, sid, token, token).Scan(&reply)
		if err != nil {
			return "", postgres.Wrap(err)
		}
		return reply, nil
	}

	kw := Keyword(text)
	lang, optedOut, err := h.customer(ctx, tx, from)
	if err != nil {
		return "", err
	}
	if lang == "" {
		lang = "es"
		if englishWords[kw] {
			lang = "en"
		}
	}
	// Twilio unblocks a number that texts YES after opting out: so does consent here. From
	// a number that accepts texts, YES answers the last text like SI.
	optIn := optInWords[kw] || optedOut && kw == "YES"
	data := Data{StatusURL: h.cfg.PublicBaseURL + "/estado"}
	var action string
	var reportID int64
	var kind Kind
	ref := func(rr ReportRef) {
		reportID, data.Folio, data.StatusURL = rr.ID, rr.Folio, h.cfg.StatusURL(rr.Folio)
	}
	// What "2" or "NO" means depends on what the customer is answering: the restore notice
	// of an incident asks whether service is back, a visit's text whether to keep the time.
	var last lastText
	if !optOutWords[kw] && !optIn && !helpWords[kw] {
		if last, err = latestText(ctx, tx, from, now); err != nil {
			return "", err
		}
	}
	answersRestore := last.Kind == KindIncidentRestored && last.ReportID != 0 && now.Sub(last.At) < restoreAnswerWindow
	// The outcome text asks "responda 1 si funciona bien": a yes confirms the service of
	// the report it told (a "still failing" answer goes on as before, to a new report).
	outcome := last.Kind == KindCompleted && last.ReportID != 0 && now.Sub(last.At) < restoreAnswerWindow
	confirmsOutcome := outcome && !StillDown(kw) && restoredYes(kw)
	// A customer who did not report was told of the restore without a report to reopen:
	// "still down" becomes a fault report of its own (or a note on an open one), "1" thanks.
	areaIncident := ""
	if last.Kind == KindIncidentAreaRestored && now.Sub(last.At) < restoreAnswerWindow {
		areaIncident = last.incident()
	}
	areaDown := areaIncident != "" && StillDown(kw)
	if areaDown {
		text = "Sigue sin servicio tras la falla " + areaIncident + " (respuesta por SMS: " + text + ")"
	}
	// "Gracias", "ok" or a 👍 acknowledge what they answer and ask for nothing: in a big
	// outage hundreds came in answer to the restore notice, each filed as a report, and one
	// to a booking from a customer with nothing open filed "Gracias". They open no report,
	// add no note and get no reply. A picture without words (or a blank text) acknowledges a
	// restore notice or an outcome too; to anything else it gets the help text (below).
	acks := ackWords[kw] && (text != "" || answersRestore || outcome || areaIncident != "")
	// A text of only "?" or "¿?" asks what it can write: it gets the help text (it was an
	// acknowledgement, answered with nothing).
	asks := kw == "" && strings.ContainsAny(text, "?¿")
	// "Ok" to a text that asks to confirm its visit confirms it (see agreeWords).
	agrees := agreeWords[kw] && last.VisitID != 0 && (last.Kind == KindBooked || last.Kind == KindReminder) &&
		now.Sub(last.At) < restoreAnswerWindow
	switch {
	case agrees:
		rr, err := h.reports.ConfirmNextVisit(ctx, tx, from, last.VisitID)
		switch {
		case dispatch.ErrorKind(err) == dispatch.KindNotFound:
			action, reportID = "ack", last.ReportID // nothing left to confirm
		case err != nil:
			return "", err
		default:
			action, kind = "confirm", KindReplyConfirmed
			ref(rr)
		}
	case asks:
		action, kind = "help", KindReplyHelp
	case acks:
		action = "ack"
		if now.Sub(last.At) < restoreAnswerWindow {
			reportID = last.ReportID
		}
	case areaIncident != "" && !areaDown && restoredYes(kw):
		action, kind = "restore_confirmed", KindReplyRestoreConfirmed
		data.Folio = areaIncident
	case confirmsOutcome || answersRestore:
		// An answer to a restore notice acts on the report the notice told, never on
		// another open folio of the customer's: words that neither say "still down" nor
		// "back" are a note on it.
		var rr ReportRef
		switch {
		case answersRestore && StillDown(kw):
			action, kind = "still_down", KindReplyStillDown
			rr, err = h.reports.StillDown(ctx, tx, last.ReportID, now)
		case restoredYes(kw):
			action, kind = "restore_confirmed", KindReplyRestoreConfirmed
			rr, err = h.reports.RestoreConfirmed(ctx, tx, last.ReportID, now)
		default:
			err = dispatch.NotFound("restore answer")
		}
		switch {
		case dispatch.ErrorKind(err) == dispatch.KindNotFound:
			// Words of his own, or not a report an incident resolved after all (edited by
			// hand, say): the answer is kept as a note for staff to read.
			action, kind = "note", KindReplyNote
			if err := h.reports.NoteFromSMS(ctx, tx, sid, last.ReportID, text); err != nil {
				return "", err
			}
			rr = ReportRef{ID: last.ReportID}
			if err := tx.QueryRowContext(ctx, "SELECT folio FROM reports WHERE id = ?", last.ReportID).Scan(&rr.Folio); err != nil {
				return "", postgres.Wrap(err)
			}
			ref(rr)
		case err != nil:
			return "", err
		default:
			ref(rr)
		}
	case optOutWords[kw]:
		action, kind = "opt_out", KindReplyStop
		if err := setConsent(ctx, tx, from, true, now, "sms", text); err != nil {
			return "", err
		}
		if !optedOut {
			if err := consentEvents(ctx, tx, h.events, from, true, now, "customer", text); err != nil {
				return "", err
			}
		}
	case optIn:
		if err := setConsent(ctx, tx, from, false, now, "sms", text); err != nil {
			return "", err
		}
		if optedOut {
			if err := consentEvents(ctx, tx, h.events, from, false, now, "customer", text); err != nil {
				return "", err
			}
		}
		// The visits booked while he was opted out were told nothing: they are told now,
		// with their reminders.
		if optedOut {
			if err := NewOutbox(h.cfg, h.log).optIn(ctx, tx, from, now); err != nil {
				return "", err
			}
		}
		action, kind, optedOut = "opt_in", KindReplyStart, false
	case helpWords[kw]:
		action, kind = "help", KindReplyHelp
	case !areaDown && (confirmWords[kw] || changeWords[kw]):
		confirm := confirmWords[kw]
		var rr ReportRef
		if confirm {
			action, kind = "confirm", KindReplyConfirmed
			rr, err = h.reports.ConfirmNextVisit(ctx, tx, from, last.VisitID)
		} else {
			action, kind = "reschedule", KindReplyReschedule
			rr, err = h.reports.RequestReschedule(ctx, tx, from, last.VisitID)
		}
		switch {
		case dispatch.ErrorKind(err) == dispatch.KindNotFound:
			action, kind = action+"_no_visit", KindReplyNoVisit
			// No visit to confirm or move. A customer with a report open is told where it
			// stands (its folio, being attended): "write your report" had him file the same
			// fault again. With none, nothing is filed; the answer says how to report.
			var answered int64
			if now.Sub(last.At) < restoreAnswerWindow {
				answered = last.ReportID
			}
			rr, err := h.reports.LatestOpen(ctx, tx, from, answered)
			switch {
			case dispatch.ErrorKind(err) == dispatch.KindNotFound:
			case err != nil:
				return "", err
			default:
				ref(rr)
			}
		case err != nil:
			return "", err
		default:
			ref(rr)
			// Besides the call, the customer may pick the window himself on his folio's
			// page, when the booking page would take his visit: the page's own rule
			// (postgres.RebookableOnline) decides.
			if !confirm {
				ok, err := postgres.CanRebookOnline(ctx, tx, rr.ID)
				if err != nil {
					return "", err
				}
				if ok {
					data.BookingURL = h.cfg.StatusURL(rr.Folio)
				}
			}
		}
	default:
		// Words of his own answer the last text too: with two open folios, they go on the
		// one that text was about.
		var answered int64
		if now.Sub(last.At) < restoreAnswerWindow {
			answered = last.ReportID
		}
		if text == "" {
			// A picture without words (an MMS) or a blank text: nothing to note or to
			// report; the help text says what to write.
			action, kind = "help", KindReplyHelp
			break
		}
		rr, err := h.reports.LatestOpen(ctx, tx, from, answered)
		switch {
		case dispatch.ErrorKind(err) == dispatch.KindNotFound && declineWords[kw]:
			action = "ack" // "No, gracias" with nothing open: nothing to file
		case dispatch.ErrorKind(err) == dispatch.KindNotFound:
			codes := map[int64]string{}
			rr, err = h.reports.OpenFromSMS(context.WithValue(ctx, createdCodesKey{}, codes), tx, sid, from, text)
			if err != nil {
				return "", err
			}
			action, kind = "new_report", KindReplyNewReport
			ref(rr)
			// The reply is the report's folio text: its link carries the access code, when
			// the creation's hooks ran in this transaction (see createdCodesKey).
			if code := codes[rr.ID]; code != "" {
				data.StatusURL = h.cfg.AccessURL(rr.Folio, code)
			}
			// Attached to an open incident as it was filed: the reply is the report's one
			// folio text and tells the known outage and its estimate instead (the outbox
			// queues nothing more for it).
			inc, est, err := openIncidentOf(ctx, tx, rr.ID)
			if err != nil {
				return "", err
			}
			if inc != "" {
				kind, data.Incident = KindReplyNewReportIncident, inc
				if est != nil {
					data.Restore = Formatter{Lang: lang, Loc: h.cfg.Location}.DateTime(*est)
				}
			}
		case err != nil:
			return "", err
		default:
			if err := h.reports.NoteFromSMS(ctx, tx, sid, rr.ID, text); err != nil {
				return "", err
			}
			action, kind = "note", KindReplyNote
			ref(rr)
		}
	}
	var reply string
	if kind != "" && (!optedOut || kind == KindReplyStop) {
		if reply, err = RenderKind(ctx, tx, kind, lang, data); err != nil {
			return "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE sms_inbound SET action = ?, reply = ?, report_id = NULLIF(?, 0) WHERE message_sid = ?`,
		action, reply, reportID, sid); err != nil {
		return "", postgres.Wrap(err)
	}
	return reply, nil
}

// createdCodesKey carries, into OpenFromSMS, a map that the outbox hook of the new report's
// report.created fills with its access code (postgres.AccessCode, known only to the hooks
// of its creation), by report id: the reply to the text, the one folio text such a report
// gets, puts it in its link.
type createdCodesKey struct{}

// openIncidentOf returns the folio and estimated restore time of the open incident report
// reportID is attached to; "" when none.
func openIncidentOf(ctx context.Context, tx bun.Tx, reportID int64) (folio string, estimate *time.Time, err error) {
	var est sql.NullTime
	err = tx.QueryRowContext(ctx, `SELECT i.folio, i.estimated_restore_at FROM reports AS r
		JOIN incidents AS i ON i.id = r.incident_id AND i.status = 'open' WHERE r.id = ?`, reportID).Scan(&folio, &est)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, postgres.Wrap(err)
	}
	if est.Valid {
		estimate = &est.Time
	}
	return folio, estimate, nil
}

// normalizeFrom writes an inbound sender as customers' phones are stored: Mexican mobiles
// may still arrive in the old form +52 1 + ten digits, which E.164 today spells without
// the 1.
func normalizeFrom(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 14 && strings.HasPrefix(s, "+521") && strings.Trim(s[1:], "0123456789") == "" {
		return "+52" + s[4:]
	}
	return s
}

// customer returns the language of the customer holding phone ("" when unknown) and
// whether the phone has opted out.
func (h *Webhooks) customer(ctx context.Context, tx bun.Tx, phone string) (lang string, optedOut bool, err error) {
	var l sql.NullString
	err = tx.QueryRowContext(ctx, `
		SELECT (SELECT c.language FROM customers c WHERE c.phone = ?0 ORDER BY c.id DESC LIMIT 1),
		       coalesce((SELECT s.opted_out FROM sms_consent s WHERE s.phone = ?0), false)`, phone).Scan(&l, &optedOut)
	if err != nil {
		return "", false, postgres.Wrap(err)
	}
	if l.Valid {
		lang = Language(l.String)
	}
	return lang, optedOut, nil
}

// setConsent records a phone's opt-out or opt-in with its time, source and the message
// that asked for it.
func setConsent(ctx context.Context, tx bun.IDB, phone string, optedOut bool, at time.Time, source, message string) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO sms_consent (phone, opted_out, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (phone) DO UPDATE SET opted_out = EXCLUDED.opted_out, updated_at = EXCLUDED.updated_at`,
		phone, optedOut, at); err != nil {
		return postgres.Wrap(err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO sms_consent_history (phone, opted_out, at, source, message) VALUES (?, ?, ?, ?, ?)`,
		phone, optedOut, at, source, truncate(message, 1600)); err != nil {
		return postgres.Wrap(err)
	}
	return nil
}

// consentEvents writes, on the timeline of each report of the customers holding phone that
// is not closed or cancelled, that the phone opted out of texts (sms.opted_out) or back in
// (sms.opted_in), at at, asked by actor ("customer" by text, "twilio" for the carrier's
// 21610) with text (the word he sent): staff reading the folio then know why its texts
// stopped, or came back. A customer with no such report has the change in the consent
// history alone.
func consentEvents(ctx context.Context, tx bun.Tx, events EventLog, phone string, optedOut bool, at time.Time, actor, text string) error {
	var ids []int64
	err := tx.NewRaw(`SELECT r.id FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE c.phone = ? AND r.status NOT IN ('closed', 'cancelled') ORDER BY r.id`, phone).Scan(ctx, &ids)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return postgres.Wrap(err)
	}
	typ := "sms.opted_in"
	if optedOut {
		typ = "sms.opted_out"
	}
	for _, id := range ids {
		if err := events.Append(ctx, tx, &dispatch.Event{Type: typ, At: at, Actor: actor, Channel: "sms", ReportID: id},
			map[string]any{"text": truncate(text, 160)}); err != nil {
			return err
		}
	}
	return nil
}

// OptedOut reports whether phone has opted out of texts by SMS or at the carrier.
func OptedOut(ctx context.Context, db bun.IDB, phone string) (bool, error) {
	var out bool
	err := db.QueryRowContext(ctx, `SELECT coalesce((SELECT opted_out FROM sms_consent WHERE phone = ?), false)`, phone).Scan(&out)
	return out, postgres.Wrap(err)
}

// SetOptOut records a staff member's change of a phone's consent (source "staff").
func SetOptOut(ctx context.Context, db bun.IDB, phone string, optedOut bool, note string) error {
	return setConsent(ctx, db, phone, optedOut, time.Now().UTC(), "staff", note)
}
