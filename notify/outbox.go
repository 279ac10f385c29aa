package notify

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// Notification is one text to queue.
type Notification struct {
	Key        string // unique per notification: the same key twice queues one text
	Kind       Kind
	EventID    int64
	ReportID   int64
	VisitID    int64
	CustomerID int64
	To         string // E.164
	Language   string
	Body       string
	SendAfter  time.Time // zero: now
	ExpiresAt  time.Time // zero: never; a text still unsent then is cancelled
	ETA        time.Time // the ETA an en_route or eta_update text announced
}

// Enqueue writes n to the outbox through idb (the caller's transaction, so that the text is
// queued if and only if the change that causes it commits). It sends no NOTIFY of its own:
// every text is queued by a hook of an event, and the event's announcement on
// postgres.EventsChannel wakes the workers (a NOTIFY inside the transaction would make
// PostgreSQL commit such transactions one at a time). A key already queued changes
// nothing: inserted is false.
func Enqueue(ctx context.Context, idb bun.IDB, n Notification) (id int64, inserted bool, err error) {
	args, err := enqueueArgs(n)
	if err != nil {
		return 0, false, err
	}
	var ids []int64
	if err := idb.NewRaw(enqueueSQL, args...).Scan(ctx, &ids); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, false, postgres.Wrap(err)
	}
	if len(ids) == 0 {
		return 0, false, nil
	}
	return ids[0], true, nil
}

// enqueueSQL queues one text unless its dedupe key is taken; the casts let it run as a
// prepared statement too (see Outbox.enqueue).
const enqueueSQL = `
	WITH ins AS (
		INSERT INTO sms_outbox (dedupe_key, kind, event_id, report_id, visit_id, customer_id,
		                        to_phone, language, body, send_after, eta, expires_at)
		VALUES (?0::text, ?1::text, NULLIF(?2::bigint, 0), NULLIF(?3::bigint, 0), NULLIF(?4::bigint, 0), NULLIF(?5::bigint, 0),
		        ?6::text, ?7::text, ?8::text, COALESCE(?9::timestamptz, now()), ?10::timestamptz, ?11::timestamptz)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id)
	SELECT id FROM ins`

// enqueueManySQL queues the texts of a JSON array of enqueueArgs' arguments, each unless
// its dedupe key is taken: one statement text whatever their number.
const enqueueManySQL = `
	WITH ins AS (
		INSERT INTO sms_outbox (dedupe_key, kind, event_id, report_id, visit_id, customer_id,
		                        to_phone, language, body, send_after, eta, expires_at)
		SELECT a->>0, a->>1, NULLIF((a->>2)::bigint, 0), NULLIF((a->>3)::bigint, 0), NULLIF((a->>4)::bigint, 0), NULLIF((a->>5)::bigint, 0),
		       a->>6, a->>7, a->>8, COALESCE((a->>9)::timestamptz, now()), (a->>10)::timestamptz, (a->>11)::timestamptz
		FROM jsonb_array_elements(?0::jsonb) AS a
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id)
	SELECT id FROM ins`

// enqueueArgs checks n and returns enqueueSQL's arguments for it.
func enqueueArgs(n Notification) ([]any, error) {
	if n.Key == "" || n.To == "" || n.Body == "" {
		return nil, fmt.Errorf("notify: enqueue %q: key, recipient and body are required", n.Kind)
	}
	var sendAfter, eta, expires any = nil, nil, nil
	if !n.SendAfter.IsZero() {
		sendAfter = n.SendAfter.UTC()
	}
	if !n.ExpiresAt.IsZero() {
		expires = n.ExpiresAt.UTC()
	}
	if !n.ETA.IsZero() {
		eta = n.ETA.UTC()
	}
	return []any{n.Key, string(n.Kind), n.EventID, n.ReportID, n.VisitID, n.CustomerID,
		n.To, Language(n.Language), n.Body, sendAfter, eta, expires}, nil
}

// enqueue is Enqueue inside the hook's transaction, through a prepared statement when the
// outbox has them; inside HookBatch it adds n to the batch's texts instead.
func (o *Outbox) enqueue(ctx context.Context, tx bun.Tx, n Notification) error {
	if b, ok := ctx.Value(batchKey{}).(*batch); ok {
		args, err := enqueueArgs(n)
		if err != nil {
			return err
		}
		b.rows = append(b.rows, args)
		return nil
	}
	if o.stmts == nil {
		_, _, err := Enqueue(ctx, tx, n)
		return err
	}
	args, err := enqueueArgs(n)
	if err != nil {
		return err
	}
	var ids []int64
	return o.stmts.Scan(ctx, tx, enqueueSQL, args, &ids)
}

// Outbox turns events into queued texts; its Hook runs inside each event's transaction.
type Outbox struct {
	cfg   Config
	log   *slog.Logger
	stmts *postgres.Statements // nil: plain queries
}

// WithStatements has the hook read each event's recipient through prepared statements on
// stmts' database (see postgres.Statements), which spares PostgreSQL planning it on every
// event; call it during wiring. It returns o.
func (o *Outbox) WithStatements(stmts *postgres.Statements) *Outbox {
	o.stmts = stmts
	return o
}

