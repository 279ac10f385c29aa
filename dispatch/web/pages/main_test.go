package pages_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/live"
	"despacho/dispatch/postgres"
	"despacho/dispatch/web"
	"despacho/notify"
)

// browser is the one headless Chromium of the package's tests; each test opens its own tab
// (or its own browser context, for a second person).
var browser context.Context

func TestMain(m *testing.M) {
	ctx, stop := startBrowser()
	browser = ctx
	// Start Chromium while the first test clones its database.
	go startOnce.Do(func() { startErr = chromedp.Do(browser) })
	defer stop() // not reached through os.Exit; Chromium dies with us (Pdeathsig)
	dispatchtest.Main(m)
}

// chromiumPath finds the browser; make test installs /usr/bin/chromium.
func chromiumPath() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	return "/usr/bin/chromium"
}

// profilePrefix names the profile folders of the test browsers; folders of processes that
// are gone are removed at start, since os.Exit skips the cleanup of the last run.
const profilePrefix = "despacho-pages-chromium-"

func startBrowser() (context.Context, func()) {
	olds, _ := filepath.Glob(filepath.Join(os.TempDir(), profilePrefix+"*"))
	for _, d := range olds {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), profilePrefix))
		if err == nil && syscall.Kill(pid, 0) == nil {
			continue
		}
		os.RemoveAll(d)
	}
	dir := filepath.Join(os.TempDir(), profilePrefix+strconv.Itoa(os.Getpid()))
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath()),
		chromedp.UserDataDir(dir),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
		// The people who use the pages read Spanish first.
		chromedp.Flag("lang", "es-MX"),
		chromedp.Flag("accept-lang", "es-MX,es"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	return ctx, func() { cancel(); cancelAlloc(); os.RemoveAll(dir) }
}

var startOnce sync.Once
var startErr error

// tabs counts the tabs opened, to name their failure screenshots apart.
var tabs atomic.Int64

// tab opens a new tab in the shared browser (or, with isolated, in a new browser context
// with its own cookies) and returns a context for its actions, bounded to three minutes. If
// the test fails, each of its tabs saves a full-page screenshot (failure-tabN) and logs its
// path; uncaught exceptions and Content-Security-Policy violations in the page fail the test.
func tab(t testing.TB, isolated bool) context.Context {
	t.Helper()
	startOnce.Do(func() { startErr = chromedp.Do(browser) })
	if startErr != nil {
		t.Fatalf("start Chromium (%s): %v; install it with apt-get install chromium", chromiumPath(), startErr)
	}
	var opts []chromedp.ContextOption
	if isolated {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(browser, opts...)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	console := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg, err := range console {
			if err != nil {
				return
			}
			text := msg.String()
			if msg.IsException() || strings.Contains(text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, text)
				mu.Unlock()
			}
		}
	}()
	tctx, tcancel := context.WithTimeout(ctx, 3*time.Minute) // generous: CI runs every package at once on 2 cores
	// Each tab of a failed test leaves its own screenshot (the first tab opened is 1).
	failShot := fmt.Sprintf("failure-tab%d", tabs.Add(1))
	t.Cleanup(func() {
		if t.Failed() {
			shot(t, ctx, failShot)
		}
		tcancel()
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return tctx
}

// shot saves a full-page screenshot under the artifacts folder and logs its path.
func shot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := filepath.Join(os.TempDir(), "despacho-pages-artifacts")
	_ = os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	t.Logf("screenshot: %s", p)
	return p
}

// env is a running server on a fresh database.
type env struct {
	URL   string
	DB    *bun.DB
	Users *postgres.Users
	// SMS is the SMS configuration the server queues texts with (development outbox).
	SMS notify.Config
	// Events is the server's event log writer (with the SMS outbox hook).
	Events *postgres.Events
	// stopLive stops the server's live hub, as if the live feed went down.
	stopLive func()
}

func newEnv(t testing.TB) *env { return newEnvAt(t, nil) }

