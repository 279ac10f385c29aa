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
	m := s.newMediaAPI()
	readers := Staff(agent, dispatcher, admin, technician)
	s.Handle(http.MethodPost, "/api/visits/{id}/media", Staff(technician),
		"Upload a completion photo or the customer's signature (JPEG/PNG body, ?kind=, Idempotency-Key per file); the visit's technician only.", m.upload)
	s.Handle(http.MethodGet, "/api/visits/{id}/media", readers, "A visit's photos and signature (without their bytes); a technician sees only his visits.", m.list)
	s.Handle(http.MethodGet, "/api/visits/{id}/media/{n}", readers, "The bytes of one photo or signature of a visit.", m.file)
	s.Handle(http.MethodGet, "/api/tickets/{folio}/media", Staff(agent, dispatcher, admin), "The photos and signatures of every visit of a report.", m.byReport)
}
