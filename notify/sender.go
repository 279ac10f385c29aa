package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Message is one text to send.
type Message struct {
	ID             int64  // the outbox row, for logs and the development outbox
	To             string // E.164
	Body           string
	StatusCallback string // where Twilio reports delivery; empty for none
}

// Result is what the provider answered.
type Result struct {
	SID    string // the provider's message id
	Status string // queued, sent, delivered, …
	Sender string // "twilio" or "dev"
}

// Sender sends one text. An error that is a *SendError says whether to retry.
type Sender interface {
	Send(ctx context.Context, m Message) (Result, error)
}

// Sent is a message the provider holds, as listed for reconciliation.
type Sent struct {
	SID    string
	To     string
	Body   string
	Status string
}

// Reconciler lists what the provider accepted for a number since a time, so that an
// attempt whose answer was lost can be found before sending again. Senders whose sends
// cannot be lost (the development outbox) need not implement it.
type Reconciler interface {
	Sent(ctx context.Context, to string, since time.Time) ([]Sent, error)
}

// SendError classifies a failed send.
type SendError struct {
	Permanent bool // the provider refused this message for good (invalid number, opted out…)
	Ambiguous bool // the provider may have accepted it: reconcile before sending again
	Code      int  // the provider's error code (Twilio's 21211, 21610, …), 0 when none
	Status    int  // the HTTP status, 0 for a network error
	Err       error
}

func (e *SendError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("send failed (%s, status %d, code %d): %v", kind, e.Status, e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// Twilio sends through Twilio's Messages API with twilio-go.
type Twilio struct {
	api      *twapi.ApiService
	from     string
	service  string
	callback string
}

// NewTwilio returns the Twilio sender for cfg (which must have credentials). Every request
// goes to cfg.APIBase and is bounded by timeout: twilio-go takes no context.
func NewTwilio(cfg Config, timeout time.Duration) *Twilio {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken),
		HTTPClient: &http.Client{
			Timeout:   timeout,
			Transport: &rebase{base: cfg.APIBase, next: http.DefaultTransport},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	c.SetAccountSid(cfg.AccountSID)
	t := &Twilio{
		api:     twapi.NewApiService(twclient.NewRequestHandler(c)),
		from:    cfg.From,
		service: cfg.MessagingServiceSID,
	}
	if cfg.PublicBaseURL != "" {
		t.callback = cfg.PublicBaseURL + StatusPath
	}
	return t
}

// rebase sends every request to base instead of api.twilio.com: twilio-go has no base-URL
// option, and tests and Twilio-compatible gateways need one.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (t *rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.base == nil {
		return t.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme = t.base.Scheme
	r2.URL.Host = t.base.Host
	r2.URL.Path = strings.TrimSuffix(t.base.Path, "/") + r.URL.Path
	r2.URL.RawPath = ""
	r2.Host = t.base.Host
	return t.next.RoundTrip(r2)
}

// Send creates the message at Twilio.
func (t *Twilio) Send(ctx context.Context, m Message) (Result, error) {
	p := &twapi.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Body)
	if t.service != "" {
		p.SetMessagingServiceSid(t.service)
	} else {
		p.SetFrom(t.from)
	}
	cb := m.StatusCallback
	if cb == "" {
		cb = t.callback
	}
	if cb != "" {
		p.SetStatusCallback(cb)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, &SendError{Err: err}
	}
	res, err := t.api.CreateMessage(p)
	if err != nil {
		return Result{}, classify(err)
	}
	r := Result{Sender: "twilio"}
	if res.Sid != nil {
		r.SID = *res.Sid
	}
	if res.Status != nil {
		r.Status = *res.Status
	}
	if r.SID == "" {
		return Result{}, &SendError{Ambiguous: true, Err: errors.New("twilio answered without a message sid")}
	}
	return r, nil
}

// Sent lists the messages Twilio accepted for to since the given time, newest first.
//
// It asks for the newest 100 messages to that number and filters on date_created itself
// rather than passing DateSent>: a message still queued at Twilio (a Messaging Service
// holds messages back to respect its rate) has no date_sent yet, and the DateSent filter
// has day granularity, so the filter could hide exactly the message we look for.
func (t *Twilio) Sent(ctx context.Context, to string, since time.Time) ([]Sent, error) {
	p := &twapi.ListMessageParams{}
	p.SetTo(to)
	p.SetPageSize(100)
	p.SetLimit(100)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := t.api.ListMessage(p)
	if err != nil {
		return nil, classify(err)
	}
	out := make([]Sent, 0, len(list))
	for _, m := range list {
		if created, err := time.Parse(time.RFC1123Z, deref(m.DateCreated)); err == nil && created.Before(since) {
			continue
		}
		out = append(out, Sent{SID: deref(m.Sid), To: deref(m.To), Body: deref(m.Body), Status: deref(m.Status)})
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// classify turns a twilio-go error into a SendError: 429 is transient and certainly not
// sent; 5xx, undecodable answers and network errors are transient and maybe sent; 401/403
// are transient (a credentials problem to fix, not the message's fault); other 4xx are
// the message's fault and permanent.
func classify(err error) *SendError {
	var te *twclient.TwilioRestError
	if errors.As(err, &te) {
		switch {
		case te.Status == http.StatusTooManyRequests:
			return &SendError{Status: te.Status, Code: te.Code, Err: err}
		case te.Status >= 500:
			return &SendError{Ambiguous: true, Status: te.Status, Code: te.Code, Err: err}
		case te.Status == http.StatusUnauthorized || te.Status == http.StatusForbidden:
			return &SendError{Status: te.Status, Code: te.Code, Err: err}
		default:
			return &SendError{Permanent: true, Status: te.Status, Code: te.Code, Err: err}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &SendError{Ambiguous: true, Err: err}
	}
	return &SendError{Ambiguous: true, Err: err}
}

// Dev is the development sender: it logs each text and reports it delivered to "dev". The
// outbox rows it sends remain in the database, listed by DevPage.
type Dev struct {
	Log *slog.Logger
}

// Send logs m and returns a made-up SID.
func (d Dev) Send(ctx context.Context, m Message) (Result, error) {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "sms (development outbox)", "to", m.To, "body", m.Body, "outbox_id", m.ID)
	return Result{SID: fmt.Sprintf("DEV%08d", m.ID), Status: "delivered", Sender: "dev"}, nil
}
