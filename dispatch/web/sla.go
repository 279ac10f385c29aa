package web

import (
	"errors"
	"net/http"
	"strconv"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// getSLAPolicies returns the policies new reports are filed under, read from the database,
// as an sla.Document; the ETag header carries the stored set's version.
func (s *Server) getSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	ps, v, err := s.reports.Policies().Get(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", strconv.Quote("v"+strconv.FormatInt(v, 10)))
	WriteJSON(w, http.StatusOK, ps.Document())
	return nil
}

// putSLAPolicies replaces the whole set of policies at once. Reports filed from now on get
// the new set; reports already filed keep their due times.
func (s *Server) putSLAPolicies(w http.ResponseWriter, r *http.Request) error {
	var in sla.Document
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	ps, err := in.Policies()
	var fe *sla.FieldError
	if errors.As(err, &fe) {
		return dispatch.Invalid(fe.Field, "%s", fe.Message)
	} else if err != nil {
		return err
	}
	v, err := s.reports.Policies().Replace(r.Context(), ps, postgres.Origin{User: Actor(r.Context())}, s.now())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", strconv.Quote("v"+strconv.FormatInt(v, 10)))
	WriteJSON(w, http.StatusOK, ps.Document())
	return nil
}
