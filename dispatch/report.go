package dispatch

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"despacho/dispatch/sla"
)

// Channel is how a report reached us, and how a later step of it was taken.
type Channel string

// The channels.
const (
	ChannelPhone    Channel = "phone"
	ChannelEmail    Channel = "email"
	ChannelWeb      Channel = "web"
	ChannelInPerson Channel = "in_person"
	ChannelSMS      Channel = "sms"
)

// Channels lists every channel.
var Channels = []Channel{ChannelPhone, ChannelEmail, ChannelWeb, ChannelInPerson, ChannelSMS}

// Area is the team that follows a report up.
type Area string

// The areas.
const (
	AreaCustomerService Area = "customer_service"
	AreaTechnical       Area = "technical"
	AreaBilling         Area = "billing"
	AreaComplaints      Area = "complaints"
)

// Areas lists every area.
var Areas = []Area{AreaCustomerService, AreaTechnical, AreaBilling, AreaComplaints}

// DefaultArea is the area a new report of kind k goes to: faults to the technical lead,
// complaints to the complaints desk, clarifications (of a bill) to billing, the rest to
// customer service.
func DefaultArea(k sla.Kind) Area {
	switch k {
	case sla.KindFault:
		return AreaTechnical
	case sla.KindComplaint:
		return AreaComplaints
	case sla.KindClarification:
		return AreaBilling
	}
	return AreaCustomerService
}

// Status is where a report stands.
type Status string

// The statuses. A report starts open; waiting_customer stops its SLA clock; resolved and
// closed may be reopened; cancelled is final.
const (
	StatusOpen            Status = "open"
	StatusInProgress      Status = "in_progress"
	StatusAwaitingVisit   Status = "awaiting_visit"
	StatusWaitingCustomer Status = "waiting_customer"
	StatusResolved        Status = "resolved"
	StatusClosed          Status = "closed"
	StatusCancelled       Status = "cancelled"
)

// Statuses lists every status in the order of the procedure.
var Statuses = []Status{StatusOpen, StatusInProgress, StatusAwaitingVisit, StatusWaitingCustomer, StatusResolved, StatusClosed, StatusCancelled}

// Active reports whether a report in status s is still being worked on, with its SLA
// clock running (waiting_customer is active but paused).
func (s Status) Active() bool {
	return s == StatusOpen || s == StatusInProgress || s == StatusAwaitingVisit || s == StatusWaitingCustomer
}

// Verdict says whether a report was upheld (procedente) or not (improcedente).
type Verdict string

// The verdicts.
const (
	VerdictUpheld    Verdict = "upheld"
	VerdictNotUpheld Verdict = "not_upheld"
)

// ParseKind validates a report kind; field names the input in errors.
func ParseKind(field, s string) (sla.Kind, error) {
	if k := sla.Kind(s); slices.Contains(sla.Kinds, k) {
		return k, nil
	}
	return "", Invalid(field, "must be one of fault, complaint, inquiry, clarification, suggestion, cancellation, other")
}

// ParseChannel validates a channel; field names the input in errors.
func ParseChannel(field, s string) (Channel, error) {
	if c := Channel(s); slices.Contains(Channels, c) {
		return c, nil
	}
	return "", Invalid(field, "must be one of phone, email, web, in_person, sms")
}

// ParsePriority validates a priority; "" is normal.
func ParsePriority(field, s string) (sla.Priority, error) {
	if s == "" {
		return sla.PriorityNormal, nil
	}
	if p := sla.Priority(s); slices.Contains(sla.Priorities, p) {
		return p, nil
	}
	return "", Invalid(field, "must be one of low, normal, high, urgent")
}

// ParseArea validates an area.
func ParseArea(field, s string) (Area, error) {
	if a := Area(s); slices.Contains(Areas, a) {
		return a, nil
	}
	return "", Invalid(field, "must be one of customer_service, technical, billing, complaints")
}

// ParseStatus validates a status.
func ParseStatus(field, s string) (Status, error) {
	if st := Status(s); slices.Contains(Statuses, st) {
		return st, nil
	}
	return "", Invalid(field, "must be one of open, in_progress, awaiting_visit, waiting_customer, resolved, closed, cancelled")
}

