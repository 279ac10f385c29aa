package notify

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the SMS configuration read from the environment.
type Config struct {
	AccountSID          string // TWILIO_ACCOUNT_SID; empty: the development outbox
	AuthToken           string // TWILIO_AUTH_TOKEN
	From                string // TWILIO_FROM, E.164
	MessagingServiceSID string // TWILIO_MESSAGING_SERVICE_SID, preferred over From
	APIBase             *url.URL
	PublicBaseURL       string         // PUBLIC_BASE_URL without a trailing slash
	Location            *time.Location // TZ_BUSINESS
	ReminderHour        int            // SMS_REMINDER_HOUR: local hour of the day-before reminder
	ETASlip             time.Duration  // SMS_ETA_SLIP: an ETA moving later by more texts an update
	Rate                float64        // SMS_RATE: message segments per second, 0 = unlimited; unset: DefaultRate
	// Quiet is SMS_QUIET_HOURS (default 21:00-08:00, "off" for none): the local hours in
	// which a text about a change the customer did not ask for waits (see Outbox.Hook).
	Quiet QuietHours
}

// QuietHours is a span of the business day's clock, from Start to End, across midnight
// when End comes before Start (21:00-08:00). Start == End is no quiet hours at all: the
// zero value, so a Config built by hand holds nothing back.
type QuietHours struct {
	Start, End time.Duration // since local midnight
}

// DefaultQuietHours are 21:00-08:00.
var DefaultQuietHours = QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour}

// Off reports whether there are no quiet hours.
func (q QuietHours) Off() bool { return q.Start == q.End }

// String writes q as SMS_QUIET_HOURS reads it: "21:00-08:00", or "off".
func (q QuietHours) String() string {
	if q.Off() {
		return "off"
	}
	return clock(q.Start) + "-" + clock(q.End)
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Until returns, when at falls in the quiet hours of loc's clock, the moment they end (the
// next End after at, on the wall of that day); ok is false outside them.
func (q QuietHours) Until(at time.Time, loc *time.Location) (end time.Time, ok bool) {
	if q.Off() {
		return time.Time{}, false
	}
	l := at.In(loc)
	midnight := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	on := func(day time.Time, d time.Duration) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, loc)
	}
	// The wall clock, not the time since midnight: they differ on a day the clocks change.
	since := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute + time.Duration(l.Second())*time.Second
	switch {
	case q.Start < q.End: // within one day: 13:00-15:00
		if since >= q.Start && since < q.End {
			return on(midnight, q.End), true
		}
	case since >= q.Start: // the evening part: ends tomorrow
		return on(midnight.AddDate(0, 0, 1), q.End), true
	case since < q.End: // the early-morning part: ends today
		return on(midnight, q.End), true
	}
	return time.Time{}, false
}

// ParseQuietHours reads "HH:MM-HH:MM" (21:00-08:00), or "off" (also "none", "0") for none.
func ParseQuietHours(s string) (QuietHours, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off", "none", "0":
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if !ok || err1 != nil || err2 != nil || start == end {
		return QuietHours{}, fmt.Errorf("must be a span of the day such as 21:00-08:00, or off")
	}
	return QuietHours{Start: start, End: end}, nil
}

// parseClock reads "HH:MM" (00:00 to 23:59) as a time since midnight.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// Dev reports whether texts go to the development outbox (no Twilio credentials).
func (c Config) Dev() bool { return c.AccountSID == "" }

// StatusURL is the public page of a folio. The page asks for the folio's access code:
// without it in the link (see AccessURL), only a customer who kept his code can open it.
func (c Config) StatusURL(folio string) string {
	return c.PublicBaseURL + "/estado/" + url.PathEscape(folio)
}

// AccessURL is the public page of a folio with its access code in the link (?code=), which
// opens it at once; with no code it is StatusURL.
func (c Config) AccessURL(folio, code string) string {
	if code == "" {
		return c.StatusURL(folio)
	}
	return c.StatusURL(folio) + "?code=" + url.QueryEscape(code)
}

var (
	alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	e164  = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)
)