// newEnvAt starts the server with the clock now (nil: time.Now), its live hub, the SMS
// outbox hook (texts are queued, no worker sends them) and the SMS template API, wired as
// serve wires them, so that the pages' live updates and texts are tested end to end.
func newEnvAt(t testing.TB, now func() time.Time) *env {
	t.Helper()
	db := dispatchtest.DB(t)
	if now == nil {
		now = time.Now
	}
	users := postgres.NewUsers(db)
	techs := postgres.NewTechnicians(db, nil)
	reports := postgres.NewReports(db, nil, dispatch.DefaultSLA())
	hub := live.New(db, live.Options{
		UserOf:       func(r *http.Request) *dispatch.User { return web.Actor(r.Context()) },
		TechnicianOf: techs.IDByUser,
		FolioAccess:  reports.IDForCode,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = hub.Run(ctx) }()
	var once sync.Once
	stopLive := func() { once.Do(func() { cancel(); hub.Close(); <-done }) }
	t.Cleanup(stopLive)
	zone, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		t.Fatal(err)
	}
	smsCfg := notify.Config{Location: zone, PublicBaseURL: "https://despacho.example.mx"}
	events := postgres.NewEvents()
	events.AddHook(notify.NewOutbox(smsCfg, slog.New(slog.DiscardHandler)).Hook)
	templates := notify.TemplateHandlers{Store: notify.NewTemplates(db, zone), ActorID: func(ctx context.Context) int64 {
		if u := web.Actor(ctx); u != nil {
			return u.ID
		}
		return 0
	}}
	srv := web.New(web.Config{DB: db, Now: now, Events: events,
		Live: &web.LiveHandlers{WS: http.HandlerFunc(hub.ServeWS), Public: http.HandlerFunc(hub.ServePublic), Position: hub.Position},
		SMS: &web.SMSHandlers{DevPage: notify.DevPage(db, smsCfg),
			ListTemplates: templates.List, GetTemplate: templates.Get, PutTemplate: templates.Put}})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{URL: ts.URL, DB: db, Users: users, SMS: smsCfg, Events: events, stopLive: stopLive}
}

const password = "contraseña-segura"

func (e *env) user(t testing.TB, email string, role dispatch.Role) *dispatch.User {
	t.Helper()
	u, err := dispatch.NewUser(email, "Prueba "+string(role), role, password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// get fetches url with optional header pairs, not following redirects.
func get(t testing.TB, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// call sends a JSON request with a bearer token and decodes the answer into out (may be nil);
// it fails the test unless the status is want.
func call(t testing.TB, e *env, token, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// token signs in as email and returns the bearer token.
func token(t testing.TB, e *env, email string) string {
	t.Helper()
	var lr struct{ Token string }
	call(t, e, "", "POST", "/api/login", `{"email":"`+email+`","password":"`+password+`"}`, 200, &lr)
	return lr.Token
}

// technician adds a technician working every day 07:00–21:00 from home, linked to the user
// userID (0: none), and returns his id.
func technician(t testing.TB, e *env, token, name string, userID int64, lat, lon float64) int64 {
	t.Helper()
	var shifts []string
	for d := 0; d < 7; d++ {
		shifts = append(shifts, fmt.Sprintf(`{"weekday":%d,"start":"07:00","end":"21:00"}`, d))
	}
	body := fmt.Sprintf(`{"name":%q,"phone":"+5255%08d","skills":["fiber","wireless"],"home":{"lat":%f,"lon":%f},"shifts":[%s]`,
		name, 10000000+len(name)*1000+int(userID), lat, lon, strings.Join(shifts, ","))
	if userID != 0 {
		body += fmt.Sprintf(`,"user_id":%d`, userID)
	}
	var out struct{ ID int64 }
	call(t, e, token, "POST", "/api/technicians", body+"}", 201, &out)
	return out.ID
}

// juanCrew sets up the crew of most browser tests, in this order: the dispatcher
// disp@example.mx, the technician user tec@example.mx, the dispatcher's sign-in, and through
// it the technician "Juan Técnico", linked to tec@example.mx, with his home at 19.4326,
// -99.1332 (the technician helper's shifts and skills). It returns the dispatcher's token,
// the user tec@example.mx and Juan Técnico's id. It asks for no technician's token: the tests
// that want one ask for it later, after booking their visits.
func juanCrew(t testing.TB, e *env) (tok string, tec *dispatch.User, techID int64) {
	t.Helper()
	e.user(t, "disp@example.mx", dispatch.RoleDispatcher)
	tec = e.user(t, "tec@example.mx", dispatch.RoleTechnician)
	tok = token(t, e, "disp@example.mx")
	techID = technician(t, e, tok, "Juan Técnico", tec.ID, 19.4326, -99.1332)
	return tok, tec, techID
}

// sendTexts runs an SMS worker with the development sender until the test ends, so that
// queued texts are sent and their sms.sent events land on the reports' timelines.
func (e *env) sendTexts(t testing.TB) {
	t.Helper()
	w := notify.NewWorker(e.DB, notify.Dev{Log: slog.New(slog.DiscardHandler)},
		notify.WorkerOptions{Events: e.Events, Poll: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
