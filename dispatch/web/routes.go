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

	// Operability.
	s.Handle(http.MethodGet, "/healthz", Anyone, "Liveness: 200 while the process runs.", s.healthz)
	s.Handle(http.MethodGet, "/readyz", Anyone, "Readiness: 200 while the database answers, else 503.", s.readyz)
	s.HandleHTTP(http.MethodGet, "/metrics", Anyone, "Prometheus metrics.", s.metricsHandler())
	s.Handle(http.MethodGet, "/api/openapi.json", Anyone, "This API's OpenAPI 3 document.", s.openapi)

	// Sessions.
	s.Handle(http.MethodPost, "/api/login", Anyone, "Sign in: a bearer token and a session cookie.", s.login)
	s.Handle(http.MethodPost, "/api/logout", SignedIn, "Sign out: ends the session.", s.logout)
	s.Handle(http.MethodGet, "/api/me", SignedIn, "The signed-in user.", s.me)
}
