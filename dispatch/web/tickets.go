package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// customerView is a customer as staff see it.
type customerView struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Phone       string   `json:"phone,omitempty"`
	Email       string   `json:"email,omitempty"`
	Language    string   `json:"language"`
	SMSOptOut   bool     `json:"sms_opt_out"`
	AccessPoint string   `json:"access_point,omitempty"`
	PlanPrice   *float64 `json:"plan_price,omitempty"`
}

type addressView struct {
	Line string   `json:"line"`
	Lat  *float64 `json:"lat"`
	Lon  *float64 `json:"lon"`
	Zone string   `json:"zone,omitempty"`
}

type resolutionView struct {
	Cause               string     `json:"cause"`
	Verdict             string     `json:"verdict"`
	ServiceRestored     *bool      `json:"service_restored"`
	RestoredConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	Notes               string     `json:"notes,omitempty"`
	ResolvedAt          *time.Time `json:"resolved_at,omitempty"`
}

type timelineEntry struct {
	ID    int64     `json:"id"`
	Type  string    `json:"type"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	// ActorName is the name of the staff user who took the step (none for the customer,
	// the system or Twilio).
	ActorName string `json:"actor_name,omitempty"`
	Channel   string `json:"channel,omitempty"`
	// VisitID is the visit a visit's step is about, so that the steps of a folio's two
	// visits can be told apart.
	VisitID int64           `json:"visit_id,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ticketView is a report as staff see it: the contract's fields and the rest.
type ticketView struct {
	ID                 int64           `json:"id"`
	Folio              string          `json:"folio"`
	Status             dispatch.Status `json:"status"`
	Kind               sla.Kind        `json:"kind"`
	Channel            string          `json:"channel"`
	Priority           sla.Priority    `json:"priority"`
	Area               dispatch.Area   `json:"area"`
	Subject            string          `json:"subject"`
	Description        string          `json:"description"`
	Customer           customerView    `json:"customer"`
	Address            *addressView    `json:"address"`
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
	Version            int             `json:"version"`
	FirstResponseDueAt *time.Time      `json:"first_response_due_at"`
	FirstRespondedAt   *time.Time      `json:"first_responded_at"`
	DueAt              *time.Time      `json:"due_at"`
	SLAState           sla.State       `json:"sla_state"`
	SLAPaused          bool            `json:"sla_paused"`
	SLA                slaView         `json:"sla"`
	OutageStartedAt    *time.Time      `json:"outage_started_at,omitempty"`
	ServiceRestoredAt  *time.Time      `json:"service_restored_at,omitempty"`
	Resolution         *resolutionView `json:"resolution"`
	IncidentID         *int64          `json:"incident_id"`
	Compensation       any             `json:"compensation"` // null unless an incident's resolution computed what is owed
	AccessCode         string          `json:"access_code,omitempty"`
	Timeline           []timelineEntry `json:"timeline"`
}

// slaView is a report's standing against both deadlines of its policy.
type slaView struct {
	FirstResponse slaTargetView `json:"first_response"`
	Resolution    slaTargetView `json:"resolution"`
}

// slaTargetView is one deadline: the target (null: none), when it falls due, and the state:
// ok, at_risk or breached while it runs; for the first response, met or breached once
// someone responded.
type slaTargetView struct {
	Target      *sla.DocumentTarget `json:"target"`
	DueAt       *time.Time          `json:"due_at"`
	State       string              `json:"state"`
	RespondedAt *time.Time          `json:"responded_at,omitempty"`
	Paused      bool                `json:"paused,omitempty"`
}

var stateRank = map[sla.State]int{sla.StateOK: 0, sla.StateAtRisk: 1, sla.StateBreached: 2}

// firstResponseState is the first-response state as of now, measured by m (the report's
// own calendar, Reports.SLAOf): met or breached once responded, else the recorded one or
// worse if the clock has run on since the SLA job last looked.
func (s *Server) firstResponseState(r *dispatch.Report, m dispatch.SLA) string {
	if r.FirstRespondedAt != nil {
		if r.FirstResponseState == sla.StateBreached || r.FirstResponseStatus(m, s.now()).State == sla.StateBreached {
			return string(sla.StateBreached)
		}
		return "met"
	}
	st := r.FirstResponseState
	if r.Status.Active() && r.Status != dispatch.StatusWaitingCustomer {
		if live := r.FirstResponseStatus(m, s.now()).State; stateRank[live] > stateRank[st] {
			st = live
		}
	}
	if st == "" {
		st = sla.StateOK
	}
	return string(st)
}

func (s *Server) viewSLA(r *dispatch.Report, m dispatch.SLA) slaView {
	p := r.Policy(m)
	return slaView{
		FirstResponse: slaTargetView{Target: p.FirstResponse.Document(), DueAt: r.FirstResponseDueAt, State: s.firstResponseState(r, m), RespondedAt: r.FirstRespondedAt},
		Resolution: slaTargetView{Target: p.Resolution.Document(), DueAt: r.DueAt, State: string(s.slaState(r, m)),
			Paused: r.PausedSince != nil && r.Status == dispatch.StatusWaitingCustomer},
	}
}

func viewCustomer(c *dispatch.Customer) customerView {
	return customerView{ID: c.ID, Name: c.Name, Phone: c.Phone, Email: c.Email, Language: string(c.Language),
		SMSOptOut: c.SMSOptOut, AccessPoint: c.AccessPoint, PlanPrice: c.PlanPrice}
}

func viewAddress(l *dispatch.Location) *addressView {
	if l == nil {
		return nil
	}
	return &addressView{Line: l.Line, Lat: l.Lat, Lon: l.Lon, Zone: l.Zone}
}

// slaState is the report's SLA state as of now, measured by m (the report's own calendar,
// Reports.SLAOf, so that it agrees with its stored due times): the recorded one, or worse
// if the clock has run on since the SLA job last looked.
func (s *Server) slaState(r *dispatch.Report, m dispatch.SLA) sla.State {
	if !r.Status.Active() || r.Status == dispatch.StatusWaitingCustomer {
		return r.SLAState
	}
	live := r.SLAStatus(m, s.now()).State
	if stateRank[live] > stateRank[r.SLAState] {
		return live
	}
	return r.SLAState
}

// viewTicket is report r as the API shows it; m is what its SLA is measured by
// (Reports.SLAOf, or the SLA it was just filed under).
func (s *Server) viewTicket(r *dispatch.Report, m dispatch.SLA, c *dispatch.Customer, l *dispatch.Location, timeline []dispatch.Event, names map[int64]string) ticketView {
	v := ticketView{
		ID: r.ID, Folio: r.Folio, Status: r.Status, Kind: r.Kind, Channel: string(r.Channel), Priority: r.Priority,
		Area: r.Area, Subject: r.Subject, Description: r.Description, Customer: viewCustomer(c), Address: viewAddress(l),
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version,
		FirstResponseDueAt: r.FirstResponseDueAt, FirstRespondedAt: r.FirstRespondedAt, DueAt: r.DueAt,
		SLAState: s.slaState(r, m), SLAPaused: r.PausedSince != nil && r.Status == dispatch.StatusWaitingCustomer,
		OutageStartedAt: r.OutageStartedAt, ServiceRestoredAt: r.ServiceRestoredAt,
		SLA: s.viewSLA(r, m), Timeline: []timelineEntry{},
	}
	if r.Verdict != "" {
		v.Resolution = &resolutionView{Cause: r.Cause, Verdict: string(r.Verdict), ServiceRestored: r.ServiceRestored,
			RestoredConfirmedAt: r.RestoredConfirmedAt, Notes: r.ResolutionNotes, ResolvedAt: r.ResolvedAt}
	}
	if r.IncidentID != 0 {
		id := r.IncidentID
		v.IncidentID = &id
	}
	for _, ev := range timeline {
		v.Timeline = append(v.Timeline, timelineEntry{ID: ev.ID, Type: ev.Type, At: ev.At, Actor: ev.Actor, ActorName: names[ev.ActorUserID],
			Channel: ev.Channel, VisitID: ev.VisitID, Data: ev.Data})
	}
	return v
}

// readBody reads the whole body, up to MaxBody bytes (413 beyond).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		return nil, decodeError(err)
	}
	return b, nil
}

