package web

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"despacho/dispatch"
)

// limiter counts attempts per key in a fixed window and locks a key out after too many
// failures. It lives in one process: behind a load balancer each instance limits on its own,
// which still bounds guessing to instances × limit.
type limiter struct {
	mu       sync.Mutex
	now      func() time.Time
	window   time.Duration
	max      int           // attempts (or failures, for lockouts) per window
	lockout  time.Duration // how long a key stays locked once over max
	counts   map[string]*window
	lastSwep time.Time
}

type window struct {
	start  time.Time
	n      int
	locked time.Time // locked until
}

func newLimiter(now func() time.Time, max int, per, lockout time.Duration) *limiter {
	return &limiter{now: now, window: per, max: max, lockout: lockout, counts: map[string]*window{}}
}

// allow counts one attempt for key and refuses it with 429 once over the limit.
func (l *limiter) allow(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.get(key)
	w.n++
	if w.n > l.max {
		return rateLimited(w.start.Add(l.window).Sub(l.now()))
	}
	return nil
}

// undo takes back one attempt allow counted for key (one that did not happen after all).
func (l *limiter) undo(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.counts[key]; w != nil && w.n > 0 {
		w.n--
	}
}

// check refuses a key that is locked out, without counting an attempt.
func (l *limiter) check(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.get(key)
	if now := l.now(); now.Before(w.locked) {
		return rateLimited(w.locked.Sub(now))
	}
	return nil
}

// fail counts a failure for key; over max failures in the window locks it out.
func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.get(key)
	w.n++
	if w.n >= l.max {
		w.locked = l.now().Add(l.lockout)
	}
}

// reset forgets key's failures (after a successful sign-in).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}

func (l *limiter) get(key string) *window {
	now := l.now()
	if now.Sub(l.lastSwep) > l.window {
		for k, w := range l.counts {
			if now.Sub(w.start) > l.window && now.After(w.locked) {
				delete(l.counts, k)
			}
		}
		l.lastSwep = now
	}
	w := l.counts[key]
	if w == nil || (now.Sub(w.start) > l.window && now.After(w.locked)) {
		w = &window{start: now}
		l.counts[key] = w
	}
	return w
}

func rateLimited(retry time.Duration) error {
	secs := int(retry.Seconds()) + 1
	return &dispatch.Error{Kind: dispatch.KindRateLimited, Code: "rate_limited", RetryAfter: time.Duration(secs) * time.Second,
		Message: "too many attempts; try again in " + strconv.Itoa(secs) + " s"}
}

// The lockout of the doors that take a folio's access code (the status page, its live feed,
// the customer's booking). A carrier-grade NAT puts thousands of phones behind one public
// address, so one guesser must not lock out everyone behind it: wrong codes count per folio
// and address, and a cap per folio bounds the guesses at one folio's code from any number
// of addresses.
const (
	// codeFailsPerAddress wrong codes for a folio from one client address within
	// codeWindow lock that address out of that folio for codeWindow.
	codeFailsPerAddress = 10
	// codeFailsPerFolio wrong codes for a folio from all addresses within codeWindow lock
	// the folio for codeWindow, for every address but those that opened it with its code.
	codeFailsPerFolio = 30
	codeWindow        = 15 * time.Minute
)

// codeGate is the lockout of the doors that take a folio's access code. Ask check before
// looking at the code (a locked door must not tell a right code from a wrong one), then
// tell it the outcome: fail for a wrong code (or an unknown folio), opened for a right one.
//
// Guessing one folio's code is bounded, per codeWindow, to codeFailsPerFolio guesses from
// addresses that never opened it plus codeFailsPerAddress from each address that did (its
// customer's, which the folio's lock spares: a stranger who knows the folio cannot lock
// the customer out of his own report by failing from elsewhere). One address's guesses
// over many folios are bounded by the public rate limit. Like every limiter here it lives
// in one process.
type codeGate struct {
	pair  *limiter // wrong codes per folio and client address
	folio *limiter // wrong codes per folio, from any address

	mu      sync.Mutex
	now     func() time.Time
	spare   map[string]time.Time // folio and address that gave the right code: until when its lock spares it
	lastSwp time.Time
}

