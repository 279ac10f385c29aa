package web

// adminRoutes registers the administration API behind the admin pages:
// users and roles, and the media (photos, signature) of a visit's completion.
func (s *Server) adminRoutes() {}
