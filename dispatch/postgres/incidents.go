package postgres

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"despacho/dispatch"
	"despacho/dispatch/sla"
)

type incidentRow struct {
	bun.BaseModel `bun:"table:incidents,alias:i"`
	dispatch.Incident
}

// incidentReportRow is a report as the incident store reads and writes it. Only the
// incident store uses it; the reports store has its own.
type incidentReportRow struct {
	bun.BaseModel `bun:"table:reports,alias:r"`
	dispatch.Report
}

// activeStatuses are the report statuses an incident attaches and resolves.
var activeStatuses = []dispatch.Status{dispatch.StatusOpen, dispatch.StatusInProgress, dispatch.StatusAwaitingVisit, dispatch.StatusWaitingCustomer}

// ReasonIncidentHeld is the reason of the visit.unassigned written for each visit an
// incident takes off its technician's route while it is open: a code, as the other
// reasons on a timeline are (dispatch.ReasonIncidentResolved), which staff pages name in
// their reader's language (reason.incident_held); the event's incident_folio says which.
const ReasonIncidentHeld = "incident_held"

// heldVisitStatuses are the visit states an incident holds: not yet under way.
var heldVisitStatuses = []string{"unscheduled", "booked", "assigned", "not_completed"}

// IncidentsConfig holds what the incident store computes with.
type IncidentsConfig struct {
	// SLA is the business calendar (its zone sets folio years and compensation months);
	// zero means the default. Its Policies and its calendar's hours only seed the database
	// when it holds none: the reports the incident store resolves and reopens are measured
	// by the policies stored in PostgreSQL and the calendar version fixed on each, read
	// through Reports.
	SLA dispatch.SLA
	// Reports is the reports store whose stored SLA policies (Reports.Policies) incidents
	// apply, so that an admin's edit applies to incidents at once, as it does to new
	// reports; nil: a reports store of its own on the same database (edits made through
	// another store apply within PolicyRecheck). Its calendar is used when SLA has none.
	Reports *Reports
	// Compensation is the bonus rule; its Zone, when nil, is the calendar's.
	Compensation dispatch.CompensationPolicy
	// Rule opens incidents by itself; zero means dispatch.DefaultIncidentRule.
	Rule dispatch.IncidentRule
	// TextAccessPoint is the provider's default for new incidents (those the rule opens,
	// and those whose opener does not say): text every customer of the access point, not
	// only those who reported. See dispatch.Incident.TextAccessPoint.
	TextAccessPoint bool
	// EstimateChange is how far a new estimated restore time must move from the one the
	// customers were last told before they are told again (issue 9: "one update when the
	// estimate changes materially"); zero means DefaultEstimateChange.
	EstimateChange time.Duration
}

// DefaultEstimateChange is the smallest move of an incident's estimated restore time that is
// texted to its customers.
const DefaultEstimateChange = 30 * time.Minute

// Incidents stores incidents: it opens them (by hand or by rule), attaches the fault reports
// of their access point, holds their visits, and resolves them with every attached report,
// storing each customer's compensation. Every change is written with its events.
type Incidents struct {
	db      *bun.DB
	events  *Events
	sla     dispatch.SLA
	reports *Reports
	policy  dispatch.CompensationPolicy
	rule    dispatch.IncidentRule
	text    bool
	// estimateChange: see IncidentsConfig.EstimateChange.
	estimateChange time.Duration
}

// NewIncidents returns the incident store on db; events records every change. It refuses a
// compensation policy or rule the domain refuses.
func NewIncidents(db *bun.DB, events *Events, cfg IncidentsConfig) (*Incidents, error) {
	if events == nil {
		events = NewEvents()
	}
	if cfg.SLA.Calendar == nil && cfg.Reports != nil {
		cfg.SLA.Calendar = cfg.Reports.sla.Calendar
	}
	if cfg.SLA.Calendar == nil {
		cfg.SLA.Calendar = sla.DefaultCalendar()
	}
	if cfg.SLA.Policies == nil {
		cfg.SLA.Policies = sla.DefaultPolicies()
	}
	if cfg.Reports == nil {
		cfg.Reports = NewReports(db, events, cfg.SLA)
	}
	if cfg.EstimateChange < 0 {
		return nil, dispatch.Invalid("estimate_change", "must not be negative")
	}
	if cfg.EstimateChange == 0 {
		cfg.EstimateChange = DefaultEstimateChange
	}
	if cfg.Compensation.Zone == nil {
		cfg.Compensation.Zone = cfg.SLA.Calendar.Location()
	}
	if err := cfg.Compensation.Validate(); err != nil {
		return nil, err
	}
	if cfg.Rule == (dispatch.IncidentRule{}) {
		cfg.Rule = dispatch.DefaultIncidentRule
	}
	if err := cfg.Rule.Validate(); err != nil {
		return nil, err
	}
	return &Incidents{db: db, events: events, sla: cfg.SLA, reports: cfg.Reports, policy: cfg.Compensation, rule: cfg.Rule, text: cfg.TextAccessPoint,
		estimateChange: cfg.EstimateChange}, nil
}

// currentSLA is the SLA policies and business calendar stored now: the reports store's own
// reading (Reports.currentSLA), so that a report an incident resolves or reopens is
// measured exactly as one changed through the reports API (each by the calendar version
// fixed on it, Reports.slaOf).
func (s *Incidents) currentSLA(ctx context.Context) (dispatch.SLA, error) {
	return s.reports.currentSLA(ctx)
}

// lockAccessPoint serialises, until tx ends, everything that opens incidents on or attaches
// reports to one access point: a dispatcher opening one, the rule, and new reports.
func lockAccessPoint(ctx context.Context, tx bun.Tx, ap string) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(74133700, hashtext(?))", ap)
	return Wrap(err)
}