// NewOutbox returns the event hook's owner. cfg supplies the business time zone, the
// reminder hour, the ETA slip threshold and the public base URL of status links.
func NewOutbox(cfg Config, log *slog.Logger) *Outbox {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.ETASlip <= 0 {
		cfg.ETASlip = 20 * time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	return &Outbox{cfg: cfg, log: log}
}

// recipient is the customer a report's texts go to.
type recipient struct {
	Folio      string
	ReportKind string
	Channel    string // the channel the report came by
	// IncidentID is the incident the report is attached to (0: none). At report.created
	// it is set only when the incident hook attached the report in the same transaction.
	IncidentID int64
	CustomerID int64
	Phone      string
	Language   string
	OptedOut   bool
	// Templates are the admins' overrides in the customer's language, by kind, read with
	// the recipient to spare a round trip per text.
	Templates map[Kind]string
}

// render renders kind for rc with rc's template overrides (the default when none, when the
// override leaves out what the text is for, see Lacks, or when it fails to render).
func (rc recipient) render(kind Kind, lang string, data Data) (string, error) {
	if b, ok := rc.Templates[kind]; ok && Lacks(kind, b) == "" {
		if s, err := Render(string(kind), b, data); err == nil {
			return s, nil
		}
	}
	return Render(string(kind), DefaultTemplate(kind, lang), data)
}

// renderWindow renders kind, one of a visit's window texts (KindBooked, KindRescheduled,
// KindReminder, KindTechnician), for the window start-end and the technician named
// technician, with rc's template overrides. The hook and an opt-in render these texts
// through it alone, so that a visit's texts read the same whichever queued them (see
// windowData).
func (rc recipient) renderWindow(kind Kind, f Formatter, base Data, start, end time.Time, technician string) (string, error) {
	return rc.render(kind, f.Lang, windowData(f, base, kind, start, end, technician))
}

// windowData is base with what a visit's window text of kind shows: the window, its date
// and the technician's first name. When no technician was named (a booking without one),
// the booked and rescheduled texts say he is to be assigned ("Técnico: por asignar") and
// the reminder that the technician visits ("lo visita el técnico").
func windowData(f Formatter, base Data, kind Kind, start, end time.Time, technician string) Data {
	base.Window, base.Date = f.Window(start, end), f.Date(start)
	base.Technician = FirstName(technician)
	if base.Technician == "" {
		base.Technician = f.Text("to be assigned", "por asignar")
		if kind == KindReminder {
			base.Technician = f.Text("the technician", "el técnico")
		}
	}
	return base
}

// reportData is what every text of a report shows: its folio, its status page and the
// name of its kind.
func (c Config) reportData(f Formatter, folio, kind string) Data {
	return Data{Folio: folio, StatusURL: c.StatusURL(folio), KindName: f.KindName(kind)}
}

type eventData struct {
	Folio           string    `json:"folio"`
	Kind            string    `json:"kind"`
	Channel         string    `json:"channel"`
	WindowStart     time.Time `json:"window_start"`
	WindowEnd       time.Time `json:"window_end"`
	TechnicianName  string    `json:"technician_name"`
	ETA             time.Time `json:"eta"`
	Cause           string    `json:"cause"`
	Verdict         string    `json:"verdict"`
	ServiceRestored bool      `json:"service_restored"`
	Reason          string    `json:"reason"`

	// report.attached_to_incident, report.incident_estimate_changed, and report.resolved
	// when an incident resolved the report.
	IncidentFolio      string     `json:"incident_folio"`
	Title              string     `json:"title"`
	EstimatedRestoreAt *time.Time `json:"estimated_restore_at"`
	Previous           *time.Time `json:"previous"`
	HeldVisits         []int64    `json:"held_visits"`
	// OnCreation: the report was attached in the transaction that created it.
	OnCreation   bool `json:"on_creation"`
	Compensation *struct {
		Amount   json.RawMessage `json:"amount"` // "349.00"; read leniently: a bad amount drops only the amount
		Currency string          `json:"currency"`
	} `json:"compensation"`
}

// compensation returns the bonus an incident's resolution granted, written for a text
// ("$349.00"), or "" when there is none.
func (d eventData) compensation() (string, error) {
	if d.Compensation == nil || len(d.Compensation.Amount) == 0 || string(d.Compensation.Amount) == "null" {
		return "", nil
	}
	var c dispatch.Centavos
	if err := json.Unmarshal(d.Compensation.Amount, &c); err != nil {
		return "", err
	}
	if c <= 0 {
		return "", nil
	}
	return Money(c.String(), d.Compensation.Currency), nil
}

// Hook is a postgres.EventHook: it queues the text an event calls for, in the event's
// transaction. Events that concern no customer text, reports without a customer phone and
// opted-out customers queue nothing. Malformed event data is logged and skipped rather than
// rolling back the change that the event records.
func (o *Outbox) Hook(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
	if ev.Type == dispatch.EventIncidentAreaNotice {
		return o.areaNotice(ctx, tx, ev)
	}
	switch ev.Type {
	case "report.created", "report.resolved", "report.closed", "report.cancelled", "visit.booked", "visit.rescheduled", "visit.cancelled",
		"visit.unassigned", "visit.en_route", "visit.on_site", "visit.eta_changed", "visit.completed", "visit.not_completed",
		dispatch.EventReportAttached, dispatch.EventReportIncidentEstimate, postgres.EventVisitWindowMissed:
	default:
		return nil
	}
	if ev.ReportID == 0 || (strings.HasPrefix(ev.Type, "visit.") && ev.VisitID == 0) {
		// Nobody to text (a visit planned for an incident itself has no report and no
		// customer: its events never text), or no visit to key the text on.
		return nil
	}
	var d eventData
	if len(ev.Data) > 0 {
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			o.log.WarnContext(ctx, "notify: event data not understood; no text queued", "event_id", ev.ID, "type", ev.Type, "err", err)
			return nil
		}
	}
	if ev.Type == "visit.unassigned" {
		// Only a visit sent back to booking concerns its customer; one taken off its
		// technician with its window kept (a dispatcher's unassign, an incident's hold)
		// keeps its promise and its reminder.
		if back, err := o.backToBooking(ctx, tx, ev.VisitID); err != nil || !back {
			return err
		}
	}
	rc, ok, err := o.recipient(ctx, tx, ev.ReportID)
	if err != nil || !ok {
		return err
	}
	// The window the customer was last texted, before this event changes anything.
	var told string
	if ev.Type == "visit.rescheduled" {
		if told, err = o.lastWindow(ctx, tx, ev.VisitID); err != nil {
			return err
		}
	}
	// Texts of the visit that the change makes untrue and that still wait (for a retry
	// after Twilio refused them for the moment, or behind a backlog) are cancelled: sent
	// after the change's own text, they would be the customer's last word. Reminders of a
	// visit that is re-booked, cancelled, sent back to booking, done or could not be
	// completed are void too, and so are those of a report that is resolved, closed or
	// cancelled.
	//
	// overdue is when the reminder that a re-plan keeping the window withdraws was to go,
	// if its hour had passed (zero otherwise): it is replaced below.
	var overdue time.Time
	switch kinds := superseded[ev.Type]; {
	case kinds != nil:
		where := `visit_id = ? AND kind IN (?)`
		same := ev.Type == "visit.rescheduled" && told == windowKey(d.WindowStart, d.WindowEnd)
		if same {
			// The same window: what was told of it stays true, but not who comes. The texts
			// naming the technician that still wait are withdrawn and told afresh below: the
			// reminder, and a window or technician text that never left (the customer then
			// learns the window, or the change, from this event's text, naming the new
			// one). One that may already have reached Twilio (an ambiguous retry, or one
			// being sent) stays, to be reconciled: replacing it could tell twice.
			where += ` AND state = 'pending' AND NOT ambiguous`
			if _, err := supersede(ctx, tx, ev.At, where, ev.VisitID, bun.In([]Kind{KindBooked, KindRescheduled, KindTechnician})); err != nil {
				return err
			}
			kinds = []Kind{KindReminder}
		}
		due, err := supersede(ctx, tx, ev.At, where, ev.VisitID, bun.In(kinds))
		if err != nil {
			return err
		}
		if same && !o.cfg.reminderAt(d.WindowStart).After(ev.At) && ev.At.Before(o.cfg.dayOf(d.WindowStart)) {
			for _, t := range due {
				if t.After(overdue) {
					overdue = t
				}
			}
		}
	case ev.Type == dispatch.EventReportAttached:
		// The report's visits are held until the incident is resolved: their reminders
		// would announce visits that will not happen.
		if len(d.HeldVisits) > 0 {
			if _, err := supersede(ctx, tx, ev.At, `visit_id IN (?) AND report_id = ? AND kind = ?`,
				bun.In(d.HeldVisits), ev.ReportID, string(KindReminder)); err != nil {
				return err
			}
		}
	case ev.Type == "report.resolved", ev.Type == "report.closed", ev.Type == "report.cancelled":
		if _, err := supersede(ctx, tx, ev.At, `report_id = ? AND kind = ?`, ev.ReportID, string(KindReminder)); err != nil {
			return err
		}
		if ev.Type != "report.resolved" {
			return nil
		}
	}
	if rc.OptedOut || rc.Phone == "" {
		return nil
	}
	lang := Language(rc.Language)
	f := Formatter{Lang: lang, Loc: o.cfg.Location}
	folio := rc.Folio
	if folio == "" {
		folio = d.Folio
	}
	data := o.cfg.reportData(f, folio, rc.ReportKind)
	n := Notification{EventID: ev.ID, ReportID: ev.ReportID, VisitID: ev.VisitID, CustomerID: rc.CustomerID, To: rc.Phone, Language: lang}
	var extra []Notification
	skipMain := false
	switch ev.Type {
	case "report.created":
		if d.Channel == "sms" {
			// The reply to the customer's text carries the folio, and the link with the
			// access code, which the webhook collects here (see createdCodesKey).
			if codes, ok := ctx.Value(createdCodesKey{}).(map[int64]string); ok {
				if code, ok := postgres.AccessCode(ctx, ev.ReportID); ok {
					codes[ev.ReportID] = code
				}
			}
			return nil
		}
		if rc.IncidentID != 0 {
			// Attached by the incident hook in this very transaction: the folio text is the
			// one report.attached_to_incident queued (the incident's status, no visit promise).
			return nil
		}
		if d.Kind != "" {
			data.KindName = f.KindName(d.Kind)
		}
		// The link opens the status page with the report's access code, known only now.
		if code, ok := postgres.AccessCode(ctx, ev.ReportID); ok {
			data.StatusURL = o.cfg.AccessURL(folio, code)
		}
		n.Kind, n.Key = KindFolio, fmt.Sprintf("folio:%d", ev.ReportID)
	case "visit.booked", "visit.rescheduled":
		if d.WindowStart.IsZero() || d.WindowEnd.IsZero() {
			o.log.WarnContext(ctx, "notify: visit event without a window; no text queued", "event_id", ev.ID, "type", ev.Type)
			return nil
		}
		win := windowKey(d.WindowStart, d.WindowEnd)
		// Keyed by the event too: a visit booked again into the window it had (after a
		// visit that could not be completed) is a new promise, told like the first.
		n.Kind, n.Key = KindBooked, fmt.Sprintf("booked:%d:%s:%d", ev.VisitID, win, ev.ID)
		if ev.Type == "visit.rescheduled" {
			// The window the customer holds once the texts withdrawn above are gone.
			still, err := o.lastWindow(ctx, tx, ev.VisitID)
			if err != nil {
				return err
			}
			switch still {
			case win:
				// A re-plan that keeps the window the customer was told (another technician,
				// say) changes no window: no window text, but a fresh reminder below, or
				// the change of technician.
				skipMain = true
			case "":
				// He was never told a window: "your visit changed" would announce a change
				// of what he never heard. When the visit's window text never left (withdrawn
				// above), this event is his booking. When none was ever queued (he had no
				// phone, or opted out, then), it is too if the visit holds this window as its
				// promise; otherwise it has nothing to tell him.
				if told == "" {
					if ok, err := o.promised(ctx, tx, ev.VisitID, d.WindowStart, d.WindowEnd); err != nil || !ok {
						return err
					}
				}
			default:
				n.Kind, n.Key = KindRescheduled, fmt.Sprintf("rescheduled:%d:%s:%d", ev.VisitID, win, ev.ID)
			}
		}
		if !skipMain {
			if n.Body, err = rc.renderWindow(n.Kind, f, data, d.WindowStart, d.WindowEnd, d.TechnicianName); err != nil {
				return err
			}
		}
		// The pending reminder of the visit was cancelled above; each booking queues its own,
		// unless its hour has passed (the booked text has just told the window). One whose
		// hour had passed while it waited (Twilio down, a backlog) is replaced at once, or
		// when the retry it waited for was due: the customer has had no reminder yet.
		at := o.cfg.reminderAt(d.WindowStart)
		if !overdue.IsZero() {
			at = overdue
			if at.Before(ev.At) {
				at = ev.At
			}
		}
		remind := at.After(ev.At) || !overdue.IsZero()
		if skipMain && !remind {
			// Another technician in the window the customer was told, with no reminder
			// left to name him: the customer is told of him now, rather than meet a name
			// he never heard in "Teresa va en camino". A reminder still to come names
			// the technician of the moment, so a change before it is told by it (re-plans
			// days ahead would otherwise text each move). A re-plan that ends on the
			// technician he was last told, or on the same first name, tells nothing.
			was, err := o.toldTechnician(ctx, tx, ev.VisitID)
			if err != nil {
				return err
			}
			if is := FirstName(d.TechnicianName); was != "" && is != "" && is != was {
				t := n
				t.Kind, t.Key = KindTechnician, fmt.Sprintf("technician:%d:%s:%d", ev.VisitID, win, ev.ID)
				if t.Body, err = rc.renderWindow(KindTechnician, f, data, d.WindowStart, d.WindowEnd, d.TechnicianName); err != nil {
					return err
				}
				extra = append(extra, t)
			}
		}
		if ev.Type == "visit.rescheduled" && ev.Actor != "customer" {
			// A change of technician alone (a re-plan, the optimiser, a dispatcher's move
			// or assignment), never asked for by the customer, waits out the quiet hours;
			// a new window is a booking he agreed to, told at once.
			keeps, err := o.keepsWindow(ctx, tx, ev.ID, ev.VisitID, d.WindowStart, d.WindowEnd)
			if err != nil {
				return err
			}
			if keeps {
				if !skipMain {
					o.hold(&n, ev.At, d.WindowStart, true)
				}
				for i := range extra {
					o.hold(&extra[i], ev.At, d.WindowStart, true)
				}
			}
		}
		if remind {
			r := n
			r.Kind, r.Key, r.SendAfter = KindReminder, fmt.Sprintf("reminder:%d:%s:%d", ev.VisitID, win, ev.ID), at
			// It says "mañana": still unsent when the visit's day begins (Twilio down all
			// evening, a backlog), it would say so on the day itself.
			r.ExpiresAt = o.cfg.dayOf(d.WindowStart)
			if r.Body, err = rc.renderWindow(KindReminder, f, data, d.WindowStart, d.WindowEnd, d.TechnicianName); err != nil {
				return err
			}
			extra = append(extra, r)
		}
	case "visit.cancelled":
		if d.Reason == dispatch.ReasonIncidentResolved || d.Reason == dispatch.ReasonReportResolved {
			return nil // the restore notice or the report's outcome tells the customer; its reminders are cancelled above
		}
		// Only a visit whose window the customer was told concerns him (as for
		// visit.unassigned): a duplicate never booked, or one whose booked text never left
		// (withdrawn above), is none of his, and "su visita fue cancelada" would read as
		// the visit he holds. The text names the window, so that a customer told of two
		// visits knows which one.
		start, end, ok, err := o.toldWindow(ctx, tx, ev.VisitID)
		if err != nil || !ok {
			return err
		}
		data.Window, data.Date = f.Window(start, end), f.Date(start)
		// Staff's reason is shown only when it is one written for customers: their own
		// words ("duplicada") are a note to colleagues on the timeline (see CancelReason).
		data.Reason = f.CancelReason(d.Reason)
		n.Kind, n.Key = KindCancelled, fmt.Sprintf("cancelled:%d:%d", ev.VisitID, ev.ID)
	case "visit.unassigned":
		// Back to booking: nobody can keep the window the customer was last told. One who
		// was never told a window (opted out then, say) has no promise to take back.
		start, end, ok, err := o.toldWindow(ctx, tx, ev.VisitID)
		if err != nil || !ok {
			return err
		}
		data.Window, data.Date = f.Window(start, end), f.Date(start)
		n.Kind, n.Key = KindUnbooked, fmt.Sprintf("unbooked:%d:%d", ev.VisitID, ev.ID)
		// A re-plan's doing, not the customer's: it waits out the quiet hours. It stays
		// true after the window began, so it never expires.
		o.hold(&n, ev.At, start, false)
	case postgres.EventVisitWindowMissed:
		if d.WindowStart.IsZero() || d.WindowEnd.IsZero() {
			o.log.WarnContext(ctx, "notify: missed window without its window; no text queued", "event_id", ev.ID)
			return nil
		}
		// Only a customer told this very window waited for it: one never told a window (no
		// phone or opted out when it was booked) has no broken promise to hear of.
		win := windowKey(d.WindowStart, d.WindowEnd)
		if told, err := o.lastWindow(ctx, tx, ev.VisitID); err != nil || told != win {
			return err
		}
		data.Window, data.Date = f.Window(d.WindowStart, d.WindowEnd), f.Date(d.WindowStart)
		// One apology per visit and window, whatever replays the event.
		n.Kind, n.Key = KindWindowMissed, fmt.Sprintf("window_missed:%d:%s", ev.VisitID, win)
		// Nobody's doing at the moment it is noticed: a window that ended late in the
		// evening is apologised for when the quiet hours end. A later change of the visit
		// (set out for, booked again, cancelled) withdraws it while it waits (superseded).
		o.hold(&n, ev.At, time.Time{}, false)
	case "visit.on_site":
		return nil // nothing to tell; the "on the way" texts still waiting were cancelled above
	case "visit.en_route":
		if d.ETA.IsZero() {
			return nil
		}
		data.Technician, data.ETA = o.technician(ctx, tx, ev.VisitID, f), f.Clock(d.ETA)
		n.Kind, n.Key, n.ETA = KindEnRoute, fmt.Sprintf("en_route:%d", ev.ID), d.ETA
	case "visit.eta_changed":
		if d.ETA.IsZero() || ev.VisitID == 0 {
			return nil
		}
		var last time.Time
		err := tx.QueryRowContext(ctx, `
			SELECT eta FROM sms_outbox
			WHERE visit_id = ? AND kind IN (?, ?) AND eta IS NOT NULL AND state NOT IN ('cancelled', 'skipped')
			ORDER BY id DESC LIMIT 1`, ev.VisitID, string(KindEnRoute), string(KindETAUpdate)).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the customer was never told an ETA: nothing to correct
		}
		if err != nil {
			return postgres.Wrap(err)
		}
		if d.ETA.Sub(last) <= o.cfg.ETASlip {
			return nil // small changes, and earlier arrivals, send nothing
		}
		data.Technician, data.ETA = o.technician(ctx, tx, ev.VisitID, f), f.Clock(d.ETA)
		n.Kind, n.Key, n.ETA = KindETAUpdate, fmt.Sprintf("eta:%d", ev.ID), d.ETA
	case dispatch.EventReportAttached:
		if d.IncidentFolio == "" {
			o.log.WarnContext(ctx, "notify: incident event without the incident's folio; no text queued", "event_id", ev.ID, "type", ev.Type)
			return nil
		}
		data.Incident, data.Title = d.IncidentFolio, d.Title
		if d.EstimatedRestoreAt != nil && !d.EstimatedRestoreAt.IsZero() {
			data.Restore = f.DateTime(*d.EstimatedRestoreAt)
		}
		if d.OnCreation {
			return o.folioDuringIncident(ctx, tx, rc, lang, data, n)
		}
		// One notice per customer and incident, whatever replays the event: a customer with
		// two reports attached is told once (of the first).
		n.Kind, n.Key = KindIncident, fmt.Sprintf("incident:c%d:%s", rc.CustomerID, d.IncidentFolio)
		if extra, err = o.heldVisits(ctx, tx, rc, f, data, n, d.HeldVisits, d.IncidentFolio); err != nil {
			return err
		}
	case dispatch.EventReportIncidentEstimate:
		if d.IncidentFolio == "" || d.EstimatedRestoreAt == nil || d.EstimatedRestoreAt.IsZero() {
			return nil // no estimate to announce
		}
		if d.Previous != nil && d.Previous.Equal(*d.EstimatedRestoreAt) {
			return nil // no change
		}
		data.Incident, data.Restore = d.IncidentFolio, f.DateTime(*d.EstimatedRestoreAt)
		// One update per customer and change. A change is named by the new estimate and the
		// moment it was made, which every report's event of it shares: a customer's second
		// report and replays add nothing, and an estimate that comes back (14:00, 18:00,
		// then 14:00 again) is told again. (Milliseconds: the events table keeps
		// microseconds, so a replay read back names the same moment.)
		n.Kind, n.Key = KindIncidentEstimate, fmt.Sprintf("incident_estimate:c%d:%s:%d:%d", rc.CustomerID, d.IncidentFolio,
			d.EstimatedRestoreAt.Unix(), ev.At.UnixMilli())
	case "report.resolved":
		if d.IncidentFolio == "" {
			return o.outcome(ctx, tx, rc, ev, d, f, data, n)
		}
		data.Incident = d.IncidentFolio
		// The procedure's outcome, as for any report: the cause and whether it was upheld
		// (a report closed before the outage ended is only compensated, and says neither).
		data.Cause = strings.TrimSpace(d.Cause)
		if d.Verdict != "" {
			data.Verdict = f.Verdict(d.Verdict)
		}
		c, err := d.compensation()
		if err != nil {
			o.log.WarnContext(ctx, "notify: compensation not understood; restore notice queued without it", "event_id", ev.ID, "err", err)
		}
		data.Compensation = c
		// An incident resolves each of its reports once, and tells each customer once: of
		// their first report, which carries their compensation.
		n.Kind, n.Key = KindIncidentRestored, fmt.Sprintf("incident_restored:c%d:%s", rc.CustomerID, d.IncidentFolio)
	case "visit.completed":
		return o.outcome(ctx, tx, rc, ev, d, f, data, n)
	case "visit.not_completed":
		data.Reason = f.Reason(d.Reason)
		n.Kind, n.Key = KindNotCompleted, fmt.Sprintf("not_completed:%d", ev.ID)
	}
	return o.queue(ctx, tx, rc, lang, data, n, extra, skipMain)
}

