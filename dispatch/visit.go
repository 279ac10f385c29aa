package dispatch

import (
	"math"
	"time"
)

// VisitStatus is where a visit is in its life.
//
//	unscheduled → booked (promised window) → assigned (confirmed technician) → en_route → on_site
//	→ completed | not_completed (→ booked again); any open state → cancelled.
//
// A booked visit already has a technician and planned times in the plan; "assigned" means a
// dispatcher confirmed (or chose) the technician.
type VisitStatus string

// The visit states.
const (
	VisitUnscheduled  VisitStatus = "unscheduled"
	VisitBooked       VisitStatus = "booked"
	VisitAssigned     VisitStatus = "assigned"
	VisitEnRoute      VisitStatus = "en_route"
	VisitOnSite       VisitStatus = "on_site"
	VisitCompleted    VisitStatus = "completed"
	VisitNotCompleted VisitStatus = "not_completed"
	VisitCancelled    VisitStatus = "cancelled"
)

// VisitStatuses lists every visit state in lifecycle order.
var VisitStatuses = []VisitStatus{VisitUnscheduled, VisitBooked, VisitAssigned, VisitEnRoute, VisitOnSite,
	VisitCompleted, VisitNotCompleted, VisitCancelled}

// ParseVisitStatus reads a visit state; anything else is invalid, naming field.
func ParseVisitStatus(field, s string) (VisitStatus, error) {
	for _, st := range VisitStatuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", Invalid(field, "unknown visit status %q", s)
}

// Planned reports whether a visit in this state holds a place in a technician's day.
func (s VisitStatus) Planned() bool {
	return s == VisitBooked || s == VisitAssigned || s == VisitEnRoute || s == VisitOnSite
}

// Started reports whether the technician is under way to or at the visit: re-plans never
// move it.
func (s VisitStatus) Started() bool { return s == VisitEnRoute || s == VisitOnSite }

// Final reports a state nothing more happens to (a not-completed visit may be booked again).
func (s VisitStatus) Final() bool { return s == VisitCompleted || s == VisitCancelled }

// Open reports whether a visit in this state still stands for its report's fault: neither
// completed, not_completed nor cancelled (a visit held by an incident is open). A report has
// at most one open visit; a not_completed one may be booked again only while it has none.
func (s VisitStatus) Open() bool {
	return s != VisitCompleted && s != VisitNotCompleted && s != VisitCancelled
}

// Bookable reports whether a window may be booked for a visit in this state.
func (s VisitStatus) Bookable() bool { return s == VisitUnscheduled || s == VisitNotCompleted }

// CanMoveVisit reports whether the technician's status report to may follow from; it refuses
// steps out of order (completed before on_site).
func CanMoveVisit(from, to VisitStatus) bool {
	switch to {
	case VisitEnRoute:
		return from == VisitBooked || from == VisitAssigned
	case VisitOnSite:
		return from == VisitEnRoute
	case VisitCompleted:
		return from == VisitOnSite
	case VisitNotCompleted:
		return from == VisitEnRoute || from == VisitOnSite
	case VisitCancelled:
		return !from.Final()
	}
	return false
}

// Reasons a visit is cancelled because its report no longer needs it: the report was
// resolved (its outcome text tells the customer, so the visit's cancellation texts nothing)
// or cancelled (the visit's cancellation is the customer's text).
const (
	ReasonReportResolved  = "report_resolved"
	ReasonReportCancelled = "report_cancelled"
)

// Reasons a visit could not be completed.
var NotCompletedReasons = []string{"customer_absent", "no_access", "needs_parts", "other"}

