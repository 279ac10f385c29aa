package dispatch

import (
	"math"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Language is the language a customer is written to in: Spanish (es, the default) or English.
type Language string

// The languages customers can be written to in.
const (
	Spanish Language = "es"
	English Language = "en"
)

// Customer is a subscriber who files reports. Customers do not sign in: they follow a
// report with its folio and access code. Phone is E.164; a customer has a phone, an
// e-mail or both.
type Customer struct {
	ID          int64     `bun:"id,pk,autoincrement" json:"id"`
	Name        string    `bun:"name" json:"name"`
	Phone       string    `bun:"phone,nullzero" json:"phone,omitempty"`
	Email       string    `bun:"email,nullzero" json:"email,omitempty"`
	Language    Language  `bun:"language" json:"language"`
	SMSOptOut   bool      `bun:"sms_opt_out" json:"sms_opt_out"`
	AccessPoint string    `bun:"access_point,nullzero" json:"access_point,omitempty"`
	PlanPrice   *float64  `bun:"plan_price" json:"plan_price,omitempty"` // MXN per month
	CreatedAt   time.Time `bun:"created_at,nullzero,default:now()" json:"created_at"`
}

// Location is a service address of a customer, where a technician would go. Lat and Lon
// are both set or both nil.
type Location struct {
	ID         int64     `bun:"id,pk,autoincrement" json:"id"`
	CustomerID int64     `bun:"customer_id" json:"customer_id"`
	Line       string    `bun:"line" json:"line"`
	Lat        *float64  `bun:"lat" json:"lat"`
	Lon        *float64  `bun:"lon" json:"lon"`
	Zone       string    `bun:"zone,nullzero" json:"zone,omitempty"`
	CreatedAt  time.Time `bun:"created_at,nullzero,default:now()" json:"created_at"`
}

// CustomerInput is a customer as given with a new report, before validation. Phone may be
// in any common form.
type CustomerInput struct {
	Name        string   `json:"name"`
	Phone       string   `json:"phone"`
	Email       string   `json:"email"`
	Language    string   `json:"language"`
	AccessPoint string   `json:"access_point"`
	PlanPrice   *float64 `json:"plan_price"`
}

// AddressInput is a service address as given with a new report, before validation.
type AddressInput struct {
	Line string   `json:"line"`
	Lat  *float64 `json:"lat"`
	Lon  *float64 `json:"lon"`
	Zone string   `json:"zone"`
}

// Customer validates in and returns the customer it describes: the phone in E.164, the
// e-mail lower-cased in its domain, the language defaulting to Spanish. A customer needs a
// name and a phone or an e-mail. prefix is the JSON path of in ("customer"), so errors name
// fields such as "customer.phone".
func (in CustomerInput) Customer(prefix string) (*Customer, error) {
	c := &Customer{Language: Spanish}
	name, err := cleanText(prefix+".name", in.Name, 200, true)
	if err != nil {
		return nil, err
	}
	c.Name = name
	if strings.TrimSpace(in.Phone) != "" {
		if c.Phone, err = NormalizePersonalPhone(prefix+".phone", in.Phone); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(in.Email) != "" {
		if c.Email, err = NormalizeEmail(prefix+".email", in.Email); err != nil {
			return nil, err
		}
	}
	if c.Phone == "" && c.Email == "" {
		return nil, Invalid(prefix+".phone", "a phone number or an e-mail address is required")
	}
	switch Language(strings.ToLower(strings.TrimSpace(in.Language))) {
	case "", Spanish:
	case English:
		c.Language = English
	default:
		return nil, Invalid(prefix+".language", "must be es or en")
	}
	if c.AccessPoint, err = cleanText(prefix+".access_point", in.AccessPoint, 100, false); err != nil {
		return nil, err
	}
	if p := in.PlanPrice; p != nil {
		if math.IsNaN(*p) || *p < 0 || *p > 1e9 {
			return nil, Invalid(prefix+".plan_price", "must be a non-negative amount in MXN")
		}
		v := math.Round(*p*100) / 100
		c.PlanPrice = &v
	}
	return c, nil
}

// Location validates in and returns the location it describes, or nil when in is empty
// (no address given). Coordinates are optional but come in pairs, in range.
func (in *AddressInput) Location(prefix string) (*Location, error) {
	if in == nil || (strings.TrimSpace(in.Line) == "" && in.Lat == nil && in.Lon == nil && strings.TrimSpace(in.Zone) == "") {
		return nil, nil
	}
	line, err := cleanText(prefix+".line", in.Line, 300, true)
	if err != nil {
		return nil, err
	}
	l := &Location{Line: line}
	switch {
	case in.Lat == nil && in.Lon == nil:
	case in.Lat == nil:
		return nil, Invalid(prefix+".lat", "is required with lon")
	case in.Lon == nil:
		return nil, Invalid(prefix+".lon", "is required with lat")
	default:
		if la := *in.Lat; math.IsNaN(la) || la < -90 || la > 90 {
			return nil, Invalid(prefix+".lat", "must be between -90 and 90")
		}
		if lo := *in.Lon; math.IsNaN(lo) || lo < -180 || lo > 180 {
			return nil, Invalid(prefix+".lon", "must be between -180 and 180")
		}
		if *in.Lat == 0 && *in.Lon == 0 {
			return nil, Invalid(prefix+".lat", NullIsland)
		}
		lat, lon := *in.Lat, *in.Lon
		l.Lat, l.Lon = &lat, &lon
	}
	if l.Zone, err = cleanText(prefix+".zone", in.Zone, 100, false); err != nil {
		return nil, err
	}
	return l, nil
}

// NullIsland is the refusal of the point (0,0) as a place in the field: what a form or a
// client sends for a place it does not know. Taken as a place, it lies in the Gulf of
// Guinea: a visit there is never reachable, so it was offered no window, ever, and said
// nothing of why.
const NullIsland = "is (0,0), which is no address: give its coordinates, or leave lat and lon out"

// NormalizeEmail validates a bare e-mail address (no display name, at most 254 bytes, a dot
// in its domain) and lower-cases it. It is the one rule for e-mails: customers' and staff
// users' (NewUser) alike.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 254 {
		return "", Invalid(field, "is too long for an e-mail address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", Invalid(field, "is not a valid e-mail address")
	}
	return canonicalEmail(s), nil
}

// canonicalEmail is the form in which e-mails are stored and compared: trimmed and
// lower-cased whole (users' e-mails are unique in that form, see the users table).
func canonicalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// cleanText trims s, collapses nothing inside, and checks it is valid UTF-8 without control
// characters other than newlines and tabs, at most max runes, and present when required.
func cleanText(field, s string, max int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", Invalid(field, "is required")
		}
		return "", nil
	}
	if !utf8.ValidString(s) {
		return "", Invalid(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", Invalid(field, "must be at most %d characters", max)
	}
	for _, r := range s {
		if r == 0 || (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f {
			return "", Invalid(field, "contains control characters")
		}
	}
	return s, nil
}