// areaNotice queues, for incident.area_notice, one text to every customer of the access
// point who has a phone, accepts texts and has no report attached to the incident (those
// are told through their reports): the incident's folio with the estimate, the new estimate,
// or the restore. It is one INSERT … SELECT whatever the number of customers, with a body
// rendered once per language; the key (incident_area:NOTICE:INCIDENT:CUSTOMER, plus the event
// for estimates) makes a replay queue nothing.
func (o *Outbox) areaNotice(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
	var d struct {
		Folio              string     `json:"folio"`
		AccessPoint        string     `json:"access_point"`
		Notice             string     `json:"notice"`
		EstimatedRestoreAt *time.Time `json:"estimated_restore_at"`
		Previous           *time.Time `json:"previous"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil || d.Folio == "" || d.AccessPoint == "" || ev.IncidentID == 0 {
		o.log.WarnContext(ctx, "notify: area notice not understood; no texts queued", "event_id", ev.ID, "err", err)
		return nil
	}
	var kind Kind
	key := fmt.Sprintf("incident_area:%s:%s:", d.Notice, d.Folio)
	switch d.Notice {
	case dispatch.AreaNoticeOpened:
		kind = KindIncidentArea
	case dispatch.AreaNoticeEstimate:
		if d.EstimatedRestoreAt == nil || (d.Previous != nil && d.Previous.Equal(*d.EstimatedRestoreAt)) {
			return nil // no estimate, or no change: nothing to announce
		}
		kind, key = KindIncidentAreaEstimate, fmt.Sprintf("incident_area:%s:%s:%d:", d.Notice, d.Folio, ev.ID)
	case dispatch.AreaNoticeRestored:
		kind = KindIncidentAreaRestored
	default:
		o.log.WarnContext(ctx, "notify: unknown area notice; no texts queued", "event_id", ev.ID, "notice", d.Notice)
		return nil
	}
	// Customers who reported nothing learn of an outage in the quiet hours when they end:
	// one that began at 02:00 and was mended by 05:00 texted the whole access point twice
	// in the night. What is still waiting when the next notice comes is withdrawn (a new
	// estimate or the restore says all there is left to say), so each gets at most one
	// text at 08:00 (a notice already due is left to go). Those who reported are told
	// through their reports, at once.
	sendAfter := ev.At.UTC()
	if end, ok := o.cfg.Quiet.Until(ev.At, o.cfg.Location); ok {
		sendAfter = end.UTC()
	}
	if kind != KindIncidentArea {
		if _, err := supersede(ctx, tx, ev.At, "(dedupe_key LIKE ? OR dedupe_key LIKE ?) AND event_id <> ? AND send_after > ?",
			"incident_area:"+dispatch.AreaNoticeOpened+":"+d.Folio+":%", "incident_area:"+dispatch.AreaNoticeEstimate+":"+d.Folio+":%", ev.ID, ev.At.UTC()); err != nil {
			return err
		}
	}
	bodies := map[string]string{}
	for _, lang := range Languages {
		f := Formatter{Lang: lang, Loc: o.cfg.Location}
		data := Data{Incident: d.Folio, StatusURL: o.cfg.PublicBaseURL + "/estado"}
		if d.EstimatedRestoreAt != nil {
			data.Restore = f.DateTime(*d.EstimatedRestoreAt)
		}
		b, err := RenderKind(ctx, tx, kind, lang, data)
		if err != nil {
			return err
		}
		bodies[lang] = b
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO sms_outbox (dedupe_key, kind, event_id, customer_id, to_phone, language, body, send_after)
		SELECT ? || c.id, ?, ?, c.id, c.phone,
		       CASE WHEN lower(btrim(coalesce(c.language, ''))) LIKE 'en%' THEN 'en' ELSE 'es' END,
		       CASE WHEN lower(btrim(coalesce(c.language, ''))) LIKE 'en%' THEN ? ELSE ? END,
		       ?
		FROM customers AS c
		WHERE c.access_point = ? AND coalesce(c.phone, '') <> '' AND NOT coalesce(c.sms_opt_out, false)
		  AND NOT EXISTS (SELECT 1 FROM sms_consent AS s WHERE s.phone = c.phone AND s.opted_out)
		  AND NOT EXISTS (SELECT 1 FROM reports AS r WHERE r.customer_id = c.id AND r.incident_id = ?)
		ORDER BY c.id
		ON CONFLICT (dedupe_key) DO NOTHING`,
		key, string(kind), ev.ID, bodies["en"], bodies["es"], sendAfter, d.AccessPoint, ev.IncidentID)
	if err != nil {
		return postgres.Wrap(err)
	}
	return nil
}

