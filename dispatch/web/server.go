// Package web is the HTTP adapter of the dispatch domain: the JSON API, its authentication
// and authorization, and operability endpoints.
//
// Every route is declared once in the route table with who may call it; the same table
// drives the mux, the OpenAPI test and the authorization-matrix test.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// Config holds what the server depends on.
type Config struct {
	DB  *bun.DB
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// PublicBaseURL is the address customers and browsers use, e.g. https://despacho.example.mx;
	// an https URL makes session cookies Secure and every answer carry Strict-Transport-Security.
	PublicBaseURL string
	// Registry receives the HTTP metrics; nil means a private registry.
	Registry prometheus.Registerer
	// Gatherer serves /metrics; nil means prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Events is the event log writer, with the hooks (SMS outbox) that run in every change's
	// transaction; nil means a writer without hooks.
	Events *postgres.Events
	// SLA is the business calendar (TZ_BUSINESS) and the SLA policies; zero means
	// America/Mexico_City with Mexican holidays and sla.DefaultPolicies.
	SLA dispatch.SLA
	// MailGatewayToken, when set, is a static bearer token the mail gateway may use on the
	// routes whose Access has Gateway set (e-mail intake).
	MailGatewayToken string
	// MetricsToken, when set, is the bearer token /metrics requires (the scraper's), so that
	// the counters of a service on a public address are not everybody's to read; empty
	// leaves /metrics open, for a private network or development.
	MetricsToken string
	// SupportPhone is the provider's phone for customers (E.164), shown on the customers'
	// pages; empty shows none.
	SupportPhone string
	// Live serves the websocket feeds; nil answers them with 503 (the routes always exist,
	// so the route table and the OpenAPI document do not depend on wiring).
	Live *LiveHandlers
	// SMS serves Twilio's webhooks, the admins' template API and the development outbox;
	// nil answers them with 503.
	SMS *SMSHandlers
	// Incidents is the incidents store with the configured compensation bonus and rule;
	// nil builds one with the defaults.
	Incidents *postgres.Incidents
	// Reports and Visits are the stores the API works through; nil builds them here. Pass
	// the ones the rest of the process uses (the re-plan job, SMS replies) so that there is
	// one batcher of report creations and one day-plan cache per process.
	Reports *postgres.Reports
	Visits  *postgres.Visits
	// TrustedProxies are the networks of the load balancers in front of the service. A
	// request from one of them is taken to come from the last X-Forwarded-For address that
	// is not itself a trusted proxy, so the rate limits and lockouts count customers, not
	// the balancer. Empty trusts no one: the peer address counts.
	TrustedProxies []netip.Prefix
}

// LiveHandlers are the live-update endpoints (package live), passed in so that web does
// not depend on the hub.
type LiveHandlers struct {
	WS     http.Handler // GET /ws, for signed-in users
	Public http.Handler // GET /public/reports/{folio}/live, for the holder of the access code
	// Position is where the live feed stands and whether it is serving (live.Hub.Position).
	// Read before a GET of a route that needs sign-in is handled, it goes out as the
	// answer's Live-After header: the `after` with which a page that loaded its data by such
	// answers opens /ws without losing an event committed in between. Nil sends no header.
	Position func() (int64, bool)
}

// SMSHandlers are the SMS endpoints (package notify).
type SMSHandlers struct {
	Status, Inbound, DevPage                http.Handler
	ListTemplates, GetTemplate, PutTemplate HandlerFunc
}

// HandlerFunc is an HTTP handler that returns its error instead of writing it; the server
// writes errors in the contract's shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Access says who may call a route.
type Access struct {
	// Public routes need no sign-in (they may still check a folio access code or a signature).
	Public bool
	// Roles that may call the route; empty with Public false means any signed-in user.
	Roles []dispatch.Role
	// QueryToken lets the session token come in the `token` query parameter (websockets,
	// which browsers cannot give headers).
	QueryToken bool
	// Gateway lets the mail gateway in with Config.MailGatewayToken as its bearer token;
	// the handler then runs with no user (see FromGateway).
	Gateway bool
}

// Anyone is the access of public routes.
var Anyone = Access{Public: true}

// SignedIn is the access of routes any signed-in user may call.
var SignedIn = Access{}

// Staff returns the access of routes that only the given roles may call.
func Staff(roles ...dispatch.Role) Access { return Access{Roles: roles} }

// Route is one entry of the route table.
type Route struct {
	Method  string
	Pattern string // net/http pattern path, e.g. /api/tickets/{folio}
	Access  Access
	Summary string
	handler http.Handler
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	db      *bun.DB
	users   *postgres.Users
	now     func() time.Time
	mux     *http.ServeMux
	routes  []Route
	metrics *httpMetrics
	limits  *rateLimits
	handler http.Handler

	events  *postgres.Events
	reports *postgres.Reports
	visits  *postgres.Visits
	sla     dispatch.SLA
	hsts    bool // PublicBaseURL is https: answers carry Strict-Transport-Security
	// A request body must start within bodyGrace and then keep an average of bodyRate
	// bytes a second (see paceBody).
	bodyGrace time.Duration
	bodyRate  float64
	gateway   []byte // SHA-256 of the mail gateway token, nil when none
	scraper   []byte // SHA-256 of the metrics token, nil when none
}

