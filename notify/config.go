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
