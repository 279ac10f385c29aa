package web

import (
	_ "embed"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"despacho/dispatch/postgres"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the embedded OpenAPI 3 document describing the API.
func OpenAPI() []byte { return openapiDoc }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz answers 200 only while the database answers, so a load balancer stops sending
// traffic to an instance that lost PostgreSQL.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := postgres.Ping(r.Context(), s.db); err != nil {
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
		return nil
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "up"})
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(openapiDoc)
	return err
}

func (s *Server) metricsHandler() http.Handler {
	g := s.cfg.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