// folioDuringIncident queues the folio text of a report attached to an open incident in
// the transaction that created it: the report's folio, that the outage in the customer's
// area is known (the incident's folio) and the current estimate, in place of the folio
// text and of an incident notice, so the customer gets exactly one text. It takes the
// folio text's key (folio:REPORT): whichever hook ran first, one row is left. When the
// outbox hook saw report.created before the incident hook attached the report, the plain
// folio text is already queued in this same, uncommitted transaction (so not yet sent):
// it is rewritten. A report that came by SMS gets nothing here: the reply to the
// customer's text tells its folio and the incident (see Webhooks).
//
// The report that makes the incident rule open an incident may be its customer's second:
// his earlier one, filed before the rule's window, is attached in the same transaction,
// before this one (attach goes in report order), and its incident notice
// (incident:cCUSTOMER:INCIDENT) was queued for him a moment ago. This text tells him the
// outage already: the notice still waiting is withdrawn, so that he gets one text for the
// event (the texts of his held visits, if any, stay).
func (o *Outbox) folioDuringIncident(ctx context.Context, tx bun.Tx, rc recipient, lang string, data Data, n Notification) error {
	if rc.Channel == string(dispatch.ChannelSMS) {
		return nil
	}
	if code, ok := postgres.AccessCode(ctx, n.ReportID); ok {
		data.StatusURL = o.cfg.AccessURL(data.Folio, code)
	}
	body, err := rc.render(KindFolioIncident, lang, data)
	if err != nil {
		return err
	}
	n.Kind, n.Key, n.Body = KindFolioIncident, fmt.Sprintf("folio:%d", n.ReportID), body
	_, inserted, err := Enqueue(ctx, tx, n)
	if err != nil {
		return err
	}
	if !inserted {
		if _, err := tx.ExecContext(ctx, `
			UPDATE sms_outbox SET kind = ?, body = ?, language = ?, event_id = ?, updated_at = now()
			WHERE dedupe_key = ? AND kind = ? AND state = 'pending'`,
			string(KindFolioIncident), body, n.Language, n.EventID, n.Key, string(KindFolio)); err != nil {
			return postgres.Wrap(err)
		}
	}
	// Only a notice still pending: one that may have reached Twilio (ambiguous) stays.
	_, err = tx.ExecContext(ctx, `
		UPDATE sms_outbox SET state = 'cancelled', updated_at = now()
		WHERE dedupe_key = ? AND state = 'pending' AND NOT ambiguous`,
		fmt.Sprintf("incident:c%d:%s", rc.CustomerID, data.Incident))
	return postgres.Wrap(err)
}

