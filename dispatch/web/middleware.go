package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type requestIDKey struct{}

// RequestID returns the id of the request being served ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "despacho_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "despacho_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "despacho_http_in_flight_requests", Help: "HTTP requests being served.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.inFlight} {
		if err := reg.Register(c); err != nil {
			if _, ok := err.(prometheus.AlreadyRegisteredError); !ok {
				panic(err)
			}
		}
	}
	return m
}

// statusWriter remembers the status written, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	pace   *writePace // nil: writes are not bounded (a websocket's upgrade)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	if w.pace != nil {
		w.pace.before(w.bytes)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.pace != nil {
		w.pace.before(w.bytes + len(b))
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// writePace bounds how long a response may take to be read, as paceBody bounds a request
// body: without it a client that asks for a large answer (a photo, a long list, requests
// pipelined on one connection) and never reads it blocks the handler in Write, and holds
// the connection and its goroutine, for ever. From its first byte a response must be
// taken at an average of at least rate bytes a second after a grace period: the
// connection's write deadline is first + grace + n/rate for the n bytes written so far.
// The deadline is per response, and the middleware clears it as each request starts, so
// that the next request on a kept-alive connection does not inherit a deadline long past.
type writePace struct {
	rc    *http.ResponseController
	grace time.Duration
	rate  float64
	first time.Time // the first write; zero before it
}

// before sets the deadline for a response whose first n bytes are about to be written.
func (p *writePace) before(n int) {
	if p.first.IsZero() {
		p.first = time.Now()
	}
	_ = p.rc.SetWriteDeadline(p.first.Add(p.grace + time.Duration(float64(n)/p.rate*float64(time.Second))))
}

// isUpgrade reports whether r asks to switch protocols (a websocket): its connection is
// handed over to a handler that sets its own deadlines on every write.
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Unwrap lets http.ResponseController (and the websocket upgrader's Hijack) reach the
// underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps every request: request id, security headers, panic recovery, a log line,
// and metrics by route pattern (never by raw path, so ids do not explode the label set).
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		r = r.WithContext(ctx)
		if len(s.cfg.TrustedProxies) > 0 {
			r.RemoteAddr = forwardedFor(r, s.cfg.TrustedProxies)
		}
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
		if s.hsts {
			// Behind https, a browser that once reached us keeps to https for a year: a
			// customer's status link typed or followed as http:// (with its ?code=) is not
			// sent in the clear again, nor is the session cookie exposed to a downgrade. No
			// includeSubDomains: the provider's other hosts are not ours to pin.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		sw := &statusWriter{ResponseWriter: w}
		if r.Body != nil && r.Body != http.NoBody && s.bodyRate > 0 {
			r.Body = s.paceBody(w, r.Body, start)
		}
		if s.bodyRate > 0 {
			// A deadline an earlier response on this connection set is cleared first: a
			// websocket's upgrade must not inherit it, nor a slow handler's first write.
			rc := http.NewResponseController(w)
			if rc.SetWriteDeadline(time.Time{}) == nil && !isUpgrade(r) {
				sw.pace = &writePace{rc: rc, grace: s.bodyGrace, rate: s.bodyRate}
			}
		}
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			if sw.pace != nil && sw.status == 0 {
				// Nothing written yet: the server writes the headers after the handler,
				// and they are bounded too.
				sw.pace.before(0)
			}
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "panic", p, "method", r.Method, "path", r.URL.Path, "request_id", id)
				if sw.status == 0 {
					WriteJSON(sw, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error; quote request id " + id}})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			s.metrics.latency.WithLabelValues(route, r.Method).Observe(d.Seconds())
			level := s.log.Info
			if status >= 500 {
				level = s.log.Error
			}
			level("request", "method", r.Method, "route", route, "path", r.URL.Path, "status", status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "request_id", id)
		}()
		next.ServeHTTP(sw, r)
	})
}

// forwardedFor is the address of the client behind trusted proxies: walking
// X-Forwarded-For from the right (the entries the trusted proxies appended), the first
// address not in trusted. A peer that is not trusted, or a header with nothing usable,
// leaves the peer address as it is.
func forwardedFor(r *http.Request, trusted []netip.Prefix) string {
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil || !isTrusted(host) {
		return r.RemoteAddr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if isTrusted(h) {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			return net.JoinHostPort(a.Unmap().String(), "0")
		}
		break
	}
	return r.RemoteAddr
}

// errBodyTooSlow is what reading a body that stopped flowing returns.
var errBodyTooSlow = errors.New("the request body arrived too slowly")

// paceBody bounds how long the body of a request may take. The server has only a header
// timeout: a whole-request ReadTimeout short enough to matter would cut a technician's
// photo sent over a poor connection, and none at all let a client hold a connection (and
// its goroutine) forever by sending headers and then a body that never comes or comes a
// byte at a time. So the body must start within bodyGrace and then arrive at an average of
// at least bodyRate bytes a second: after n bytes, the connection's read deadline is
// start + bodyGrace + n/bodyRate. When the body has been read the deadline is lifted, so
// that the server's watch for a client that hangs up (which reads on) does not see it
// and cancel a long handler.
func (s *Server) paceBody(w http.ResponseWriter, body io.ReadCloser, start time.Time) io.ReadCloser {
	rc := http.NewResponseController(w)
	p := &pacedBody{ReadCloser: body, rc: rc, start: start, grace: s.bodyGrace, rate: s.bodyRate}
	if p.extend() != nil {
		return body // a writer that cannot set deadlines (tests' recorders): as it was
	}
	return p
}

type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  float64
	n     int64
	done  bool
}

func (p *pacedBody) extend() error {
	return p.rc.SetReadDeadline(p.start.Add(p.grace + time.Duration(float64(p.n)/p.rate*float64(time.Second))))
}

func (p *pacedBody) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.n += int64(n)
	switch {
	case p.done:
	case err == io.EOF:
		p.done = true
		_ = p.rc.SetReadDeadline(time.Time{})
	case err != nil:
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			err = errBodyTooSlow
		}
	case n > 0:
		_ = p.extend()
	}
	return n, err
}
