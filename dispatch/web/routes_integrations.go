package web

import (
	"errors"
	"net/http"

	"despacho/dispatch"
)

// integrationRoutes registers the endpoints served by other packages (live updates, SMS).
// They are always in the table; without their handler they answer 503.
func (s *Server) integrationRoutes() {
	admin := dispatch.RoleAdmin
	var live LiveHandlers
	if s.cfg.Live != nil {
		live = *s.cfg.Live
	}
	var sms SMSHandlers
	if s.cfg.SMS != nil {
		sms = *s.cfg.SMS
	}
	s.HandleHTTP(http.MethodGet, "/ws", Access{QueryToken: true}, "Live events over a websocket; ?after=ID replays what was missed.", s.orUnavailable(live.WS))
	s.HandleHTTP(http.MethodGet, "/public/reports/{folio}/live", Anyone, "Live status of one report for the holder of its access code (?code=), over a websocket.", s.guardPublicCode(s.orUnavailable(live.Public)))

	s.HandleHTTP(http.MethodPost, "/twilio/status", Anyone, "Twilio delivery status callback (signature checked).", s.orUnavailable(sms.Status))
	s.HandleHTTP(http.MethodPost, "/twilio/inbound", Anyone, "Inbound SMS from customers (signature checked); answered with TwiML.", s.orUnavailable(sms.Inbound))
	s.HandleHTTP(http.MethodGet, "/dev/sms", Staff(admin, dispatch.RoleDispatcher, dispatch.RoleAgent), "Development outbox: every text the system would send.", s.orUnavailable(sms.DevPage))
	s.Handle(http.MethodGet, "/api/sms/templates", Staff(admin), "Every SMS template with a sample rendering and its segment count.", orUnavailableFunc(sms.ListTemplates))
	s.Handle(http.MethodGet, "/api/sms/templates/{kind}/{lang}", Staff(admin), "One SMS template.", orUnavailableFunc(sms.GetTemplate))
	s.Handle(http.MethodPut, "/api/sms/templates/{kind}/{lang}", Staff(admin), "Edit one SMS template (must parse and render); an empty body restores the default.", orUnavailableFunc(sms.PutTemplate))
}

// guardPublicCode puts a customer's live feed behind the status page's door (openFolio);
// only a right code reaches h.
func (s *Server) guardPublicCode(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.openFolio(r); err != nil {
			WriteError(w, r, s.log, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

var errNotWired = dispatch.Unavailable(errors.New("this endpoint is not configured on this instance"))

func (s *Server) orUnavailable(h http.Handler) http.Handler {
	if h != nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { WriteError(w, r, s.log, errNotWired) })
}

func orUnavailableFunc(h HandlerFunc) HandlerFunc {
	if h != nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) error { return errNotWired }
}
