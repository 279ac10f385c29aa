package dispatch

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Technician is a field technician: who he is, what he can do, where his day starts and when
// he works. Shifts are weekly and in business time; Exceptions cut them.
type Technician struct {
	ID     int64         `json:"id"`
	Name   string        `json:"name"`
	Phone  string        `json:"phone"`             // E.164
	UserID int64         `json:"user_id,omitempty"` // the account he signs in with (role technician)
	Skills []string      `json:"skills"`
	Home   LatLon        `json:"home"`
	Shifts []WeeklyShift `json:"shifts"`
	Active bool          `json:"active"`
	// Position is the last known position, when he has shared one.
	Position  *Position `json:"position,omitempty"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

// LatLon is a point in degrees.
type LatLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Validate reports a coordinate outside the globe (or NaN) as invalid, naming it under
// field ("home.lat"), or alone ("lat") when field is "": the point is the document itself.
func (p LatLon) Validate(field string) error {
	if field != "" {
		field += "."
	}
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		return Invalid(field+"lat", "must be between -90 and 90")
	}
	if math.IsNaN(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		return Invalid(field+"lon", "must be between -180 and 180")
	}
	return nil
}

// Position is where a technician was at a moment.
type Position struct {
	Lat float64   `json:"lat"`
	Lon float64   `json:"lon"`
	At  time.Time `json:"at"`
}

// PositionMargin is how long before a working span begins and after it ends a technician's
// position is still taken: the drive from home to his first visit, and back.
const PositionMargin = 30 * time.Minute

// SharesPositionAt reports whether a position a technician took at t may be stored and
// shown: from PositionMargin before one of his working spans begins to PositionMargin after
// it ends (inclusive), or at any hour while a visit of his is under way (en route or on
// site: he is still working). spans are his weekly shifts with his exceptions cut out, so a
// day off, a sick day or an inactive technician has none. Off shift his whereabouts are his
// own.
func SharesPositionAt(t time.Time, spans []Span, underWay bool) bool {
	if underWay {
		return true
	}
	for _, s := range spans {
		if !t.Before(s.Start.Add(-PositionMargin)) && !t.After(s.End.Add(PositionMargin)) {
			return true
		}
	}
	return false
}

// WeeklyShift is a working span on one weekday (0 = Sunday), in business time "HH:MM".
// End "24:00" is allowed; a shift never crosses midnight.
type WeeklyShift struct {
	Weekday int         `json:"weekday"`
	Start   string      `json:"start"`
	End     string      `json:"end"`
	Break   *ShiftBreak `json:"break,omitempty"`
}

// ShiftBreak is a pause of Minutes taken wholly between Start and End ("HH:MM").
type ShiftBreak struct {
	Start   string `json:"start"`
	End     string `json:"end"`
	Minutes int    `json:"minutes"`
}

// ParseClock reads "HH:MM" (00:00–24:00) as an offset from midnight.
func ParseClock(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// Span returns the shift's start and end as offsets from midnight; Validate must have passed.
func (s WeeklyShift) Span() (start, end time.Duration) {
	start, _ = ParseClock(s.Start)
	end, _ = ParseClock(s.End)
	return start, end
}

// Validate checks the shift and its break; field names it in errors (e.g. "shifts[0]").
func (s WeeklyShift) Validate(field string) error {
	if s.Weekday < 0 || s.Weekday > 6 {
		return Invalid(field+".weekday", "must be 0 (Sunday) to 6 (Saturday)")
	}
	a, ok1 := ParseClock(s.Start)
	if !ok1 {
		return Invalid(field+".start", "must be a time HH:MM")
	}
	b, ok2 := ParseClock(s.End)
	if !ok2 {
		return Invalid(field+".end", "must be a time HH:MM")
	}
	if b <= a {
		return Invalid(field+".end", "must be after the start")
	}
	if br := s.Break; br != nil {
		x, okx := ParseClock(br.Start)
		y, oky := ParseClock(br.End)
		if !okx || !oky || y <= x || x < a || y > b {
			return Invalid(field+".break", "must lie inside the shift, start and end HH:MM")
		}
		if br.Minutes <= 0 || time.Duration(br.Minutes)*time.Minute > y-x {
			return Invalid(field+".break.minutes", "must be positive and fit between start and end")
		}
	}
	return nil
}

// MaxSkills bounds the skills of a technician or visit (the solver keeps them in a bit set).
const MaxSkills = 32

// NormalizeSkills lower-cases, trims, de-duplicates and sorts skill names; field names them
// in errors.
func NormalizeSkills(field string, skills []string) ([]string, error) {
	out := make([]string, 0, len(skills))
	for i, s := range skills {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || len(s) > 40 {
			return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "must be 1 to 40 characters")
		}
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return nil, Invalid(fmt.Sprintf("%s[%d]", field, i), "may hold only letters, digits, - and _")
			}
		}
		out = append(out, s)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxSkills {
		return nil, Invalid(field, "at most %d skills", MaxSkills)
	}
	return out, nil
}

// Validate normalises the technician's fields (phone to E.164, skills) and checks them.
func (t *Technician) Validate() error {
	// His name is shown as a user's is (the board, the route, the customer's SMS), by the
	// same rule: it counted bytes (150 accented letters were "over 200 characters") and let
	// a NUL through, which PostgreSQL refuses (a 500).
	name, err := UserName(t.Name)
	if err != nil {
		return err
	}
	t.Name = name
	p, err := NormalizePersonalPhone("phone", t.Phone)
	if err != nil {
		return err
	}
	t.Phone = p
	if t.Skills, err = NormalizeSkills("skills", t.Skills); err != nil {
		return err
	}
	if err := t.Home.Validate("home"); err != nil {
		return err
	}
	// (0,0) is what a home sent without its coordinates ({"home":{}}) decodes to; taken as
	// a place, his day would start in the Gulf of Guinea and no visit could ever be his.
	if t.Home.Lat == 0 && t.Home.Lon == 0 {
		return Invalid("home", "is required: lat and lon of his home base, not (0,0)")
	}
	if len(t.Shifts) > 50 {
		return Invalid("shifts", "at most 50 shifts")
	}
	for i, s := range t.Shifts {
		f := fmt.Sprintf("shifts[%d]", i)
		if err := s.Validate(f); err != nil {
			return err
		}
		a, b := s.Span()
		for j := range i {
			o := t.Shifts[j]
			c, d := o.Span()
			if o.Weekday == s.Weekday && a < d && c < b {
				return Invalid(f, "overlaps shifts[%d]", j)
			}
		}
	}
	if t.Shifts == nil {
		t.Shifts = []WeeklyShift{}
	}
	return nil
}

// Exception reasons.
const (
	ExceptionTimeOff     = "time_off"
	ExceptionSick        = "sick"
	ExceptionUnavailable = "unavailable"
	ExceptionOther       = "other"
)

// Exception is a span in which a technician does not work although a shift says so.
type Exception struct {
	ID           int64     `json:"id"`
	TechnicianID int64     `json:"technician_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Reason       string    `json:"reason"`
	Note         string    `json:"note,omitempty"`
}

// Validate checks the span and the reason.
func (e *Exception) Validate() error {
	if e.Start.IsZero() {
		return Invalid("start", "is required")
	}
	if !e.End.After(e.Start) {
		return Invalid("end", "must be after the start")
	}
	if e.End.Sub(e.Start) > 366*24*time.Hour {
		return Invalid("end", "an exception lasts at most a year")
	}
	switch e.Reason {
	case ExceptionTimeOff, ExceptionSick, ExceptionUnavailable, ExceptionOther:
	case "":
		e.Reason = ExceptionOther
	default:
		return Invalid("reason", "must be time_off, sick, unavailable or other")
	}
	// Trimmed, valid UTF-8, no control characters: a NUL broke the statement that stores it
	// (a 500).
	note, err := cleanText("note", e.Note, 1000, false)
	if err != nil {
		return err
	}
	e.Note = note
	return nil
}
