package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// slaPolicies is the SLA policies as the API shows them: the document and the version of
// the stored set it is (also the ETag, "v3").
type slaPolicies struct {
	sla.Document
	Version int64 `json:"version"`
}

func slaETag(v int64) string { return strconv.Quote("v" + strconv.FormatInt(v, 10)) }

// getSLAPolicies returns the policies new reports are filed under, read from the database,
// as an sla.Document with its version; the ETag header carries the version too.
func (s *Server) getSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, v, err := s.reports.Policies().Get(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", slaETag(v))
	WriteJSON(w, http.StatusOK, slaPolicies{ps.Document(), v})
	return nil
}

// putSLAPolicies replaces the whole set of policies at once. Reports filed from now on get
// the new set; reports already filed keep their due times. A PUT that names the version it
// read (If-Match: "v3", or "version": 3 in the body, as the admin page sends it) is refused
// when another admin saved since (409 stale_version), rather than undoing his change
// unseen; one that names none replaces whatever is stored.
func (s *Server) putSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		sla.Document
		Version *int64 `json:"version"`
	}
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	var read int64
	if in.Version != nil {
		if *in.Version < 1 {
			return dispatch.Invalid("version", "must be the version you read (1 or more)")
		}
		read = *in.Version
	}
	if m := strings.TrimSpace(r.Header.Get("If-Match")); m != "" && m != "*" {
		v, err := strconv.ParseInt(strings.TrimPrefix(strings.Trim(strings.TrimPrefix(m, "W/"), `"`), "v"), 10, 64)
		if err != nil || v < 1 {
			return dispatch.Invalid("version", `If-Match must be the ETag you read, e.g. "v3"`)
		}
		read = v
	}
	ps, err := in.Document.Policies()
	if err == nil {
		err = in.Document.Consistent()
	}
	var fe *sla.FieldError
	if errors.As(err, &fe) {
		return dispatch.Invalid(fe.Field, "%s", fe.Message)
	} else if err != nil {
		return err
	}
	v, err := s.reports.Policies().ReplaceVersion(r.Context(), ps, read, postgres.Origin{User: Actor(r.Context())}, s.now())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", slaETag(v))
	WriteJSON(w, http.StatusOK, slaPolicies{ps.Document(), v})
	return nil
}
