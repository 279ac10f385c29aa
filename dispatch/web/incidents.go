package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// MaxImportBody is the largest access point import accepted: about 200,000 customers.
const MaxImportBody = 16 << 20

// incidentAPI serves incidents, access points and customers' plan prices.
type incidentAPI struct {
	s         *Server
	incidents *postgres.Incidents
	aps       *postgres.AccessPoints
	visits    *postgres.Visits
}

// incidentView is an incident as the API shows it.
type incidentView struct {
	*dispatch.IncidentDetail
	Currency string `json:"currency"`
}

func viewIncident(d *dispatch.IncidentDetail) incidentView {
	return incidentView{IncidentDetail: d, Currency: dispatch.Currency}
}

// parseTime reads an RFC 3339 time given in field; "" is nil.
func parseTime(field, s string) (*time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return nil, dispatch.Invalid(field, "must be an RFC 3339 time such as 2026-11-25T09:30:00-06:00")
	}
	return &t, nil
}

// incidentID resolves the {id} path value: a number or an incident folio.
func (a *incidentAPI) incidentID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	return a.incidents.IDByFolio(r.Context(), v)
}

func (a *incidentAPI) origin(r *http.Request) postgres.Origin {
	return postgres.Origin{User: Actor(r.Context())}
}

// createIncident opens an incident; the open fault reports of its access point attach.
func (a *incidentAPI) createIncident(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		AccessPoint        string `json:"access_point"`
		Title              string `json:"title"`
		StartedAt          string `json:"started_at"`
		EstimatedRestoreAt string `json:"estimated_restore_at"`
		TextAccessPoint    *bool  `json:"text_access_point"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return err
	}
	in := dispatch.IncidentInput{AccessPoint: body.AccessPoint, Title: body.Title, TextAccessPoint: body.TextAccessPoint}
	var err error
	if in.StartedAt, err = parseTime("started_at", body.StartedAt); err != nil {
		return err
	}
	if in.EstimatedRestoreAt, err = parseTime("estimated_restore_at", body.EstimatedRestoreAt); err != nil {
		return err
	}
	inc, err := in.Validate(a.s.now())
	if err != nil {
		return err
	}
	d, err := a.incidents.Open(r.Context(), inc, a.origin(r))
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewIncident(d))
	return nil
}

// listIncidents lists incidents, newest first, without their reports.
func (a *incidentAPI) listIncidents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f postgres.IncidentFilter
	if v := strings.TrimSpace(q.Get("access_point")); v != "" {
		// The rule of the names it is compared with: a NUL broke the query (a 500).
		ap, err := dispatch.NormalizeAccessPoint("access_point", v)
		if err != nil {
			return err
		}
		f.AccessPoint = ap
	}
	switch st := dispatch.IncidentStatus(q.Get("status")); st {
	case "", dispatch.IncidentOpen, dispatch.IncidentResolved:
		f.Status = st
	default:
		return dispatch.Invalid("status", "must be open or resolved")
	}
	list, err := a.incidents.List(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]incidentView, len(list))
	for i := range list {
		items[i] = viewIncident(&list[i])
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// getIncident shows an incident with its reports and what each customer is owed.
func (a *incidentAPI) getIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	d, err := a.incidents.Get(r.Context(), id)
	if err != nil {
		return err
	}
	vs, err := a.visits.ByIncident(r.Context(), id)
	if err != nil {
		return err
	}
	tl, names, err := postgres.IncidentTimeline(r.Context(), a.s.db, id)
	if err != nil {
		return err
	}
	// The detail adds the visits planned for the incident itself, with their status, and
	// the incident's own timeline (its events and its visits'), each step naming the staff
	// user who took it as a report's timeline does (timelineEntry.ActorName).
	type step struct {
		dispatch.Event
		ActorName string `json:"actor_name,omitempty"`
	}
	out := struct {
		incidentView
		Visits   []visitView `json:"visits"`
		Timeline []step      `json:"timeline"`
	}{incidentView: viewIncident(d), Visits: make([]visitView, len(vs)), Timeline: make([]step, len(tl))}
	for i, v := range vs {
		out.Visits[i] = viewVisit(v)
	}
	for i, ev := range tl {
		out.Timeline[i] = step{Event: ev, ActorName: names[ev.ActorUserID]}
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// createIncidentVisit plans a visit for the open incident itself: 201 with the visit, 404
// for an unknown incident, 409 for a resolved one, 422 without lat and lon.
func (a *incidentAPI) createIncidentVisit(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	var in dispatch.NewVisit
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.CheckHorizon(a.s.now()); err != nil {
		return err
	}
	v, err := a.visits.CreateForIncident(r.Context(), id, in, Actor(r.Context()), a.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewVisit(v))
	return nil
}

// incidentCustomers lists the customers an incident affects, with coordinates, for the map.
func (a *incidentAPI) incidentCustomers(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	list, err := a.incidents.Customers(r.Context(), id)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"incident_id": id, "items": list})
	return nil
}

// setEstimate changes the estimated restore time; customers are told of a material change.
func (a *incidentAPI) setEstimate(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	var body struct {
		EstimatedRestoreAt string `json:"estimated_restore_at"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return err
	}
	at, err := parseTime("estimated_restore_at", body.EstimatedRestoreAt)
	if err != nil {
		return err
	}
	d, err := a.incidents.SetEstimate(r.Context(), id, at, a.origin(r), a.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewIncident(d))
	return nil
}

