// Package twiliotest is a fake Twilio Messages API for tests: a real HTTP server that
// validates requests as Twilio does, answers in Twilio's JSON shapes, can be told to fail,
// and sends status callbacks signed as Twilio signs them.
package twiliotest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Message is a message the fake accepted.
type Message struct {
	SID            string
	To             string
	From           string
	Service        string
	Body           string
	StatusCallback string
	Status         string
	Created        time.Time
}

// Server is the fake. Its zero failures accept every valid request.
type Server struct {
	*httptest.Server
	AccountSID string
	AuthToken  string

	mu           sync.Mutex
	messages     []Message
	creates      int // POSTs received, valid or not
	lists        int
	failStatus   []int // statuses to answer to the next POSTs, in order
	delay        time.Duration
	unsubscribed map[string]bool
	notMobile    map[string]bool
	onCreate     func(Message)
}

// New starts a fake with a fresh account SID and auth token; Close stops it.
func New() *Server {
	s := &Server{
		AccountSID:   "AC" + randomHex(16),
		AuthToken:    randomHex(16),
		unsubscribed: map[string]bool{},
		notMobile:    map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.create)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Messages.json", s.list)
	s.Server = httptest.NewServer(mux)
	return s
}

// Messages returns what the fake accepted, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Counts returns the number of create requests received (accepted or not) and of list
// requests.
func (s *Server) Counts() (creates, lists int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creates, s.lists
}

// FailNext answers the next len(statuses) create requests with those HTTP statuses
// (429 → code 20429, 500/503 → code 20500) without creating anything.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus = append(s.failStatus, statuses...)
}

// SetDelay makes every create answer only after d: the message is accepted when the
// request arrives, as at Twilio, so a client that gives up or dies meanwhile does not know.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Unsubscribe makes sends to phone fail with 21610 (the number replied STOP).
func (s *Server) Unsubscribe(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribed[phone] = true
}

// NotMobile makes sends to phone fail with 21614 (not a mobile number).
func (s *Server) NotMobile(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notMobile[phone] = true
}

// OnCreate calls f with each accepted message, from the request's goroutine.
func (s *Server) OnCreate(f func(Message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreate = f
}

// Error is Twilio's error body.
type Error struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Code: code, Message: msg, MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), Status: status})
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

func (s *Server) auth(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return false
	}
	if r.PathValue("sid") != s.AccountSID {
		writeError(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return false
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.creates++
	s.mu.Unlock()
	if !s.auth(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "bad form")
		return
	}
	f := r.PostForm
	to, from, svc, body := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body")
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	case from == "" && svc == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	s.mu.Lock()
	if len(s.failStatus) > 0 {
		st := s.failStatus[0]
		s.failStatus = s.failStatus[1:]
		s.mu.Unlock()
		code := 20500
		if st == http.StatusTooManyRequests {
			code = 20429
		}
		writeError(w, st, code, http.StatusText(st))
		return
	}
	if s.unsubscribed[to] {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	if s.notMobile[to] {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to))
		return
	}
	m := Message{SID: "SM" + randomHex(16), To: to, From: from, Service: svc, Body: body,
		StatusCallback: f.Get("StatusCallback"), Status: "queued", Created: time.Now().UTC()}
	if svc != "" {
		m.Status = "accepted"
	}
	s.messages = append(s.messages, m)
	delay, hook := s.delay, s.onCreate
	s.mu.Unlock()
	if hook != nil {
		hook(m)
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(s.resource(m))
}

func (s *Server) resource(m Message) map[string]any {
	from := any(m.From)
	if m.From == "" {
		from = nil
	}
	var svc any
	if m.Service != "" {
		svc = m.Service
	}
	return map[string]any{
		"sid": m.SID, "account_sid": s.AccountSID, "to": m.To, "from": from, "messaging_service_sid": svc,
		"body": m.Body, "status": m.Status, "direction": "outbound-api", "num_segments": "1", "num_media": "0",
		"date_created": m.Created.Format(time.RFC1123Z), "date_updated": m.Created.Format(time.RFC1123Z),
		"date_sent": m.Created.Format(time.RFC1123Z), "api_version": "2010-04-01", "error_code": nil, "error_message": nil,
		"price": nil, "price_unit": "USD",
		"uri": fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s.json", s.AccountSID, m.SID),
	}
}

// list answers GET Messages.json with the To and DateSent> (RFC 3339 or YYYY-MM-DD)
// filters, newest first, on one page.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.lists++
	s.mu.Unlock()
	if !s.auth(w, r) {
		return
	}
	q := r.URL.Query()
	var after time.Time
	if v := q.Get("DateSent>"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			if t, err = time.Parse("2006-01-02", v); err != nil {
				writeError(w, http.StatusBadRequest, 20001, "Invalid DateSent> value")
				return
			}
		}
		after = t
	}
	to := q.Get("To")
	s.mu.Lock()
	var out []map[string]any
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if (to == "" || m.To == to) && !m.Created.Before(after) {
			out = append(out, s.resource(m))
		}
	}
	s.mu.Unlock()
	if out == nil {
		out = []map[string]any{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"messages": out, "page": 0, "page_size": len(out), "start": 0, "end": len(out),
		"first_page_uri": r.URL.RequestURI(), "next_page_uri": nil, "previous_page_uri": nil, "uri": r.URL.RequestURI(),
	})
}

// Signature computes X-Twilio-Signature for a POST to fullURL with params: base64 of the
// HMAC-SHA1, keyed with token, of the URL followed by each parameter's name and value in
// name order.
func Signature(token, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Post sends a webhook as Twilio would: a signed form POST to fullURL (the URL the
// signature covers) through target (where the test's server really listens; empty:
// fullURL), with optional extra headers. It returns the response.
func (s *Server) Post(target, fullURL string, params url.Values, header ...string) (*http.Response, error) {
	if target == "" {
		target = fullURL
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature(s.AuthToken, fullURL, params))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return http.DefaultClient.Do(req)
}

// StatusParams are the form fields of a status callback for m moving to status.
func (s *Server) StatusParams(m Message, status string, errorCode int) url.Values {
	v := url.Values{
		"AccountSid": {s.AccountSID}, "MessageSid": {m.SID}, "SmsSid": {m.SID}, "MessageStatus": {status},
		"SmsStatus": {status}, "To": {m.To}, "ApiVersion": {"2010-04-01"},
	}
	if m.From != "" {
		v.Set("From", m.From)
	}
	if m.Service != "" {
		v.Set("MessagingServiceSid", m.Service)
	}
	if errorCode != 0 {
		v.Set("ErrorCode", fmt.Sprint(errorCode))
	}
	return v
}

// InboundParams are the form fields of an inbound text from → to.
func (s *Server) InboundParams(sid, from, to, body string) url.Values {
	return url.Values{
		"AccountSid": {s.AccountSID}, "MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid},
		"From": {from}, "To": {to}, "Body": {body}, "NumMedia": {"0"}, "NumSegments": {"1"},
		"ApiVersion": {"2010-04-01"}, "SmsStatus": {"received"},
	}
}

// NewSID returns a fresh message SID.
func NewSID() string { return "SM" + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
