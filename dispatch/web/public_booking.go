package web

import (
	"net/http"
	"strconv"

	"despacho/dispatch"
)

// publicBookingRoutes registers the customer's side of re-booking, which the booking page
// (the SMS link /estado/{folio}/horario?code=) calls: the windows the plan can keep for the
// folio's current visit, and booking one. Both go through the status page's door
// (openFolio: lockout, public rate limit, the same 404 for an unknown folio and a wrong
// code), so the customer never needs the visit's id.
func (d *dispatchAPI) publicBookingRoutes() {
	d.s.Handle(http.MethodGet, "/public/reports/{folio}/slots", Anyone, "Windows the plan can keep for the folio's current visit (?code=, ?days= 1–14, default 7), for its customer.", d.publicSlots)
	d.s.Handle(http.MethodPost, "/public/reports/{folio}/book", Anyone, "The customer books one of those windows for the folio's current visit (?code=); 409 when it can no longer be kept.", d.publicBook)
}

// currentVisit is the folio's visit a customer may move: its latest one that is not
// cancelled. A report without one is a conflict (no_visit), not a 404: the code was right.
func (d *dispatchAPI) currentVisit(r *http.Request) (*dispatch.Visit, error) {
	rep, err := d.s.openFolio(r)
	if err != nil {
		return nil, err
	}
	vs, err := d.visits.ByReport(r.Context(), rep.Report.ID)
	if err != nil {
		return nil, err
	}
	v := latestVisit(vs)
	if v == nil {
		return nil, dispatch.Conflict("no_visit", "this report has no visit to book")
	}
	return v, nil
}

func (d *dispatchAPI) publicSlots(w http.ResponseWriter, r *http.Request) error {
	days := 7
	if q := r.URL.Query().Get("days"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > 14 {
			return dispatch.Invalid("days", "must be a whole number 1 to 14")
		}
		days = n
	}
	v, err := d.currentVisit(r)
	if err != nil {
		return err
	}
	now := d.s.now()
	ss, err := d.visits.Slots(r.Context(), v.ID, d.visits.Config().Day(now), days, now)
	if err != nil {
		return err
	}
	if ss == nil {
		ss = []dispatch.Span{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"slots": ss})
	return nil
}

func (d *dispatchAPI) publicBook(w http.ResponseWriter, r *http.Request) error {
	v, err := d.currentVisit(r)
	if err != nil {
		return err
	}
	var win windowInput
	if err := DecodeJSON(r, &win); err != nil {
		return err
	}
	if win.Force {
		return dispatch.Forbidden("only an admin may book outside the customer's availability")
	}
	span, err := win.span()
	if err != nil {
		return err
	}
	if v, err = d.visits.BookByCustomer(r.Context(), v.ID, span, d.s.now()); err != nil {
		return err
	}
	// As POST /api/visits/{id}/book answers a customer: the window, not the plan's internals.
	WriteJSON(w, http.StatusOK, map[string]any{"id": v.ID, "status": v.Status, "folio": v.Folio, "window": utcSpan(v.Window),
		"technician_id": v.TechnicianID, "planned_arrival": timePtr(v.PlannedArrival)})
	return nil
}