// Pause is a span during which a report's SLA clock stood still.
type Pause struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Report is a customer's report, known outside by its folio. Version increases with every
// change, for optimistic concurrency.
type Report struct {
	ID          int64        `bun:"id,pk,autoincrement"`
	Folio       string       `bun:"folio"`
	Kind        sla.Kind     `bun:"kind"`
	Channel     Channel      `bun:"channel"`
	Priority    sla.Priority `bun:"priority"`
	Area        Area         `bun:"area"`
	Status      Status       `bun:"status"`
	CustomerID  int64        `bun:"customer_id"`
	LocationID  int64        `bun:"location_id,nullzero"`
	Subject     string       `bun:"subject"`
	Description string       `bun:"description"`
	// AccessCodeHash is HashAccessCode(folio, code); the code itself is shown once.
	AccessCodeHash []byte    `bun:"access_code_hash"`
	CreatedAt      time.Time `bun:"created_at"`
	UpdatedAt      time.Time `bun:"updated_at"`
	Version        int       `bun:"version"`
	CreatedBy      int64     `bun:"created_by,nullzero"`

	FirstResponseDueAt *time.Time `bun:"first_response_due_at"`
	// FirstRespondedAt is when staff first acted on the report: any change made through
	// Apply (a note, a transition, an area or kind change). Messages from the customer and
	// the SLA job's marks do not count.
	FirstRespondedAt *time.Time `bun:"first_responded_at"`
	// FirstResponseRiskAt is when AtRiskAt of the first-response budget is used.
	FirstResponseRiskAt *time.Time `bun:"first_response_risk_at"`
	// FirstResponseState is the first-response state the SLA job last recorded (each of
	// at_risk and breached once; never after the first response).
	FirstResponseState sla.State `bun:"first_response_state"`
	// SLAPolicy is the policy the due times are computed with, fixed when the report is
	// filed and when its kind or priority changes, so that editing the policies leaves
	// existing reports alone. Nil (reports filed before it was kept): look it up.
	SLAPolicy *sla.Policy `bun:"sla_policy,type:jsonb"`
	// CalendarVersion is the stored version of the business calendar the due times are
	// counted on, fixed with SLAPolicy (FixPolicy), so that editing the calendar leaves
	// existing reports alone too. 0 (reports filed before calendars were stored): the
	// calendar the service is configured with.
	CalendarVersion int64 `bun:"calendar_version,nullzero"`
	// DueAt is when the resolution budget runs out; nil while waiting on the customer.
	DueAt *time.Time `bun:"due_at"`
	// SLARiskAt is when AtRiskAt of the resolution budget is used; nil while paused.
	SLARiskAt   *time.Time `bun:"sla_risk_at"`
	PausedSince *time.Time `bun:"paused_since"`
	Pauses      []Pause    `bun:"pauses,type:jsonb"`
	// SLAState is the state the SLA job last recorded (each of at_risk and breached once).
	SLAState sla.State `bun:"sla_state"`

	OutageStartedAt     *time.Time `bun:"outage_started_at"`
	ServiceRestoredAt   *time.Time `bun:"service_restored_at"`
	Cause               string     `bun:"cause,nullzero"`
	Verdict             Verdict    `bun:"verdict,nullzero"`
	ServiceRestored     *bool      `bun:"service_restored"`
	RestoredConfirmedAt *time.Time `bun:"restored_confirmed_at"`
	ResolutionNotes     string     `bun:"resolution_notes,nullzero"`
	ResolvedAt          *time.Time `bun:"resolved_at"`
	ClosedAt            *time.Time `bun:"closed_at"`
	IncidentID          int64      `bun:"incident_id,nullzero"`
}

// ReportDetail is a report with its customer, its location (nil when none was given) and
// its timeline.
type ReportDetail struct {
	Report   *Report
	Customer *Customer
	Location *Location
	Timeline []Event
	// ActorNames are the names of the staff users who took the timeline's steps, by user id
	// (Event.ActorUserID), so that the timeline says who did each.
	ActorNames map[int64]string
}

