package pages_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
)

// liveEnv is a server whose live hub is wired as serve wires it: an open websocket is
// authenticated again with the API's own Reauthenticate, at once on user.updated and every
// recheck interval, and closed (1008) once its user may no longer see the feed. Its /ws
// counts the upgrades asked for, and can drop the connections it serves or refuse new ones
// (502), as a restarted server or the proxy in front of it does; it can refuse technicians'
// status steps and positions (503) too, so that steps wait in the page's queue and the
// page's position watch posts again at the next fix. It can cut the answers to uploads and
// steps after their headers, the request never reaching the server, as a connection lost
// while the answer comes does. It notes the calls the API answered 401 (unauthorized).
type liveEnv struct {
	*env
	hub             *live.Hub
	upgrades        atomic.Int64
	refuseWS        atomic.Bool
	holdWS          atomic.Pointer[chan struct{}] // set: a websocket request waits until it closes
	refuseSteps     atomic.Bool
	refusePositions atomic.Bool
	cutMedia        atomic.Int64 // how many answers to uploads (POST …/media) to cut still
	cutSteps        atomic.Int64 // how many answers to steps (POST …/status) to cut still

	mu     sync.Mutex
	conns  []net.Conn // the websockets served since the last drop
	unauth []string   // "METHOD /path" of each call answered 401
}

func newLiveEnv(t testing.TB, now func() time.Time, recheck time.Duration) *liveEnv {
	t.Helper()
	db := dispatchtest.DB(t)
	techs := postgres.NewTechnicians(db, nil)
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	var srv *web.Server // built below, before the hub serves anything
	hub := live.New(db, live.Options{
		UserOf: func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) },
		Recheck: func(ctx context.Context, r *http.Request) (*dispatch.User, error) {
			return srv.Reauthenticate(ctx, r)
		},
		RecheckInterval: recheck,
		TechnicianOf:    techs.IDByUser,
		FolioAccess:     reports.IDForCode,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	var once sync.Once
	stopLive := func() { once.Do(func() { cancel(); hub.Close(); <-done }) }
	t.Cleanup(stopLive)
	events := postgres.NewEvents()
	srv = web.New(web.Config{DB: db, Now: now, Events: events,
		Live: &web.LiveHandlers{WS: http.HandlerFunc(hub.ServeWS), Public: http.HandlerFunc(hub.ServePublic), Position: hub.Position}})
	l := &liveEnv{hub: hub}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ws":
			l.upgrades.Add(1)
			if hold := l.holdWS.Load(); hold != nil {
				<-*hold
			}
			if l.refuseWS.Load() {
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			}
			srv.ServeHTTP(hijacks{w, l}, r)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/status") && l.refuseSteps.Load(),
			r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/position") && l.refusePositions.Load():
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/media") && l.cutMedia.Add(-1) >= 0,
			r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/status") && l.cutSteps.Add(-1) >= 0:
			cutAnswer(w, r)
		default:
			sw := &statusWriter{ResponseWriter: w}
			srv.ServeHTTP(sw, r)
			if sw.status == http.StatusUnauthorized {
				l.mu.Lock()
				l.unauth = append(l.unauth, r.Method+" "+r.URL.Path)
				l.mu.Unlock()
			}
		}
	}))
	t.Cleanup(ts.Close)
	l.env = &env{URL: ts.URL, DB: db, Users: postgres.NewUsers(db), Events: events, stopLive: stopLive}
	return l
}

// cutAnswer reads the request, writes the headers of an answer and part of its body, and
// closes the connection: the browser has the answer's status and loses the rest.
func cutAnswer(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"id\":")
	_ = rw.Flush()
}

// hijacks keeps the connection of each websocket the server takes over.
type hijacks struct {
	http.ResponseWriter
	l *liveEnv
}

func (h hijacks) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err == nil {
		h.l.mu.Lock()
		h.l.conns = append(h.l.conns, c)
		h.l.mu.Unlock()
	}
	return c, rw, err
}

func (h hijacks) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// statusWriter keeps the status of the answer written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// unauthorized is the number of calls answered 401 whose path ends with suffix.
func (l *liveEnv) unauthorized(suffix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.unauth {
		if strings.HasSuffix(c, suffix) {
			n++
		}
	}
	return n
}