// attachReport attaches one report, by folio, to an open incident.
func (a *incidentAPI) attachReport(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	var body struct {
		Folio string `json:"folio"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Folio) == "" {
		return dispatch.Invalid("folio", "is required")
	}
	d, err := a.incidents.Attach(r.Context(), id, body.Folio, a.origin(r), a.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewIncident(d))
	return nil
}

// resolveIncident resolves the incident and every attached report, computing compensation.
func (a *incidentAPI) resolveIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	var body struct {
		Cause      string `json:"cause"`
		Verdict    string `json:"verdict"`
		RestoredAt string `json:"restored_at"`
		Notes      string `json:"notes"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return err
	}
	res := dispatch.IncidentResolution{Cause: body.Cause, Verdict: body.Verdict, Notes: body.Notes}
	if res.RestoredAt, err = parseTime("restored_at", body.RestoredAt); err != nil {
		return err
	}
	d, err := a.incidents.Resolve(r.Context(), id, res, a.origin(r), a.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewIncident(d))
	return nil
}

// compensationCSV is the billing export of a resolved incident.
func (a *incidentAPI) compensationCSV(w http.ResponseWriter, r *http.Request) error {
	id, err := a.incidentID(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer // whole, so that a failure is still a JSON error
	if err := a.incidents.CompensationCSV(r.Context(), id, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="incident-%d-compensation.csv"`, id))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// linesErrorBody is the contract's error shape with the list of bad lines.
type linesErrorBody struct {
	Error errorDetail          `json:"error"`
	Lines []dispatch.LineError `json:"lines"`
}

// importAccessPoints puts customers on access points from a CSV file: all lines or none.
func (a *incidentAPI) importAccessPoints(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "text/csv" && mt != "application/csv") {
		return &dispatch.Error{Kind: dispatch.KindMalformed, Code: "unsupported_media_type", Message: "Content-Type must be text/csv"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxImportBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return &dispatch.Error{Kind: dispatch.KindTooLarge, Code: "body_too_large", Message: fmt.Sprintf("body is larger than %d bytes", MaxImportBody)}
		}
		return dispatch.Malformed("could not read the body: %v", err)
	}
	rows, err := dispatch.ParseAccessPointCSV(bytes.NewReader(body))
	n := 0
	var le *dispatch.LinesError
	switch {
	case err == nil:
		n, err = a.aps.Import(r.Context(), rows)
	case errors.As(err, &le) && len(rows) > 0:
		// The lines that read well may name unknown customers: one answer lists every bad line.
		more, cerr := a.aps.Check(r.Context(), rows)
		if cerr != nil {
			return cerr
		}
		le.Lines = append(le.Lines, more...)
		sort.SliceStable(le.Lines, func(i, j int) bool { return le.Lines[i].Line < le.Lines[j].Line })
	}
	if errors.As(err, &le) {
		WriteJSON(w, http.StatusUnprocessableEntity, linesErrorBody{
			Error: errorDetail{Code: "invalid_lines", Message: fmt.Sprintf("%d bad lines; nothing was imported", len(le.Lines)), Field: "body"},
			Lines: le.Lines,
		})
		return nil
	}
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]int{"updated": n})
	return nil
}

// listAccessPoints lists the access points customers are on, with their open incident.
func (a *incidentAPI) listAccessPoints(w http.ResponseWriter, r *http.Request) error {
	list, err := a.aps.List(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": list})
	return nil
}

// setCustomerAccessPoint puts one customer on an access point and may set their plan price.
func (a *incidentAPI) setCustomerAccessPoint(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return dispatch.NotFound("customer")
	}
	var body struct {
		AccessPoint string          `json:"access_point"`
		PlanPrice   json.RawMessage `json:"plan_price"`
	}
	if err := DecodeJSON(r, &body); err != nil {
		return err
	}
	ap, err := dispatch.NormalizeAccessPoint("access_point", body.AccessPoint)
	if err != nil {
		return err
	}
	var price *dispatch.Centavos
	if raw := strings.TrimSpace(string(body.PlanPrice)); raw != "" && raw != "null" {
		if strings.HasPrefix(raw, "{") || strings.HasPrefix(raw, "[") || raw == "true" || raw == "false" {
			return dispatch.Invalid("plan_price", "must be an amount in pesos, e.g. 349.00")
		}
		p, err := dispatch.ParseCentavos("plan_price", strings.Trim(raw, `"`))
		if err != nil {
			return err
		}
		price = &p
	}
	c, err := a.aps.Set(r.Context(), id, ap, price)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewCustomer(c))
	return nil
}