// ReportInput is a new report as staff or a customer give it, before validation.
type ReportInput struct {
	Channel         string        `json:"channel"`
	Kind            string        `json:"kind"`
	Priority        string        `json:"priority"`
	Area            string        `json:"area"`
	Subject         string        `json:"subject"`
	Description     string        `json:"description"`
	OutageStartedAt *time.Time    `json:"outage_started_at"`
	Customer        CustomerInput `json:"customer"`
	Address         *AddressInput `json:"address"`
}

// NewReport is a validated new report: what the store needs to create it.
type NewReport struct {
	Report   *Report
	Customer *Customer
	Location *Location // nil when no address was given
}

// Max lengths of report texts, in characters.
const (
	MaxSubject     = 200
	MaxDescription = 10000
	MaxNote        = 5000
)

// Validate checks in and returns the new report it describes, created at now (the outage
// of a fault starts at now unless reported earlier). Errors name the field as a JSON path.
func (in ReportInput) Validate(now time.Time) (*NewReport, error) {
	r := &Report{Status: StatusOpen, CreatedAt: now.UTC(), UpdatedAt: now.UTC(), Version: 1, SLAState: sla.StateOK, FirstResponseState: sla.StateOK}
	var err error
	if r.Channel, err = ParseChannel("channel", in.Channel); err != nil {
		return nil, err
	}
	if r.Kind, err = ParseKind("kind", in.Kind); err != nil {
		return nil, err
	}
	if r.Priority, err = ParsePriority("priority", in.Priority); err != nil {
		return nil, err
	}
	r.Area = DefaultArea(r.Kind)
	if in.Area != "" {
		if r.Area, err = ParseArea("area", in.Area); err != nil {
			return nil, err
		}
	}
	if r.Description, err = cleanText("description", in.Description, MaxDescription, true); err != nil {
		return nil, err
	}
	if r.Subject, err = cleanText("subject", in.Subject, MaxSubject, false); err != nil {
		return nil, err
	}
	if r.Subject == "" {
		r.Subject = summarize(r.Description, 80)
	}
	if r.Kind == sla.KindFault {
		t := r.CreatedAt
		if in.OutageStartedAt != nil {
			o := in.OutageStartedAt.UTC()
			if o.After(now.Add(5*time.Minute)) || o.Before(now.AddDate(-1, 0, 0)) {
				return nil, Invalid("outage_started_at", "must be within the last year and not in the future")
			}
			t = o
		}
		r.OutageStartedAt = &t
	}
	c, err := in.Customer.Customer("customer")
	if err != nil {
		return nil, err
	}
	loc, err := in.Address.Location("address")
	if err != nil {
		return nil, err
	}
	return &NewReport{Report: r, Customer: c, Location: loc}, nil
}

// summarize returns the first line of s, cut to max characters at a word boundary.
func summarize(s string, max int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)[:max-1]
	cut := string(rs)
	if i := strings.LastIndexByte(cut, ' '); i > max/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut) + "…"
}

// FolioPrefix starts every report folio.
const FolioPrefix = "R-"

// FormatFolio returns the folio of the n-th report of year: R-2026-000123. Numbers past
// 999999 get more digits; folios stay unique.
func FormatFolio(year int, n int64) string { return fmt.Sprintf("R-%04d-%06d", year, n) }

var folioPattern = regexp.MustCompile(`^R-[0-9]{4}-[0-9]{6,12}$`)

// typedFolio is a folio as people type or paste it once case and typographic dashes are
// undone: its parts apart by a dash, spaces, both or nothing ("R 2026 000123", "R2026000123").
var typedFolio = regexp.MustCompile(`^R[- ]*([0-9]{4})[- ]*([0-9]{6,12})$`)

// folioDashes are the dashes (and the no-break space) a word processor, a mail client or a phone's keyboard puts
// where a folio has its hyphen.
var folioDashes = strings.NewReplacer("\u00a0", " ", "\u2010", "-", "\u2011", "-", "\u2012", "-", "\u2013", "-", "\u2014", "-", "\u2015", "-", "\u2212", "-")