// idempotencyKey validates the Idempotency-Key header: 1 to 200 visible ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", nil
	}
	if len(k) > 200 {
		return "", dispatch.Invalid("Idempotency-Key", "must be at most 200 characters")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", dispatch.Invalid("Idempotency-Key", "must be visible ASCII characters")
		}
	}
	return k, nil
}

// reportKey is the Idempotency-Key key of a report filed in scope (staff's or the public
// form's). The request it stands for is the report as decoded: a retry is the same request
// however its JSON is spaced or ordered, and whatever fields it adds that no report has.
func reportKey(scope, key string, in dispatch.ReportInput) (*postgres.IdempotencyKey, error) {
	req, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return &postgres.IdempotencyKey{Scope: scope, Key: key, Hash: postgres.RequestHash(req)}, nil
}

// createTicket files a report taken by staff. With an Idempotency-Key header, a retry of the
// same report (however its JSON is written) gets the first answer again (same status, folio
// and access code); the same key with another report is refused (422).
func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) error {
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var in dispatch.ReportInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	nr, err := in.Validate(s.now())
	if err != nil {
		return err
	}
	user := Actor(r.Context())
	opts := postgres.CreateOptions{Trusted: true}
	if key != "" {
		if opts.Key, err = reportKey("tickets:user:"+strconv.FormatInt(user.ID, 10), key, in); err != nil {
			return err
		}
		opts.Answer = func(c *postgres.Created) (int, any) { return http.StatusCreated, s.createdView(c) }
	}
	created, answer, err := s.reports.Create(r.Context(), nr, postgres.Origin{User: user}, opts)
	if err != nil {
		return err
	}
	if answer != nil {
		if answer.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeRaw(w, answer.Status, answer.Body)
		return nil
	}
	WriteJSON(w, http.StatusCreated, s.createdView(created))
	return nil
}

