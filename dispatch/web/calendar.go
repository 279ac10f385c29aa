package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
	"despacho/dispatch/sla"
)

// calendarView is the business calendar as the API shows it: the document admins edit
// (weekly hours, dated exceptions) with the version of the stored calendar it is, the
// business zone (not editable here: TZ_BUSINESS), and what is closed in one year.
type calendarView struct {
	sla.CalendarDocument
	Version  int64         `json:"version"`
	TimeZone string        `json:"time_zone"`
	Year     int           `json:"year"`
	Closures []closureView `json:"closures"`
}

// closureView is one date of the year that is closed all day or has special hours: a
// statutory holiday (read-only; an exception on its date overrides it) or an exception.
type closureView struct {
	Date   string              `json:"date"`
	Name   string              `json:"name"`
	Closed bool                `json:"closed"`
	Hours  []sla.HoursDocument `json:"hours,omitempty"`
	// Source is "statutory" (the Ley Federal del Trabajo's rest days) or "exception".
	Source string `json:"source"`
	// Replaces names the statutory holiday an exception on the same date overrides.
	Replaces string `json:"replaces,omitempty"`
}

func viewCalendar(cal *sla.Calendar, version int64, year int) calendarView {
	v := calendarView{CalendarDocument: cal.Document(), Version: version, TimeZone: cal.Location().String(), Year: year, Closures: []closureView{}}
	for _, c := range cal.Closures(year) {
		cv := closureView{Date: c.Date.String(), Name: c.Name, Closed: len(c.Hours) == 0, Source: "exception", Replaces: c.Replaces}
		if c.Yearly {
			cv.Source = "statutory"
		}
		for _, h := range c.Hours {
			cv.Hours = append(cv.Hours, sla.HoursDocument{Open: h.Open.String(), Close: h.Close.String()})
		}
		v.Closures = append(v.Closures, cv)
	}
	return v
}

// calendarYear is the ?year= whose closures to list, or 0 for this year in the business
// zone.
func calendarYear(r *http.Request) (int, error) {
	q := r.URL.Query().Get("year")
	if q == "" {
		return 0, nil
	}
	y, err := strconv.Atoi(q)
	if err != nil || y < sla.MinExceptionYear || y > sla.MaxExceptionYear {
		return 0, dispatch.Invalid("year", "must be a year from %d to %d", sla.MinExceptionYear, sla.MaxExceptionYear)
	}
	return y, nil
}

// getCalendar returns the business calendar new reports are filed under, read from the
// database, with its version and the closures of ?year= (default: this year).
func (s *Server) getCalendar(w http.ResponseWriter, r *http.Request) error {
	year, err := calendarYear(r)
	if err != nil {
		return err
	}
	cal, v, err := s.reports.Calendar().Get(r.Context())
	if err != nil {
		return err
	}
	if year == 0 {
		year = s.now().In(cal.Location()).Year()
	}
	WriteJSON(w, http.StatusOK, viewCalendar(cal, v, year))
	return nil
}

// putCalendar replaces the weekly hours and the exceptions at once. The body must name the
// version it read (409 version_required without one, 409 stale_version when another admin
// saved since), so that a save never undoes another's unseen; a field the document does
// not have is 422 (the read-only fields GET adds may come back and are ignored), as is every
// bad value, named by its path (week.monday[1].close,
// exceptions[3].date), and then nothing is stored. Reports filed from now on get the new
// calendar; reports already filed keep their due times (see BusinessCalendar.Replace).
func (s *Server) putCalendar(w http.ResponseWriter, r *http.Request) error {
	year, err := calendarYear(r)
	if err != nil {
		return err
	}
	var in struct {
		sla.CalendarDocument
		Version *int64 `json:"version"`
		// What GET adds may come back with the document (a client that edits what it
		// read); it is not stored. The zone is TZ_BUSINESS's: another one is refused.
		TimeZone *string         `json:"time_zone"`
		Year     json.RawMessage `json:"year"`
		Closures json.RawMessage `json:"closures"`
	}
	if err := DecodeJSONStrict(r, &in); err != nil {
		return err
	}
	if in.TimeZone != nil && *in.TimeZone != s.reports.Calendar().Zone().String() {
		return dispatch.Invalid("time_zone", "is the business zone set by TZ_BUSINESS (%s); it cannot be changed here", s.reports.Calendar().Zone())
	}
	if in.Version == nil {
		return &dispatch.Error{Kind: dispatch.KindConflict, Code: "version_required", Field: "version",
			Message: "name the version you read (GET /api/calendar), so that a save never undoes another admin's unseen"}
	}
	if *in.Version < 1 {
		return dispatch.Invalid("version", "must be the version you read (1 or more)")
	}
	cal, v, err := s.reports.Calendar().Replace(r.Context(), in.CalendarDocument, *in.Version, postgres.Origin{User: Actor(r.Context())}, s.now())
	if err != nil {
		return err
	}
	if year == 0 {
		year = s.now().In(cal.Location()).Year()
	}
	WriteJSON(w, http.StatusOK, viewCalendar(cal, v, year))
	return nil
}