// ParseFolio normalizes a folio as typed by a person (case, surrounding spaces, its parts
// apart by spaces or a typographic dash, or run together: what a customer reads out over
// the phone and an agent types) and reports whether it has a folio's shape; lookups of
// anything else are not found.
func ParseFolio(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if folioPattern.MatchString(s) {
		return s, true
	}
	if m := typedFolio.FindStringSubmatch(folioDashes.Replace(s)); m != nil {
		return FolioPrefix + m[1] + "-" + m[2], true
	}
	return s, false
}

// accessAlphabet has no characters that read alike (0/O, 1/I/L).
const accessAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// AccessCodeLen is the length of a report's access code: 13 symbols of 31, about 64 bits.
const AccessCodeLen = 13

// NewAccessCode returns a random access code for a report's public status page.
func NewAccessCode() string {
	b := make([]byte, AccessCodeLen)
	out := make([]byte, 0, AccessCodeLen)
	for len(out) < AccessCodeLen {
		_, _ = rand.Read(b)
		for _, c := range b {
			if int(c) < 256/len(accessAlphabet)*len(accessAlphabet) && len(out) < AccessCodeLen {
				out = append(out, accessAlphabet[int(c)%len(accessAlphabet)])
			}
		}
	}
	return string(out)
}

// NormalizeAccessCode undoes what people do to a code when they type it: lower case,
// spaces and dashes.
func NormalizeAccessCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// HashAccessCode is what is stored of a report's access code. The folio salts it, so one
// guess cannot be tried against every report at once.
func HashAccessCode(folio, code string) []byte {
	h := sha256.Sum256([]byte("despacho access code\x00" + folio + "\x00" + NormalizeAccessCode(code)))
	return h[:]
}

// CheckAccessCode reports, in constant time, whether code opens the report.
func (r *Report) CheckAccessCode(code string) bool {
	return subtle.ConstantTimeCompare(HashAccessCode(r.Folio, code), r.AccessCodeHash) == 1
}

// SLA is what due times are computed with: the business calendar and the policies.
type SLA struct {
	Calendar *sla.Calendar
	Policies *sla.Policies
	// CalendarVersion is the stored version Calendar is (see Report.CalendarVersion); 0 is
	// the configured calendar.
	CalendarVersion int64
}

// DefaultSLA is the default calendar (Mexico City, Mexican holidays) and policies.
func DefaultSLA() SLA { return SLA{Calendar: sla.DefaultCalendar(), Policies: sla.DefaultPolicies()} }

// defaultSLA is built once: a calendar caches each year's holidays, so it pays to share it.
var defaultSLA = sync.OnceValue(DefaultSLA)

func (s SLA) orDefault() SLA {
	if s.Calendar == nil {
		s.Calendar = defaultSLA().Calendar
	}
	if s.Policies == nil {
		s.Policies = defaultSLA().Policies
	}
	return s
}

// slaPauses returns the report's pauses in the sla package's terms, the running one open.
func (r *Report) slaPauses() []sla.Interval {
	out := make([]sla.Interval, 0, len(r.Pauses)+1)
	for _, p := range r.Pauses {
		out = append(out, sla.Interval{Start: p.Start, End: p.End})
	}
	if r.PausedSince != nil {
		out = append(out, sla.Interval{Start: *r.PausedSince})
	}
	return out
}

// Policy returns the SLA policy the report is measured by: the one fixed on it, or else
// the one s gives for its kind and priority.
func (r *Report) Policy(s SLA) sla.Policy {
	if r.SLAPolicy != nil {
		return *r.SLAPolicy
	}
	return s.orDefault().Policies.Lookup(r.Kind, r.Priority)
}

// FixPolicy fixes on the report the policy s gives for its kind and priority now, and s's
// calendar version; later edits of the policies or of the calendar do not change its due
// times.
func (r *Report) FixPolicy(s SLA) {
	p := s.orDefault().Policies.Lookup(r.Kind, r.Priority)
	r.SLAPolicy = &p
	r.CalendarVersion = s.CalendarVersion
}

