package dispatch

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An incident is a mass outage on one access point (a tower, a node, an OLT port: any name
// the provider uses for the equipment its customers hang from). While it is open, the fault
// reports of that access point's customers attach to it, their individual visits are held,
// and the customers get one notice; resolving it resolves every attached report with the
// same cause and verdict and computes what each customer is owed (see Compensation), those
// whose report was closed meanwhile (their own visit restored them) included.

// IncidentStatus is where an incident stands: open until resolved, and resolved for good.
type IncidentStatus string

// The incident statuses.
const (
	IncidentOpen     IncidentStatus = "open"
	IncidentResolved IncidentStatus = "resolved"
)

// Who opened an incident.
const (
	OpenedByStaff = "staff" // a dispatcher or admin
	OpenedByRule  = "rule"  // IncidentRule: N fault reports within M minutes
)

// Incident is a mass outage on one access point. Version increases with every change.
type Incident struct {
	ID          int64          `bun:"id,pk,autoincrement" json:"id"`
	Folio       string         `bun:"folio" json:"folio"`
	AccessPoint string         `bun:"access_point" json:"access_point"`
	Title       string         `bun:"title" json:"title"`
	Status      IncidentStatus `bun:"status" json:"status"`
	OpenedBy    string         `bun:"opened_by" json:"opened_by"` // OpenedByStaff or OpenedByRule
	CreatedBy   int64          `bun:"created_by,nullzero" json:"created_by,omitempty"`
	// StartedAt is when the access point failed: compensation runs from here. Staff give
	// it when they open the incident, and it stays theirs; for an incident the rule opened
	// it is IncidentRule.Start of the reports, moved earlier when reports that attach later
	// corroborate an earlier start (incident.start_changed).
	StartedAt          time.Time  `bun:"started_at" json:"started_at"`
	EstimatedRestoreAt *time.Time `bun:"estimated_restore_at" json:"estimated_restore_at"`
	// TextAccessPoint says whether every customer of the access point is texted about the
	// incident (its opening, estimate changes and restore), not only those who reported.
	// Nil until the store applies the provider's default to a new incident.
	TextAccessPoint *bool      `bun:"text_access_point" json:"text_access_point"`
	Cause           string     `bun:"cause,nullzero" json:"cause,omitempty"`
	Verdict         Verdict    `bun:"verdict,nullzero" json:"verdict,omitempty"`
	RestoredAt      *time.Time `bun:"restored_at" json:"restored_at,omitempty"`
	ResolvedAt      *time.Time `bun:"resolved_at" json:"resolved_at,omitempty"`
	ResolvedBy      int64      `bun:"resolved_by,nullzero" json:"resolved_by,omitempty"`
	Version         int        `bun:"version" json:"version"`
	CreatedAt       time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at" json:"updated_at"`
}

// IncidentDetail is an incident with the reports attached to it and what is owed for them.
type IncidentDetail struct {
	Incident
	// Attached counts the attached reports (also in lists, where Reports is nil).
	Attached int              `json:"attached_reports"`
	Reports  []IncidentReport `json:"reports,omitempty"`
	// CompensationTotal sums the compensation of the attached reports, once resolved.
	CompensationTotal Centavos `json:"compensation_total"`
}

// IncidentReport is one report attached to an incident.
type IncidentReport struct {
	ID              int64         `json:"-"`
	Folio           string        `json:"folio"`
	Status          Status        `json:"status"`
	CustomerID      int64         `json:"customer_id"`
	CustomerName    string        `json:"customer_name"`
	Phone           string        `json:"phone,omitempty"`
	OutageStartedAt *time.Time    `json:"outage_started_at,omitempty"`
	Compensation    *Compensation `json:"compensation,omitempty"`
}

// Event types of incidents. Incident-level events carry IncidentID; report-level ones carry
// ReportID (and IncidentID), one per affected customer, and are what customers are texted
// about. Resolving an incident writes report.resolved (EventReportResolved) for each
// attached report, its data extended with the incident's folio and the compensation.
const (
	// incident.opened {"folio","access_point","title","started_at","estimated_restore_at","opened_by"}
	EventIncidentOpened = "incident.opened"
	// incident.estimate_changed {"folio","estimated_restore_at","previous"}
	EventIncidentEstimateChanged = "incident.estimate_changed"
	// incident.start_changed {"folio","started_at","previous","reports"}: reports attached
	// to an incident the rule opened moved its start earlier (IncidentRule.Start; reports:
	// how many claims it was dated from). Customers are not texted: their restore notice
	// carries what they are owed from it.
	EventIncidentStartChanged = "incident.start_changed"
	// incident.resolved {"folio","cause","verdict","restored_at","reports","compensation_total"}
	EventIncidentResolved = "incident.resolved"
	// report.attached_to_incident {"folio","incident_id","incident_folio","access_point",
	// "title","started_at","estimated_restore_at","held_visits"}
	EventReportAttached = "report.attached_to_incident"
	// report.incident_estimate_changed {"folio","incident_folio","estimated_restore_at","previous"}
	EventReportIncidentEstimate = "report.incident_estimate_changed"
	// incident.area_notice {"folio","access_point","notice","estimated_restore_at","previous"}:
	// the incident texts every customer of its access point who has no report attached to it
	// (those get the report-level texts); notice is one of the AreaNotice values. Written
	// only for incidents with TextAccessPoint, after the report-level events of the change.
	EventIncidentAreaNotice = "incident.area_notice"
	// report.restore_confirmed {"folio"}: the customer answered the restore notice that
	// service is back (an answer that it is still down reopens the report instead).
	EventReportRestoreConfirmed = "report.restore_confirmed"
)

// What an incident.area_notice tells the customers of the access point.
const (
	AreaNoticeOpened   = "opened"   // an outage in the area, with the estimate when known
	AreaNoticeEstimate = "estimate" // a new estimated restore time
	AreaNoticeRestored = "restored" // service is back
)

// ReasonIncidentResolved is the reason of the visit.cancelled written for each visit an
// incident held when it resolves the visit's report: the customer's text is the restore
// notice, not a cancellation.
const ReasonIncidentResolved = "incident_resolved"

// IncidentFolioPrefix starts every incident folio.
const IncidentFolioPrefix = "I-"

// FormatIncidentFolio returns the folio of the n-th incident of year: I-2026-000042. The
// series is separate from reports' so that neither has gaps.
func FormatIncidentFolio(year int, n int64) string { return fmt.Sprintf("I-%04d-%06d", year, n) }

var incidentFolioPattern = regexp.MustCompile(`^I-[0-9]{4}-[0-9]{6,12}$`)

// ParseIncidentFolio normalizes an incident folio as typed by a person and reports whether
// it has the shape of one.
func ParseIncidentFolio(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, incidentFolioPattern.MatchString(s)
}

// MaxAccessPoint is the longest access point name, in characters.
const MaxAccessPoint = 100

// NormalizeAccessPoint validates an access point name: trimmed, required, at most
// MaxAccessPoint characters, no control characters. Names are compared exactly as given
// after trimming (the provider's own names, e.g. "TORRE-NORTE-03").
func NormalizeAccessPoint(field, s string) (string, error) {
	return cleanText(field, s, MaxAccessPoint, true)
}

// IncidentInput is a new incident as a dispatcher gives it.
type IncidentInput struct {
	AccessPoint string     `json:"access_point"`
	Title       string     `json:"title"`
	StartedAt   *time.Time `json:"started_at"`
	// EstimatedRestoreAt is optional at opening.
	EstimatedRestoreAt *time.Time `json:"estimated_restore_at"`
	// TextAccessPoint overrides, for this incident, the provider's choice of texting every
	// customer of the access point; nil keeps the provider's default.
	TextAccessPoint *bool `json:"text_access_point"`
}

// clockSkew is how far in the future a time given by a person may lie (clocks differ).
const clockSkew = 5 * time.Minute

// Validate checks in and returns the incident it describes, opened at now by staff. A
// missing start means now; a start in the future or more than 90 days back is refused, as
// is an estimate before the start or in the past.
func (in IncidentInput) Validate(now time.Time) (*Incident, error) {
	now = now.UTC().Truncate(time.Microsecond)
	inc := &Incident{Status: IncidentOpen, OpenedBy: OpenedByStaff, Version: 1, CreatedAt: now, UpdatedAt: now, StartedAt: now}
	if in.TextAccessPoint != nil {
		v := *in.TextAccessPoint
		inc.TextAccessPoint = &v
	}
	var err error
	if inc.AccessPoint, err = NormalizeAccessPoint("access_point", in.AccessPoint); err != nil {
		return nil, err
	}
	if inc.Title, err = cleanText("title", in.Title, 200, true); err != nil {
		return nil, err
	}
	if in.StartedAt != nil {
		s := in.StartedAt.UTC().Truncate(time.Microsecond)
		if s.After(now.Add(clockSkew)) {
			return nil, Invalid("started_at", "must not be in the future")
		}
		if s.Before(now.AddDate(0, 0, -90)) {
			return nil, Invalid("started_at", "must be within the last 90 days")
		}
		inc.StartedAt = s
	}
	if in.EstimatedRestoreAt != nil {
		if err := checkEstimate(inc, *in.EstimatedRestoreAt, now); err != nil {
			return nil, err
		}
		e := in.EstimatedRestoreAt.UTC().Truncate(time.Microsecond)
		inc.EstimatedRestoreAt = &e
	}
	return inc, nil
}

func checkEstimate(inc *Incident, at, now time.Time) error {
	if !at.After(inc.StartedAt) {
		return Invalid("estimated_restore_at", "must be after the incident started (%s)", inc.StartedAt.Format(time.RFC3339))
	}
	if at.Before(now.Add(-clockSkew)) {
		return Invalid("estimated_restore_at", "must not be in the past")
	}
	if at.After(now.AddDate(0, 0, 60)) {
		return Invalid("estimated_restore_at", "must be within 60 days")
	}
	return nil
}

// CheckEstimate validates a new estimated restore time for an open incident at now.
func (inc *Incident) CheckEstimate(at *time.Time, now time.Time) error {
	if inc.Status != IncidentOpen {
		return Conflict("incident_resolved", "incident %s is already resolved", inc.Folio)
	}
	if at == nil {
		return Invalid("estimated_restore_at", "is required")
	}
	return checkEstimate(inc, *at, now)
}

// IncidentResolution is how an incident ended, as a dispatcher gives it; every attached
// report is resolved with it.
type IncidentResolution struct {
	Cause      string     `json:"cause"`
	Verdict    string     `json:"verdict"`
	RestoredAt *time.Time `json:"restored_at"`
	Notes      string     `json:"notes"`
}

// Check validates r against the incident at now and returns the restore time: the incident
// must be open (else 409 incident_resolved), the cause given, the verdict upheld or
// not_upheld, and restored_at neither before the start nor in the future.
func (r IncidentResolution) Check(inc *Incident, now time.Time) (cause string, v Verdict, restored time.Time, err error) {
	if inc.Status != IncidentOpen {
		return "", "", time.Time{}, Conflict("incident_resolved", "incident %s was already resolved", inc.Folio)
	}
	if cause, err = cleanText("cause", r.Cause, MaxCause, true); err != nil {
		return "", "", time.Time{}, err
	}
	v = Verdict(r.Verdict)
	if v != VerdictUpheld && v != VerdictNotUpheld {
		return "", "", time.Time{}, Invalid("verdict", "must be upheld or not_upheld")
	}
	if _, err = cleanText("notes", r.Notes, MaxNote, false); err != nil {
		return "", "", time.Time{}, err
	}
	if r.RestoredAt == nil {
		return "", "", time.Time{}, Invalid("restored_at", "is required: when service came back")
	}
	restored = r.RestoredAt.UTC().Truncate(time.Microsecond)
	if restored.Before(inc.StartedAt) {
		return "", "", time.Time{}, Invalid("restored_at", "is before the incident started (%s)", inc.StartedAt.Format(time.RFC3339))
	}
	if restored.After(now.Add(clockSkew)) {
		return "", "", time.Time{}, Invalid("restored_at", "must not be in the future")
	}
	return cause, v, restored, nil
}

// IncidentRule opens an incident by itself when Threshold fault reports, not yet attached
// to any incident, come from customers of one access point within Window. Start dates the
// outage it opens.
type IncidentRule struct {
	Threshold int
	Window    time.Duration
	// MaxLead is how far before the first of its reports the rule may date an outage,
	// however many customers say it began earlier (see Start); zero means DefaultMaxLead.
	MaxLead time.Duration
}

// DefaultIncidentRule is 5 fault reports within 30 minutes.
var DefaultIncidentRule = IncidentRule{Threshold: 5, Window: 30 * time.Minute}

// DefaultMaxLead is the rule's default MaxLead: a day. An outage that went unreported
// for longer than that (a weekend in a rural area, say) is not what a burst of reports
// within minutes is; staff who know when it began open the incident by hand, with that
// start.
const DefaultMaxLead = 24 * time.Hour

// Validate refuses a rule that would open incidents on single faults or never look back.
func (r IncidentRule) Validate() error {
	if r.Threshold < 2 || r.Threshold > 100_000 {
		return Invalid("threshold", "must be between 2 and 100000 reports")
	}
	if r.Window < time.Minute || r.Window > 7*24*time.Hour {
		return Invalid("window", "must be between 1 minute and 7 days")
	}
	if r.MaxLead != 0 && (r.MaxLead < time.Minute || r.MaxLead > 31*24*time.Hour) {
		return Invalid("max_lead", "must be between 1 minute and 31 days")
	}
	return nil
}

// OutageClaim is what one fault report says of when its customer's service failed: it
// was filed at Reported, and the customer may have stated an earlier start (Stated; nil
// when he did not say).
type OutageClaim struct {
	Reported time.Time
	Stated   *time.Time
}

// DownBy is the moment by which the claim says service had failed: the stated start when
// it is earlier than the filing, else the filing itself.
func (c OutageClaim) DownBy() time.Time {
	if c.Stated != nil && c.Stated.Before(c.Reported) {
		return *c.Stated
	}
	return c.Reported
}

// Start dates the outage of an incident the rule opened, from the claims of its fault
// reports (those the rule counted, and those filed since), as a careful operator would:
// every affected customer is compensated from this start, so one report must not be able
// to move it far.
//
//   - A filing is a fact: the first report shows that the outage had begun by the time it
//     was filed. The start is never later than that.
//   - A stated start is one customer's memory, and may be wild ("sin servicio desde el mes
//     pasado") or about another fault. The start goes before the first filing only to a
//     moment by which at least two reports say service was down: the second-earliest of
//     the claims, each claim being its stated start or else its filing. One outlier never
//     moves it; two customers who agree on the early morning do (to the later of their two
//     starts, which both of them vouch for).
//   - However many agree, the start is never more than MaxLead (a day by default) before
//     the first filing.
//
// A dispatcher's start is not the rule's: an incident opened by staff keeps the start they
// gave. ok is false when there are no claims.
func (r IncidentRule) Start(claims []OutageClaim) (start time.Time, ok bool) {
	if len(claims) == 0 {
		return time.Time{}, false
	}
	first := claims[0].Reported
	by := make([]time.Time, len(claims))
	for i, c := range claims {
		if c.Reported.Before(first) {
			first = c.Reported
		}
		by[i] = c.DownBy()
	}
	slices.SortFunc(by, time.Time.Compare)
	start = first
	if len(by) >= 2 && by[1].Before(start) {
		start = by[1]
	}
	lead := r.MaxLead
	if lead == 0 {
		lead = DefaultMaxLead
	}
	if floor := first.Add(-lead); start.Before(floor) {
		start = floor
	}
	return start.UTC(), true
}

// AccessPointAssignment puts one customer on an access point and, when PlanPrice is set,
// sets the customer's monthly plan price. A customer is named by ID or by phone (E.164).
type AccessPointAssignment struct {
	Line        int // line of the CSV file, for errors; 0 when not from a file
	CustomerID  int64
	Phone       string
	AccessPoint string
	PlanPrice   *Centavos
}

// LineError is what is wrong with one line of an imported file.
type LineError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// LinesError lists every bad line of an import; nothing was imported.
type LinesError struct {
	Lines []LineError
}

func (e *LinesError) Error() string {
	if len(e.Lines) == 0 {
		return "import refused"
	}
	l := e.Lines[0]
	return fmt.Sprintf("%d bad lines; first: line %d: %s %s", len(e.Lines), l.Line, l.Field, l.Message)
}

// MaxImportLines bounds an access point import.
const MaxImportLines = 200_000

// ParseAccessPointCSV reads an access point import: a header line naming the columns
// (customer_id or phone, access_point, and optionally plan_price; any order, case and
// surrounding spaces ignored; other columns ignored), then one customer per line. A plan
// price left empty keeps the customer's current price. Every bad line is reported, with its
// number (the header is line 1), in a *LinesError, returned with the lines that did read
// well (so that a caller can check those against the customers too and name every bad line
// at once); a file that is not CSV at all is Malformed.
func ParseAccessPointCSV(r io.Reader) ([]AccessPointAssignment, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Invalid("body", "is empty: a header line (phone or customer_id, access_point, plan_price) and one line per customer are expected")
	}
	if err != nil {
		return nil, Malformed("not CSV: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		h = strings.ReplaceAll(strings.ReplaceAll(h, " ", "_"), "-", "_")
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	_, hasID := col["customer_id"]
	_, hasPhone := col["phone"]
	_, hasAP := col["access_point"]
	switch {
	case !hasID && !hasPhone:
		return nil, &LinesError{Lines: []LineError{{Line: 1, Field: "phone", Message: "the header must name a phone or customer_id column"}}}
	case !hasAP:
		return nil, &LinesError{Lines: []LineError{{Line: 1, Field: "access_point", Message: "the header must name an access_point column"}}}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []AccessPointAssignment
	var bad []LineError
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A broken quote ends what can be read: report it with the bad lines so far.
			var pe *csv.ParseError
			le := LineError{Message: err.Error()}
			if errors.As(err, &pe) {
				le = LineError{Line: pe.StartLine, Message: pe.Err.Error()}
			}
			return nil, &LinesError{Lines: append(bad, le)}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(out)+len(bad) >= MaxImportLines {
			return nil, &LinesError{Lines: append(bad, LineError{Line: line, Message: fmt.Sprintf("more than %d lines; split the file", MaxImportLines)})}
		}
		a := AccessPointAssignment{Line: line}
		lineBad := func(field, msg string) { bad = append(bad, LineError{Line: line, Field: field, Message: msg}) }
		id, phone := get(rec, "customer_id"), get(rec, "phone")
		switch {
		case id != "":
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil || n <= 0 {
				lineBad("customer_id", "is not a customer id")
				continue
			}
			a.CustomerID = n
		case phone != "":
			p, err := NormalizePhone("phone", phone)
			if err != nil {
				lineBad("phone", errMessage(err))
				continue
			}
			a.Phone = p
		default:
			lineBad("phone", "a phone or customer_id is required")
			continue
		}
		ap, err := NormalizeAccessPoint("access_point", get(rec, "access_point"))
		if err != nil {
			lineBad("access_point", errMessage(err))
			continue
		}
		a.AccessPoint = ap
		if s := get(rec, "plan_price"); s != "" {
			p, err := ParseCentavos("plan_price", s)
			if err != nil {
				lineBad("plan_price", errMessage(err))
				continue
			}
			a.PlanPrice = &p
		}
		out = append(out, a)
	}
	if len(bad) > 0 {
		return out, &LinesError{Lines: bad}
	}
	if len(out) == 0 {
		return nil, Invalid("body", "has no customer lines after the header")
	}
	return out, nil
}

// errMessage is the message of a domain error without its kind and field.
func errMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