// outcome queues the outcome text of visit.completed and of a report.resolved that no
// incident resolved.
func (o *Outbox) outcome(ctx context.Context, tx bun.Tx, rc recipient, ev *dispatch.Event, d eventData, f Formatter, data Data, n Notification) error {
	data.Cause = strings.TrimSpace(d.Cause)
	data.Verdict, data.Restored = f.Verdict(d.Verdict), d.ServiceRestored
	// One key per report and outcome: a report resolved with the outcome its visit
	// already texted sends nothing more.
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%t", data.Cause, d.Verdict, d.ServiceRestored)))
	n.Kind, n.Key = KindCompleted, fmt.Sprintf("outcome:%d:%s", ev.ReportID, hex.EncodeToString(h[:8]))
	return o.queue(ctx, tx, rc, f.Lang, data, n, nil, false)
}

// queue renders n (unless skipMain, or already rendered) and enqueues it with extra, in the
// event's transaction.
func (o *Outbox) queue(ctx context.Context, tx bun.Tx, rc recipient, lang string, data Data, n Notification, extra []Notification, skipMain bool) error {
	queue := extra
	if !skipMain {
		if n.Body == "" {
			body, err := rc.render(n.Kind, lang, data)
			if err != nil {
				return err
			}
			n.Body = body
		}
		queue = append([]Notification{n}, extra...)
	}
	for _, x := range queue {
		if err := o.enqueue(ctx, tx, x); err != nil {
			return err
		}
	}
	return nil
}