// ComputeSLA sets the report's due times from its policy (see Policy), creation time and
// pauses. While paused, the resolution due time and risk time are unknown (nil).
func (r *Report) ComputeSLA(s SLA) {
	s = s.orDefault()
	p := r.Policy(s)
	pauses := r.slaPauses()
	r.FirstResponseDueAt = dueOrNil(p.FirstResponse.Due(s.Calendar, r.CreatedAt, pauses))
	r.FirstResponseRiskAt = dueOrNil(riskTarget(p.FirstResponse, s.Calendar, r.CreatedAt).Due(s.Calendar, r.CreatedAt, pauses))
	r.DueAt = dueOrNil(p.Resolution.Due(s.Calendar, r.CreatedAt, pauses))
	r.SLARiskAt = dueOrNil(riskTarget(p.Resolution, s.Calendar, r.CreatedAt).Due(s.Calendar, r.CreatedAt, pauses))
}

// SLAStatus returns where the report stands against its resolution target at now. A
// report no longer active is measured at the moment its clock stopped.
func (r *Report) SLAStatus(s SLA, now time.Time) sla.Status {
	s = s.orDefault()
	return r.Policy(s).Resolution.Status(s.Calendar, r.CreatedAt, r.slaPauses(), now)
}

// FirstResponseStatus returns where the report stands against its first-response target:
// at now while nobody has responded, else as it stood at the first response.
func (r *Report) FirstResponseStatus(s SLA, now time.Time) sla.Status {
	s = s.orDefault()
	if r.FirstRespondedAt != nil {
		now = *r.FirstRespondedAt
	}
	return r.Policy(s).FirstResponse.Status(s.Calendar, r.CreatedAt, r.slaPauses(), now)
}

// riskTarget is the part of t's budget after which a report is at risk, counted the same way.
func riskTarget(t sla.Target, cal *sla.Calendar, created time.Time) sla.Target {
	switch t.Basis {
	case sla.WallClock:
		return sla.Wall(time.Duration(float64(t.Duration) * sla.AtRiskAt))
	case sla.BusinessTime:
		return sla.Business(time.Duration(float64(t.Duration) * sla.AtRiskAt))
	case sla.BusinessDays:
		end := cal.AddBusinessDays(created, t.Days)
		if end.IsZero() {
			return sla.Target{}
		}
		return sla.Business(time.Duration(float64(cal.BusinessBetween(created, end)) * sla.AtRiskAt))
	}
	return sla.Target{}
}

func dueOrNil(t time.Time, ok bool) *time.Time {
	if !ok {
		return nil
	}
	// Round up to the microsecond PostgreSQL keeps, so that a stored instant is never
	// before the true one.
	t = t.UTC().Add(time.Microsecond - time.Nanosecond).Truncate(time.Microsecond)
	return &t
}

// Action is a change staff make to a report.
type Action string

// The actions.
const (
	ActionStart        Action = "start"         // → in_progress
	ActionAwaitVisit   Action = "await_visit"   // → awaiting_visit
	ActionWaitCustomer Action = "wait_customer" // → waiting_customer; the SLA clock stops
	ActionResume       Action = "resume"        // waiting_customer → in_progress; the clock runs again
	ActionResolve      Action = "resolve"       // → resolved, with cause, verdict, service restored
	ActionClose        Action = "close"         // resolved → closed
	ActionCancel       Action = "cancel"        // → cancelled (final)
	ActionReopen       Action = "reopen"        // resolved or closed → open
	ActionAssignArea   Action = "assign_area"   // route to another area
	ActionNote         Action = "note"          // add an internal note
	ActionReclassify   Action = "reclassify"    // change kind and/or priority; due times follow
)

// Actions lists every action.
var Actions = []Action{ActionStart, ActionAwaitVisit, ActionWaitCustomer, ActionResume, ActionResolve, ActionClose, ActionCancel, ActionReopen, ActionAssignArea, ActionNote, ActionReclassify}

