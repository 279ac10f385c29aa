package web

import (
	"errors"
	"net/http"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// technicianInput is a new technician or a patch; in a patch, absent fields stay.
type technicianInput struct {
	Name    *string                 `json:"name"`
	Phone   *string                 `json:"phone"`
	UserID  *int64                  `json:"user_id"`
	Skills  []string                `json:"skills"`
	Home    *homeInput              `json:"home"`
	Shifts  *[]dispatch.WeeklyShift `json:"shifts"`
	Active  *bool                   `json:"active"`
	Version int                     `json:"version"`
}

// homeInput is a home base as sent. Its coordinates come together: one alone decoded to
// the other at 0, a home on the equator or the Greenwich meridian, and was stored.
type homeInput struct {
	Lat *float64 `json:"lat"`
	Lon *float64 `json:"lon"`
}

// latLon is the home's point: (0,0) when neither coordinate is given, which
// Technician.Validate refuses.
func (h *homeInput) latLon() (dispatch.LatLon, error) {
	switch {
	case h.Lat == nil && h.Lon == nil:
		return dispatch.LatLon{}, nil
	case h.Lat == nil:
		return dispatch.LatLon{}, dispatch.Invalid("home.lat", "is required with lon")
	case h.Lon == nil:
		return dispatch.LatLon{}, dispatch.Invalid("home.lon", "is required with lat")
	}
	return dispatch.LatLon{Lat: *h.Lat, Lon: *h.Lon}, nil
}

func (in *technicianInput) apply(t *dispatch.Technician) error {
	if in.Name != nil {
		t.Name = *in.Name
	}
	if in.Phone != nil {
		t.Phone = *in.Phone
	}
	if in.UserID != nil {
		t.UserID = *in.UserID
	}
	if in.Skills != nil {
		t.Skills = in.Skills
	}
	if in.Home != nil {
		home, err := in.Home.latLon()
		if err != nil {
			return err
		}
		t.Home = home
	}
	if in.Shifts != nil {
		t.Shifts = *in.Shifts
	}
	if in.Active != nil {
		t.Active = *in.Active
	}
	return nil
}

func (d *dispatchAPI) createTechnician(w http.ResponseWriter, r *http.Request) error {
	var in technicianInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Home == nil {
		return dispatch.Invalid("home", "is required: {\"lat\",\"lon\"}")
	}
	t := &dispatch.Technician{}
	if err := in.apply(t); err != nil {
		return err
	}
	if err := d.techs.Create(r.Context(), t, Actor(r.Context())); err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, t)
	return nil
}

// technicianView is a technician as the API answers: his last position carries its age by
// the server's clock (age_s), so that a page tells an old position from a live one without
// trusting the browser's clock (which may be wrong, and is not the test's fixed clock).
type technicianView struct {
	*dispatch.Technician
	Position *positionView `json:"position,omitempty"`
}

// positionView is a position with its age in whole seconds at the server's now; a
// position taken a little ahead of it (a phone's clock runs fast) is 0 s old.
type positionView struct {
	dispatch.Position
	AgeS int64 `json:"age_s"`
}

func viewTechnician(t *dispatch.Technician, now time.Time) technicianView {
	v := technicianView{Technician: t}
	if p := t.Position; p != nil {
		v.Position = &positionView{Position: *p, AgeS: int64(max(now.Sub(p.At), 0) / time.Second)}
	}
	return v
}

func (d *dispatchAPI) listTechnicians(w http.ResponseWriter, r *http.Request) error {
	ts, err := d.techs.List(r.Context(), r.URL.Query().Get("active") == "true")
	if err != nil {
		return err
	}
	now := d.s.now()
	out := make([]technicianView, len(ts))
	for i, t := range ts {
		out[i] = viewTechnician(t, now)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"technicians": out})
	return nil
}

// technicianFor returns technician {id}, which a technician may only ask about himself.
func (d *dispatchAPI) technicianFor(r *http.Request) (*dispatch.Technician, error) {
	id, err := pathID(r, "technician")
	if err != nil {
		return nil, err
	}
	t, err := d.techs.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if u := Actor(r.Context()); u != nil && u.Role == dispatch.RoleTechnician && t.UserID != u.ID {
		return nil, dispatch.Forbidden("a technician may only act as himself")
	}
	return t, nil
}