// ConfigFromEnv reads the configuration; each error names the variable at fault.
// Credentials are all-or-nothing: with neither SID nor token, texts go to the development
// outbox.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		AccountSID:          get("TWILIO_ACCOUNT_SID"),
		AuthToken:           get("TWILIO_AUTH_TOKEN"),
		From:                get("TWILIO_FROM"),
		MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"),
		ReminderHour:        18,
		ETASlip:             20 * time.Minute,
		Quiet:               DefaultQuietHours,
	}
	switch {
	case c.AccountSID == "" && c.AuthToken != "":
		return Config{}, fmt.Errorf("TWILIO_ACCOUNT_SID: required when TWILIO_AUTH_TOKEN is set")
	case c.AccountSID != "" && c.AuthToken == "":
		return Config{}, fmt.Errorf("TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set")
	}
	if c.AccountSID != "" {
		if !alnum.MatchString(c.AccountSID) || !strings.HasPrefix(c.AccountSID, "AC") {
			return Config{}, fmt.Errorf("TWILIO_ACCOUNT_SID: must be AC followed by letters and digits")
		}
		if !alnum.MatchString(c.AuthToken) {
			return Config{}, fmt.Errorf("TWILIO_AUTH_TOKEN: must be letters and digits")
		}
		if c.From == "" && c.MessagingServiceSID == "" {
			return Config{}, fmt.Errorf("TWILIO_FROM: set it (E.164) or TWILIO_MESSAGING_SERVICE_SID")
		}
	}
	if c.From != "" && !e164.MatchString(c.From) {
		return Config{}, fmt.Errorf("TWILIO_FROM: must be an E.164 number such as +525512345678")
	}
	if c.MessagingServiceSID != "" && (!alnum.MatchString(c.MessagingServiceSID) || !strings.HasPrefix(c.MessagingServiceSID, "MG")) {
		return Config{}, fmt.Errorf("TWILIO_MESSAGING_SERVICE_SID: must be MG followed by letters and digits")
	}
	base := get("TWILIO_API_BASE")
	if base == "" {
		base = "https://api.twilio.com"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return Config{}, fmt.Errorf("TWILIO_API_BASE: must be an http(s) URL such as https://api.twilio.com")
	}
	c.APIBase = u
	pub := get("PUBLIC_BASE_URL")
	if pub == "" {
		if !c.Dev() {
			return Config{}, fmt.Errorf("PUBLIC_BASE_URL: required with Twilio credentials (webhook signatures and links use it)")
		}
		if pub, err = localBaseURL(get("HTTP_ADDR")); err != nil {
			return Config{}, err
		}
	}
	pu, err := url.Parse(pub)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.RawQuery != "" || pu.Fragment != "" {
		return Config{}, fmt.Errorf("PUBLIC_BASE_URL: must be an absolute http(s) URL such as https://despacho.example.mx")
	}
	c.PublicBaseURL = strings.TrimSuffix(pub, "/")
	tz := get("TZ_BUSINESS")
	if tz == "" {
		tz = "America/Mexico_City"
	}
	if c.Location, err = time.LoadLocation(tz); err != nil {
		return Config{}, fmt.Errorf("TZ_BUSINESS: unknown time zone %q", tz)
	}
	if s := get("SMS_REMINDER_HOUR"); s != "" {
		h, err := strconv.Atoi(s)
		if err != nil || h < 0 || h > 23 {
			return Config{}, fmt.Errorf("SMS_REMINDER_HOUR: must be an hour from 0 to 23")
		}
		c.ReminderHour = h
	}
	if s := get("SMS_ETA_SLIP"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("SMS_ETA_SLIP: must be a positive duration such as 20m")
		}
		c.ETASlip = d
	}
	if s := get("SMS_QUIET_HOURS"); s != "" {
		q, err := ParseQuietHours(s)
		if err != nil {
			return Config{}, fmt.Errorf("SMS_QUIET_HOURS: %v", err)
		}
		c.Quiet = q
	}
	if s := get("SMS_RATE"); s != "" {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r < 0 || r > 10000 {
			return Config{}, fmt.Errorf("SMS_RATE: must be message segments per second from 0 (unlimited) to 10000")
		}
		c.Rate = r
	} else {
		c.Rate = DefaultRate(c)
	}
	return c, nil
}

// localBaseURL is the base URL of links when PUBLIC_BASE_URL is unset (development): the
// address serve listens on, HTTP_ADDR (default :8080), as a browser on the same machine
// reaches it. A wildcard host (":8080", "0.0.0.0:8080", "[::]:8080") is reached as
// localhost; a port picked at start (0) cannot be known here, and gives localhost:8080.
func localBaseURL(addr string) (string, error) {
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HTTP_ADDR: %q: want host:port or :port", addr)
	}
	if port == "" || port == "0" {
		port = "8080"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