func (s *Server) createdView(c *postgres.Created) ticketView {
	v := s.viewTicket(c.Report, c.SLA, c.Customer, c.Location, c.Timeline, c.ActorNames)
	v.AccessCode = c.AccessCode
	return v
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Cache-Control", "no-store") // a stored answer may hold an access code (see WriteJSON)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(bytes.TrimRight(body, "\n"), '\n'))
}

// getTicket returns a report with its timeline.
func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) error {
	d, err := s.reports.Get(r.Context(), r.PathValue("folio"))
	if err != nil {
		return err
	}
	m, err := s.reports.SLAOf(r.Context(), d.Report)
	if err != nil {
		return err
	}
	v := s.viewTicket(d.Report, m, d.Customer, d.Location, d.Timeline, d.ActorNames)
	c, err := postgres.ReportCompensation(r.Context(), s.db, d.Report.ID)
	switch {
	case err == nil:
		v.Compensation = c
	case dispatch.ErrorKind(err) != dispatch.KindNotFound:
		return err
	}
	WriteJSON(w, http.StatusOK, v)
	return nil
}

// ticketItem is a report in a list: no description, no timeline.
type ticketItem struct {
	Folio    string          `json:"folio"`
	Status   dispatch.Status `json:"status"`
	Kind     sla.Kind        `json:"kind"`
	Channel  string          `json:"channel"`
	Priority sla.Priority    `json:"priority"`
	Area     dispatch.Area   `json:"area"`
	Subject  string          `json:"subject"`
	Customer struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Phone string `json:"phone,omitempty"`
	} `json:"customer"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DueAt     *time.Time `json:"due_at"`
	SLAState  sla.State  `json:"sla_state"`
	Version   int        `json:"version"`
}

type ticketList struct {
	Items []ticketItem `json:"items"`
	Next  string       `json:"next,omitempty"`
}

// listTickets lists reports newest first with filters and keyset pages.
func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := postgres.ListFilter{After: q.Get("after")}
	statuses, err := commaList(q, "status", dispatch.ParseStatus)
	if err != nil {
		return err
	}
	f.Statuses = statuses
	if v := q.Get("kind"); v != "" {
		k, err := dispatch.ParseKind("kind", v)
		if err != nil {
			return err
		}
		f.Kind = k
	}
	if v := q.Get("area"); v != "" {
		a, err := dispatch.ParseArea("area", v)
		if err != nil {
			return err
		}
		f.Area = a
	}
	if v := q.Get("due_before"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return dispatch.Invalid("due_before", "must be an RFC 3339 time")
		}
		// Year 0000 at a positive offset is before year 1 in UTC, which PostgreSQL refuses
		// (a 500); no report is due outside the calendar's years anyway.
		if y := t.UTC().Year(); y < sla.MinExceptionYear || y > sla.MaxExceptionYear {
			return dispatch.Invalid("due_before", "must be a time from %d to %d", sla.MinExceptionYear, sla.MaxExceptionYear)
		}
		f.DueBefore = t
	}
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		if len(v) > 200 || !utf8Valid(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return dispatch.Invalid("q", "must be at most 200 bytes of text without control characters")
		}
		// A caller's number as the agent reads it off his phone ("55 1234 5678",
		// "+52 55 1234 5678", "5512345678") finds the reports of the customer with that
		// phone, stored in E.164: a phone has no text to match in a report.
		if e164, ok := phoneQuery(v); ok {
			f.Phone = e164
		} else {
			f.Query = v
		}
	}
	if f.Limit, err = pageLimit(q); err != nil {
		return err
	}
	items, next, err := s.reports.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := ticketList{Items: make([]ticketItem, len(items)), Next: next}
	for i, it := range items {
		rep := it.Report
		m, err := s.reports.SLAOf(r.Context(), &rep)
		if err != nil {
			return err
		}
		t := ticketItem{Folio: rep.Folio, Status: rep.Status, Kind: rep.Kind, Channel: string(rep.Channel), Priority: rep.Priority,
			Area: rep.Area, Subject: rep.Subject, CreatedAt: rep.CreatedAt, UpdatedAt: rep.UpdatedAt, DueAt: rep.DueAt,
			SLAState: s.slaState(&rep, m), Version: rep.Version}
		t.Customer.ID, t.Customer.Name, t.Customer.Phone = rep.CustomerID, it.CustomerName, it.CustomerPhone
		out.Items[i] = t
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// phoneQuery returns the E.164 form of a search that is a phone number: only digits and
// what people write between them (spaces, dashes, dots, brackets, a leading +), at least
// eight digits, and valid for dispatch.NormalizePhone. Anything else is text.
func phoneQuery(q string) (string, bool) {
	digits := 0
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, strings.ContainsRune(" -().", r):
		default:
			return "", false
		}
	}
	if digits < 8 {
		return "", false
	}
	e164, err := dispatch.NormalizePhone("q", q)
	return e164, err == nil
}

// transitionTicket applies one action (start, await_visit, wait_customer, resume, resolve,
// close, cancel, reopen, assign_area, note) and returns the report as it now stands.
func (s *Server) transitionTicket(w http.ResponseWriter, r *http.Request) error {
	var c dispatch.Change
	if err := DecodeJSON(r, &c); err != nil {
		return err
	}
	d, err := s.reports.Change(r.Context(), r.PathValue("folio"), c, postgres.Origin{User: Actor(r.Context())}, s.now())
	if err != nil {
		return err
	}
	m, err := s.reports.SLAOf(r.Context(), d.Report)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, s.viewTicket(d.Report, m, d.Customer, d.Location, d.Timeline, d.ActorNames))
	return nil
}