// techHandler is the shape shared by the handlers acting on technician {id} with a JSON
// body: he is loaded (see technicianFor), the body decoded into a T (no body is the zero T),
// and act answers.
func techHandler[T any](d *dispatchAPI, act func(w http.ResponseWriter, r *http.Request, t *dispatch.Technician, in T) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := d.technicianFor(r)
		if err != nil {
			return err
		}
		var in T
		if r.ContentLength != 0 {
			if err := DecodeJSON(r, &in); err != nil {
				return err
			}
		}
		return act(w, r, t, in)
	}
}

func (d *dispatchAPI) getTechnician(w http.ResponseWriter, r *http.Request) error {
	t, err := d.technicianFor(r)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewTechnician(t, d.s.now()))
	return nil
}

func (d *dispatchAPI) patchTechnician(w http.ResponseWriter, r *http.Request, t *dispatch.Technician, in technicianInput) error {
	if in.Version == 0 {
		return dispatch.Invalid("version", "is required: the version you read")
	}
	if err := in.apply(t); err != nil {
		return err
	}
	t.Version = in.Version
	res, err := d.visits.UpdateTechnician(r.Context(), t, Actor(r.Context()), d.s.now())
	if err != nil {
		return err
	}
	// A change to what he can do re-planned his upcoming days: the dispatcher sees the list.
	WriteJSON(w, http.StatusOK, struct {
		technicianView
		Replan *postgres.ReplanResult `json:"replan,omitempty"`
	}{viewTechnician(t, d.s.now()), res})
	return nil
}

// exceptionInput is an exception or an unavailability: from/until are accepted as aliases
// of start/end, one name a bound (both are refused: see names). The bounds are pointers so
// that an error can name a bound as the client sent it, or left it out.
type exceptionInput struct {
	Start  *time.Time `json:"start"`
	End    *time.Time `json:"end"`
	From   *time.Time `json:"from"`
	Until  *time.Time `json:"until"`
	Reason string     `json:"reason"`
	Note   string     `json:"note"`
}

// spanNames are the names a client gave an exception's bounds in its body.
type spanNames struct{ start, end string }

// twice refuses a body that gives a bound under both its names (start and from, end and
// until): one of the two would be dropped without a word, and a client that meant the
// other would record an absence it never asked for.
func (in exceptionInput) twice() error {
	if in.Start != nil && in.From != nil {
		return dispatch.Invalid("from", "give the start as start or as from, not both")
	}
	if in.End != nil && in.Until != nil {
		return dispatch.Invalid("until", "give the end as end or as until, not both")
	}
	return nil
}

// exception returns the exception in describes and the names of its bounds as the client
// sent them. A bound left out is named as its pair was (from for an until sent alone), or
// as def names it when neither was sent: the endpoint's documented name.
func (in exceptionInput) exception(def spanNames) (dispatch.Exception, spanNames) {
	e := dispatch.Exception{Reason: in.Reason, Note: in.Note}
	var startAs, endAs string
	switch {
	case in.Start != nil:
		e.Start, startAs = *in.Start, "start"
	case in.From != nil:
		e.Start, startAs = *in.From, "from"
	}
	switch {
	case in.End != nil:
		e.End, endAs = *in.End, "end"
	case in.Until != nil:
		e.End, endAs = *in.Until, "until"
	}
	n := def
	switch {
	case startAs != "" && endAs != "":
		n = spanNames{startAs, endAs}
	case startAs == "start", endAs == "end":
		n = spanNames{"start", "end"}
	case startAs == "from", endAs == "until":
		n = spanNames{"from", "until"}
	}
	return e, n
}

// name renames the field of an invalid-value error about a bound of the exception (the
// domain and the store call them start and end, and the store's unavailability bound
// until) to the name the client gave it; other errors pass unchanged.
func (n spanNames) name(err error) error {
	var de *dispatch.Error
	if !errors.As(err, &de) || de.Kind != dispatch.KindInvalid {
		return err
	}
	to := ""
	switch de.Field {
	case "start":
		to = n.start
	case "end", "until":
		to = n.end
	}
	if to == "" || to == de.Field {
		return err
	}
	c := *de
	if c.Code == "invalid_"+c.Field {
		c.Code = "invalid_" + to
	}
	c.Field = to
	return &c
}

// checkHorizon refuses an exception that begins more than dispatch.Horizon from now (one
// lasts at most a year, Exception.Validate, so its end is bounded too). A missing start is
// left for Validate to name.
func checkHorizon(e dispatch.Exception, now time.Time) error {
	if e.Start.IsZero() {
		return nil
	}
	return dispatch.CheckHorizon("start", e.Start, now)
}