// quietLead is how long before its visit's window a text held through the quiet hours must
// go out: for a visit that begins sooner than that after they end, it goes at once instead,
// so that the customer never reads of a change as (or after) the technician rings.
const quietLead = time.Hour

// hold makes n, a text about a change made at at that the customer did not ask for, wait
// until the quiet hours end when at falls in them (see Config.Quiet) — unless the window
// it tells, from start (zero: none), begins less than quietLead after that: the customer
// then needs it now, night or not. With expire, a held text still unsent when that window
// begins (a backlog) is withdrawn rather than sent late. A later change of the visit
// cancels a held text as it cancels any pending one (see superseded), so only the newest
// goes at the end of the quiet hours.
func (o *Outbox) hold(n *Notification, at, start time.Time, expire bool) {
	end, ok := o.cfg.Quiet.Until(at, o.cfg.Location)
	if !ok || (!start.IsZero() && start.Before(end.Add(quietLead))) {
		return
	}
	if end.After(n.SendAfter) {
		n.SendAfter = end
	}
	if expire && !start.IsZero() && (n.ExpiresAt.IsZero() || start.Before(n.ExpiresAt)) {
		n.ExpiresAt = start
	}
}

// keepsWindow reports whether the visit.rescheduled event id of visit keeps the window
// start-end that the visit's booking event before it (visit.booked or visit.rescheduled)
// promised: a change of technician alone, which only re-plans, the optimiser and a
// dispatcher's move or assignment make. Booking a new window writes a new one.
func (o *Outbox) keepsWindow(ctx context.Context, tx bun.Tx, id, visit int64, start, end time.Time) (bool, error) {
	var same bool
	err := tx.QueryRowContext(ctx, `
		SELECT (data->>'window_start')::timestamptz = ? AND (data->>'window_end')::timestamptz = ? FROM events
		WHERE visit_id = ? AND id < ? AND type IN ('visit.booked', 'visit.rescheduled')
		ORDER BY id DESC LIMIT 1`, start.UTC(), end.UTC(), visit, id).Scan(&same)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, postgres.Wrap(err)
	}
	return same, nil
}

// heldVisits returns, for report.attached_to_incident, the text telling rc that each of the
// visits the incident holds (held, by id) whose window he was texted is put off because of
// the outage in his area (incident folio incident), as n (the incident notice): once
// per visit and incident (visit_held:VISIT:INCIDENT). A visit he was never told a window
// of has nothing to take back. It goes with the incident notice, which it completes (the
// quiet hours hold neither: the customer reported the fault they answer); his next text
// about the visit is the restore notice, then a booking's if he still needs a visit.
func (o *Outbox) heldVisits(ctx context.Context, tx bun.Tx, rc recipient, f Formatter, data Data, n Notification,
	held []int64, incident string) ([]Notification, error) {
	var out []Notification
	for _, id := range held {
		start, end, ok, err := o.toldWindow(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		h := n
		h.VisitID, h.Kind, h.Key = id, KindVisitHeld, fmt.Sprintf("visit_held:%d:%s", id, incident)
		hd := data
		hd.Window, hd.Date, hd.Incident = f.Window(start, end), f.Date(start), incident
		if h.Body, err = rc.render(KindVisitHeld, f.Lang, hd); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// windowKey writes a window for dedupe keys: "START-END" in Unix seconds.
func windowKey(start, end time.Time) string {
	return fmt.Sprintf("%d-%d", start.Unix(), end.Unix())
}

// lastWindow returns the window (as windowKey) of the latest booked or rescheduled text of
// a visit, "" when none; it reads it back from the dedupe keys written above.
func (o *Outbox) lastWindow(ctx context.Context, idb bun.IDB, visitID int64) (string, error) {
	var key string
	err := idb.QueryRowContext(ctx, `
		SELECT dedupe_key FROM sms_outbox
		WHERE visit_id = ? AND kind IN (?, ?) AND state NOT IN ('cancelled', 'skipped')
		ORDER BY id DESC LIMIT 1`, visitID, string(KindBooked), string(KindRescheduled)).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", postgres.Wrap(err)
	}
	// booked:VISIT:WINDOW:EVENT or rescheduled:VISIT:WINDOW:EVENT
	if parts := strings.Split(key, ":"); len(parts) >= 3 {
		return parts[2], nil
	}
	return "", nil
}

// superseded lists, per visit event, the kinds of the visit's texts that the event makes
// untrue once it has happened; Hook cancels those still pending.
var superseded = map[string][]Kind{
	"visit.booked":        {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindUnbooked, KindVisitHeld, KindNotCompleted, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.rescheduled":   {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindUnbooked, KindVisitHeld, KindNotCompleted, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.cancelled":     {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindUnbooked, KindVisitHeld, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.unassigned":    {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.en_route":      {KindBooked, KindRescheduled, KindTechnician, KindWindowMissed},
	"visit.on_site":       {KindBooked, KindRescheduled, KindTechnician, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.completed":     {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindEnRoute, KindETAUpdate, KindWindowMissed},
	"visit.not_completed": {KindReminder, KindBooked, KindRescheduled, KindTechnician, KindEnRoute, KindETAUpdate, KindWindowMissed},
}

// supersede withdraws the texts matching where (with args) that a change at at makes
// untrue, and returns the send_after of those it cancelled. Those still pending are
// cancelled. One being sent (claimed by a worker that has not recorded Twilio's answer)
// cannot be recalled, and may reach the customer before the change's own text; but its
// expiry is brought to at, so that when this attempt fails (429, 5xx, a worker that dies)
// the worker that claims it again cancels it rather than send it after the change's text
// (see Worker.Step; an ambiguous one is reconciled first: found at Twilio, it went).
func supersede(ctx context.Context, tx bun.Tx, at time.Time, where string, args ...any) ([]time.Time, error) {
	var rows []struct {
		SendAfter time.Time `bun:"send_after"`
		Cancelled bool      `bun:"cancelled"`
	}
	// Rows are locked in id order, as the worker's recordSent locks those it records: both
	// take several rows that may be "sending".
	err := tx.NewRaw(`
		WITH t AS (SELECT id FROM sms_outbox WHERE state IN ('pending', 'sending') AND `+where+`
		           ORDER BY id FOR UPDATE)
		UPDATE sms_outbox AS o SET state = CASE WHEN o.state = 'pending' THEN 'cancelled' ELSE o.state END,
		       expires_at = CASE WHEN o.state = 'sending' THEN least(coalesce(o.expires_at, ?), ?) ELSE o.expires_at END,
		       updated_at = now()
		FROM t WHERE o.id = t.id
		RETURNING o.send_after, o.state = 'cancelled' AS cancelled`,
		append(args, at.UTC(), at.UTC())...).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, postgres.Wrap(err)
	}
	var due []time.Time
	for _, r := range rows {
		if r.Cancelled {
			due = append(due, r.SendAfter)
		}
	}
	return due, nil
}

// toldWindow returns the window of the latest booked or rescheduled text of a visit; ok is
// false when there is none.
func (o *Outbox) toldWindow(ctx context.Context, idb bun.IDB, visitID int64) (start, end time.Time, ok bool, err error) {
	win, err := o.lastWindow(ctx, idb, visitID)
	if err != nil {
		return start, end, false, err
	}
	a, b, found := strings.Cut(win, "-")
	s, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	if !found || err1 != nil || err2 != nil {
		return start, end, false, nil
	}
	return time.Unix(s, 0), time.Unix(e, 0), true, nil
}

// toldTechnician returns the first name of the technician the customer of visit id was
// last told of: the one named by the event behind the latest of the visit's texts that name
// one (booked, rescheduled, technician, reminder) and wait, are being sent or went; "" when
// none named one ("Técnico: por asignar").
func (o *Outbox) toldTechnician(ctx context.Context, idb bun.IDB, id int64) (string, error) {
	var name string
	err := idb.QueryRowContext(ctx, `
		SELECT coalesce(e.data->>'technician_name', '') FROM sms_outbox AS o JOIN events AS e ON e.id = o.event_id
		WHERE o.visit_id = ? AND o.kind IN (?) AND o.state NOT IN ('cancelled', 'skipped')
		ORDER BY o.id DESC LIMIT 1`,
		id, bun.In([]string{string(KindBooked), string(KindRescheduled), string(KindTechnician), string(KindReminder)})).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", postgres.Wrap(err)
	}
	return FirstName(name), nil
}

// promised reports whether visit id holds the window start-end as its promise: booked or
// assigned with that window, and not held by an incident (see optIn).
func (o *Outbox) promised(ctx context.Context, idb bun.IDB, id int64, start, end time.Time) (bool, error) {
	var ok bool
	err := idb.QueryRowContext(ctx, `SELECT status IN ('booked', 'assigned') AND window_start = ? AND window_end = ? AND held_by_incident_id IS NULL
		FROM visits WHERE id = ?`,
		start.UTC(), end.UTC(), id).Scan(&ok)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, postgres.Wrap(err)
	}
	return ok, nil
}

// backToBooking reports whether visit id went back to booking: unscheduled, its window
// cleared (a re-plan found nobody who could keep it).
func (o *Outbox) backToBooking(ctx context.Context, idb bun.IDB, id int64) (bool, error) {
	var back bool
	err := idb.QueryRowContext(ctx, `SELECT status = 'unscheduled' AND window_start IS NULL FROM visits WHERE id = ?`, id).Scan(&back)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, postgres.Wrap(err)
	}
	return back, nil
}

// dayOf is the start (local midnight) of the business day holding t; c.Location is set.
func (c Config) dayOf(t time.Time) time.Time {
	l := t.In(c.Location)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, c.Location)
}