func newCodeGate(now func() time.Time) *codeGate {
	return &codeGate{
		pair:  newLimiter(now, codeFailsPerAddress, codeWindow, codeWindow),
		folio: newLimiter(now, codeFailsPerFolio, codeWindow, codeWindow),
		now:   now,
		spare: map[string]time.Time{},
	}
}

// codeFolio is the key a door's folio counts under: the folio as dispatch.ParseFolio reads
// it (so that "r-2026-000001" is the same folio), anything else as given, marked and cut
// short. An unknown folio counts like a known one, so that the answers never tell which
// folios exist.
func codeFolio(folio string) string {
	if f, ok := dispatch.ParseFolio(folio); ok {
		return f
	}
	if len(folio) > 40 {
		folio = folio[:40]
	}
	return "?" + folio
}

// check refuses (429) the client address ip at folio's door when that address is locked
// out of the folio, or the folio is locked and ip never opened it; it counts nothing.
func (g *codeGate) check(folio, ip string) error {
	f := codeFolio(folio)
	if err := g.pair.check(f + " " + ip); err != nil {
		return err
	}
	if err := g.folio.check(f); err != nil && !g.spared(f, ip) {
		return err
	}
	return nil
}

// fail counts a wrong code (or an unknown folio) given from ip at folio's door.
func (g *codeGate) fail(folio, ip string) {
	f := codeFolio(folio)
	g.pair.fail(f + " " + ip)
	g.folio.fail(f)
}

// opened records that ip gave folio's right code: its lock spares ip for codeWindow. The
// address's failures at the folio are not forgiven: behind a NAT a guesser shares the
// address of the customer who opens his report every 30 seconds.
func (g *codeGate) opened(folio, ip string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if now.Sub(g.lastSwp) > codeWindow {
		for k, until := range g.spare {
			if !now.Before(until) {
				delete(g.spare, k)
			}
		}
		g.lastSwp = now
	}
	g.spare[codeFolio(folio)+" "+ip] = now.Add(codeWindow)
}

func (g *codeGate) spared(f, ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.spare[f+" "+ip]
	return ok && g.now().Before(until)
}

// rateLimits groups the server's limiters.
type rateLimits struct {
	login     *limiter      // failures per e-mail and per client address; lockout
	passwords *passwordGate // password checks at once
	public    *limiter      // public form submissions and status lookups per client address
	// publicPhone counts the reports the public form files per phone number (each texts
	// that number): publicReportsPerPhone within an hour of the first.
	publicPhone *limiter
	// codes is the lockout of the doors that take a folio's access code.
	codes *codeGate
}

// publicReportsPerPhone is how many reports the public form files for one phone number
// within an hour.
const publicReportsPerPhone = 5 // the pages' code.phone_report_limit text says 5

func newRateLimits(now func() time.Time) *rateLimits {
	return &rateLimits{
		login:       newLimiter(now, 10, 15*time.Minute, 15*time.Minute),
		passwords:   newPasswordGate(64),
		public:      newLimiter(now, 30, time.Minute, time.Minute),
		publicPhone: newLimiter(now, publicReportsPerPhone, time.Hour, time.Hour),
		codes:       newCodeGate(now),
	}
}

// clientIP is what rate limits and lockouts count a client by: the address the request
// came from (the peer, or the client behind the configured trusted proxies,
// Config.TrustedProxies, applied by the middleware). An IPv6 client counts by its /64: a
// home or a phone is given at least a whole /64 and may use a new address of it for every
// request, which would otherwise make every request a new client.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if a = a.Unmap(); a.Is6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return a.String()
}
