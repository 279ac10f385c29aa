package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"despacho/dispatch"
	"despacho/dispatch/postgres"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

// publicReportInput is what the public web form sends: no access point, price or channel.
type publicReportInput struct {
	Customer struct {
		Name     string `json:"name"`
		Phone    string `json:"phone"`
		Email    string `json:"email"`
		Language string `json:"language"`
	} `json:"customer"`
	Address *struct {
		Line string `json:"line"`
	} `json:"address"`
	Kind        string `json:"kind"`
	Subject     string `json:"subject"`
	Description string `json:"description"`
}

type publicCreated struct {
	Folio      string `json:"folio"`
	AccessCode string `json:"access_code"`
}

// publicReportScope is the idempotency scope of the public form. It is one for every
// sender, not one per client address: a phone that lost its signal usually comes back
// through another address (Wi-Fi to mobile data). A key opens a stored answer, which
// holds an access code, only together with the same report (as decoded, see reportKey),
// and publicKey refuses keys short enough to be guessed.
const publicReportScope = "public:report"

// publicKey validates the public form's Idempotency-Key: as idempotencyKey, and at least
// 16 characters (the form draws 32 random hex digits).
func publicKey(r *http.Request) (string, error) {
	k, err := idempotencyKey(r)
	if err != nil || k == "" {
		return k, err
	}
	if len(k) < 16 {
		return "", dispatch.Invalid("Idempotency-Key", "must be at least 16 characters")
	}
	return k, nil
}

// createPublicReport files a report from the public web form, rate limited per client
// address. It answers the folio and the access code the customer follows it with; it never
// changes a customer already on file. With an Idempotency-Key header (the form sends it
// again after a lost connection), a retry of the same request gets the first answer again
// and files, texts and counts against the number's hourly bound nothing, even once the
// number reached it; the same key with another request is refused (422).
func (s *Server) createPublicReport(w http.ResponseWriter, r *http.Request) error {
	if err := s.limits.public.allow("public-report:" + clientIP(r)); err != nil {
		return err
	}
	key, err := publicKey(r)
	if err != nil {
		return err
	}
	var p publicReportInput
	if err := DecodeJSON(r, &p); err != nil {
		return err
	}
	in := dispatch.ReportInput{
		Channel: string(dispatch.ChannelWeb), Kind: p.Kind, Subject: p.Subject, Description: p.Description,
		Customer: dispatch.CustomerInput{Name: p.Customer.Name, Phone: p.Customer.Phone, Email: p.Customer.Email, Language: p.Customer.Language},
	}
	if p.Address != nil {
		in.Address = &dispatch.AddressInput{Line: p.Address.Line}
	}
	var ik *postgres.IdempotencyKey
	if key != "" {
		// The same report as the staff's form compares (reportKey): a form that serialises
		// it again, its keys in another order, is the same request.
		if ik, err = reportKey(publicReportScope, key, in); err != nil {
			return err
		}
		// A retry of a report already filed is answered before the number's hourly bound
		// is counted: its answer may be the very one that reached the bound, lost on the
		// way to a phone out of signal, and the customer would never learn his folio. It
		// files and texts nothing, so it needs no place; a new key is no retry and counts.
		// The per-address bound above still counts it: it bounds these lookups, and lasts
		// a minute, not an hour.
		a, err := postgres.StoredAnswer(r.Context(), s.db, ik)
		if err == nil {
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, a.Status, a.Body)
			return nil
		}
		if dispatch.ErrorKind(err) != dispatch.KindNotFound {
			return err
		}
	}
	nr, err := in.Validate(s.now())
	if err != nil {
		return err
	}
	// Each report texts its folio to the phone given, which the form cannot verify: without
	// a bound per number, the form would text anyone's phone 30 times a minute from each
	// address. The place is taken before the report is written, so that submissions sent
	// together cannot all pass, and given back when it is not written.
	phoneKey := ""
	if nr.Customer.Phone != "" {
		phoneKey = "public-report-phone:" + nr.Customer.Phone
		if err := s.limits.publicPhone.allow(phoneKey); err != nil {
			// Its Retry-After is the bound's: when the number may file again, as every 429 says.
			e := &dispatch.Error{Kind: dispatch.KindRateLimited, Code: "phone_report_limit", Field: "customer.phone",
				Message: fmt.Sprintf("this number filed %d reports within the hour; follow them with their folios, or call us", publicReportsPerPhone)}
			if rl := (*dispatch.Error)(nil); errors.As(err, &rl) {
				e.RetryAfter = rl.RetryAfter
			}
			return e
		}
	}
	var opts postgres.CreateOptions
	if ik != nil {
		opts.Key = ik
		opts.Answer = func(c *postgres.Created) (int, any) {
			return http.StatusCreated, publicCreated{Folio: c.Report.Folio, AccessCode: c.AccessCode}
		}
	}
	created, answer, err := s.reports.Create(r.Context(), nr, postgres.Origin{Actor: "customer"}, opts)
	if err != nil || (answer != nil && answer.Replayed) {
		// Nothing was filed: the place taken for the number is given back.
		if phoneKey != "" {
			s.limits.publicPhone.undo(phoneKey)
		}
	}
	if err != nil {
		return err
	}
	if answer != nil {
		if answer.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeRaw(w, answer.Status, answer.Body)
		return nil
	}
	WriteJSON(w, http.StatusCreated, publicCreated{Folio: created.Report.Folio, AccessCode: created.AccessCode})
	return nil
}