// Open stores a validated new incident (dispatch.IncidentInput.Validate) and attaches every
// active fault report of its access point's customers, in one transaction. A second open
// incident on the same access point is a conflict (incident_open).
func (s *Incidents) Open(ctx context.Context, inc *dispatch.Incident, by Origin) (*dispatch.IncidentDetail, error) {
	var id int64
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		cp := *inc
		if by.User != nil {
			cp.CreatedBy = by.User.ID
		}
		if err := s.open(ctx, tx, &cp, by); err != nil {
			return err
		}
		id = cp.ID
		if _, err := s.attachMatching(ctx, tx, &cp, by, cp.CreatedAt, 0); err != nil {
			return err
		}
		return s.areaNotice(ctx, tx, &cp, dispatch.AreaNoticeOpened, nil, by, cp.CreatedAt)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// open inserts inc with a new folio and writes incident.opened; the caller holds no lock yet.
func (s *Incidents) open(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, by Origin) error {
	if err := lockAccessPoint(ctx, tx, inc.AccessPoint); err != nil {
		return err
	}
	var other string
	err := tx.NewRaw("SELECT folio FROM incidents WHERE access_point = ? AND status = 'open'", inc.AccessPoint).Scan(ctx, &other)
	if err == nil {
		return dispatch.Conflict("incident_open", "incident %s is already open on access point %s", other, inc.AccessPoint)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return Wrap(err)
	}
	year := inc.CreatedAt.In(s.sla.Calendar.Location()).Year()
	var n int64
	err = tx.NewRaw(`INSERT INTO incident_folio_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = incident_folio_counters.last + 1 RETURNING last`, year).Scan(ctx, &n)
	if err != nil {
		return Wrap(err)
	}
	inc.Folio = dispatch.FormatIncidentFolio(year, n)
	if inc.TextAccessPoint == nil {
		v := s.text
		inc.TextAccessPoint = &v
	}
	row := &incidentRow{Incident: *inc}
	if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		if IsUniqueViolation(err) {
			return dispatch.Conflict("incident_open", "an incident is already open on access point %s", inc.AccessPoint)
		}
		return Wrap(err)
	}
	inc.ID = row.ID
	if inc.EstimatedRestoreAt != nil {
		// The notices of the opening (attached reports, area) tell this estimate.
		if _, err := tx.NewRaw("UPDATE incidents SET announced_restore_at = estimated_restore_at WHERE id = ?", inc.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
	}
	ev := &dispatch.Event{Type: dispatch.EventIncidentOpened, At: inc.CreatedAt, IncidentID: inc.ID}
	by.event(ev)
	return s.events.Append(ctx, tx, ev, map[string]any{
		"folio": inc.Folio, "access_point": inc.AccessPoint, "title": inc.Title, "started_at": inc.StartedAt,
		"estimated_restore_at": inc.EstimatedRestoreAt, "opened_by": inc.OpenedBy, "text_access_point": *inc.TextAccessPoint,
	})
}

// attachMatching attaches every active, unattached fault report of inc's access point,
// holds their visits and writes report.attached_to_incident for each; created is the
// report whose creation this transaction is (0: none), see attach. The caller holds the
// access point lock.
func (s *Incidents) attachMatching(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, by Origin, now time.Time, created int64) (int, error) {
	var ids []int64
	err := tx.NewRaw(`SELECT r.id FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE c.access_point = ? AND r.kind = 'fault' AND r.incident_id IS NULL AND r.status IN (?)
		ORDER BY r.id FOR UPDATE OF r`, inc.AccessPoint, bun.In(activeStatuses)).Scan(ctx, &ids)
	if err != nil {
		return 0, Wrap(err)
	}
	return len(ids), s.attach(ctx, tx, inc, ids, by, now, created)
}

// attach sets the incident of the reports ids (locked by the caller), holds their visits
// and writes one report.attached_to_incident per report. The event of report created (the
// one this transaction creates; 0: none) says "on_creation": true, so that the outbox
// makes its folio text the incident's status (one text, no visit promise) instead of the
// folio text plus an incident notice.
func (s *Incidents) attach(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, ids []int64, by Origin, now time.Time, created int64) error {
	if len(ids) == 0 {
		return nil
	}
	now = now.UTC().Truncate(time.Microsecond)
	var rows []struct {
		ID        int64      `bun:"id"`
		Folio     string     `bun:"folio"`
		CreatedAt time.Time  `bun:"created_at"`
		Stated    *time.Time `bun:"outage_started_at"`
	}
	err := tx.NewRaw(`UPDATE reports SET incident_id = ?, version = version + 1, updated_at = ?
		WHERE id IN (?) RETURNING id, folio, created_at, outage_started_at`, inc.ID, now, bun.In(ids)).Scan(ctx, &rows)
	if err != nil {
		return Wrap(err)
	}
	// The notices below tell the start as these reports leave it.
	newly := make([]dispatch.OutageClaim, len(rows))
	for i, r := range rows {
		newly[i] = dispatch.OutageClaim{Reported: r.CreatedAt, Stated: r.Stated}
	}
	if err := s.redate(ctx, tx, inc, newly, by, now); err != nil {
		return err
	}
	held := map[int64][]int64{}
	var visits []struct {
		ID       int64 `bun:"id"`
		ReportID int64 `bun:"report_id"`
	}
	err = tx.NewRaw(`UPDATE visits SET held_by_incident_id = ?, version = version + 1, updated_at = ?
		WHERE report_id IN (?) AND status IN (?) AND held_by_incident_id IS NULL RETURNING id, report_id`,
		inc.ID, now, bun.In(ids), bun.In(heldVisitStatuses)).Scan(ctx, &visits)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Wrap(err)
	}
	for _, v := range visits {
		held[v.ReportID] = append(held[v.ReportID], v.ID)
	}
	routed, err := unroute(ctx, tx, visits)
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	for _, r := range rows {
		ev := &dispatch.Event{Type: dispatch.EventReportAttached, At: now, ReportID: r.ID, IncidentID: inc.ID}
		by.event(ev)
		hv := held[r.ID]
		if hv == nil {
			hv = []int64{}
		}
		data := map[string]any{
			"folio": r.Folio, "incident_id": inc.ID, "incident_folio": inc.Folio, "access_point": inc.AccessPoint,
			"title": inc.Title, "started_at": inc.StartedAt, "estimated_restore_at": inc.EstimatedRestoreAt, "held_visits": hv,
		}
		if r.ID == created {
			data["on_creation"] = true
		}
		if err := s.events.Append(ctx, tx, ev, data); err != nil {
			return err
		}
	}
	// The technicians whose routes the held visits left are told (no text of its own: the
	// customer's come with report.attached_to_incident — the incident notice, and that his
	// visit is put off).
	for _, v := range routed {
		ev := &dispatch.Event{Type: "visit.unassigned", At: now, ReportID: v.ReportID, VisitID: v.ID, TechnicianID: v.TechnicianID, IncidentID: inc.ID}
		by.event(ev)
		if err := s.events.Append(ctx, tx, ev, map[string]any{
			"technician_id": v.TechnicianID, "reason": ReasonIncidentHeld, "incident_folio": inc.Folio,
		}); err != nil {
			return err
		}
	}
	return nil
}

// routedVisit is a visit that left its technician's route.
type routedVisit struct {
	ID           int64 `bun:"id"`
	ReportID     int64 `bun:"report_id"`
	TechnicianID int64 `bun:"technician_id"`
}

// unroute takes the held visits that are booked on a technician's route off it, in id
// order: their windows stay (the incident's resolution cancels them), but nobody is sent to
// one customer of a known outage, and the hour each had is its technician's again — the
// day's plan leaves held visits out, so a planned hour kept here would be offered to others
// and refused at booking as an overlap. Visits already done or under way keep their place.
func unroute(ctx context.Context, tx bun.Tx, held []struct {
	ID       int64 `bun:"id"`
	ReportID int64 `bun:"report_id"`
}) ([]routedVisit, error) {
	if len(held) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(held))
	for i, v := range held {
		ids[i] = v.ID
	}
	var out []routedVisit
	err := tx.NewRaw(`UPDATE visits AS v SET status = 'booked', technician_id = NULL, plan_day = NULL, route_position = NULL,
			planned_arrival = NULL, planned_start = NULL, planned_end = NULL, eta = NULL, at_risk = false, pinned = false
		FROM visits AS old WHERE old.id = v.id AND v.id IN (?) AND v.status IN ('booked', 'assigned') AND v.technician_id IS NOT NULL
		RETURNING v.id, v.report_id, old.technician_id`, bun.In(ids)).Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// lockIncidentAt takes the lock of the access point of incident id (lockAccessPoint), then
// reads the incident for update; not found when there is none. Every change to an open
// incident goes through it: a report filed meanwhile on its access point (its hook holds
// that lock while it reads the open incident and attaches to it) then comes strictly
// before the change, and is resolved or told the estimate with the others, or after it,
// and reads the incident as changed. The access point lock comes first, as it does in the
// hook, whose attaching waits on the incident's row (the reports' foreign key): the other
// order would deadlock. An incident's access point never changes, so it is read unlocked.
func lockIncidentAt(ctx context.Context, tx bun.Tx, id int64) (*dispatch.Incident, error) {
	var ap string
	err := tx.NewRaw("SELECT access_point FROM incidents WHERE id = ?", id).Scan(ctx, &ap)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	if err := lockAccessPoint(ctx, tx, ap); err != nil {
		return nil, err
	}
	return lockIncident(ctx, tx, id)
}

// lockIncident reads the incident with id for update; not found when there is none.
func lockIncident(ctx context.Context, tx bun.Tx, id int64) (*dispatch.Incident, error) {
	var row incidentRow
	err := tx.NewSelect().Model(&row).Where("i.id = ?", id).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return &row.Incident, nil
}

