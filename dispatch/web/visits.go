package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/schedule"
)

// visitView is a visit as staff and its technician see it: the contract's fields first.
type visitView struct {
	ID             int64                `json:"id"`
	Status         dispatch.VisitStatus `json:"status"`
	Folio          string               `json:"folio"`
	IncidentID     int64                `json:"incident_id,omitempty"`
	IncidentFolio  string               `json:"incident_folio,omitempty"`
	CustomerName   string               `json:"customer_name"`
	CustomerPhone  string               `json:"customer_phone"`
	Window         *dispatch.Span       `json:"window"`
	TechnicianID   *int64               `json:"technician_id"`
	PlannedArrival *time.Time           `json:"planned_arrival"`
	Version        int                  `json:"version"`

	PlannedStart  *time.Time      `json:"planned_start,omitempty"`
	PlannedEnd    *time.Time      `json:"planned_end,omitempty"`
	PlanDay       string          `json:"plan_day,omitempty"`
	RoutePosition int             `json:"route_position,omitempty"`
	Pinned        bool            `json:"pinned"`
	ETA           *time.Time      `json:"eta,omitempty"`
	AtRisk        bool            `json:"at_risk"`
	DurationMin   int             `json:"duration_min"`
	Skills        []string        `json:"skills"`
	Address       string          `json:"address"`
	Lat           float64         `json:"lat"`
	Lon           float64         `json:"lon"`
	Priority      int             `json:"priority"`
	Urgent        bool            `json:"urgent"`
	Availability  []dispatch.Span `json:"availability"`
	Hold          *dispatch.Span  `json:"hold,omitempty"`
	HeldUntil     *time.Time      `json:"held_until,omitempty"`

	Reason          string `json:"reason,omitempty"`
	Cause           string `json:"cause,omitempty"`
	Verdict         string `json:"verdict,omitempty"`
	ServiceRestored *bool  `json:"service_restored,omitempty"`

	// CarriedOver marks, on a technician's route for today, a stop under way since an
	// earlier day: it does not stop him setting out for today's stops.
	CarriedOver bool `json:"carried_over,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func utcSpan(s *dispatch.Span) *dispatch.Span {
	if s == nil {
		return nil
	}
	return &dispatch.Span{Start: s.Start.UTC(), End: s.End.UTC()}
}

func viewVisit(v *dispatch.Visit) visitView {
	out := visitView{
		ID: v.ID, Status: v.Status, Folio: v.Folio, CustomerName: v.CustomerName, CustomerPhone: v.CustomerPhone, Window: utcSpan(v.Window), PlannedArrival: timePtr(v.PlannedArrival),
		Version: v.Version, PlannedStart: timePtr(v.PlannedStart), PlannedEnd: timePtr(v.PlannedEnd), PlanDay: v.PlanDay,
		RoutePosition: v.RoutePosition, Pinned: v.Pinned, ETA: timePtr(v.ETA), AtRisk: v.AtRisk,
		DurationMin: v.DurationMin, Skills: v.Skills, Address: v.Address, Lat: v.Lat, Lon: v.Lon, Priority: v.Priority,
		Urgent: v.Urgent, Availability: v.Availability, Reason: v.NotDoneReason, Cause: v.Cause, Verdict: v.Verdict,
		ServiceRestored: v.ServiceRestored, IncidentID: v.IncidentID, IncidentFolio: v.IncidentFolio,
	}
	if v.TechnicianID != 0 {
		id := v.TechnicianID
		out.TechnicianID = &id
	}
	if v.Hold != nil && !v.HeldUntil.IsZero() {
		out.Hold, out.HeldUntil = utcSpan(v.Hold), timePtr(v.HeldUntil)
	}
	return out
}

// listVisits lists visits oldest first with filters (status comma list, day, technician,
// unassigned, report, incident, reschedule_requested, to_rebook, missed) and keyset pages, for the dispatch
// board's queues.
func (d *dispatchAPI) listVisits(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := postgres.VisitFilter{After: q.Get("after"), Now: d.s.now()}
	statuses, err := commaList(q, "status", dispatch.ParseVisitStatus)
	if err != nil {
		return err
	}
	f.Statuses = statuses
	if v := q.Get("day"); v != "" {
		day, err := d.visits.Config().ParseDay("day", v)
		if err != nil {
			return err
		}
		f.Day = day
	}
	if v := q.Get("technician"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return dispatch.Invalid("technician", "must be a technician id")
		}
		f.TechnicianID = id
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"unassigned", &f.Unassigned}, {"reschedule_requested", &f.RescheduleRequested}, {"to_rebook", &f.ToRebook}, {"missed", &f.Missed}} {
		switch q.Get(b.name) {
		case "", "false":
		case "true":
			*b.to = true
		default:
			return dispatch.Invalid(b.name, "must be true or false")
		}
	}
	if v := q.Get("report"); v != "" {
		folio, ok := dispatch.ParseFolio(v)
		if !ok {
			return dispatch.Invalid("report", "must be a folio like R-2026-000123")
		}
		f.Folio = folio
	}
	if v := q.Get("incident"); v != "" {
		folio, ok := dispatch.ParseIncidentFolio(v)
		if !ok {
			return dispatch.Invalid("incident", "must be an incident folio like I-2026-000123")
		}
		f.Incident = folio
	}
	if f.Limit, err = pageLimit(q); err != nil {
		return err
	}
	vs, next, err := d.visits.List(r.Context(), f)
	if err != nil {
		return err
	}
	// A listed visit carries its report's deadline, which the board colours by, and the
	// customer's pending request for another time, which puts it in the board's queue.
	type listed struct {
		visitView
		ReportDueAt           *time.Time `json:"report_due_at"`
		ReportSLAState        string     `json:"report_sla_state"`
		RescheduleRequestedAt *time.Time `json:"reschedule_requested_at"`
	}
	out := struct {
		Items []listed `json:"items"`
		Next  string   `json:"next,omitempty"`
	}{Items: make([]listed, len(vs)), Next: next}
	for i, v := range vs {
		out.Items[i] = listed{viewVisit(v.Visit), v.ReportDueAt, string(v.ReportSLAState), v.RescheduleRequestedAt}
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (d *dispatchAPI) createVisit(w http.ResponseWriter, r *http.Request) error {
	var in dispatch.NewVisit
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.CheckHorizon(d.s.now()); err != nil {
		return err
	}
	v, err := d.visits.Create(r.Context(), r.PathValue("folio"), in, Actor(r.Context()), d.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, viewVisit(v))
	return nil
}

// visitFor returns visit {id}; a technician sees only his own visits (others are 404, so
// ids cannot be probed).
func (d *dispatchAPI) visitFor(r *http.Request) (*dispatch.Visit, error) {
	id, err := pathID(r, "visit")
	if err != nil {
		return nil, err
	}
	v, err := d.visits.Get(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := technicianOwns(r.Context(), d.techs.ByUser, v); err != nil {
		return nil, err
	}
	return v, nil
}

// technicianOwns lets staff through and a technician only to his own visit; another's
// visit is 404, as if it did not exist, so ids cannot be probed. byUser finds the
// technician of a user account.
func technicianOwns(ctx context.Context, byUser func(context.Context, int64) (*dispatch.Technician, error), v *dispatch.Visit) error {
	u := Actor(ctx)
	if u == nil || u.Role != dispatch.RoleTechnician {
		return nil
	}
	t, err := byUser(ctx, u.ID)
	if err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
		return err
	}
	if t == nil || t.ID != v.TechnicianID {
		return dispatch.NotFound("visit")
	}
	return nil
}

func (d *dispatchAPI) getVisit(w http.ResponseWriter, r *http.Request) error {
	v, err := d.visitFor(r)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, viewVisit(v))
	return nil
}

func (d *dispatchAPI) slots(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "visit")
	if err != nil {
		return err
	}
	cfg := d.visits.Config()
	now := d.s.now()
	from := cfg.Day(now)
	if q := r.URL.Query().Get("from"); q != "" {
		if from, err = cfg.ParseDay("from", q); err != nil {
			return err
		}
		if err := dispatch.CheckHorizon("from", from, now); err != nil {
			return err
		}
	}
	days := 1
	if q := r.URL.Query().Get("days"); q != "" {
		if days, err = strconv.Atoi(q); err != nil {
			return dispatch.Invalid("days", "must be a whole number 1 to 14")
		}
	}
	ss, err := d.visits.Slots(r.Context(), id, from, days, now)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"slots": ss})
	return nil
}

// visitHandler is the shape shared by the handlers acting on visit {id} with a JSON body:
// the id is read (anything but a positive integer is 404), the body decoded into a T (no
// body is the zero T), act does the work, and the visit as it now stands is the answer.
func visitHandler[T any](act func(r *http.Request, id int64, in T) (*dispatch.Visit, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "visit")
		if err != nil {
			return err
		}
		var in T
		if r.ContentLength != 0 {
			if err := DecodeJSON(r, &in); err != nil {
				return err
			}
		}
		v, err := act(r, id, in)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, viewVisit(v))
		return nil
	}
}

// windowInput is a window as sent to hold or book; a customer booking by himself adds the
// folio's access code (or sends it as ?code=). Force (admins only) books a window outside
// the customer's stated availability.
type windowInput struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
	Code  string     `json:"code"`
	Force bool       `json:"force"`
}

// span is the window given, both ends present and within dispatch.Horizon of now.
func (in windowInput) span(now time.Time) (dispatch.Span, error) {
	if in.Start == nil {
		return dispatch.Span{}, dispatch.Invalid("start", "is required (RFC 3339)")
	}
	if in.End == nil {
		return dispatch.Span{}, dispatch.Invalid("end", "is required (RFC 3339)")
	}
	if err := dispatch.CheckHorizon("start", *in.Start, now); err != nil {
		return dispatch.Span{}, err
	}
	if err := dispatch.CheckHorizon("end", *in.End, now); err != nil {
		return dispatch.Span{}, err
	}
	return dispatch.Span{Start: *in.Start, End: *in.End}, nil
}

func (d *dispatchAPI) hold(r *http.Request, id int64, in windowInput) (*dispatch.Visit, error) {
	win, err := in.span(d.s.now())
	if err != nil {
		return nil, err
	}
	return d.visits.Hold(r.Context(), id, win, d.s.now())
}

// book serves staff and, without a session, the customer holding the folio's access code
// (wrong or missing code: 404, counted towards the lockout of the visit's folio like the
// status page's, codeGate).
func (d *dispatchAPI) book(w http.ResponseWriter, r *http.Request) error {
	u := Actor(r.Context())
	if u != nil && u.Role == dispatch.RoleTechnician {
		return dispatch.Forbidden("technicians do not book visits")
	}
	id, err := pathID(r, "visit")
	if err != nil {
		return err
	}
	if u == nil {
		if err := d.s.limits.public.allow("public-book:" + clientIP(r)); err != nil {
			return err
		}
	}
	var in windowInput
	if err := DecodeJSON(r, &in); err != nil {
		return err
	}
	win, err := in.span(d.s.now())
	if err != nil {
		return err
	}
	if u != nil {
		book := d.visits.Book
		if in.Force {
			book = d.visits.ForceBook
		}
		v, err := book(r.Context(), id, win, u, d.s.now())
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, viewVisit(v))
		return nil
	}
	code := in.Code
	if in.Force {
		return dispatch.Forbidden("only an admin may book outside the customer's availability")
	}
	if code == "" {
		code = r.URL.Query().Get("code")
	}
	v, err := d.visits.Get(r.Context(), id)
	if err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
		return err
	}
	var rep *dispatch.ReportDetail
	if err == nil && v.ReportID == 0 {
		err = dispatch.NotFound("visit") // an incident's own visit has no customer to book it
	}
	// The door is the visit's folio's: its wrong codes count with the status page's.
	ip, door := clientIP(r), "visit "+strconv.FormatInt(id, 10)
	if err == nil {
		door = v.Folio
	}
	if lerr := d.s.limits.codes.check(door, ip); lerr != nil {
		return lerr
	}
	if err == nil {
		if rep, err = d.s.reports.Get(r.Context(), v.Folio); err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
			return err
		}
	}
	if err != nil || code == "" || len(code) > 64 || !rep.Report.CheckAccessCode(code) {
		d.s.limits.codes.fail(door, ip)
		return dispatch.NotFound("visit")
	}
	d.s.limits.codes.opened(door, ip)
	if err := d.offered(r.Context(), v, win, d.s.now()); err != nil {
		return err
	}
	if v, err = d.visits.BookByCustomer(r.Context(), id, win, d.s.now()); err != nil {
		return err
	}
	// The customer sees the window and the technician, not the internals of the plan.
	WriteJSON(w, http.StatusOK, map[string]any{"id": v.ID, "status": v.Status, "folio": v.Folio, "window": utcSpan(v.Window),
		"technician_id": v.TechnicianID, "planned_arrival": timePtr(v.PlannedArrival)})
	return nil
}

// insertUrgent inserts the visit into today's plan at once and marks it urgent, as such an
// insertion is: the answer, and every list and board after it, say so.
func (d *dispatchAPI) insertUrgent(r *http.Request, id int64, _ struct{}) (*dispatch.Visit, error) {
	return d.visits.InsertUrgent(r.Context(), id, Actor(r.Context()), d.s.now())
}

// clearRescheduleRequest clears the customer's pending request for another time, answered
// without a new window (a new window clears it by itself).
func (d *dispatchAPI) clearRescheduleRequest(r *http.Request, id int64, _ struct{}) (*dispatch.Visit, error) {
	return d.visits.ClearRescheduleRequest(r.Context(), id, Actor(r.Context()), d.s.now())
}

// A dispatcher's control names the visit's version he read; the store refuses a missing one
// (422 version) and a stale one (409 stale_version).

func (d *dispatchAPI) assign(r *http.Request, id int64, in postgres.AssignRequest) (*dispatch.Visit, error) {
	if in.TechnicianID <= 0 {
		return nil, dispatch.Invalid("technician_id", "is required")
	}
	return d.visits.Assign(r.Context(), id, in, Actor(r.Context()), d.s.now())
}

func (d *dispatchAPI) move(r *http.Request, id int64, in postgres.MoveRequest) (*dispatch.Visit, error) {
	if in.TechnicianID <= 0 {
		return nil, dispatch.Invalid("technician_id", "is required")
	}
	return d.visits.Move(r.Context(), id, in, Actor(r.Context()), d.s.now())
}

type versionInput struct {
	Version int   `json:"version"`
	Pinned  *bool `json:"pinned"`
}

func (d *dispatchAPI) unassign(r *http.Request, id int64, in versionInput) (*dispatch.Visit, error) {
	return d.visits.Unassign(r.Context(), id, in.Version, Actor(r.Context()), d.s.now())
}

func (d *dispatchAPI) pin(r *http.Request, id int64, in versionInput) (*dispatch.Visit, error) {
	if in.Pinned == nil {
		return nil, dispatch.Invalid("pinned", "is required: true or false")
	}
	return d.visits.SetPinned(r.Context(), id, *in.Pinned, in.Version, Actor(r.Context()), d.s.now())
}

type cancelInput struct {
	Reason string `json:"reason"`
}

func (d *dispatchAPI) cancel(r *http.Request, id int64, in cancelInput) (*dispatch.Visit, error) {
	reason, err := dispatch.CancelReason(in.Reason)
	if err != nil {
		return nil, err
	}
	return d.visits.Cancel(r.Context(), id, reason, Actor(r.Context()), d.s.now())
}

// setStatus records a step of visit {id} and answers the visit as it now stands. With an
// Idempotency-Key header (the tech page sends one per queued step), the same step sent again
// (its answer lost on the way) records nothing and is answered as the first was, 200 with
// Idempotent-Replayed; the same key with another step is refused (422
// idempotency_key_reused). Keys are the user's own: another user's key is another key. A
// technician whose visit was given to another since is answered only what the first answer
// stored (its id and the step), not the visit as the other technician now has it.
func (d *dispatchAPI) setStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "visit")
	if err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var in dispatch.Outcome
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	user := Actor(r.Context())
	var ik *postgres.IdempotencyKey
	if key != "" && user != nil {
		// The request is the visit and the step as decoded: the same step resent is the
		// same request however its JSON is spaced.
		req, err := json.Marshal(struct {
			Visit int64 `json:"visit"`
			dispatch.Outcome
		}{id, in})
		if err != nil {
			return err
		}
		ik = &postgres.IdempotencyKey{Scope: "visit-status:user:" + strconv.FormatInt(user.ID, 10), Key: key, Hash: postgres.RequestHash(req)}
	}
	v, replayed, err := d.visits.SetStatusOnce(r.Context(), id, in, user, d.s.now(), ik)
	if err != nil {
		return err
	}
	if replayed != nil {
		w.Header().Set("Idempotent-Replayed", "true")
		if err := technicianOwns(r.Context(), d.techs.ByUser, v); err != nil {
			if dispatch.ErrorKind(err) != dispatch.KindNotFound {
				return err
			}
			writeRaw(w, replayed.Status, replayed.Body)
			return nil
		}
	}
	WriteJSON(w, http.StatusOK, viewVisit(v))
	return nil
}

func (d *dispatchAPI) dayPlan(w http.ResponseWriter, r *http.Request) error {
	cfg := d.visits.Config()
	day, err := cfg.ParseDay("day", r.PathValue("day"))
	if err != nil {
		return err
	}
	vs, err := d.visits.Day(r.Context(), day)
	if err != nil {
		return err
	}
	routes := map[int64][]visitView{}
	queue := []visitView{}
	for _, v := range vs {
		if v.TechnicianID == 0 {
			queue = append(queue, viewVisit(v))
			continue
		}
		routes[v.TechnicianID] = append(routes[v.TechnicianID], viewVisit(v))
	}
	type route struct {
		TechnicianID int64       `json:"technician_id"`
		Visits       []visitView `json:"visits"`
	}
	out := []route{}
	for _, v := range vs {
		if rs, ok := routes[v.TechnicianID]; ok {
			out = append(out, route{v.TechnicianID, rs})
			delete(routes, v.TechnicianID)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"day": day.Format(time.DateOnly), "routes": out, "unassigned": queue})
	return nil
}

func (d *dispatchAPI) optimize(w http.ResponseWriter, r *http.Request) error {
	cfg := d.visits.Config()
	day, err := cfg.ParseDay("day", r.PathValue("day"))
	if err != nil {
		return err
	}
	var in struct {
		TimeLimitSec float64 `json:"time_limit_s"`
	}
	if r.ContentLength != 0 {
		if err := DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	limit := 5 * time.Second
	if in.TimeLimitSec != 0 {
		if in.TimeLimitSec < 0.1 || in.TimeLimitSec > 30 {
			return dispatch.Invalid("time_limit_s", "must be 0.1 to 30")
		}
		limit = time.Duration(in.TimeLimitSec * float64(time.Second))
	}
	res, err := d.visits.Optimize(r.Context(), day, schedule.Options{TimeLimit: limit, Seed: uint64(d.s.now().UnixNano()), Clock: time.Now}, Actor(r.Context()), d.s.now())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, res)
	return nil
}