// moves is the status machine: the statuses each status-changing action starts from, and
// where it leads.
var moves = map[Action]struct {
	from []Status
	to   Status
}{
	ActionStart:        {[]Status{StatusOpen, StatusAwaitingVisit}, StatusInProgress},
	ActionAwaitVisit:   {[]Status{StatusOpen, StatusInProgress}, StatusAwaitingVisit},
	ActionWaitCustomer: {[]Status{StatusOpen, StatusInProgress, StatusAwaitingVisit}, StatusWaitingCustomer},
	ActionResume:       {[]Status{StatusWaitingCustomer}, StatusInProgress},
	ActionResolve:      {[]Status{StatusOpen, StatusInProgress, StatusAwaitingVisit, StatusWaitingCustomer}, StatusResolved},
	ActionClose:        {[]Status{StatusResolved}, StatusClosed},
	ActionCancel:       {[]Status{StatusOpen, StatusInProgress, StatusAwaitingVisit, StatusWaitingCustomer}, StatusCancelled},
	ActionReopen:       {[]Status{StatusResolved, StatusClosed}, StatusOpen},
}

// CanMove reports whether action a is legal for a report in status from, and where it leads.
func CanMove(from Status, a Action) (Status, bool) {
	switch a {
	case ActionNote:
		return from, true
	case ActionAssignArea, ActionReclassify:
		return from, from.Active()
	}
	m, ok := moves[a]
	if !ok || !slices.Contains(m.from, from) {
		return "", false
	}
	return m.to, true
}

// Change is one action on a report with its details, as staff give it.
type Change struct {
	Action Action `json:"action"`
	// Version, when set, must be the report's current version (else 409 stale_version).
	Version int `json:"version"`
	// Channel through which the step was taken (e.g. the customer called); default web.
	Channel string `json:"channel"`
	Area    string `json:"area"` // assign_area
	// Kind and Priority (reclassify): the new ones; "" keeps the current one.
	Kind     string `json:"kind"`
	Priority string `json:"priority"`
	Note     string `json:"note"`   // note; optional comment on the other actions
	Reason   string `json:"reason"` // cancel, reopen, wait_customer
	// Resolution (resolve).
	Cause             string     `json:"cause"`
	Verdict           string     `json:"verdict"`
	ServiceRestored   *bool      `json:"service_restored"`
	ServiceRestoredAt *time.Time `json:"service_restored_at"`
	Notes             string     `json:"notes"`
}

// EventTypes of reports.
const (
	EventReportCreated       = "report.created"
	EventReportStatusChanged = "report.status_changed"
	EventReportAreaAssigned  = "report.area_assigned"
	EventReportNoted         = "report.noted"
	EventReportResolved      = "report.resolved"
	EventReportClosed        = "report.closed"
	EventReportCancelled     = "report.cancelled"
	EventReportReopened      = "report.reopened"
	EventReportSLAAtRisk     = "report.sla_at_risk"
	EventReportSLABreached   = "report.sla_breached"
	EventReportReclassified  = "report.reclassified"
	// The first-response deadline's marks; written only while nobody has responded.
	EventReportFirstResponseAtRisk   = "report.first_response_at_risk"
	EventReportFirstResponseBreached = "report.first_response_breached"
	// EventReportCustomerMessage is a message from the customer added to an existing report
	// (an e-mail reply); it does not count as a response.
	EventReportCustomerMessage = "report.customer_message"
)