// New builds the server and its route table.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Log,
		db:        cfg.DB,
		users:     postgres.NewUsers(cfg.DB),
		now:       cfg.Now,
		mux:       http.NewServeMux(),
		metrics:   newHTTPMetrics(cfg.Registry),
		limits:    newRateLimits(cfg.Now),
		events:    cfg.Events,
		sla:       cfg.SLA,
		hsts:      strings.HasPrefix(strings.ToLower(cfg.PublicBaseURL), "https://"),
		bodyGrace: 30 * time.Second,
		bodyRate:  1024,
	}
	if s.events == nil {
		s.events = postgres.NewEvents()
	}
	if s.sla.Calendar == nil || s.sla.Policies == nil {
		def := dispatch.DefaultSLA()
		if s.sla.Calendar == nil {
			s.sla.Calendar = def.Calendar
		}
		if s.sla.Policies == nil {
			s.sla.Policies = def.Policies
		}
	}
	s.reports = cfg.Reports
	if s.reports == nil {
		s.reports = postgres.NewReports(cfg.DB, s.events, s.sla)
	}
	s.visits = cfg.Visits
	if s.visits == nil {
		s.visits = postgres.NewVisits(cfg.DB, s.events, s.reports, s.planningConfig())
	}
	if cfg.MailGatewayToken != "" {
		h := sha256.Sum256([]byte(cfg.MailGatewayToken))
		s.gateway = h[:]
	}
	if cfg.MetricsToken != "" {
		h := sha256.Sum256([]byte(cfg.MetricsToken))
		s.scraper = h[:]
	}
	s.registerRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, s.log, dispatch.NotFound("route "+r.Method+" "+r.URL.Path))
	})
	s.handler = s.middleware(s.mux)
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes returns a copy of the route table.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Handle adds a route whose handler returns errors; the access rule is enforced before h runs.
func (s *Server) Handle(method, pattern string, access Access, summary string, h HandlerFunc) {
	s.HandleHTTP(method, pattern, access, summary, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, s.log, err)
		}
	}))
}

// HandleHTTP adds a route served by a plain http.Handler (the websocket endpoint, webhooks,
// pages); the access rule is enforced before h runs and the caller is in the context.
func (s *Server) HandleHTTP(method, pattern string, access Access, summary string, h http.Handler) {
	rt := Route{Method: method, Pattern: pattern, Access: access, Summary: summary}
	rt.handler = s.guard(access, h)
	s.routes = append(s.routes, rt)
	s.mux.Handle(method+" "+pattern, rt.handler)
}

// guard authenticates the caller and enforces access before h.
func (s *Server) guard(access Access, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if access.Gateway && s.isGateway(r) {
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), gatewayKey{}, true)))
			return
		}
		user, viaCookie, err := s.authenticate(r, access.QueryToken)
		if err != nil && (!access.Public || dispatch.ErrorKind(err) == dispatch.KindUnavailable) {
			WriteError(w, r, s.log, err)
			return
		}
		if !access.Public {
			if !allowed(access, user.Role) {
				// A route's pattern names its method ("PATCH /api/users/{id}"); one without
				// does not.
				what := r.Pattern
				if !strings.Contains(what, " ") {
					what = r.Method + " " + what
				}
				WriteError(w, r, s.log, dispatch.Forbidden("role %s may not %s", user.Role, what))
				return
			}
		}
		if user != nil && viaCookie && !safeMethod(r.Method) && !sameOrigin(r) {
			WriteError(w, r, s.log, dispatch.Forbidden("cross-site request refused"))
			return
		}
		if user != nil {
			r = r.WithContext(context.WithValue(r.Context(), actorKey{}, user))
		}
		if !access.Public && safeMethod(r.Method) && !isUpgrade(r) {
			s.liveAfter(w)
		}
		h.ServeHTTP(w, r)
	})
}

// liveAfter sets the Live-After header from the live feed's position, read before the
// handler reads anything (see LiveHandlers.Position).
func (s *Server) liveAfter(w http.ResponseWriter) {
	if s.cfg.Live == nil || s.cfg.Live.Position == nil {
		return
	}
	if n, ok := s.cfg.Live.Position(); ok {
		w.Header().Set("Live-After", strconv.FormatInt(n, 10))
	}
}

func allowed(a Access, role dispatch.Role) bool {
	if len(a.Roles) == 0 {
		return true
	}
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

type actorKey struct{}

type gatewayKey struct{}

// FromGateway reports whether the request came from the mail gateway with its token.
func FromGateway(ctx context.Context) bool {
	ok, _ := ctx.Value(gatewayKey{}).(bool)
	return ok
}

// isGateway reports whether r carries the mail gateway's bearer token. Both sides are hashed
// first so the comparison takes the same time whatever the length of the guess.
func (s *Server) isGateway(r *http.Request) bool { return bearerIs(r, s.gateway) }

// bearerIs reports whether r's Authorization is the bearer token whose SHA-256 is want
// (never, when want is nil).
func bearerIs(r *http.Request, want []byte) bool {
	if want == nil {
		return false
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(h[:], want) == 1
}

// Actor returns the signed-in user making the request, or nil for an anonymous caller.
func Actor(ctx context.Context) *dispatch.User {
	u, _ := ctx.Value(actorKey{}).(*dispatch.User)
	return u
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
