package web

import (
	"net/http"

	"despacho/dispatch"
)

// registerRoutes is the route table: every route, who may call it, and what it does.
func (s *Server) registerRoutes() {
	const (
		admin      = dispatch.RoleAdmin
		dispatcher = dispatch.RoleDispatcher
		agent      = dispatch.RoleAgent
		technician = dispatch.RoleTechnician
	)
	_ = []dispatch.Role{admin, dispatcher, agent, technician}
	desk := Staff(agent, dispatcher, admin)

	// Operability.
	s.Handle(http.MethodGet, "/healthz", Anyone, "Liveness: 200 while the process runs.", s.healthz)
	s.Handle(http.MethodGet, "/readyz", Anyone, "Readiness: 200 while the database answers, else 503.", s.readyz)
	s.HandleHTTP(http.MethodGet, "/metrics", Anyone, "Prometheus metrics; with METRICS_TOKEN set, only for the bearer of that token.", s.metricsHandler())
	s.Handle(http.MethodGet, "/api/openapi.json", Anyone, "This API's OpenAPI 3 document.", s.openapi)

	// Sessions.
	s.Handle(http.MethodPost, "/api/login", Anyone, "Sign in: a bearer token and a session cookie.", s.login)
	s.Handle(http.MethodPost, "/api/logout", SignedIn, "Sign out: ends the session.", s.logout)
	s.Handle(http.MethodGet, "/api/me", SignedIn, "The signed-in user.", s.me)

	// Reports (tickets).
	s.Handle(http.MethodPost, "/api/tickets", desk, "File a report taken by staff; Idempotency-Key makes retries safe.", s.createTicket)
	s.Handle(http.MethodGet, "/api/tickets", desk, "List reports, newest first, with filters and keyset pages.", s.listTickets)
	s.Handle(http.MethodGet, "/api/tickets/{folio}", desk, "A report with its customer, SLA and timeline.", s.getTicket)
	s.Handle(http.MethodPost, "/api/tickets/{folio}/transitions", desk, "Change a report: start, wait, resume, resolve, close, cancel, reopen, assign an area, note, reclassify.", s.transitionTicket)
	s.Handle(http.MethodPost, "/api/intake/email", Access{Roles: []dispatch.Role{agent, admin}, Gateway: true},
		"File a report from a raw e-mail; the same Message-ID again gives the same folio.", s.intakeEmail)

	// SLA policies: staff read them, admins replace them.
	s.Handle(http.MethodGet, "/api/sla/policies", desk, "The SLA policies new reports are filed under: the default and the rules by kind and priority.", s.getSLAPolicies)
	s.Handle(http.MethodPut, "/api/sla/policies", Staff(admin), "Replace the SLA policies at once; new reports get them, filed reports keep their due times.", s.putSLAPolicies)

	// The business calendar SLA deadlines in business time count on: staff read it, admins
	// replace it.
	s.Handle(http.MethodGet, "/api/calendar", desk, "The business calendar: weekly hours, dated exceptions, and the closures of ?year= (statutory holidays and exceptions).", s.getCalendar)
	s.Handle(http.MethodPut, "/api/calendar", Staff(admin), "Replace the weekly hours and exceptions, naming the version read; new reports get them, filed reports keep their due times.", s.putCalendar)

	// Customers, without an account.
	s.Handle(http.MethodPost, "/public/reports", Anyone, "File a report from the public form (rate limited): folio and access code.", s.createPublicReport)
	s.Handle(http.MethodGet, "/public/reports/{folio}", Anyone, "A report's status for the holder of its access code (?code=).", s.publicReport)

	s.pageRoutes()
	s.dispatchRoutes()
	s.incidentRoutes()
	s.integrationRoutes()
	s.adminRoutes()
}
