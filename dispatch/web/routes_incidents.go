package web

import (
	"net/http"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// incidentRoutes registers the routes of incidents (mass outages), access points and
// customers' plan prices.
func (s *Server) incidentRoutes() {
	const (
		admin      = dispatch.RoleAdmin
		dispatcher = dispatch.RoleDispatcher
		agent      = dispatch.RoleAgent
	)
	incidents := s.cfg.Incidents
	if incidents == nil {
		var err error
		incidents, err = postgres.NewIncidents(s.db, s.events, postgres.IncidentsConfig{SLA: s.sla, Reports: s.reports})
		if err != nil {
			panic("incidents: " + err.Error()) // only a bad configuration gets here, never a request
		}
	}
	a := &incidentAPI{s: s, incidents: incidents, aps: postgres.NewAccessPoints(s.db),
		visits: s.visits}
	desk := Staff(agent, dispatcher, admin)
	lead := Staff(dispatcher, admin)

	s.Handle(http.MethodPost, "/api/incidents", lead, "Open an incident on an access point; its open fault reports attach and their visits are held.", a.createIncident)
	s.Handle(http.MethodGet, "/api/incidents", desk, "List incidents, newest first (?status=open|resolved, ?access_point=).", a.listIncidents)
	s.Handle(http.MethodGet, "/api/incidents/{id}", desk, "An incident (by id or folio) with its reports and their compensation, its own visits and its own timeline.", a.getIncident)
	s.Handle(http.MethodGet, "/api/incidents/{id}/customers", desk, "The customers an incident affects, with coordinates, for the board's map.", a.incidentCustomers)
	s.Handle(http.MethodPost, "/api/incidents/{id}/estimate", lead, "Change the estimated restore time; affected customers are told when it moves at least INCIDENT_ESTIMATE_CHANGE (30m) from what they were last told.", a.setEstimate)
	s.Handle(http.MethodPost, "/api/incidents/{id}/reports", lead, "Attach one more fault report (by folio) of the incident's access point.", a.attachReport)
	s.Handle(http.MethodPost, "/api/incidents/{id}/visits", lead, "Plan a technician visit for the open incident itself (the repair at its access point): lat and lon required; no report, no customer texted.", a.createIncidentVisit)
	s.Handle(http.MethodPost, "/api/incidents/{id}/resolve", lead, "Resolve the incident and every attached report; compute each customer's compensation.", a.resolveIncident)
	s.Handle(http.MethodGet, "/api/incidents/{id}/compensation.csv", lead, "Billing export: what each customer of a resolved incident is owed.", a.compensationCSV)

	s.Handle(http.MethodGet, "/api/access-points", desk, "Access points with their customers and open incident.", a.listAccessPoints)
	s.Handle(http.MethodPost, "/api/access-points/import", Staff(admin), "Put customers on access points (and set plan prices) from CSV: all lines or none.", a.importAccessPoints)
	s.Handle(http.MethodPut, "/api/customers/{id}/access-point", lead, "Put one customer on an access point; optionally set their monthly plan price.", a.setCustomerAccessPoint)
}