// Visit is a home visit for a report.
type Visit struct {
	ID       int64  `json:"id"`
	ReportID int64  `json:"-"`
	Folio    string `json:"folio"`
	// IncidentID and IncidentFolio are set, instead of ReportID and Folio, on a visit
	// planned for an incident itself (the repair at the access point): it has no report
	// and no customer to text.
	IncidentID    int64  `json:"incident_id,omitempty"`
	IncidentFolio string `json:"incident_folio,omitempty"`
	// CustomerName and CustomerPhone (E.164, "" when the customer gave only an email) are
	// the report's customer, read with the visit for the technician's route.
	CustomerName  string      `json:"customer_name"`
	CustomerPhone string      `json:"customer_phone"`
	Status        VisitStatus `json:"status"`
	DurationMin   int         `json:"duration_min"`
	Skills        []string    `json:"skills"`
	Address       string      `json:"address"`
	Lat           float64     `json:"lat"`
	Lon           float64     `json:"lon"`
	Priority      int         `json:"priority"`
	Urgent        bool        `json:"urgent"`
	// Availability is when the customer can receive a technician; empty means any time.
	Availability []Span `json:"availability"`
	// Window is the promised arrival window, once booked.
	Window *Span `json:"window"`
	// Hold is a window offered and held until HeldUntil.
	Hold      *Span     `json:"hold,omitempty"`
	HeldUntil time.Time `json:"held_until,omitzero"`

	TechnicianID   int64     `json:"technician_id,omitempty"`
	PlanDay        string    `json:"plan_day,omitempty"` // YYYY-MM-DD, business time
	RoutePosition  int       `json:"route_position,omitempty"`
	PlannedArrival time.Time `json:"planned_arrival,omitzero"`
	PlannedStart   time.Time `json:"planned_start,omitzero"`
	PlannedEnd     time.Time `json:"planned_end,omitzero"`
	Pinned         bool      `json:"pinned"`
	ETA            time.Time `json:"eta,omitzero"`
	AtRisk         bool      `json:"at_risk"`

	NotDoneReason   string `json:"not_done_reason,omitempty"`
	Cause           string `json:"cause,omitempty"`
	Verdict         string `json:"verdict,omitempty"`
	ServiceRestored *bool  `json:"service_restored,omitempty"`

	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// Duration is the expected time on site.
func (v *Visit) Duration() time.Duration { return time.Duration(v.DurationMin) * time.Minute }

// HeldAt reports whether the visit holds an offered window at now.
func (v *Visit) HeldAt(now time.Time) bool {
	return v.Hold != nil && now.Before(v.HeldUntil)
}

// Available reports whether arrival window w lies wholly inside one of the customer's
// availability spans; any window does when he stated none.
func (v *Visit) Available(w Span) bool {
	if len(v.Availability) == 0 {
		return true
	}
	for _, a := range v.Availability {
		if !w.Start.Before(a.Start) && !w.End.After(a.End) {
			return true
		}
	}
	return false
}

// CheckAvailable refuses (422 "window") an arrival window outside the customer's stated
// availability.
func (v *Visit) CheckAvailable(w Span) error {
	if v.Available(w) {
		return nil
	}
	return Invalid("window", "lies outside the customer's availability; offer one of the slots")
}

// Span is a time interval [Start, End] (RFC 3339 in JSON).
type Span struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Horizon is how far from now a window may be booked or held, slots looked for, and a
// technician's time off begin. Further is a mistyped year, not a plan: a window in 2062
// would be promised to the customer by SMS, and one on the last evening of year 9999 ends,
// in UTC, in year 10000, which PostgreSQL stores but neither reads back into Go nor RFC
// 3339 writes (every later read of that day failed).
const Horizon = 366 * 24 * time.Hour

// CheckHorizon refuses (422 field) a time t more than Horizon before or after now.
func CheckHorizon(field string, t, now time.Time) error {
	if t.Before(now.Add(-Horizon)) || t.After(now.Add(Horizon)) {
		return Invalid(field, "must be within a year of today")
	}
	return nil
}

// CancelReason validates why a visit is cancelled, which its event keeps: trimmed, at most
// 1000 characters, without control characters (a NUL cannot be stored in the event's JSON:
// it was a 500). Errors name the field "reason".
func CancelReason(s string) (string, error) { return cleanText("reason", s, 1000, false) }

// NewVisit holds what a visit is created with; Validate checks it.
type NewVisit struct {
	DurationMin  int      `json:"duration_min"`
	Skills       []string `json:"skills"`
	Address      string   `json:"address"`
	Lat          *float64 `json:"lat"`
	Lon          *float64 `json:"lon"`
	Priority     int      `json:"priority"`
	Urgent       bool     `json:"urgent"`
	Availability []Span   `json:"availability"`
}

// CheckHorizon refuses (422 availability[i].start or .end) a span of the customer's
// availability more than Horizon from now: one in year 0 or 9999 was stored, and no window
// ever fitted it, so the visit was offered none, without a word of why.
func (n *NewVisit) CheckHorizon(now time.Time) error {
	for i, a := range n.Availability {
		if a.Start.IsZero() || a.End.IsZero() {
			continue // Validate names what is missing
		}
		f := "availability[" + itoa(int64(i)) + "]"
		if err := CheckHorizon(f+".start", a.Start, now); err != nil {
			return err
		}
		if err := CheckHorizon(f+".end", a.End, now); err != nil {
			return err
		}
	}
	return nil
}

// Validate normalises skills and checks every field; coordinates are checked when given.
func (n *NewVisit) Validate() error {
	if n.DurationMin < 5 || n.DurationMin > 720 {
		return Invalid("duration_min", "must be 5 to 720 minutes")
	}
	var err error
	if n.Skills, err = NormalizeSkills("skills", n.Skills); err != nil {
		return err
	}
	// Trimmed, valid UTF-8, no control characters: a NUL broke the statement that stores it
	// (a 500).
	if n.Address, err = cleanText("address", n.Address, 500, false); err != nil {
		return err
	}
	if (n.Lat == nil) != (n.Lon == nil) {
		// The one missing is the one to name.
		if n.Lat == nil {
			return Invalid("lat", "is required with lon: lat and lon go together")
		}
		return Invalid("lon", "is required with lat: lat and lon go together")
	}
	if n.Lat != nil {
		// Named as the body names them: lat and lon are top-level fields here.
		if lat := *n.Lat; math.IsNaN(lat) || lat < -90 || lat > 90 {
			return Invalid("lat", "must be between -90 and 90")
		}
		if lon := *n.Lon; math.IsNaN(lon) || lon < -180 || lon > 180 {
			return Invalid("lon", "must be between -180 and 180")
		}
		if *n.Lat == 0 && *n.Lon == 0 {
			return Invalid("lat", NullIsland)
		}
	}
	if n.Priority < 0 || n.Priority > 10 {
		return Invalid("priority", "must be 0 to 10")
	}
	if len(n.Availability) > 50 {
		return Invalid("availability", "at most 50 spans")
	}
	for i, a := range n.Availability {
		if a.Start.IsZero() || !a.End.After(a.Start) {
			return Invalid("availability["+itoa(int64(i))+"]", "must have a start before its end")
		}
	}
	if n.Availability == nil {
		n.Availability = []Span{}
	}
	return nil
}

// Limits of a technician's outcome, in characters (runes, as every text limit of ours: a
// Spanish cause with accents is not refused sooner than an English one). MaxCause is the
// limit of a report's resolution, which a completion resolves the report with: a longer cause
// would pass here and be refused there. The tech page's form has the same limits
// (maxlength in tech.html).
const (
	MaxCause     = 500
	MaxVisitNote = 2000
)

// Outcome is what a technician reports when a visit ends.
type Outcome struct {
	Status          VisitStatus `json:"status"`
	Cause           string      `json:"cause"`
	Verdict         string      `json:"verdict"`
	ServiceRestored *bool       `json:"service_restored"`
	Reason          string      `json:"reason"`
	Note            string      `json:"note"`
}

// Validate checks that a completion carries cause, verdict and service_restored, and that a
// failed visit carries a known reason; cause and note are trimmed, at most MaxCause and
// MaxVisitNote characters, without control characters (as the report's resolution takes
// them, so that the refusal names the field the technician wrote).
func (o *Outcome) Validate() error {
	switch o.Status {
	case VisitEnRoute, VisitOnSite:
	case VisitCompleted:
		cause, err := cleanText("cause", o.Cause, MaxCause, true)
		if err != nil {
			return err
		}
		o.Cause = cause
		if Verdict(o.Verdict) != VerdictUpheld && Verdict(o.Verdict) != VerdictNotUpheld {
			return Invalid("verdict", "must be upheld or not_upheld")
		}
		if o.ServiceRestored == nil {
			return Invalid("service_restored", "is required")
		}
	case VisitNotCompleted:
		ok := false
		for _, r := range NotCompletedReasons {
			ok = ok || r == o.Reason
		}
		if !ok {
			return Invalid("reason", "must be customer_absent, no_access, needs_parts or other")
		}
	default:
		return Invalid("status", "must be en_route, on_site, completed or not_completed")
	}
	note, err := cleanText("note", o.Note, MaxVisitNote, false)
	if err != nil {
		return err
	}
	o.Note = note
	return nil
}