// Apply validates c against the report and, if legal, changes the report as of now and
// returns the event type and data that record the change. An illegal move is a conflict
// "illegal_transition"; a stale version is "stale_version"; bad details are invalid. The
// report is not changed when an error is returned. Version is not bumped here: the store
// does it when it writes.
func (r *Report) Apply(c Change, now time.Time, s SLA) (Channel, string, map[string]any, error) {
	now = now.UTC().Truncate(time.Microsecond)
	if !slices.Contains(Actions, c.Action) {
		return "", "", nil, Invalid("action", "must be one of start, await_visit, wait_customer, resume, resolve, close, cancel, reopen, assign_area, note, reclassify")
	}
	if c.Version != 0 && c.Version != r.Version {
		return "", "", nil, Conflict("stale_version", "the report changed (version %d, you sent %d); reload it", r.Version, c.Version)
	}
	ch := ChannelWeb
	if c.Channel != "" {
		var err error
		if ch, err = ParseChannel("channel", c.Channel); err != nil {
			return "", "", nil, err
		}
	}
	to, ok := CanMove(r.Status, c.Action)
	if !ok {
		return "", "", nil, Conflict("illegal_transition", "a %s report cannot %s", r.Status, c.Action)
	}
	note, err := cleanText("note", c.Note, MaxNote, c.Action == ActionNote)
	if err != nil {
		return "", "", nil, err
	}
	reason, err := cleanText("reason", c.Reason, MaxNote, false)
	if err != nil {
		return "", "", nil, err
	}
	data := map[string]any{}
	if note != "" {
		data["note"] = note
	}
	if reason != "" {
		data["reason"] = reason
	}
	next := *r // work on a copy: r stays as it was on error
	from := r.Status
	typ := EventReportStatusChanged
	switch c.Action {
	case ActionNote:
		typ = EventReportNoted
	case ActionAssignArea:
		a, err := ParseArea("area", c.Area)
		if err != nil {
			return "", "", nil, err
		}
		if a == r.Area {
			return "", "", nil, Conflict("illegal_transition", "the report is already with %s", a)
		}
		typ = EventReportAreaAssigned
		data["from"], data["to"] = r.Area, a
		next.Area = a
	case ActionReclassify:
		if err := next.reclassify(c, r, now, s, data); err != nil {
			return "", "", nil, err
		}
		typ = EventReportReclassified
	case ActionResolve:
		cause, err := cleanText("cause", c.Cause, MaxCause, true)
		if err != nil {
			return "", "", nil, err
		}
		v := Verdict(c.Verdict)
		if v != VerdictUpheld && v != VerdictNotUpheld {
			return "", "", nil, Invalid("verdict", "must be upheld or not_upheld")
		}
		if c.ServiceRestored == nil && r.Kind == sla.KindFault {
			return "", "", nil, Invalid("service_restored", "is required for a fault: true once the customer has service again")
		}
		notes, err := cleanText("notes", c.Notes, MaxNote, false)
		if err != nil {
			return "", "", nil, err
		}
		next.Cause, next.Verdict, next.ResolutionNotes = cause, v, notes
		next.ServiceRestored, next.RestoredConfirmedAt, next.ServiceRestoredAt = nil, nil, nil
		if c.ServiceRestored != nil {
			restored := *c.ServiceRestored
			next.ServiceRestored = &restored
			if restored {
				at := now
				if c.ServiceRestoredAt != nil {
					at = c.ServiceRestoredAt.UTC().Truncate(time.Microsecond)
					if at.After(now.Add(5 * time.Minute)) {
						return "", "", nil, Invalid("service_restored_at", "must not be in the future")
					}
					if at.Before(r.CreatedAt.Add(-366 * 24 * time.Hour)) {
						return "", "", nil, Invalid("service_restored_at", "must be at most a year before the report was filed")
					}
				}
				confirmed := now
				next.RestoredConfirmedAt = &confirmed
				if r.Kind == sla.KindFault {
					next.ServiceRestoredAt = &at
				}
			}
		}
		next.ResolvedAt = &now
		typ = EventReportResolved
		data["cause"], data["verdict"] = cause, v
		if next.ServiceRestored != nil {
			data["service_restored"] = *next.ServiceRestored
		}
		if next.ServiceRestoredAt != nil {
			data["service_restored_at"] = *next.ServiceRestoredAt
		}
		if notes != "" {
			data["notes"] = notes
		}
	case ActionClose:
		next.ClosedAt = &now
		typ = EventReportClosed
	case ActionCancel:
		typ = EventReportCancelled
	case ActionReopen:
		next.ClosedAt, next.ResolvedAt = nil, nil
		typ = EventReportReopened
	}
	if to != from {
		data["from"], data["to"] = from, to
		next.Status = to
	}
	// The SLA clock runs while the report is active and not waiting on the customer.
	running := func(s Status) bool { return s.Active() && s != StatusWaitingCustomer }
	switch wasRunning, runs := running(from), running(to); {
	case wasRunning && !runs:
		next.PausedSince = &now
	case !wasRunning && runs && next.PausedSince != nil:
		if now.After(*next.PausedSince) {
			next.Pauses = append(slices.Clone(next.Pauses), Pause{Start: *next.PausedSince, End: now})
		}
		next.PausedSince = nil
	}
	if to != from {
		// Due times freeze once resolved; only the wait on the customer leaves them unknown.
		if to == StatusWaitingCustomer || running(to) {
			next.ComputeSLA(s)
		}
	}
	if next.FirstRespondedAt == nil {
		next.FirstRespondedAt = &now
	}
	next.UpdatedAt = now
	*r = next
	return ch, typ, data, nil
}

