package web

import (
	"net/http"

	"despacho/dispatch"
)

// adminRoutes registers the administration API behind the admin pages:
// users and roles, and the media (photos, signature) of a visit's completion.
func (s *Server) adminRoutes() {
	const (
		admin      = dispatch.RoleAdmin
		dispatcher = dispatch.RoleDispatcher
		agent      = dispatch.RoleAgent
		technician = dispatch.RoleTechnician
	)
	u := s.newUsersAPI()
	s.Handle(http.MethodGet, "/api/users", Staff(admin), "List staff users with role and active flag.", u.list)
	s.Handle(http.MethodPost, "/api/users", Staff(admin), "Create a staff user with a role and an initial password (12+ characters).", u.create)
	s.Handle(http.MethodPatch, "/api/users/{id}", Staff(admin),
		"Change a user's name, role, active flag or password; deactivation and a new password end his sessions; never your own role or active flag.", u.patch)

	m := s.newMediaAPI()
	readers := Staff(agent, dispatcher, admin, technician)
	s.Handle(http.MethodPost, "/api/visits/{id}/media", Staff(technician),
		"Upload a completion photo or the customer's signature (JPEG/PNG body, ?kind=, Idempotency-Key per file); the visit's technician only.", m.upload)
	s.Handle(http.MethodGet, "/api/visits/{id}/media", readers, "A visit's photos and signature (without their bytes); a technician sees only his visits.", m.list)
	s.Handle(http.MethodGet, "/api/visits/{id}/media/{n}", readers, "The bytes of one photo or signature of a visit.", m.file)
	s.Handle(http.MethodGet, "/api/tickets/{folio}/media", Staff(agent, dispatcher, admin), "The photos and signatures of every visit of a report.", m.byReport)
}
