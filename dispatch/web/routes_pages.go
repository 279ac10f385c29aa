package web

import (
	"context"
	"net/http"

	"despacho/dispatch/postgres"
	"despacho/dispatch/web/pages"
)

// pageRoutes registers the HTML pages and their static files. Pages are public routes:
// staff pages check the session themselves and send an anonymous browser to /login instead
// of answering a JSON 401.
func (s *Server) pageRoutes() {
	zone := ""
	if s.cfg.SLA.Calendar != nil {
		zone = s.cfg.SLA.Calendar.Location().String()
	}
	techs := postgres.NewTechnicians(s.db, s.events)
	technicianOf := func(ctx context.Context, userID int64) (int64, error) {
		t, err := techs.ByUser(ctx, userID)
		if err != nil {
			return 0, err
		}
		return t.ID, nil
	}
	site, err := pages.New(pages.Config{Actor: Actor, Log: s.log, Zone: zone, TechnicianOf: technicianOf, SupportPhone: s.cfg.SupportPhone})
	if err != nil {
		panic(err) // the templates are embedded: the pages' tests catch this first
	}
	// The pages' forms are sent by their scripts. One sent before its page's script ran (a
	// slow connection, a password manager that submits at once) goes to the browser: the
	// forms post, so what was typed (a password, a customer's details) never lands in an
	// address, the browser's history or the access log of a proxy in front (ours logs paths
	// only), and every page answers a post by sending the browser back to it.
	page := func(pattern, summary string, h http.Handler) {
		s.HandleHTTP(http.MethodGet, pattern, Anyone, summary, h)
		s.HandleHTTP(http.MethodPost, pattern, Anyone, "A page's form sent before its script ran: back to the page (303); the body is not read.", http.HandlerFunc(backToPage))
	}
	s.HandleHTTP(http.MethodGet, "/static/{version}/{path...}", Anyone, "Static files of the pages (scripts, style sheet, icons), content-hashed.", site.Static())
	page("/{$}", "Home: redirects to the page for the visitor (board, desk, route, or the report form).", site.Home())
	page("/login", "Sign-in page.", site.Login())
	page("/reporte", "Public report form: files a report and shows its folio and access code.", site.Report())
	page("/estado", "Public status page: asks for a folio and its access code.", site.Status())
	page("/estado/{folio}", "Public status page of a folio (?code=): status, appointment, outcome; refreshes itself.", site.Status())
	page("/estado/{folio}/horario", "Public page to choose another arrival window for a folio's visit (?code=).", site.Booking())
	page("/board", "Dispatcher board: technicians' time lines, unscheduled visits, map, live.", site.Board())
	page("/desk", "Agents' desk: take reports by phone, e-mail or in person; folio look-up; visits and booking.", site.Desk())
	page("/tech", "Technician's route for today, with status buttons and offline queue.", site.Tech())
	page("/admin", "Administration: users and roles, technicians' shifts and time off, SLA policies, SMS templates.", site.Admin())
}

// backToPage answers a form that a page's script did not get to send: 303 to the same
// address, so the browser loads the page again (and its script with it).
func backToPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.RequestURI(), http.StatusSeeOther)
}