// reclassify sets next's kind and priority from c, fixes the policy they now get and
// recomputes the due times (r is the report before the change). A recorded SLA state worse
// than the new due times justify goes back down, so the job marks the new deadline afresh
// (once each, as always); a state the new due times make worse is left to the job, which
// writes the event.
func (next *Report) reclassify(c Change, r *Report, now time.Time, s SLA, data map[string]any) error {
	if c.Kind == "" && c.Priority == "" {
		return Invalid("kind", "give a kind or a priority (or both) to change")
	}
	k, p := r.Kind, r.Priority
	var err error
	if c.Kind != "" {
		if k, err = ParseKind("kind", c.Kind); err != nil {
			return err
		}
	}
	if c.Priority != "" {
		if p, err = ParsePriority("priority", c.Priority); err != nil {
			return err
		}
	}
	if k == r.Kind && p == r.Priority {
		return Conflict("illegal_transition", "the report is already a %s %s report", p, k)
	}
	next.Kind, next.Priority = k, p
	if k == sla.KindFault && next.OutageStartedAt == nil {
		t := r.CreatedAt
		next.OutageStartedAt = &t
	}
	next.FixPolicy(s)
	next.ComputeSLA(s)
	rank := map[sla.State]int{sla.StateOK: 0, sla.StateAtRisk: 1, sla.StateBreached: 2}
	if r.Status != StatusWaitingCustomer {
		if live := next.SLAStatus(s, now).State; rank[live] < rank[next.SLAState] {
			next.SLAState = live
		}
	}
	if next.FirstRespondedAt == nil {
		if live := next.FirstResponseStatus(s, now).State; rank[live] < rank[next.FirstResponseState] {
			next.FirstResponseState = live
		}
	}
	data["from_kind"], data["to_kind"] = r.Kind, k
	data["from_priority"], data["to_priority"] = r.Priority, p
	data["due_at"], data["first_response_due_at"] = next.DueAt, next.FirstResponseDueAt
	return nil
}

// kindWords are the words (Spanish and English, lower case, without accents) that suggest a
// report's kind when a customer does not say it, as in an e-mail; the first match wins.
var kindWords = []struct {
	kind  sla.Kind
	words []string
}{
	{sla.KindCancellation, []string{"cancelar", "cancelacion", "dar de baja", "baja del servicio", "cancel my", "cancellation"}},
	{sla.KindComplaint, []string{"queja", "inconformidad", "complaint"}},
	// "recibo" and "cargo" are verbs too ("no recibo señal", "no cargó la página"): only
	// their billing phrases count.
	{sla.KindClarification, []string{"aclaracion", "cobro", "factura", "mi recibo", "el recibo", "del recibo", "mis recibos",
		"un cargo", "cargos", "cargo extra", "cargo adicional", "cargo no reconocido", "me cargaron", "billing", "invoice", "charge"}},
	{sla.KindFault, []string{"falla", "sin servicio", "sin internet", "no tengo internet", "no tenemos internet", "no hay internet",
		"no funciona", "intermitente", "lento", "se cae", "no hay senal", "sin senal", "no recibo senal", "no tengo senal", "no carga",
		"no cargo", "outage", "not working", "no internet", "slow"}},
	{sla.KindSuggestion, []string{"sugerencia", "sugiero", "suggestion"}},
	{sla.KindInquiry, []string{"pregunta", "consulta", "informacion", "duda", "question", "information"}},
}

var unaccent = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "ü", "u")

// GuessKind returns the kind a free text (an e-mail's subject and body) most likely
// reports, or other. Agents can correct the routing afterwards by assigning the area.
func GuessKind(text string) sla.Kind {
	t := unaccent.Replace(strings.ToLower(text))
	for _, kw := range kindWords {
		for _, w := range kw.words {
			if strings.Contains(t, w) {
				return kw.kind
			}
		}
	}
	return sla.KindOther
}