// addException records an exception; its body names the span start and end (the admin
// page's), from and until accepted.
func (d *dispatchAPI) addException(w http.ResponseWriter, r *http.Request, t *dispatch.Technician, in exceptionInput) error {
	if err := in.twice(); err != nil {
		return err
	}
	e, names := in.exception(spanNames{"start", "end"})
	if err := checkHorizon(e, d.s.now()); err != nil {
		return names.name(err)
	}
	res, err := d.visits.AddTimeOff(r.Context(), t.ID, e, Actor(r.Context()), d.s.now())
	if err != nil {
		return names.name(err)
	}
	WriteJSON(w, http.StatusCreated, res)
	return nil
}

func (d *dispatchAPI) listExceptions(w http.ResponseWriter, r *http.Request) error {
	t, err := d.technicianFor(r)
	if err != nil {
		return err
	}
	cfg := d.visits.Config()
	from, to := cfg.Day(d.s.now()), cfg.Day(d.s.now()).AddDate(0, 0, 30)
	if q := r.URL.Query().Get("from"); q != "" {
		if from, err = cfg.ParseDay("from", q); err != nil {
			return err
		}
	}
	if q := r.URL.Query().Get("to"); q != "" {
		if to, err = cfg.ParseDay("to", q); err != nil {
			return err
		}
	}
	es, err := d.techs.Exceptions(r.Context(), t.ID, from, to)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"exceptions": es})
	return nil
}

// markUnavailable marks a technician unavailable; its body names the span from and until
// (start and end accepted), from defaulting to now.
func (d *dispatchAPI) markUnavailable(w http.ResponseWriter, r *http.Request, t *dispatch.Technician, in exceptionInput) error {
	if err := in.twice(); err != nil {
		return err
	}
	e, names := in.exception(spanNames{"from", "until"})
	if e.Start.IsZero() {
		e.Start = d.s.now()
	}
	if err := checkHorizon(e, d.s.now()); err != nil {
		return names.name(err)
	}
	res, err := d.visits.MarkUnavailable(r.Context(), t.ID, e, Actor(r.Context()), d.s.now())
	if err != nil {
		return names.name(err)
	}
	WriteJSON(w, http.StatusOK, res)
	return nil
}

// positionInput is a position a technician shares; at defaults to now.
type positionInput struct {
	Lat *float64   `json:"lat"`
	Lon *float64   `json:"lon"`
	At  *time.Time `json:"at"`
}

// postPosition stores where the technician is; the store refuses a position taken off shift
// (409 off_shift, see postgres.Visits.UpdatePosition), judged by when it was taken.
func (d *dispatchAPI) postPosition(w http.ResponseWriter, r *http.Request, t *dispatch.Technician, in positionInput) error {
	// The body is the point: its fields are lat and lon, named alone.
	if in.Lat == nil {
		return dispatch.Invalid("lat", "is required")
	}
	if in.Lon == nil {
		return dispatch.Invalid("lon", "is required")
	}
	now := d.s.now()
	p := dispatch.Position{Lat: *in.Lat, Lon: *in.Lon, At: now}
	if in.At != nil {
		if in.At.After(now.Add(time.Minute)) || in.At.Before(now.Add(-time.Hour)) {
			return dispatch.Invalid("at", "must be within the last hour")
		}
		p.At = *in.At
	}
	if err := (dispatch.LatLon{Lat: p.Lat, Lon: p.Lon}).Validate(""); err != nil {
		return err
	}
	if err := d.visits.UpdatePosition(r.Context(), t.ID, p, now); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *dispatchAPI) technicianRoute(w http.ResponseWriter, r *http.Request) error {
	t, err := d.technicianFor(r)
	if err != nil {
		return err
	}
	cfg := d.visits.Config()
	day := cfg.Day(d.s.now())
	if q := r.URL.Query().Get("day"); q != "" {
		if day, err = cfg.ParseDay("day", q); err != nil {
			return err
		}
	}
	out := []visitView{}
	listed := map[int64]bool{}
	if day.Equal(cfg.Day(d.s.now())) {
		// Today's route opens with any stop still under way from an earlier day (he set out
		// late and the day turned): it is on no later day's route, and he must still be
		// able to finish it.
		carried, err := d.visits.UnderWayBefore(r.Context(), t.ID, day)
		if err != nil {
			return err
		}
		for _, v := range carried {
			vv := viewVisit(v)
			vv.CarriedOver = true
			out = append(out, vv)
			listed[v.ID] = true
		}
	}
	vs, err := d.visits.TechnicianDay(r.Context(), t.ID, day)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if !listed[v.ID] {
			out = append(out, viewVisit(v))
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"technician_id": t.ID, "day": day.Format(time.DateOnly), "visits": out})
	return nil
}