// publicStatus is what a customer holding the access code sees: no internal notes, no
// customer data, no staff names.
type publicStatus struct {
	Folio      string          `json:"folio"`
	Status     dispatch.Status `json:"status"`
	Kind       string          `json:"kind"`
	Subject    string          `json:"subject"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	DueAt      *time.Time      `json:"due_at"`
	Resolution *struct {
		Cause             string     `json:"cause"`
		Verdict           string     `json:"verdict"`
		ServiceRestored   *bool      `json:"service_restored"`
		ServiceRestoredAt *time.Time `json:"service_restored_at,omitempty"`
	} `json:"resolution"`
	Timeline []publicStep `json:"timeline"`
	// Visit is the report's current visit (the latest one not cancelled); absent when none.
	Visit *publicVisit `json:"visit,omitempty"`
	// CanRebook says whether the booking page would take that visit now
	// (postgres.RebookableOnline, the rule the SMS answer to "another time" links it by):
	// the status page offers its button only then.
	CanRebook bool `json:"can_rebook"`
	// Incident is the mass outage in the customer's area the report is attached to, as he
	// may see it (postgres.PublicOutage); absent when none.
	Incident *publicIncident `json:"incident,omitempty"`
	// Compensation is what the customer is owed for that outage, computed when it was
	// resolved (kept if the report was reopened since); absent when nothing is owed.
	Compensation *publicCompensation `json:"compensation,omitempty"`
}

// publicIncident is a mass outage as a customer whose report is attached to it sees it.
type publicIncident struct {
	Folio     string                  `json:"folio"`
	Title     string                  `json:"title"`
	Status    dispatch.IncidentStatus `json:"status"`
	StartedAt time.Time               `json:"started_at"`
	// EstimatedRestoreAt is the estimate customers were told, while the outage lasts.
	EstimatedRestoreAt *time.Time `json:"estimated_restore_at,omitempty"`
	RestoredAt         *time.Time `json:"restored_at,omitempty"`
}

// publicCompensation is the amount a customer is owed for an outage, and the outage it pays.
type publicCompensation struct {
	Amount      dispatch.Centavos `json:"amount"`
	Currency    string            `json:"currency"`
	OutageStart time.Time         `json:"outage_start"`
	OutageEnd   time.Time         `json:"outage_end"`
}

// publicVisit is what a customer sees of a visit: when and who (first name only), never
// the technician's position or other customers.
type publicVisit struct {
	Status         dispatch.VisitStatus `json:"status"`
	Window         *dispatch.Span       `json:"window"`
	ETA            *time.Time           `json:"eta"`
	PlannedArrival *time.Time           `json:"planned_arrival"`
	TechnicianName string               `json:"technician_name,omitempty"`
}

type publicStep struct {
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
	Status string    `json:"status,omitempty"`
}

// publicEventTypes are the events a customer may see on the status page.
var publicEventTypes = map[string]bool{
	dispatch.EventReportCreated: true, dispatch.EventReportStatusChanged: true, dispatch.EventReportResolved: true,
	dispatch.EventReportClosed: true, dispatch.EventReportCancelled: true, dispatch.EventReportReopened: true,
	// The outage notices he was texted.
	dispatch.EventReportAttached: true, dispatch.EventReportIncidentEstimate: true,
}

// openFolio is the customer's door to the report named by the path's folio and the
// ?code= access code, shared by the status page, its live feed and the booking page: an
// address locked out of the folio, or any address but the customer's once the folio is
// locked, is refused (429) before the code is looked at (codeGate); every attempt counts
// against the public rate limit; a wrong code counts towards the lockout and gets the
// same 404 as an unknown folio.
func (s *Server) openFolio(r *http.Request) (*dispatch.ReportDetail, error) {
	ip, folio := clientIP(r), r.PathValue("folio")
	if err := s.limits.codes.check(folio, ip); err != nil {
		return nil, err
	}
	if err := s.limits.public.allow("public-status:" + ip); err != nil {
		return nil, err
	}
	code := r.URL.Query().Get("code")
	d, err := s.reports.Get(r.Context(), folio)
	if err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
		return nil, err
	}
	if err != nil || len(code) > 64 || !d.Report.CheckAccessCode(code) {
		s.limits.codes.fail(folio, ip)
		return nil, dispatch.NotFound("report")
	}
	s.limits.codes.opened(folio, ip)
	return d, nil
}

// publicReport shows a report's status to the holder of its access code. An unknown folio
// and a wrong code get the same 404; ten wrong codes for a folio lock the client address
// out of it for a while (429), thirty from any addresses lock the folio for all but its
// customer's (codeGate), and every lookup counts against the public rate limit.
func (s *Server) publicReport(w http.ResponseWriter, r *http.Request) error {
	d, err := s.openFolio(r)
	if err != nil {
		return err
	}
	rep := d.Report
	out := publicStatus{Folio: rep.Folio, Status: rep.Status, Kind: string(rep.Kind), Subject: rep.Subject,
		CreatedAt: rep.CreatedAt, UpdatedAt: rep.UpdatedAt, DueAt: rep.DueAt, Timeline: []publicStep{}}
	if rep.Verdict != "" && (rep.Status == dispatch.StatusResolved || rep.Status == dispatch.StatusClosed) {
		out.Resolution = &struct {
			Cause             string     `json:"cause"`
			Verdict           string     `json:"verdict"`
			ServiceRestored   *bool      `json:"service_restored"`
			ServiceRestoredAt *time.Time `json:"service_restored_at,omitempty"`
		}{rep.Cause, string(rep.Verdict), rep.ServiceRestored, rep.ServiceRestoredAt}
	}
	status := dispatch.StatusOpen
	for _, ev := range d.Timeline {
		if !publicEventTypes[ev.Type] {
			continue
		}
		if to := eventTo(ev); to != "" {
			status = dispatch.Status(to)
		}
		out.Timeline = append(out.Timeline, publicStep{Type: ev.Type, At: ev.At, Status: string(status)})
	}
	if out.Visit, err = s.publicVisitOf(r.Context(), rep.ID); err != nil {
		return err
	}
	if out.CanRebook, err = postgres.CanRebookOnline(r.Context(), s.db, rep.ID); err != nil {
		return err
	}
	if out.Incident, out.Compensation, err = s.publicOutageOf(r.Context(), rep); err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// publicOutageOf returns the customer's view of the incident report rep is attached to
// (nil when none) and of what he is owed for it (nil when nothing: not resolved yet, not
// upheld, or owed on another of his reports).
func (s *Server) publicOutageOf(ctx context.Context, rep *dispatch.Report) (*publicIncident, *publicCompensation, error) {
	var inc *publicIncident
	if rep.IncidentID != 0 {
		o, err := postgres.OutageForCustomer(ctx, s.db, rep.IncidentID)
		if err != nil {
			return nil, nil, err
		}
		inc = &publicIncident{Folio: o.Folio, Title: o.Title, Status: o.Status, StartedAt: o.StartedAt,
			EstimatedRestoreAt: utcPtr(o.EstimatedRestoreAt), RestoredAt: utcPtr(o.RestoredAt)}
	}
	c, err := postgres.ReportCompensation(ctx, s.db, rep.ID)
	if dispatch.ErrorKind(err) == dispatch.KindNotFound {
		return inc, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if c.Amount <= 0 {
		return inc, nil, nil
	}
	return inc, &publicCompensation{Amount: c.Amount, Currency: c.Currency, OutageStart: c.OutageStart, OutageEnd: c.OutageEnd}, nil
}

// latestVisit is the last of a report's visits (in ByReport's order) that is not
// cancelled: the one a customer sees and may move; nil when there is none.
func latestVisit(vs []*dispatch.Visit) *dispatch.Visit {
	var v *dispatch.Visit
	for _, x := range vs {
		if x.Status != dispatch.VisitCancelled {
			v = x
		}
	}
	return v
}

// publicVisitOf returns the customer's view of the report's latest visit that is not
// cancelled, or nil when there is none. The ETA is shown only while it means something:
// before the technician arrives.
func (s *Server) publicVisitOf(ctx context.Context, reportID int64) (*publicVisit, error) {
	vs, err := s.visits.ByReport(ctx, reportID)
	if err != nil {
		return nil, err
	}
	v := latestVisit(vs)
	if v == nil {
		return nil, nil
	}
	out := &publicVisit{Status: v.Status, Window: utcSpan(v.Window)}
	if v.Status != dispatch.VisitCompleted && v.Status != dispatch.VisitNotCompleted && v.Status != dispatch.VisitOnSite {
		out.ETA, out.PlannedArrival = timePtr(v.ETA), timePtr(v.PlannedArrival)
	}
	if v.TechnicianID != 0 {
		t, err := postgres.NewTechnicians(s.db, s.events).Get(ctx, v.TechnicianID)
		if err != nil && dispatch.ErrorKind(err) != dispatch.KindNotFound {
			return nil, err
		}
		if t != nil {
			out.TechnicianName = firstName(t.Name)
		}
	}
	return out, nil
}

// firstName is the first word of a name: enough for a customer to greet the technician.
func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// utcPtr is t in UTC, nil for nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return timePtr(*t)
}

// eventTo reads the status an event moved a report to ("" when it did not move it).
func eventTo(ev dispatch.Event) string {
	var d struct {
		To string `json:"to"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.To
}