// Attach attaches the report with folio to the open incident id, as of now. The report must
// be an active fault of a customer on the incident's access point (else invalid, field
// "folio"), not attached elsewhere (conflict attached_elsewhere / already_attached).
func (s *Incidents) Attach(ctx context.Context, id int64, folio string, by Origin, now time.Time) (*dispatch.IncidentDetail, error) {
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		inc, err := lockIncidentAt(ctx, tx, id)
		if err != nil {
			return err
		}
		if inc.Status != dispatch.IncidentOpen {
			return dispatch.Conflict("incident_resolved", "incident %s is resolved; reports no longer attach to it", inc.Folio)
		}
		f, ok := dispatch.ParseFolio(folio)
		if !ok {
			return dispatch.Invalid("folio", "is not a report folio (R-YYYY-NNNNNN)")
		}
		var r struct {
			ID          int64           `bun:"id"`
			Kind        string          `bun:"kind"`
			Status      dispatch.Status `bun:"status"`
			IncidentID  int64           `bun:"incident_id,nullzero"`
			AccessPoint string          `bun:"access_point,nullzero"`
		}
		err = tx.NewRaw(`SELECT r.id, r.kind, r.status, r.incident_id, c.access_point
			FROM reports AS r JOIN customers AS c ON c.id = r.customer_id WHERE r.folio = ? FOR UPDATE OF r`, f).Scan(ctx, &r)
		if errors.Is(err, sql.ErrNoRows) {
			return dispatch.Invalid("folio", "no report %s", f)
		} else if err != nil {
			return Wrap(err)
		}
		switch {
		case r.IncidentID == inc.ID:
			return dispatch.Conflict("already_attached", "report %s is already attached to incident %s", f, inc.Folio)
		case r.IncidentID != 0:
			return dispatch.Conflict("attached_elsewhere", "report %s is attached to another incident", f)
		case r.Kind != "fault":
			return dispatch.Invalid("folio", "report %s is a %s, not a fault: only faults attach to an incident", f, r.Kind)
		case r.AccessPoint != inc.AccessPoint:
			ap := r.AccessPoint
			if ap == "" {
				ap = "no access point"
			}
			return dispatch.Invalid("folio", "the customer of report %s is on %s, not on the incident's access point %s", f, ap, inc.AccessPoint)
		case !r.Status.Active():
			return dispatch.Conflict("illegal_transition", "report %s is %s; only active reports attach", f, r.Status)
		}
		return s.attach(ctx, tx, inc, []int64{r.ID}, by, now, 0)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// SetEstimate records a new estimated restore time for the open incident id and writes
// incident.estimate_changed (data "announced": whether customers are told). When the new
// estimate is the first, or moves at least EstimateChange from the one customers were last
// told, it also writes report.incident_estimate_changed for every attached active report
// (one notice per customer) and the area notice; a smaller move is recorded for staff only,
// and the next move is measured from the estimate last told.
func (s *Incidents) SetEstimate(ctx context.Context, id int64, at *time.Time, by Origin, now time.Time) (*dispatch.IncidentDetail, error) {
	now = now.UTC().Truncate(time.Microsecond)
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		inc, err := lockIncidentAt(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := inc.CheckEstimate(at, now); err != nil {
			return err
		}
		est := at.UTC().Truncate(time.Microsecond)
		prev := inc.EstimatedRestoreAt
		var told *time.Time
		if err := tx.NewRaw("SELECT announced_restore_at FROM incidents WHERE id = ?", id).Scan(ctx, &told); err != nil {
			return Wrap(err)
		}
		announce := told == nil || est.Sub(*told).Abs() >= s.estimateChange
		if _, err := tx.NewRaw(`UPDATE incidents SET estimated_restore_at = ?,
				announced_restore_at = CASE WHEN ? THEN ?::timestamptz ELSE announced_restore_at END,
				version = version + 1, updated_at = ? WHERE id = ?`,
			est, announce, est, now, id).Exec(ctx); err != nil {
			return Wrap(err)
		}
		ev := &dispatch.Event{Type: dispatch.EventIncidentEstimateChanged, At: now, IncidentID: id}
		by.event(ev)
		if err := s.events.Append(ctx, tx, ev, map[string]any{"folio": inc.Folio, "estimated_restore_at": est, "previous": prev,
			"announced": announce, "last_announced": told}); err != nil {
			return err
		}
		if !announce {
			return nil
		}
		prev = told
		var rows []struct {
			ID    int64  `bun:"id"`
			Folio string `bun:"folio"`
		}
		err = tx.NewRaw(`SELECT id, folio FROM reports WHERE incident_id = ? AND status IN (?) ORDER BY id`, id, bun.In(activeStatuses)).Scan(ctx, &rows)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Wrap(err)
		}
		for _, r := range rows {
			ev := &dispatch.Event{Type: dispatch.EventReportIncidentEstimate, At: now, ReportID: r.ID, IncidentID: id}
			by.event(ev)
			data := map[string]any{"folio": r.Folio, "incident_folio": inc.Folio, "estimated_restore_at": est, "previous": prev}
			if err := s.events.Append(ctx, tx, ev, data); err != nil {
				return err
			}
		}
		inc.EstimatedRestoreAt = &est
		return s.areaNotice(ctx, tx, inc, dispatch.AreaNoticeEstimate, prev, by, now)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// Resolve closes the open incident id with res, as of now, in one transaction: every
// attached active report is resolved with the same cause and verdict, service restored at
// res.RestoredAt, its compensation computed and stored, and report.resolved written (data
// with "incident_folio" and "compensation"); every visit the incident holds is cancelled
// (cancelHeld), so that no hold outlives it; incident.resolved closes the log. A second
// resolve is a conflict (incident_resolved); an upheld verdict with a customer lacking a
// plan price is invalid (field "plan_price", the folios named) and changes nothing.
//
// An attached report already resolved or closed (its own visit restored the customer while
// the access point was still down, or an agent closed it) is not resolved again: its
// outcome is its own. But its customer suffered the outage too, and is compensated like
// the others, by the incident's verdict (the outage's cause is the incident's, whatever
// his visit found), from the incident's start until his own restore (dispatch.OutageSpan).
// When something is owed, report.resolved is written for it with the incident's folio and
// the compensation, and no status change ("already": its status), so that the customer
// gets the incident's restore notice with his bonus, as the others do; nothing owed, no
// event and no text (he was told his outcome by his visit). A report that has a
// compensation already (compensated by other means) is left as it is. A customer is owed
// once whatever number of his reports are attached, active or not (onePerCustomer).
func (s *Incidents) Resolve(ctx context.Context, id int64, res dispatch.IncidentResolution, by Origin, now time.Time) (*dispatch.IncidentDetail, error) {
	now = now.UTC().Truncate(time.Microsecond)
	cur, err := s.currentSLA(ctx)
	if err != nil {
		return nil, err
	}
	err = s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		inc, err := lockIncidentAt(ctx, tx, id)
		if err != nil {
			return err
		}
		cause, verdict, restored, err := res.Check(inc, now)
		if err != nil {
			return err
		}
		// The active reports, which this resolves, and those closed meanwhile, which it
		// only compensates; cancelled reports were withdrawn and are owed nothing.
		var reports []incidentReportRow
		err = tx.NewSelect().Model(&reports).Where("r.incident_id = ?", id).
			Where("r.status IN (?)", bun.In(append([]dispatch.Status{dispatch.StatusResolved, dispatch.StatusClosed}, activeStatuses...))).
			Where("r.status IN (?) OR NOT EXISTS (SELECT 1 FROM compensations AS k WHERE k.report_id = r.id)", bun.In(activeStatuses)).
			OrderExpr("r.id").For("UPDATE OF r").Scan(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Wrap(err)
		}
		prices, err := planPrices(ctx, tx, reports)
		if err != nil {
			return err
		}
		upheld := verdict == dispatch.VerdictUpheld
		comps := make([]dispatch.Compensation, len(reports))
		var missing []string
		for i := range reports {
			r := &reports[i].Report
			var own *time.Time // when his own service came back, for a report closed meanwhile
			if !r.Status.Active() && r.ServiceRestored != nil && *r.ServiceRestored {
				own = r.ServiceRestoredAt
			}
			start, end := dispatch.OutageSpan(inc.StartedAt, restored, statedOutageStart(r), own)
			c, err := s.policy.Compute(prices[r.CustomerID], start, end, upheld)
			if err != nil {
				if e := (*dispatch.Error)(nil); errors.As(err, &e) && e.Field == "plan_price" {
					missing = append(missing, r.Folio)
					continue
				}
				return err
			}
			comps[i] = c
		}
		if len(missing) > 0 {
			return missingPrices(missing)
		}
		onePerCustomer(reports, comps)
		yes := true
		var total dispatch.Centavos
		resolvedIDs := make([]int64, 0, len(reports))
		changed := make([]*dispatch.Report, 0, len(reports))
		compensated := make([]*dispatch.Report, 0, len(reports))
		type pending struct {
			ev   *dispatch.Event
			data map[string]any
			r    *dispatch.Report
			late []lateBreach
		}
		evs := make([]pending, 0, len(reports))
		closedBefore := 0
		for i := range reports {
			r := &reports[i].Report
			c := comps[i]
			total += c.Amount
			compensated = append(compensated, r)
			if !r.Status.Active() {
				// Closed meanwhile: compensated, not resolved again.
				closedBefore++
				if c.Amount == 0 {
					continue
				}
				ev := &dispatch.Event{Type: dispatch.EventReportResolved, At: now, Channel: string(dispatch.ChannelWeb), ReportID: r.ID, IncidentID: inc.ID}
				by.event(ev)
				evs = append(evs, pending{ev: ev, r: r, data: map[string]any{
					"folio": r.Folio, "version": r.Version, "already": r.Status,
					"incident_id": inc.ID, "incident_folio": inc.Folio, "compensation": compensationData(c),
				}})
				continue
			}
			old := r.Version
			ran, responded := r.PausedSince == nil, r.FirstRespondedAt != nil
			own, err := s.reports.slaOf(ctx, tx, r, cur)
			if err != nil {
				return err
			}
			ch, typ, data, err := r.Apply(dispatch.Change{Action: dispatch.ActionResolve, Cause: cause, Verdict: string(verdict),
				ServiceRestored: &yes, ServiceRestoredAt: &restored, Notes: res.Notes}, now, own)
			if err != nil {
				return fmt.Errorf("resolve report %s with incident %s: %w", r.Folio, inc.Folio, err)
			}
			late := lateBreaches(r, ran, responded, own)
			r.Version = old + 1
			resolvedIDs = append(resolvedIDs, r.ID)
			changed = append(changed, r)
			ev := &dispatch.Event{Type: typ, At: now, Channel: string(ch), ReportID: r.ID, IncidentID: inc.ID}
			by.event(ev)
			data["folio"], data["version"] = r.Folio, r.Version
			data["incident_id"], data["incident_folio"] = inc.ID, inc.Folio
			data["compensation"] = compensationData(c)
			evs = append(evs, pending{ev, data, r, late})
		}
		// 800 reports are 2 statements, not 1,600: the rows as Apply left them, then the
		// compensations; the events follow one by one, since each runs the hooks.
		if err := writeReports(ctx, tx, changed); err != nil {
			return err
		}
		if err := saveCompensations(ctx, tx, inc.ID, compensated, comps, now); err != nil {
			return err
		}
		for _, p := range evs {
			if err := s.events.Append(ctx, tx, p.ev, p.data); err != nil {
				return err
			}
			for _, b := range p.late {
				if err := appendMark(ctx, tx, s.events, p.r, b.typ, b.st, now); err != nil {
					return err
				}
			}
		}
		cancelled, err := s.cancelHeld(ctx, tx, inc, by, now)
		if err != nil {
			return err
		}
		repairs, err := s.cancelRepairs(ctx, tx, inc, by, now)
		if err != nil {
			return err
		}
		if err := s.areaNotice(ctx, tx, inc, dispatch.AreaNoticeRestored, nil, by, now); err != nil {
			return err
		}
		var resolver any
		if by.User != nil {
			resolver = by.User.ID
		}
		if _, err := tx.NewRaw(`UPDATE incidents SET status = 'resolved', cause = ?, verdict = ?, restored_at = ?,
			resolved_at = ?, resolved_by = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			cause, verdict, restored, now, resolver, now, id).Exec(ctx); err != nil {
			return Wrap(err)
		}
		ev := &dispatch.Event{Type: dispatch.EventIncidentResolved, At: now, IncidentID: id}
		by.event(ev)
		return s.events.Append(ctx, tx, ev, map[string]any{
			"folio": inc.Folio, "cause": cause, "verdict": verdict, "restored_at": restored,
			"reports": len(resolvedIDs), "closed_reports_compensated": closedBefore,
			"visits_cancelled": cancelled, "repair_visits_cancelled": repairs,
			"compensation_total": map[string]any{"amount": total, "currency": dispatch.Currency},
		})
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, id)
}

// areaNotice writes incident.area_notice (notice: dispatch.AreaNoticeOpened, …Estimate or
// …Restored) when inc texts its whole access point; the outbox's hook then texts, once
// each, the customers of the access point who have no report attached to inc. It runs after
// the report-level events of the same change, in tx.
func (s *Incidents) areaNotice(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, notice string, previous *time.Time, by Origin, now time.Time) error {
	if inc.TextAccessPoint == nil || !*inc.TextAccessPoint {
		return nil
	}
	ev := &dispatch.Event{Type: dispatch.EventIncidentAreaNotice, At: now, IncidentID: inc.ID}
	by.event(ev)
	return s.events.Append(ctx, tx, ev, map[string]any{"folio": inc.Folio, "access_point": inc.AccessPoint, "notice": notice,
		"estimated_restore_at": inc.EstimatedRestoreAt, "previous": previous})
}

// cancelHeld cancels every visit inc holds and writes visit.cancelled for each (reason
// incident_resolved, with the incident's id and folio), in tx; it returns how many it
// cancelled. The restore notice is the customer's one text: the outbox sends no
// cancellation for this reason.
//
// Those are the visits of the reports the resolution resolves, and also any of a report
// closed or cancelled meanwhile: a visit under way when staff closed its report is left to
// its technician, and held if he could not complete it (Visits.SetStatus). Nothing else
// ever ends a hold, so a visit left held here would be held by a resolved incident for
// good: off every plan, refused to staff and customer (held_by_incident), and, being live,
// keeping "still down" (ReopenStillDown) from giving the report a new visit. Cancelling
// it is what the report's own rule does with a visit nobody set out for when the report
// closes (Reports.cancelUnstarted).
func (s *Incidents) cancelHeld(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, by Origin, now time.Time) (int, error) {
	return s.cancelVisits(ctx, tx, inc, by, now, "v.held_by_incident_id = ? AND v.status IN (?)", inc.ID, bun.In(heldVisitStatuses))
}

// cancelRepairs cancels the incident's own repair visits that have not started when it is
// resolved (service is back: nobody needs to go), as cancelHeld does; a visit under way is
// left for its technician to finish. It returns how many it cancelled.
func (s *Incidents) cancelRepairs(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, by Origin, now time.Time) (int, error) {
	return s.cancelVisits(ctx, tx, inc, by, now, "v.incident_id = ? AND v.status IN ('unscheduled', 'booked', 'assigned')", inc.ID)
}

// cancelVisits cancels the visits where (over visits AS v, with args) selects, because inc
// was resolved, and writes visit.cancelled for each in id order; it returns how many.
func (s *Incidents) cancelVisits(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, by Origin, now time.Time, where string, args ...any) (int, error) {
	return cancelVisits(ctx, tx, s.events, by, now, func(ev *dispatch.Event, data map[string]any) {
		ev.IncidentID = inc.ID
		data["reason"], data["incident_id"], data["incident_folio"] = dispatch.ReasonIncidentResolved, inc.ID, inc.Folio
	}, where, args...)
}

// cancelVisits cancels the visits where (over visits AS v, with args) selects and writes
// visit.cancelled for each, in id order, with the status it left under "from"; tell adds
// what the caller's reason is to each event and its data. It returns how many it cancelled.
func cancelVisits(ctx context.Context, tx bun.Tx, events *Events, by Origin, now time.Time,
	tell func(ev *dispatch.Event, data map[string]any), where string, args ...any) (int, error) {
	var visits []struct {
		ID           int64  `bun:"id"`
		ReportID     int64  `bun:"report_id,nullzero"`
		TechnicianID int64  `bun:"technician_id,nullzero"`
		From         string `bun:"from_status"`
	}
	err := tx.NewRaw(`UPDATE visits AS v SET status = 'cancelled', hold_start = NULL, hold_end = NULL, held_until = NULL,
			version = v.version + 1, updated_at = ?
		FROM visits AS old WHERE old.id = v.id AND `+where+`
		RETURNING v.id, v.report_id, v.technician_id, old.status AS from_status`,
		append([]any{now}, args...)...).Scan(ctx, &visits)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, Wrap(err)
	}
	sort.Slice(visits, func(i, j int) bool { return visits[i].ID < visits[j].ID })
	for _, v := range visits {
		ev := &dispatch.Event{Type: "visit.cancelled", At: now, ReportID: v.ReportID, VisitID: v.ID, TechnicianID: v.TechnicianID}
		by.event(ev)
		data := map[string]any{"from": v.From}
		tell(ev, data)
		if err := events.Append(ctx, tx, ev, data); err != nil {
			return 0, err
		}
	}
	return len(visits), nil
}

// onePerCustomer makes a customer with several reports attached to one incident owed once:
// their first report (lowest id, the one their restore notice names) carries the largest
// of their computed amounts, with its outage, and the others owe nothing. comps[i] belongs
// to reports[i], which are in id order.
func onePerCustomer(reports []incidentReportRow, comps []dispatch.Compensation) {
	first := map[int64]int{}
	for i := range reports {
		cid := reports[i].CustomerID
		f, seen := first[cid]
		if !seen {
			first[cid] = i
			continue
		}
		if comps[i].Amount > comps[f].Amount {
			comps[f], comps[i] = comps[i], comps[f]
		}
		comps[i].Amount = 0
	}
}

// statedOutageStart is when the customer said their service failed, or nil when they did
// not say: the reports store records a fault's outage as starting when it was reported
// unless told otherwise, and the moment of a phone call is not when the customer's service
// failed — it must not cut the incident's compensation short.
func statedOutageStart(r *dispatch.Report) *time.Time {
	if r.OutageStartedAt == nil || r.OutageStartedAt.Equal(r.CreatedAt) {
		return nil
	}
	return r.OutageStartedAt
}

// missingPrices is the error of an upheld resolution with customers lacking a plan price.
func missingPrices(folios []string) error {
	shown := folios
	more := ""
	if len(shown) > 10 {
		shown, more = shown[:10], fmt.Sprintf(" and %d more", len(folios)-10)
	}
	return dispatch.Invalid("plan_price", "the customers of %s%s have no monthly plan price, needed for their compensation; set it (CSV import or PUT /api/customers/{id}/access-point) and resolve again",
		strings.Join(shown, ", "), more)
}

// planPrices returns the monthly plan price of each report's customer, nil when unknown.
// Prices are read as integer centavos: money never passes through a float.
func planPrices(ctx context.Context, tx bun.Tx, reports []incidentReportRow) (map[int64]*dispatch.Centavos, error) {
	out := map[int64]*dispatch.Centavos{}
	if len(reports) == 0 {
		return out, nil
	}
	ids := make([]int64, len(reports))
	for i := range reports {
		ids[i] = reports[i].CustomerID
	}
	var rows []struct {
		ID    int64  `bun:"id"`
		Price *int64 `bun:"price"`
	}
	err := tx.NewRaw(`SELECT id, (plan_price * 100)::bigint AS price FROM customers WHERE id IN (?)`, bun.In(ids)).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	for _, r := range rows {
		if r.Price != nil {
			p := dispatch.Centavos(*r.Price)
			out[r.ID] = &p
		} else {
			out[r.ID] = nil
		}
	}
	return out, nil
}

// saveCompensations stores comps[i], owed for reports[i], in one statement; a report
// compensated before (resolved, reopened, resolved again) gets the new figures.
func saveCompensations(ctx context.Context, tx bun.Tx, incidentID int64, reports []*dispatch.Report, comps []dispatch.Compensation, now time.Time) error {
	if len(reports) == 0 {
		return nil
	}
	n := len(reports)
	ids, customers := make([]int64, n), make([]int64, n)
	starts, ends, prices, amounts, upheld := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range reports {
		c := comps[i]
		ids[i], customers[i] = r.ID, r.CustomerID
		starts[i], ends[i] = c.OutageStart.UTC().Format(time.RFC3339Nano), c.OutageEnd.UTC().Format(time.RFC3339Nano)
		if c.PlanPrice != nil {
			prices[i] = c.PlanPrice.String()
		}
		amounts[i], upheld[i] = c.Amount.String(), strconv.FormatBool(c.Upheld)
	}
	bonus := 0
	if n > 0 {
		bonus = comps[0].BonusBP
	}
	_, err := tx.NewRaw(`INSERT INTO compensations (report_id, incident_id, customer_id, outage_start, outage_end,
			plan_price, bonus_bp, upheld, amount, currency, computed_at)
		SELECT u.id, ?, u.customer, u.start::timestamptz, u.end_::timestamptz, nullif(u.price, '')::numeric, ?,
			u.upheld::boolean, u.amount::numeric, ?, ?
		FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
			AS u(id, customer, start, end_, price, amount, upheld)
		ON CONFLICT (report_id) DO UPDATE SET incident_id = EXCLUDED.incident_id, customer_id = EXCLUDED.customer_id,
			outage_start = EXCLUDED.outage_start, outage_end = EXCLUDED.outage_end, plan_price = EXCLUDED.plan_price,
			bonus_bp = EXCLUDED.bonus_bp, upheld = EXCLUDED.upheld, amount = EXCLUDED.amount,
			currency = EXCLUDED.currency, computed_at = EXCLUDED.computed_at`,
		incidentID, bonus, dispatch.Currency, now,
		pgdialect.Array(ids), pgdialect.Array(customers), pgdialect.Array(starts), pgdialect.Array(ends),
		pgdialect.Array(prices), pgdialect.Array(amounts), pgdialect.Array(upheld)).Exec(ctx)
	return Wrap(err)
}

// writeReports stores, in one statement, what resolving through dispatch.Report.Apply
// changes in reports (status, resolution, SLA clocks and states, version); identity,
// customer, area, texts and the incident stay as they are.
func writeReports(ctx context.Context, tx bun.Tx, reports []*dispatch.Report) error {
	if len(reports) == 0 {
		return nil
	}
	n := len(reports)
	ids, versions := make([]int64, n), make([]int64, n)
	col := func() []string { return make([]string, n) }
	status, cause, verdict, notes, restored, pauses, state, frState := col(), col(), col(), col(), col(), col(), col(), col()
	confirmed, restoredAt, resolvedAt, closedAt, paused, responded, respDue, due, risk, updated := col(), col(), col(), col(), col(), col(), col(), col(), col(), col()
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	for i, r := range reports {
		ids[i], versions[i] = r.ID, int64(r.Version)
		status[i], cause[i], verdict[i], notes[i], state[i] = string(r.Status), r.Cause, string(r.Verdict), r.ResolutionNotes, string(r.SLAState)
		frState[i] = string(r.FirstResponseState)
		if r.ServiceRestored != nil {
			restored[i] = strconv.FormatBool(*r.ServiceRestored)
		}
		p := r.Pauses
		if p == nil {
			p = []dispatch.Pause{}
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		pauses[i] = string(b)
		confirmed[i], restoredAt[i], resolvedAt[i], closedAt[i] = ts(r.RestoredConfirmedAt), ts(r.ServiceRestoredAt), ts(r.ResolvedAt), ts(r.ClosedAt)
		paused[i], responded[i], respDue[i], due[i], risk[i] = ts(r.PausedSince), ts(r.FirstRespondedAt), ts(r.FirstResponseDueAt), ts(r.DueAt), ts(r.SLARiskAt)
		updated[i] = ts(&r.UpdatedAt)
	}
	arr := pgdialect.Array
	_, err := tx.NewRaw(`UPDATE reports AS r SET status = u.status, cause = nullif(u.cause, ''), verdict = nullif(u.verdict, ''),
			resolution_notes = nullif(u.notes, ''), service_restored = nullif(u.restored, '')::boolean,
			restored_confirmed_at = nullif(u.confirmed, '')::timestamptz, service_restored_at = nullif(u.restored_at, '')::timestamptz,
			resolved_at = nullif(u.resolved_at, '')::timestamptz, closed_at = nullif(u.closed_at, '')::timestamptz,
			paused_since = nullif(u.paused, '')::timestamptz, pauses = u.pauses::jsonb, sla_state = u.state,
			first_response_state = u.fr_state, first_responded_at = nullif(u.responded, '')::timestamptz, first_response_due_at = nullif(u.resp_due, '')::timestamptz,
			due_at = nullif(u.due, '')::timestamptz, sla_risk_at = nullif(u.risk, '')::timestamptz,
			updated_at = u.updated::timestamptz, version = u.version
		FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
			?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
			AS u(id, version, status, cause, verdict, notes, restored, pauses, state, fr_state,
			confirmed, restored_at, resolved_at, closed_at, paused, responded, resp_due, due, risk, updated)
		WHERE r.id = u.id`,
		arr(ids), arr(versions), arr(status), arr(cause), arr(verdict), arr(notes), arr(restored), arr(pauses), arr(state), arr(frState),
		arr(confirmed), arr(restoredAt), arr(resolvedAt), arr(closedAt), arr(paused), arr(responded), arr(respDue), arr(due), arr(risk), arr(updated)).Exec(ctx)
	return Wrap(err)
}

// compensationData is a compensation as event data (and SMS templates) see it.
func compensationData(c dispatch.Compensation) map[string]any {
	return map[string]any{
		"amount": c.Amount, "currency": c.Currency, "upheld": c.Upheld,
		"outage_start": c.OutageStart, "outage_end": c.OutageEnd, "outage_minutes": c.OutageMinutes(),
	}
}

type compensationRow struct {
	ReportID      int64     `bun:"report_id"`
	IncidentID    int64     `bun:"incident_id,nullzero"`
	IncidentFolio string    `bun:"incident_folio,nullzero"`
	OutageStart   time.Time `bun:"outage_start"`
	OutageEnd     time.Time `bun:"outage_end"`
	PlanPrice     *int64    `bun:"plan_price"`
	BonusBP       int       `bun:"bonus_bp"`
	Upheld        bool      `bun:"upheld"`
	Amount        int64     `bun:"amount"`
	Currency      string    `bun:"currency"`
	ComputedAt    time.Time `bun:"computed_at"`
}

// compensationColumns reads a compensationRow from compensations AS k.
const compensationColumns = `k.report_id, k.incident_id, (SELECT i.folio FROM incidents AS i WHERE i.id = k.incident_id) AS incident_folio,
	k.outage_start, k.outage_end, (k.plan_price * 100)::bigint AS plan_price,
	k.bonus_bp, k.upheld, (k.amount * 100)::bigint AS amount, k.currency, k.computed_at`

func (r compensationRow) compensation() *dispatch.Compensation {
	c := &dispatch.Compensation{Amount: dispatch.Centavos(r.Amount), Currency: r.Currency, OutageStart: r.OutageStart.UTC(),
		OutageEnd: r.OutageEnd.UTC(), BonusBP: r.BonusBP, Upheld: r.Upheld,
		IncidentID: r.IncidentID, IncidentFolio: r.IncidentFolio, AsOf: r.ComputedAt.UTC()}
	if r.PlanPrice != nil {
		p := dispatch.Centavos(*r.PlanPrice)
		c.PlanPrice = &p
	}
	return c
}

// ReportCompensation returns what the customer of report reportID is owed, as computed when
// the report was resolved through its incident, standing as the report now stands
// (dispatch.Compensation.Standing: kept, as of an earlier resolution, once the report was
// reopened); not found when nothing was computed. The reports API shows it as the ticket's
// "compensation".
func ReportCompensation(ctx context.Context, db bun.IDB, reportID int64) (*dispatch.Compensation, error) {
	var row struct {
		compensationRow
		Status     dispatch.Status `bun:"report_status"`
		ResolvedAt *time.Time      `bun:"report_resolved_at"`
	}
	err := db.NewRaw(`SELECT `+compensationColumns+`, r.status AS report_status, r.resolved_at AS report_resolved_at
		FROM compensations AS k JOIN reports AS r ON r.id = k.report_id WHERE k.report_id = ?`, reportID).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("compensation")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	c := row.compensation().Standing(&dispatch.Report{Status: row.Status, ResolvedAt: row.ResolvedAt})
	return &c, nil
}

// IncidentFilter selects incidents for List; zero fields do not filter.
type IncidentFilter struct {
	Status      dispatch.IncidentStatus
	AccessPoint string
	Limit       int // default and maximum 200
}

// List returns incidents matching f, newest first, each with its count of attached reports.
func (s *Incidents) List(ctx context.Context, f IncidentFilter) ([]dispatch.IncidentDetail, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 200
	}
	var rows []struct {
		dispatch.Incident
		Attached int `bun:"attached"`
		// Read with i.* and not shown: the estimate customers were last told.
		Announced *time.Time `bun:"announced_restore_at"`
	}
	where, args := []string{"true"}, []any{}
	if f.Status != "" {
		where, args = append(where, "i.status = ?"), append(args, f.Status)
	}
	if f.AccessPoint != "" {
		where, args = append(where, "i.access_point = ?"), append(args, f.AccessPoint)
	}
	args = append(args, f.Limit)
	err := s.db.NewRaw(`SELECT i.*, (SELECT count(*) FROM reports AS r WHERE r.incident_id = i.id) AS attached
		FROM incidents AS i WHERE `+strings.Join(where, " AND ")+` ORDER BY i.id DESC LIMIT ?`, args...).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	out := make([]dispatch.IncidentDetail, len(rows))
	for i, r := range rows {
		out[i] = dispatch.IncidentDetail{Incident: r.Incident, Attached: r.Attached}
	}
	return out, nil
}

// Get returns the incident id with its attached reports and their compensation.
func (s *Incidents) Get(ctx context.Context, id int64) (*dispatch.IncidentDetail, error) {
	var row incidentRow
	err := s.db.NewSelect().Model(&row).Where("i.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	d := &dispatch.IncidentDetail{Incident: row.Incident, Reports: []dispatch.IncidentReport{}}
	var reports []struct {
		ID              int64           `bun:"id"`
		Folio           string          `bun:"folio"`
		Status          dispatch.Status `bun:"status"`
		CustomerID      int64           `bun:"customer_id"`
		CustomerName    string          `bun:"customer_name"`
		Phone           string          `bun:"phone,nullzero"`
		OutageStartedAt *time.Time      `bun:"outage_started_at"`
		ResolvedAt      *time.Time      `bun:"resolved_at"`
	}
	err = s.db.NewRaw(`SELECT r.id, r.folio, r.status, r.customer_id, c.name AS customer_name, c.phone, r.outage_started_at, r.resolved_at
		FROM reports AS r JOIN customers AS c ON c.id = r.customer_id WHERE r.incident_id = ? ORDER BY r.id`, id).Scan(ctx, &reports)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	var comps []compensationRow
	err = s.db.NewRaw(`SELECT `+compensationColumns+` FROM compensations AS k WHERE k.incident_id = ?`, id).Scan(ctx, &comps)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	byReport := map[int64]*dispatch.Compensation{}
	for _, c := range comps {
		byReport[c.ReportID] = c.compensation()
	}
	for _, r := range reports {
		ir := dispatch.IncidentReport{ID: r.ID, Folio: r.Folio, Status: r.Status, CustomerID: r.CustomerID,
			CustomerName: r.CustomerName, Phone: r.Phone, OutageStartedAt: r.OutageStartedAt, Compensation: byReport[r.ID]}
		if ir.Compensation != nil {
			c := ir.Compensation.Standing(&dispatch.Report{Status: r.Status, ResolvedAt: r.ResolvedAt})
			ir.Compensation = &c
			d.CompensationTotal += c.Amount
		}
		d.Reports = append(d.Reports, ir)
	}
	d.Attached = len(d.Reports)
	return d, nil
}

// IncidentCustomer is one customer an incident affects, as the board maps it.
type IncidentCustomer struct {
	ID   int64  `bun:"id" json:"id"`
	Name string `bun:"name" json:"name"`
	// Lat and Lon are those of the customer's latest address with coordinates; nil when
	// none is known.
	Lat *float64 `bun:"lat" json:"lat"`
	Lon *float64 `bun:"lon" json:"lon"`
	// Folio is the customer's first report attached to the incident; "" when they did not
	// report (they are affected as customers of the access point).
	Folio string `bun:"folio,nullzero" json:"folio,omitempty"`
}

// Customers returns, by id, every customer on incident id's access point and every customer
// with a report attached to it (one moved to another access point since), with the
// coordinates of their latest located address and their attached report. Not found when
// there is no incident id.
func (s *Incidents) Customers(ctx context.Context, id int64) ([]IncidentCustomer, error) {
	var ap string
	err := s.db.NewRaw("SELECT access_point FROM incidents WHERE id = ?", id).Scan(ctx, &ap)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("incident")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	out := []IncidentCustomer{}
	err = s.db.NewRaw(`SELECT c.id, c.name, l.lat, l.lon,
			(SELECT r.folio FROM reports AS r WHERE r.customer_id = c.id AND r.incident_id = ?0 ORDER BY r.id LIMIT 1) AS folio
		FROM customers AS c
		LEFT JOIN LATERAL (SELECT lat, lon FROM locations AS l WHERE l.customer_id = c.id AND l.lat IS NOT NULL
			ORDER BY l.id DESC LIMIT 1) AS l ON true
		WHERE c.access_point = ?1 OR c.id IN (SELECT customer_id FROM reports WHERE incident_id = ?0)
		ORDER BY c.id`, id, ap).Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	return out, nil
}

// IDByFolio returns the id of the incident with folio; not found when none.
func (s *Incidents) IDByFolio(ctx context.Context, folio string) (int64, error) {
	f, ok := dispatch.ParseIncidentFolio(folio)
	if !ok {
		return 0, dispatch.NotFound("incident")
	}
	var id int64
	err := s.db.NewRaw("SELECT id FROM incidents WHERE folio = ?", f).Scan(ctx, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, dispatch.NotFound("incident")
	}
	return id, Wrap(err)
}

// CompensationCSV writes the billing export of the resolved incident id: one line per
// compensated report (folio, customer, phone, access point, plan price, outage, bonus,
// amount, currency), amounts in pesos with two decimals and times in RFC 3339 UTC. An
// incident still open is a conflict (incident_open): nothing is owed before the restore.
func (s *Incidents) CompensationCSV(ctx context.Context, id int64, w io.Writer) error {
	inc, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if inc.Status != dispatch.IncidentResolved {
		return dispatch.Conflict("incident_open", "incident %s is still open: compensation is computed when it is resolved", inc.Folio)
	}
	var rows []struct {
		compensationRow
		Folio        string `bun:"folio"`
		CustomerID   int64  `bun:"customer_id"`
		CustomerName string `bun:"customer_name"`
		Phone        string `bun:"phone,nullzero"`
		AccessPoint  string `bun:"access_point,nullzero"`
	}
	err = s.db.NewRaw(`SELECT k.report_id, k.incident_id, k.outage_start, k.outage_end, (k.plan_price * 100)::bigint AS plan_price,
			k.bonus_bp, k.upheld, (k.amount * 100)::bigint AS amount, k.currency,
			r.folio, c.id AS customer_id, c.name AS customer_name, c.phone, c.access_point
		FROM compensations AS k JOIN reports AS r ON r.id = k.report_id JOIN customers AS c ON c.id = k.customer_id
		WHERE k.incident_id = ? ORDER BY r.id`, id).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Wrap(err)
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"incident", "folio", "customer_id", "customer_name", "phone", "access_point", "plan_price",
		"outage_start", "outage_end", "outage_minutes", "bonus_percent", "upheld", "amount", "currency"})
	for _, r := range rows {
		c := r.compensation()
		price := ""
		if c.PlanPrice != nil {
			price = c.PlanPrice.String()
		}
		_ = cw.Write([]string{inc.Folio, r.Folio, strconv.FormatInt(r.CustomerID, 10), csvSafe(r.CustomerName), r.Phone, csvSafe(r.AccessPoint),
			price, c.OutageStart.Format(time.RFC3339), c.OutageEnd.Format(time.RFC3339), strconv.FormatInt(c.OutageMinutes(), 10),
			bonusPercent(c.BonusBP), strconv.FormatBool(c.Upheld), c.Amount.String(), c.Currency})
	}
	cw.Flush()
	return cw.Error()
}

// bonusPercent writes basis points as a percentage with two decimals: 2000 → "20.00".
func bonusPercent(bp int) string { return dispatch.Centavos(bp).String() }

// csvSafe keeps a spreadsheet from reading a customer-supplied text as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ReopenStillDown reopens, as of now, the resolved report with folio whose customer answers
// that service is still down after its incident was resolved: the report goes back to open
// (report.reopened, data with "incident_folio" and "reason"), and, unless the report still
// has a live visit, a new unscheduled visit is created like the last one it had (its
// "visit_id" in the event data; none when the report never had one: staff then create it).
// The compensation already stored stays, unchanged: it pays the incident's outage (the
// rule is dispatch.Compensation's), and the event says so ("compensation_kept"). A report not
// attached to a resolved incident, or not resolved or closed, is a conflict. ch is how the
// customer said so (sms for a text reply).
func (s *Incidents) ReopenStillDown(ctx context.Context, folio string, ch dispatch.Channel, by Origin, now time.Time) (*dispatch.Report, error) {
	f, ok := dispatch.ParseFolio(folio)
	if !ok {
		return nil, dispatch.NotFound("report")
	}
	var out *dispatch.Report
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var row incidentReportRow
		err := tx.NewSelect().Model(&row).Where("r.folio = ?", f).For("UPDATE").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return dispatch.NotFound("report")
		} else if err != nil {
			return Wrap(err)
		}
		out = &row.Report
		return s.reopen(ctx, tx, out, ch, by, now)
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// ReopenStillDownByPhone is ReopenStillDown for an inbound text, inside the webhook's tx:
// it reopens the latest report of the phone's customer (E.164) that was resolved through a
// resolved incident within the last 7 days, channel sms, actor "customer", and returns its id
// and folio. NotFound when there is none (the text is then an ordinary reply).
func (s *Incidents) ReopenStillDownByPhone(ctx context.Context, tx bun.Tx, phone string, now time.Time) (id int64, folio string, err error) {
	var row incidentReportRow
	err = tx.NewSelect().Model(&row).
		Join("JOIN customers AS c ON c.id = r.customer_id").
		Join("JOIN incidents AS i ON i.id = r.incident_id").
		Where("c.phone = ? AND i.status = 'resolved' AND r.status IN ('resolved', 'closed')", phone).
		Where("r.resolved_at > ?", now.Add(-7*24*time.Hour)).
		OrderExpr("r.resolved_at DESC, r.id DESC").Limit(1).For("UPDATE OF r").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", dispatch.NotFound("report resolved through an incident")
	} else if err != nil {
		return 0, "", Wrap(err)
	}
	r := &row.Report
	if err := s.reopen(ctx, tx, r, dispatch.ChannelSMS, Origin{Actor: "customer"}, now); err != nil {
		return 0, "", err
	}
	return r.ID, r.Folio, nil
}

// reopen reopens r (locked by the caller) as ReopenStillDown says, inside tx.
func (s *Incidents) reopen(ctx context.Context, tx bun.Tx, r *dispatch.Report, ch dispatch.Channel, by Origin, now time.Time) error {
	now = now.UTC().Truncate(time.Microsecond)
	if r.IncidentID == 0 {
		return dispatch.Conflict("not_attached", "report %s is not attached to an incident", r.Folio)
	}
	var inc incidentRow
	if err := tx.NewSelect().Model(&inc).Where("i.id = ?", r.IncidentID).Scan(ctx); err != nil {
		return Wrap(err)
	}
	if inc.Status != dispatch.IncidentResolved {
		return dispatch.Conflict("incident_open", "incident %s is still open", inc.Folio)
	}
	cur, err := s.currentSLA(ctx)
	if err != nil {
		return err
	}
	if cur, err = s.reports.slaOf(ctx, tx, r, cur); err != nil {
		return err
	}
	old := r.Version
	reason := "el cliente informa que el servicio sigue sin funcionar tras el incidente " + inc.Folio
	evch, typ, data, err := r.Apply(dispatch.Change{Action: dispatch.ActionReopen, Reason: reason, Channel: string(ch)}, now, cur)
	if err != nil {
		return err
	}
	r.Version = old + 1
	r.ServiceRestored, r.ServiceRestoredAt, r.RestoredConfirmedAt = nil, nil, nil
	if r.Pauses == nil {
		r.Pauses = []dispatch.Pause{}
	}
	if _, err := tx.NewUpdate().Model(&incidentReportRow{Report: *r}).
		ExcludeColumn("id", "folio", "customer_id", "location_id", "access_code_hash", "created_at", "created_by", "incident_id").
		Where("r.id = ?", r.ID).Exec(ctx); err != nil {
		return Wrap(err)
	}
	var visitID int64
	err = tx.NewRaw(`INSERT INTO visits (report_id, duration_min, skills, address, lat, lon, priority, urgent, availability, created_at, updated_at)
		SELECT report_id, duration_min, skills, address, lat, lon, priority, urgent, '[]'::jsonb, ?, ?
		FROM visits WHERE report_id = ?
		AND NOT EXISTS (SELECT 1 FROM visits WHERE report_id = ? AND status NOT IN ('completed', 'cancelled'))
		ORDER BY id DESC LIMIT 1 RETURNING id`, now, now, r.ID, r.ID).Scan(ctx, &visitID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Wrap(err)
	}
	ev := &dispatch.Event{Type: typ, At: now, Channel: string(evch), ReportID: r.ID, IncidentID: r.IncidentID, VisitID: visitID}
	by.event(ev)
	data["folio"], data["version"], data["incident_folio"] = r.Folio, r.Version, inc.Folio
	if visitID != 0 {
		data["visit_id"] = visitID
	}
	if err := keepCompensation(ctx, tx, r.ID, data); err != nil {
		return err
	}
	return s.events.Append(ctx, tx, ev, data)
}

// ReportHook is the event hook that attaches each new fault report (report.created) to the
// open incident of its customer's access point, or opens one by the rule when this report
// makes Threshold unattached faults there within Window. It runs inside the creating
// transaction; wire it with Events.AddHook.
func (s *Incidents) ReportHook(ctx context.Context, tx bun.Tx, ev *dispatch.Event) error {
	if ev.Type != dispatch.EventReportCreated || ev.ReportID == 0 {
		return nil
	}
	var r struct {
		Kind        string  `bun:"kind" json:"kind"`
		AccessPoint *string `bun:"access_point" json:"access_point"`
	}
	// Reports.Create puts both in the event; a report.created written elsewhere is read back.
	if len(ev.Data) == 0 || json.Unmarshal(ev.Data, &r) != nil || r.Kind == "" || r.AccessPoint == nil {
		err := tx.NewRaw(`SELECT r.kind, c.access_point FROM reports AS r JOIN customers AS c ON c.id = r.customer_id WHERE r.id = ?`,
			ev.ReportID).Scan(ctx, &r)
		if err != nil {
			return Wrap(err)
		}
	}
	if r.AccessPoint == nil {
		return nil
	}
	if r.Kind != "fault" || *r.AccessPoint == "" {
		return nil
	}
	_, _, err := s.sweepAccessPoint(ctx, tx, *r.AccessPoint, ev.At, ev.ReportID)
	return err
}

// Sweep applies the incident rule to every access point as of now and attaches active fault
// reports that missed their open incident (their customer was put on the access point
// later, or no hook was wired). It is the periodic job's task; each access point is its own
// transaction. It returns how many incidents it opened and reports it attached.
func (s *Incidents) Sweep(ctx context.Context, now time.Time) (opened, attached int, err error) {
	var aps []string
	err = s.db.NewRaw(`SELECT DISTINCT c.access_point FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE r.kind = 'fault' AND r.incident_id IS NULL AND r.status IN (?) AND c.access_point IS NOT NULL
		ORDER BY 1`, bun.In(activeStatuses)).Scan(ctx, &aps)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, Wrap(err)
	}
	for _, ap := range aps {
		if err := ctx.Err(); err != nil {
			return opened, attached, err
		}
		var o, a int
		err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
			var err error
			o, a, err = s.sweepAccessPoint(ctx, tx, ap, now, 0)
			return err
		})
		if err != nil {
			return opened, attached, Wrap(err)
		}
		opened += o
		attached += a
	}
	return opened, attached, nil
}

// sweepAccessPoint attaches ap's unattached active faults to its open incident, or opens one
// when the rule says so, inside tx; created is the report this transaction creates (0:
// none), see attach.
func (s *Incidents) sweepAccessPoint(ctx context.Context, tx bun.Tx, ap string, now time.Time, created int64) (opened, attached int, err error) {
	if err := lockAccessPoint(ctx, tx, ap); err != nil {
		return 0, 0, err
	}
	var open incidentRow
	err = tx.NewSelect().Model(&open).Where("i.access_point = ? AND i.status = 'open'", ap).Scan(ctx)
	if err == nil {
		n, err := s.attachMatching(ctx, tx, &open.Incident, Origin{Actor: "system"}, now, created)
		return 0, n, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, Wrap(err)
	}
	now = now.UTC().Truncate(time.Microsecond)
	claims, err := outageClaims(ctx, tx, `c.access_point = ? AND r.kind = 'fault' AND r.incident_id IS NULL AND r.status IN (?)
		AND r.created_at > ? AND r.created_at <= ?`, ap, bun.In(activeStatuses), now.Add(-s.rule.Window), now)
	if err != nil {
		return 0, 0, err
	}
	start, ok := s.rule.Start(claims)
	if len(claims) < s.rule.Threshold || !ok {
		return 0, 0, nil
	}
	inc := &dispatch.Incident{
		AccessPoint: ap, Status: dispatch.IncidentOpen, OpenedBy: dispatch.OpenedByRule, Version: 1,
		Title:     fmt.Sprintf("Falla masiva en %s: %d clientes reportaron en %s", ap, len(claims), s.rule.Window),
		StartedAt: start, CreatedAt: now, UpdatedAt: now,
	}
	if err := s.open(ctx, tx, inc, Origin{Actor: "system"}); err != nil {
		return 0, 0, err
	}
	n, err := s.attachMatching(ctx, tx, inc, Origin{Actor: "system"}, now, created)
	if err != nil {
		return 0, 0, err
	}
	return 1, n, s.areaNotice(ctx, tx, inc, dispatch.AreaNoticeOpened, nil, Origin{Actor: "system"}, now)
}

// outageClaims returns what the fault reports where selects (over reports AS r joined to
// customers AS c, with args) say of when their outage began, in id order: one claim per
// customer, his first report's. Five reports of one customer (a web form sent again and
// again, an agent filing each call) opened a mass outage for the whole access point,
// which took every booked visit there off the routes; it takes five customers.
func outageClaims(ctx context.Context, tx bun.Tx, where string, args ...any) ([]dispatch.OutageClaim, error) {
	var rows []struct {
		CustomerID int64      `bun:"customer_id"`
		CreatedAt  time.Time  `bun:"created_at"`
		Stated     *time.Time `bun:"outage_started_at"`
	}
	err := tx.NewRaw(`SELECT r.customer_id, r.created_at, r.outage_started_at FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
		WHERE `+where+` ORDER BY r.id`, args...).Scan(ctx, &rows)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	out := make([]dispatch.OutageClaim, 0, len(rows))
	seen := map[int64]bool{}
	for _, r := range rows {
		if seen[r.CustomerID] {
			continue
		}
		seen[r.CustomerID] = true
		out = append(out, dispatch.OutageClaim{Reported: r.CreatedAt, Stated: r.Stated})
	}
	return out, nil
}

// redate dates again, inside tx, the start of inc, opened by the rule, from the claims of
// the reports now attached to it that were filed since the rule's window began (those it
// was opened on and those filed since; faults of the access point filed before the burst,
// attached with them, may be other faults and say nothing of when this outage began):
// IncidentRule.Start, the one rule of the opening. The start only moves earlier, as more
// reports corroborate an earlier start; the move is written as incident.start_changed and
// inc is updated. An incident opened by staff keeps the start they gave. newly are the
// reports just attached: when each was filed after the opening and claims nothing before
// the start, the start cannot move and nothing is read.
func (s *Incidents) redate(ctx context.Context, tx bun.Tx, inc *dispatch.Incident, newly []dispatch.OutageClaim, by Origin, now time.Time) error {
	if inc.OpenedBy != dispatch.OpenedByRule {
		return nil
	}
	moves := false
	for _, c := range newly {
		moves = moves || !c.Reported.After(inc.CreatedAt) || c.DownBy().Before(inc.StartedAt)
	}
	if !moves {
		return nil
	}
	claims, err := outageClaims(ctx, tx, "r.incident_id = ? AND r.status <> 'cancelled' AND r.created_at > ?", inc.ID, inc.CreatedAt.Add(-s.rule.Window))
	if err != nil {
		return err
	}
	start, ok := s.rule.Start(claims)
	if !ok || !start.Before(inc.StartedAt) {
		return nil
	}
	prev := inc.StartedAt
	if _, err := tx.NewRaw(`UPDATE incidents SET started_at = ?, version = version + 1, updated_at = ? WHERE id = ?`, start, now, inc.ID).Exec(ctx); err != nil {
		return Wrap(err)
	}
	inc.StartedAt = start
	inc.Version++
	ev := &dispatch.Event{Type: dispatch.EventIncidentStartChanged, At: now, IncidentID: inc.ID}
	by.event(ev)
	return s.events.Append(ctx, tx, ev, map[string]any{"folio": inc.Folio, "started_at": start, "previous": prev, "reports": len(claims)})
}

// IncidentTimeline returns the incident's own events in order: its opening, estimates,
// notices and resolution, and every event of the visits planned for it. The events of
// its attached reports (one per customer, hundreds in a large outage) are on each
// report's timeline instead. names are the names of the staff users who took its steps, by
// user id (Event.ActorUserID), as a report's timeline has them (ReportDetail.ActorNames).
func IncidentTimeline(ctx context.Context, db bun.IDB, incidentID int64) (timeline []dispatch.Event, names map[int64]string, err error) {
	if timeline, err = eventsWhere(ctx, db, "incident_id = ? AND report_id IS NULL", incidentID); err != nil {
		return nil, nil, err
	}
	if names, err = actorNames(ctx, db, timeline); err != nil {
		return nil, nil, err
	}
	return timeline, names, nil
}