// reminderAt is the day before the window's local date, at the configured local hour;
// c.Location is set.
func (c Config) reminderAt(start time.Time) time.Time {
	l := start.In(c.Location)
	return time.Date(l.Year(), l.Month(), l.Day()-1, c.ReminderHour, 0, 0, 0, c.Location)
}

// optIn queues, in tx, what the customers of phone, which has just opted back in at now,
// missed of their booked visits while they were opted out (the hook queues nothing for an
// opted-out customer). For each visit still to come:
//   - unless he was told its current window, one text telling it with its technician, at
//     once: the booked text, or the rescheduled one when he was told another window;
//   - its day-before reminder at its hour, when that is ahead and no reminder of the window
//     waits or went. When its hour has passed he gets none, as for a booking made after
//     the hour: he has just been told the window, or was told it before opting out.
//
// Both name the technician of the visit's latest booking event (visit.booked or
// visit.rescheduled) and are keyed on it (KIND:VISIT:WINDOW:EVENT:optin): opting in again
// queues nothing more. They render through renderWindow, like the hook's. Visits an
// incident holds get nothing (see EventReportAttached), nor do customer records marked
// sms_opt_out.
func (o *Outbox) optIn(ctx context.Context, tx bun.Tx, phone string, now time.Time) error {
	var rows []struct {
		VisitID     int64          `bun:"visit_id"`
		ReportID    int64          `bun:"report_id"`
		WindowStart time.Time      `bun:"window_start"`
		WindowEnd   time.Time      `bun:"window_end"`
		EventID     int64          `bun:"event_id"`
		Technician  sql.NullString `bun:"technician_name"`
	}
	err := tx.NewRaw(`
		SELECT v.id AS visit_id, r.id AS report_id, v.window_start, v.window_end,
		       e.id AS event_id, e.data->>'technician_name' AS technician_name
		FROM customers AS c
		JOIN reports AS r ON r.customer_id = c.id
		JOIN visits AS v ON v.report_id = r.id
		JOIN LATERAL (SELECT id, data FROM events
		              WHERE visit_id = v.id AND type IN ('visit.booked', 'visit.rescheduled')
		              ORDER BY id DESC LIMIT 1) AS e ON true
		WHERE c.phone = ? AND NOT coalesce(c.sms_opt_out, false)
		  AND v.status IN ('booked', 'assigned') AND v.held_by_incident_id IS NULL
		  AND v.window_start > ?
		ORDER BY v.window_start, v.id`, phone, now).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return postgres.Wrap(err)
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, len(rows))
	for i, v := range rows {
		ids[i] = v.ReportID
	}
	rcs, err := o.recipients(ctx, tx, ids)
	if err != nil {
		return err
	}
	for _, v := range rows {
		rc, ok := rcs[v.ReportID]
		if !ok || rc.OptedOut {
			continue
		}
		win := windowKey(v.WindowStart, v.WindowEnd)
		// live: a reminder of the window waits or went; told: so did a text of the window.
		var live, told bool
		err := tx.QueryRowContext(ctx, `
			SELECT coalesce(bool_or(kind = ?), false), coalesce(bool_or(kind <> ?), false) FROM sms_outbox
			WHERE visit_id = ? AND state IN ('pending', 'sending', 'sent')
			  AND (dedupe_key LIKE ? OR dedupe_key LIKE ? OR dedupe_key LIKE ?)`,
			string(KindReminder), string(KindReminder), v.VisitID,
			fmt.Sprintf("reminder:%d:%s:%%", v.VisitID, win), fmt.Sprintf("booked:%d:%s:%%", v.VisitID, win),
			fmt.Sprintf("rescheduled:%d:%s:%%", v.VisitID, win)).Scan(&live, &told)
		if err != nil {
			return postgres.Wrap(err)
		}
		lang := Language(rc.Language)
		f := Formatter{Lang: lang, Loc: o.cfg.Location}
		data := o.cfg.reportData(f, rc.Folio, rc.ReportKind)
		n := Notification{EventID: v.EventID, ReportID: v.ReportID, VisitID: v.VisitID, CustomerID: rc.CustomerID,
			To: rc.Phone, Language: lang}
		var queue []Notification
		if !told {
			last, err := o.lastWindow(ctx, tx, v.VisitID)
			if err != nil {
				return err
			}
			t := n
			t.Kind = KindBooked
			if last != "" {
				t.Kind = KindRescheduled
			}
			t.Key = fmt.Sprintf("%s:%d:%s:%d:optin", t.Kind, v.VisitID, win, v.EventID)
			queue = append(queue, t)
		}
		if at := o.cfg.reminderAt(v.WindowStart); at.After(now) && !live {
			r := n
			r.Kind, r.Key = KindReminder, fmt.Sprintf("reminder:%d:%s:%d:optin", v.VisitID, win, v.EventID)
			// It says "mañana": still unsent when the visit's day begins, it is withdrawn.
			r.SendAfter, r.ExpiresAt = at, o.cfg.dayOf(v.WindowStart)
			queue = append(queue, r)
		}
		for _, x := range queue {
			if x.Body, err = rc.renderWindow(x.Kind, f, data, v.WindowStart, v.WindowEnd, v.Technician.String); err != nil {
				return err
			}
			if _, _, err := Enqueue(ctx, tx, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// recipient finds the customer of a report; ok is false when there is none to text.
// Inside HookBatch it is the one the batch read.
func (o *Outbox) recipient(ctx context.Context, tx bun.Tx, reportID int64) (recipient, bool, error) {
	if b, ok := ctx.Value(batchKey{}).(*batch); ok {
		rc, ok := b.recipients[reportID]
		return rc, ok, nil
	}
	rcs, err := o.recipients(ctx, tx, []int64{reportID})
	if err != nil {
		return recipient{}, false, err
	}
	rc, ok := rcs[reportID]
	return rc, ok, nil
}

// recipients finds the customers of reports, by report id; a report without a customer
// phone is left out.
func (o *Outbox) recipients(ctx context.Context, tx bun.Tx, reportIDs []int64) (map[int64]recipient, error) {
	const q = `
		SELECT r.id, r.folio, r.kind, r.channel, r.incident_id, c.id AS customer_id, c.phone, c.language,
		       coalesce(c.sms_opt_out, false)
		       OR EXISTS (SELECT 1 FROM sms_consent s WHERE s.phone = c.phone AND s.opted_out) AS opted_out,
		       (SELECT coalesce(jsonb_object_agg(t.kind, t.body), '{}') FROM sms_templates t
		        WHERE t.language = CASE WHEN lower(btrim(coalesce(c.language, ''))) LIKE 'en%' THEN 'en' ELSE 'es' END) AS templates
		FROM reports r LEFT JOIN customers c ON c.id = r.customer_id
		WHERE r.id = ANY(?0::bigint[])`
	var rows []struct {
		ID         int64           `bun:"id"`
		Folio      string          `bun:"folio"`
		Kind       string          `bun:"kind"`
		Channel    string          `bun:"channel"`
		IncidentID sql.NullInt64   `bun:"incident_id"`
		CustomerID sql.NullInt64   `bun:"customer_id"`
		Phone      sql.NullString  `bun:"phone"`
		Language   sql.NullString  `bun:"language"`
		OptedOut   bool            `bun:"opted_out"`
		Templates  json.RawMessage `bun:"templates"`
	}
	ids := make([]string, len(reportIDs))
	for i, id := range reportIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	arg := "{" + strings.Join(ids, ",") + "}"
	var err error
	if o.stmts != nil {
		err = o.stmts.Scan(ctx, tx, q, []any{arg}, &rows)
	} else {
		err = tx.NewRaw(q, arg).Scan(ctx, &rows)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, postgres.Wrap(err)
	}
	out := make(map[int64]recipient, len(rows))
	for _, r := range rows {
		if !r.CustomerID.Valid || !r.Phone.Valid || r.Phone.String == "" {
			continue
		}
		rc := recipient{Folio: r.Folio, ReportKind: r.Kind, Channel: r.Channel, IncidentID: r.IncidentID.Int64,
			CustomerID: r.CustomerID.Int64, Phone: r.Phone.String, Language: r.Language.String, OptedOut: r.OptedOut}
		if err := json.Unmarshal(r.Templates, &rc.Templates); err != nil {
			return nil, fmt.Errorf("notify: template overrides: %w", err)
		}
		out[r.ID] = rc
	}
	return out, nil
}

// batch is HookBatch's state for its report.created events: the recipients it read and
// the texts the events call for (enqueueSQL's arguments of each).
type batch struct {
	recipients map[int64]recipient
	rows       [][]any
}

type batchKey struct{}

// HookBatch is a postgres.BatchHook: Hook for the events of one transaction together. The
// report.created events of a batch of new reports have their recipients read in one
// statement and their texts queued in another; every other event goes through Hook.
func (o *Outbox) HookBatch(ctx context.Context, tx bun.Tx, evs []*dispatch.Event) error {
	var created []*dispatch.Event
	for _, ev := range evs {
		if len(evs) > 1 && o.stmts != nil && ev.Type == dispatch.EventReportCreated && ev.ReportID != 0 {
			created = append(created, ev)
			continue
		}
		if err := o.Hook(ctx, tx, ev); err != nil {
			return err
		}
	}
	if len(created) == 0 {
		return nil
	}
	ids := make([]int64, len(created))
	for i, ev := range created {
		ids[i] = ev.ReportID
	}
	rcs, err := o.recipients(ctx, tx, ids)
	if err != nil {
		return err
	}
	b := &batch{recipients: rcs}
	bctx := context.WithValue(ctx, batchKey{}, b)
	for _, ev := range created {
		if err := o.Hook(bctx, tx, ev); err != nil {
			return err
		}
	}
	if len(b.rows) == 0 {
		return nil
	}
	arg, err := json.Marshal(b.rows)
	if err != nil {
		return err
	}
	var queued []int64
	return o.stmts.Scan(ctx, tx, enqueueManySQL, []any{string(arg)}, &queued)
}

// technician returns the first name of the technician an earlier text of the visit named,
// since en-route events carry only the ETA.
func (o *Outbox) technician(ctx context.Context, idb bun.IDB, visitID int64, f Formatter) string {
	var name string
	err := idb.QueryRowContext(ctx, `
		SELECT e.data->>'technician_name' FROM events e
		WHERE e.visit_id = ? AND e.type IN ('visit.booked', 'visit.rescheduled', 'visit.assigned')
		  AND e.data->>'technician_name' IS NOT NULL
		ORDER BY e.id DESC LIMIT 1`, visitID).Scan(&name)
	if err != nil {
		return f.Text("The technician", "El técnico")
	}
	return FirstName(name)
}
