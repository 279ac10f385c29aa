package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

// publicBookingRoutes registers the customer's side of re-booking, which the booking page
// (the SMS link /estado/{folio}/horario?code=) calls: the windows the plan can keep for the
// folio's current visit, and booking one. Both go through the status page's door
// (openFolio: lockout, public rate limit, the same 404 for an unknown folio and a wrong
// code), so the customer never needs the visit's id.
func (d *dispatchAPI) publicBookingRoutes() {
	d.s.Handle(http.MethodGet, "/public/reports/{folio}/slots", Anyone, "Windows the plan can keep for the folio's current visit (?code=, ?days= 1–14, default 7), for its customer.", d.publicSlots)
	d.s.Handle(http.MethodPost, "/public/reports/{folio}/book", Anyone, "The customer books one of those windows for the folio's current visit (?code=); 409 when it is not one offered now.", d.publicBook)
}

// currentVisit is the folio's visit a customer may move, as postgres.RebookableOnline
// decides (the rule the SMS answer to "another time" links this page by): its latest one
// that is not cancelled, while that rule holds. A report without one, or whose visit the
// rule refuses, is a conflict (no_visit, illegal_transition, held_by_incident,
// report_closed, open_visit), not a 404: the code was right.
func (d *dispatchAPI) currentVisit(r *http.Request) (*dispatch.Visit, error) {
	rep, err := d.s.openFolio(r)
	if err != nil {
		return nil, err
	}
	return postgres.RebookableOnline(r.Context(), d.s.db, rep.Report.ID)
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
	span, err := win.span(d.s.now())
	if err != nil {
		return err
	}
	if err := d.offered(r.Context(), v, span, d.s.now()); err != nil {
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

// offered refuses a window a customer asks for that the plan does not offer visit v now:
// he picks one of the windows the slots list, not a time of his own. The store keeps any
// window inside business hours that the plan can keep, which staff need (a time agreed on
// the phone); from a customer, an exact arrival at 10:17 would bind the technician's day,
// and every re-plan after it, to a promise nobody offered. The window's shape is checked
// as the store checks it first, so a malformed one is still invalid (422), not a conflict.
func (d *dispatchAPI) offered(ctx context.Context, v *dispatch.Visit, w dispatch.Span, now time.Time) error {
	cfg := d.visits.Config()
	if err := cfg.CheckWindow(w, v.Duration(), now); err != nil {
		return err
	}
	ss, err := d.visits.Slots(ctx, v.ID, cfg.Day(w.Start), 1, now)
	if err != nil {
		return err
	}
	for _, s := range ss {
		if s.Start.Equal(w.Start) && s.End.Equal(w.End) {
			return nil
		}
	}
	return dispatch.Conflict("window_unavailable", "the window is not one of those offered for this visit now; ask for the windows again")
}
