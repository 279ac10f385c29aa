package web

import (
	"net/http"
	"strconv"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/dispatch/postgres"
)

// dispatchAPI serves technicians, visits and plans.
type dispatchAPI struct {
	s      *Server
	techs  *postgres.Technicians
	visits *postgres.Visits
}

// planningConfig is the business zone of the SLA calendar with the default hours, travel
// model and window width.
func (s *Server) planningConfig() planning.Config {
	var c planning.Config
	if cal := s.cfg.SLA.Calendar; cal != nil {
		c.Zone = cal.Location()
	}
	return c.WithDefaults()
}

// dispatchRoutes registers the routes of technicians, visits and plans.
func (s *Server) dispatchRoutes() {
	const (
		admin      = dispatch.RoleAdmin
		dispatcher = dispatch.RoleDispatcher
		agent      = dispatch.RoleAgent
		technician = dispatch.RoleTechnician
	)
	d := &dispatchAPI{
		s:      s,
		techs:  postgres.NewTechnicians(s.db, s.events),
		visits: s.visits,
	}
	desk := Staff(agent, dispatcher, admin)
	control := Staff(dispatcher, admin)

	// Technicians.
	s.Handle(http.MethodPost, "/api/technicians", control, "Add a technician: skills, home base, weekly shifts.", d.createTechnician)
	s.Handle(http.MethodGet, "/api/technicians", desk, "List technicians (?active=true for active ones only).", d.listTechnicians)
	s.Handle(http.MethodGet, "/api/technicians/{id}", Staff(agent, dispatcher, admin, technician), "One technician; a technician sees only himself.", d.getTechnician)
	s.Handle(http.MethodPatch, "/api/technicians/{id}", control, "Change a technician's fields (with his version).", techHandler(d, d.patchTechnician))
	s.Handle(http.MethodPost, "/api/technicians/{id}/exceptions", control, "Record time off or a sick day (whole or part of a day).", techHandler(d, d.addException))
	s.Handle(http.MethodGet, "/api/technicians/{id}/exceptions", desk, "A technician's exceptions overlapping ?from= to ?to= (dates).", d.listExceptions)
	s.Handle(http.MethodPost, "/api/technicians/{id}/unavailable", control, "Mark a technician unavailable and re-plan his visits at once.", techHandler(d, d.markUnavailable))
	s.Handle(http.MethodPost, "/api/technicians/{id}/position", Staff(technician), "The technician shares his position; ETAs of his next visits are recomputed.", techHandler(d, d.postPosition))
	s.Handle(http.MethodGet, "/api/technicians/{id}/route", Staff(agent, dispatcher, admin, technician), "A technician's visits of ?day= (default today) in route order.", d.technicianRoute)

	// Visits.
	s.Handle(http.MethodPost, "/api/tickets/{folio}/visits", desk, "Create a visit for a report; the report awaits the visit. A report has one open visit at most: a second is 409 open_visit naming it.", d.createVisit)
	s.Handle(http.MethodGet, "/api/visits", desk, "List visits oldest first: ?status= (comma list), ?day=, ?technician=, ?unassigned=true, ?reschedule_requested=true, ?to_rebook=true (not completed, report still open, nothing else planned), ?missed=true (window over, nobody on the way), ?report= (folio); keyset pages (?after=, ?limit=).", d.listVisits)
	s.Handle(http.MethodGet, "/api/visits/{id}", Staff(agent, dispatcher, admin, technician), "A visit: status, window, technician, planned arrival, version.", d.getVisit)
	s.Handle(http.MethodGet, "/api/visits/{id}/slots", desk, "Windows the current plan can keep for the visit (?from=YYYY-MM-DD&days=N).", d.slots)
	s.Handle(http.MethodPost, "/api/visits/{id}/hold", desk, "Hold an offered window for a few minutes while the customer decides.", visitHandler(d.hold))
	s.Handle(http.MethodPost, "/api/visits/{id}/book", Anyone, "Book (promise) a window: staff, or the customer with the folio's access code; 409 when it can no longer be kept.", d.book)
	d.publicBookingRoutes() // the customer's booking page: /public/reports/{folio}/slots and /book
	s.Handle(http.MethodPost, "/api/visits/{id}/insert", control, "Insert an urgent visit into today's plan at once.", visitHandler(d.insertUrgent))
	s.Handle(http.MethodPost, "/api/visits/{id}/assign", control, "Give a booked visit to a technician (with the visit's version).", visitHandler(d.assign))
	s.Handle(http.MethodPost, "/api/visits/{id}/move", control, "Put a visit at a position of a technician's day; a move that breaks a promise or a rule is refused.", visitHandler(d.move))
	s.Handle(http.MethodPost, "/api/visits/{id}/unassign", control, "Take a visit off its technician; its window stays promised.", visitHandler(d.unassign))
	s.Handle(http.MethodPost, "/api/visits/{id}/pin", control, "Pin or unpin a visit to its technician and place.", visitHandler(d.pin))
	s.Handle(http.MethodPost, "/api/visits/{id}/cancel", desk, "Cancel a visit.", visitHandler(d.cancel))
	s.Handle(http.MethodDelete, "/api/visits/{id}/reschedule-request", desk, "Clear the customer's pending request for another time, answered without a new window.", visitHandler(d.clearRescheduleRequest))
	s.Handle(http.MethodPost, "/api/visits/{id}/status", Staff(technician, dispatcher, admin), "A step of the visit: en_route, on_site, completed (outcome) or not_completed (reason); Idempotency-Key makes resends safe.", d.setStatus)

	// Plans.
	s.Handle(http.MethodGet, "/api/plans/{day}", desk, "A day's plan: every technician's visits in order, and booked visits off every route.", d.dayPlan)
	s.Handle(http.MethodPost, "/api/plans/{day}/optimize", control, "Re-optimise a day keeping promises and pins; lists the customers whose technician changed.", d.optimize)
}

// pathID reads the {id} path value; anything but a positive integer is "not found".
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, dispatch.NotFound(what)
	}
	return id, nil
}
