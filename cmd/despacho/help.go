package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errHelped is returned by a subcommand that printed its help for -h or --help: exit 0.
var errHelped = errors.New("help printed")

// parseFlags parses args into fs. For -h or --help it prints the subcommand's help to
// stdout — its synopsis, about (what it does, the environment it reads) and its flags —
// and returns errHelped; any other error is a usage error naming the subcommand.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer, synopsis, about string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, fs, synopsis, about)
		return errHelped
	}
	if err != nil {
		return usagef("%s: %s", fs.Name(), flagError(err))
	}
	return nil
}

func printHelp(w io.Writer, fs *flag.FlagSet, synopsis, about string) {
	fmt.Fprintf(w, "usage: despacho %s\n\n%s\n", synopsis, strings.TrimSpace(about))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// serveAbout is serve's help: what it does and the environment it reads (the README's
// configuration table says more).
const serveAbout = `Runs the service: the HTTP API, the pages, live updates, the SMS outbox and the timed
jobs. It applies pending migrations first. SIGTERM or Ctrl-C drains HTTP, stops the jobs,
closes the database and stops the private PostgreSQL, in that order.

environment:
  DATABASE_URL           PostgreSQL URL; unset: a private cluster under $DATA_DIR/postgres
  DATA_DIR               where the private cluster lives (default .data)
  HTTP_ADDR              listen address (default :8080)
  DEBUG_ADDR             a second listener for the Go profiler only (off unless set)
  PUBLIC_BASE_URL        the address customers and browsers use (links, Twilio signatures)
  TRUSTED_PROXIES        networks of the load balancers whose X-Forwarded-For is believed
  TZ_BUSINESS            business time zone (default America/Mexico_City)
  LOG_LEVEL              debug, info (default), warn or error
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID,
  TWILIO_API_BASE        Twilio; without credentials texts go to the development outbox
  SMS_RATE, SMS_REMINDER_HOUR, SMS_ETA_SLIP, SMS_QUIET_HOURS
                         segments per second to Twilio, reminder hour, ETA slip for a new text
  MAIL_GATEWAY_TOKEN     bearer token of the mail gateway (POST /api/intake/email)
  METRICS_TOKEN          bearer token /metrics requires, at least 16 characters (default: open)
  SUPPORT_PHONE          the provider's phone, shown at the foot of the customers' pages
  COMPENSATION_BONUS_PERCENT, INCIDENT_RULE_REPORTS, INCIDENT_RULE_WINDOW,
  INCIDENT_ESTIMATE_CHANGE, INCIDENT_TEXT_ACCESS_POINT
                         compensation and incident rules (see README)`
