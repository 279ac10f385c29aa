package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

//go:embed openapi.json openapi/*.json
var openapiFiles embed.FS

var openapiDoc = sync.OnceValue(func() []byte {
	b, err := mergeOpenAPI(openapiFiles)
	if err != nil {
		panic(err) // the embedded files are part of the binary: a test catches this first
	}
	return b
})

// OpenAPI returns the OpenAPI 3 document describing the API: openapi.json with the path and
// schema fragments of openapi/*.json merged in.
func OpenAPI() []byte { return openapiDoc() }

func mergeOpenAPI(fsys fs.FS) ([]byte, error) {
	base, err := fs.ReadFile(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	frags, _ := fs.Glob(fsys, "openapi/*.json")
	for _, name := range frags {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var frag struct {
			Paths      map[string]map[string]any `json:"paths"`
			Components struct {
				Schemas map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &frag); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for path, ops := range frag.Paths {
			have, _ := paths[path].(map[string]any)
			if have == nil {
				have = map[string]any{}
				paths[path] = have
			}
			for method, op := range ops {
				if _, dup := have[method]; dup {
					return nil, fmt.Errorf("%s: %s %s is documented twice", name, method, path)
				}
				have[method] = op
			}
		}
		for k, v := range frag.Components.Schemas {
			if _, dup := schemas[k]; dup {
				return nil, fmt.Errorf("%s: schema %s is defined twice", name, k)
			}
			schemas[k] = v
		}
	}
	return json.Marshal(doc)
}

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
	_, err := w.Write(OpenAPI())
	return err
}

func (s *Server) metricsHandler() http.Handler {
	g := s.cfg.Gatherer
	if g == nil {
		g = prometheus.DefaultGatherer
	}
	h := promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	if s.scraper == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bearerIs(r, s.scraper) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			WriteError(w, r, s.log, dispatch.Unauthenticated("/metrics needs the scraper's token: Authorization: Bearer TOKEN (METRICS_TOKEN)"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