// served is the number of websockets served since the last drop.
func (l *liveEnv) served() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// drop cuts the websockets' connections without a close frame: the browser sees 1006.
func (l *liveEnv) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// waitServed waits until a websocket has been served since the last drop.
// fannedOut numbers every committed event and waits until the hub has handed them out:
// a feed registered from now on is past them.
func (l *liveEnv) fannedOut(t testing.TB) {
	t.Helper()
	if _, err := live.Sequence(context.Background(), l.DB); err != nil {
		t.Fatal(err)
	}
	var last int64
	if err := l.DB.QueryRowContext(context.Background(), "SELECT last_seq FROM live_state").Scan(&last); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := l.hub.Position(); n < last; n, _ = l.hub.Position() {
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not hand out event %d (at %d)", last, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *liveEnv) waitServed(t testing.TB) { t.Helper(); l.waitServedN(t, 1) }

// waitServedN waits until n websockets have been served since the last drop: with two
// pages open, a drop before the second page's feed is served can miss it (its upgrade
// under way is kept after the drop), and that page never sees the feed go down.
func (l *liveEnv) waitServedN(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.served() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d websockets served in 30 s", l.served(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// endSessions signs the user out everywhere, as signing out on another device or the
// session's expiry does: no event announces it, only a recheck finds it.
func (l *liveEnv) endSessions(t testing.TB, userID int64) {
	t.Helper()
	if _, err := l.DB.NewRaw("DELETE FROM sessions WHERE user_id = ?", userID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stillAsked fails the test if the browser asked for another websocket within d of n asked.
func (l *liveEnv) stillAsked(t testing.TB, n int64, d time.Duration) {
	t.Helper()
	time.Sleep(d)
	if got := l.upgrades.Load(); got != n {
		t.Errorf("websocket upgrades asked on the sign-in page: %d, want %d (none after)", got, n)
	}
}

// TestBrowserLiveRevoked: a dispatcher's board whose feed the server ends (1008) because he
// was signed out or deactivated goes to the sign-in page, which brings him back to the board,
// and asks for no websocket after; demoted (still signed in), the board is loaded again and
// the server says he may not see it. Before, the board retried every close for ever: a
// signed-out board kept reconnecting, was refused each time, and said "reconnecting…".
func TestBrowserLiveRevoked(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		revoke func(t testing.TB, l *liveEnv, admin string, u *dispatch.User)
		signIn bool // to the sign-in page; false: the page is loaded again
	}{
		{"signed out elsewhere", func(t testing.TB, l *liveEnv, _ string, u *dispatch.User) { l.endSessions(t, u.ID) }, true},
		{"deactivated", func(t testing.TB, l *liveEnv, admin string, u *dispatch.User) {
			call(t, l.env, admin, "PATCH", "/api/users/"+strconv.FormatInt(u.ID, 10), `{"active":false}`, 200, nil)
		}, true},
		{"demoted to technician", func(t testing.TB, l *liveEnv, admin string, u *dispatch.User) {
			call(t, l.env, admin, "PATCH", "/api/users/"+strconv.FormatInt(u.ID, 10), `{"role":"technician"}`, 200, nil)
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newLiveEnv(t, nil, 200*time.Millisecond)
			l.user(t, "admin@example.mx", dispatch.RoleAdmin)
			u := l.user(t, "disp@example.mx", dispatch.RoleDispatcher)
			admin := token(t, l.env, "admin@example.mx")

			ctx := tab(t, true)
			signInBrowser(t, ctx, l.URL, "%2Fboard", "disp@example.mx")
			waitText(t, ctx, "#live-state", "En vivo")
			l.waitServed(t)
			do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__board = 1`))
			asked := l.upgrades.Load()
			tc.revoke(t, l, admin, u)
			if tc.signIn {
				pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
				loc, err := chromedp.Run(ctx, chromedp.Location())
				if err != nil || !strings.HasSuffix(loc, "/login?next=%2Fboard") {
					t.Errorf("signed out: at %s (%v), want /login?next=%%2Fboard", loc, err)
				}
				l.stillAsked(t, asked, 2*time.Second)
				return
			}
			pollTrue(t, ctx, `window.__board === undefined && document.readyState === 'complete' && document.body.textContent.includes('Su usuario no tiene acceso a esta página')`)
			if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/board") {
				t.Errorf("demoted: at %s (%v), want /board, loaded again", loc, err)
			}
			l.stillAsked(t, asked, 2*time.Second)
		})
	}
}

// TestBrowserLiveRefusedUpgradeSignsIn: the board's connection is lost (1006) while its
// session ends, so no recheck closes the feed; the next upgrade is refused 401, which the
// browser too reports as 1006. The page asks the API whether it is still signed in, and goes
// to sign in. Before, it retried the refused upgrade for ever.
func TestBrowserLiveRefusedUpgradeSignsIn(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, nil, time.Hour)
	u := l.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	ctx := tab(t, true)
	signInBrowser(t, ctx, l.URL, "%2Fboard", "disp@example.mx")
	waitText(t, ctx, "#live-state", "En vivo")
	l.waitServed(t)
	asked := l.upgrades.Load()
	l.endSessions(t, u.ID)
	l.drop()
	pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/login?next=%2Fboard") {
		t.Errorf("at %s (%v), want /login?next=%%2Fboard", loc, err)
	}
	if n := l.upgrades.Load() - asked; n > 2 {
		t.Errorf("%d upgrades asked after the connection was lost, want at most 2 (the refused one)", n)
	}
	l.stillAsked(t, l.upgrades.Load(), 2*time.Second)
}

// TestBrowserLiveLostConnectionRetries: a connection lost without a close frame (1006), then
// upgrades refused by the proxy in front (502, 1006 again) while the session is good, is
// retried for as long as it takes, on the technician's page (signal comes and goes) as on the
// board; it never sends anyone to sign in, and the feed comes back once the server answers.
func TestBrowserLiveLostConnectionRetries(t *testing.T) {
	t.Parallel()
	for _, page := range []struct{ name, next, email string }{
		{"tech", "%2Ftech", "tec@example.mx"},
		{"board", "%2Fboard", "disp@example.mx"},
	} {
		t.Run(page.name, func(t *testing.T) {
			t.Parallel()
			l := newLiveEnv(t, nil, 200*time.Millisecond)
			juanCrew(t, l.env)

			ctx := tab(t, true)
			signInBrowser(t, ctx, l.URL, page.next, page.email)
			l.waitServed(t)
			pollTrue(t, ctx, `document.getElementById('conn').hidden`)
			asked := l.upgrades.Load()
			l.refuseWS.Store(true)
			l.drop()
			waitText(t, ctx, "#conn", "Reconectando")
			deadline := time.Now().Add(30 * time.Second)
			for l.upgrades.Load() < asked+3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d upgrades asked in 30 s after the connection was lost, want 3 or more", l.upgrades.Load()-asked)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "/"+page.name) {
				t.Fatalf("after the connection was lost: at %s (%v), want still on /%s", loc, err, page.name)
			}
			l.refuseWS.Store(false)
			l.waitServed(t)
			pollTrue(t, ctx, `document.getElementById('conn').hidden && location.pathname === '/`+page.name+`'`)
		})
	}
}

// TestBrowserLiveRevokedKeepsQueue: the technician's feed is ended (1008) while a step waits
// in his queue (the server refused it 503): the page goes to sign in, the step stays queued,
// and it is sent once he has signed in again. Steps stay refused 503 until then, so that only
// the feed can have taken him to sign in (his queue's own retry gets no 401).
func TestBrowserLiveRevokedKeepsQueue(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	l := newLiveEnv(t, func() time.Time { return morning }, 200*time.Millisecond)
	tok, u, _ := juanCrew(t, l.env)
	folio, id := bookedVisit(t, l.env, tok, morning.Format(time.DateOnly), "Sesión cerrada")

	ctx := tab(t, true)
	signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	l.waitServed(t)
	l.refuseSteps.Store(true)
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'En camino'); if (!b) return false; b.click(); return true; })()`)
	waitText(t, ctx, "#pending", "1 acción pendiente de enviar")
	l.endSessions(t, u.ID)
	pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasSuffix(loc, "/login?next=%2Ftech") {
		t.Errorf("at %s (%v), want /login?next=%%2Ftech", loc, err)
	}
	if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.entries(localStorage).filter(([k]) => k.startsWith('despacho.tech.queue.')).map(([, v]) => JSON.parse(v)).flat())`)); err != nil || !strings.Contains(q, "en_route") {
		t.Fatalf("queue on the sign-in page = %s (%v), want the en_route step kept", q, err)
	}
	l.refuseSteps.Store(false)
	signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
	waitStatus(t, l.env, tok, id, "en_route")
	pollTrue(t, ctx, `document.getElementById('pending').hidden`)
}

// TestBrowserLiveRevokedWaitsForForm: the technician's feed is ended (1008) while he fills
// in the completion form: the page says his session ended but does not leave it (his typing,
// photos and signature would be lost); sent, the step is queued and the page goes to sign
// in, and the step is sent once he has signed in again.
func TestBrowserLiveRevokedWaitsForForm(t *testing.T) {
	t.Parallel()
	morning := businessMorning(t)
	l := newLiveEnv(t, func() time.Time { return morning }, 200*time.Millisecond)
	tok, u, _ := juanCrew(t, l.env)
	folio, id := bookedVisit(t, l.env, tok, morning.Format(time.DateOnly), "Formulario abierto")
	// On site before the page opens: the feed then brings no event of his own steps, whose
	// reload of the route, answered 401 once the session ends, would take him to sign in
	// through the API's path (with the form open) rather than the feed's.
	tecTok := token(t, l.env, "tec@example.mx")
	for _, st := range []string{"en_route", "on_site"} {
		call(t, l.env, tecTok, "POST", "/api/visits/"+strconv.FormatInt(id, 10)+"/status", `{"status":"`+st+`"}`, 200, nil)
	}

	ctx := tab(t, true)
	signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
	waitText(t, ctx, "#route", folio)
	waitText(t, ctx, "#route .badge", "En el domicilio")
	l.waitServed(t)
	pollTrue(t, ctx, `(() => { const b = [...document.querySelectorAll('#route .steps button')].find(b => b.textContent.trim() === 'Completar'); if (!b) return false; b.click(); return true; })()`)
	do(t, ctx,
		chromedp.WaitVisible(chromedp.ID("cause")),
		sendKeys(chromedp.ID("cause"), "Conector dañado"),
	)
	l.endSessions(t, u.ID)
	waitText(t, ctx, "#conn", "Su sesión terminó")
	time.Sleep(time.Second) // the page would have left by now
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.pathname === '/tech' && document.getElementById('finish').open && document.getElementById('cause').value === 'Conector dañado'`)); err != nil || !ok {
		t.Fatalf("the completion form was left while being filled in (%v)", err)
	}
	// Clicked from inside the page: a click by coordinates could land elsewhere under load
	// (on "Cancelar", say), and the page then leaves with nothing queued.
	clickNow(t, ctx, `input[name=verdict][value=upheld]`)
	clickNow(t, ctx, `input[name=restored][value=yes]`)
	clickNow(t, ctx, "#finish-send")
	pollTrue(t, ctx, `location.pathname === '/login' && document.readyState === 'complete'`)
	if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.entries(localStorage).filter(([k]) => k.startsWith('despacho.tech.queue.')).map(([, v]) => JSON.parse(v)).flat())`)); err != nil || !strings.Contains(q, "completed") {
		t.Fatalf("queue on the sign-in page = %s (%v), want the completed step kept", q, err)
	}
	signInBrowser(t, ctx, l.URL, "%2Ftech", "tec@example.mx")
	waitStatus(t, l.env, tok, id, "completed")
}

// waitStatus waits until the visit's status is want.
func waitStatus(t testing.TB, e *env, tok string, id int64, want string) {
	t.Helper()
	var v struct{ Status string }
	deadline := time.Now().Add(30 * time.Second)
	for v.Status != want {
		if time.Now().After(deadline) {
			t.Fatalf("visit status = %q, want %q", v.Status, want)
		}
		time.Sleep(100 * time.Millisecond)
		call(t, e, tok, "GET", "/api/visits/"+strconv.FormatInt(id, 10), "", 200, &v)
	}
}

// onSiteEnv is a liveEnv at a business morning with a dispatcher and a technician whose
// visit (its description given) is booked for that morning and under way, on site: the
// completion form is the next thing his page offers. It returns the dispatcher's token,
// the technician's user id, and the visit's folio and id.
func onSiteEnv(t testing.TB, description string) (l *liveEnv, tok string, techUser int64, folio string, id int64) {
	t.Helper()
	morning := businessMorning(t)
	// No recheck of the feed while the test runs: only the page's own calls find that a
	// session ended.
	l = newLiveEnv(t, func() time.Time { return morning }, time.Hour)
	tok, u, _ := juanCrew(t, l.env)
	folio, id = bookedVisit(t, l.env, tok, morning.Format(time.DateOnly), description)
	tecTok := token(t, l.env, "tec@example.mx")
	for _, st := range []string{"en_route", "on_site"} {
		call(t, l.env, tecTok, "POST", "/api/visits/"+strconv.FormatInt(id, 10)+"/status", `{"status":"`+st+`"}`, 200, nil)
	}
	return l, tok, u.ID, folio, id
}
