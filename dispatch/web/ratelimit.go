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
	return &dispatch.Error{Kind: dispatch.KindRateLimited, Code: "rate_limited",
		Message: "too many attempts; try again in " + strconv.Itoa(secs) + " s"}
}

// rateLimits groups the server's limiters.
type rateLimits struct {
	login     *limiter      // failures per e-mail and per client address; lockout
	passwords *passwordGate // password checks at once
	public    *limiter      // public form submissions and status lookups per client address
	// publicPhone counts the reports the public form files per phone number (each texts
	// that number): publicReportsPerPhone within an hour of the first.
	publicPhone *limiter
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
