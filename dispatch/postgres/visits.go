package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/planning"
	"despacho/schedule"
)

// Visits stores visits and their places in the plan. Every change is written with its
// event in one transaction; changes to a day's plan are serialised per business day.
type Visits struct {
	db      *bun.DB
	events  *Events
	reports *Reports
	cfg     planning.Config
	// HoldFor is how long an offered window stays held; 5 min by default.
	HoldFor time.Duration

	// plans caches the last plan built per day with the fingerprint of the state it was
	// built from: compiling a 400-visit day costs ~100 ms, reusing it nothing. A plan is
	// only reused for a state with the same fingerprint, so instances sharing the database
	// never act on a stale plan.
	mu    sync.Mutex
	plans map[string]cachedPlan
	tick  uint64 // counts plan cache uses, for evicting the least recently used

	// afterSearch, when set (tests), runs between Optimize's search and its write.
	afterSearch func()
	// beforeTechnicianCommit, when set (tests), runs at the end of the transaction of a
	// change to what a technician can do (UpdateTechnician, AddTimeOff, MarkUnavailable),
	// after its re-plan, before it commits.
	beforeTechnicianCommit func()

	// optimizing holds the re-plans of a day running in this process (by day): a second
	// request for a day being optimised waits for the first one's result rather than
	// searching the same day again on the same cores (a double click, two dispatchers, the
	// re-plan job).
	optMu      sync.Mutex
	optimizing map[string]*optimizeCall
}

// optimizeCall is one running re-plan of a day and what it ended with.
type optimizeCall struct {
	done    chan struct{}
	res     *OptimizeResult
	err     error
	waiting int // callers waiting for it (tests read it)
	// cautious says the call keeps told visits with their technicians (the re-plan
	// job's Reoptimize): a dispatcher's Optimize does not take its result.
	cautious bool
}

type cachedPlan struct {
	fp     uint64
	plan   *schedule.Plan
	used   uint64    // Visits.tick when last used
	usedAt time.Time // and when, for planIdle
	bytes  int64     // the plan's Footprint, for cachedBytes
}

// NewVisits returns the visit store; reports is used to move a report to awaiting_visit and
// to resolve it when its visit is completed. cfg gives the business day and travel model.
func NewVisits(db *bun.DB, events *Events, reports *Reports, cfg planning.Config) *Visits {
	if events == nil {
		events = NewEvents()
	}
	if reports == nil {
		reports = NewReports(db, events, dispatch.SLA{})
	}
	return &Visits{db: db, events: events, reports: reports, cfg: cfg.WithDefaults(), HoldFor: 5 * time.Minute,
		plans: map[string]cachedPlan{}, optimizing: map[string]*optimizeCall{}}
}

// Config returns the planning configuration in use.
func (s *Visits) Config() planning.Config { return s.cfg }

type visitRow struct {
	bun.BaseModel `bun:"table:visits,alias:v"`

	ID              int64           `bun:"id,pk,autoincrement"`
	ReportID        int64           `bun:"report_id,nullzero"`
	IncidentID      int64           `bun:"incident_id,nullzero"`
	Folio           sql.NullString  `bun:"folio,scanonly"`
	IncidentFolio   sql.NullString  `bun:"incident_folio,scanonly"`
	CustomerName    sql.NullString  `bun:"customer_name,scanonly"`
	CustomerPhone   sql.NullString  `bun:"customer_phone,scanonly"`
	Status          string          `bun:"status"`
	DurationMin     int             `bun:"duration_min"`
	Skills          []string        `bun:"skills,array"`
	Address         string          `bun:"address"`
	Lat             float64         `bun:"lat"`
	Lon             float64         `bun:"lon"`
	Priority        int             `bun:"priority"`
	Urgent          bool            `bun:"urgent"`
	Availability    []dispatch.Span `bun:"availability,type:jsonb"`
	WindowStart     bun.NullTime    `bun:"window_start"`
	WindowEnd       bun.NullTime    `bun:"window_end"`
	HoldStart       bun.NullTime    `bun:"hold_start"`
	HoldEnd         bun.NullTime    `bun:"hold_end"`
	HeldUntil       bun.NullTime    `bun:"held_until"`
	TechnicianID    int64           `bun:"technician_id,nullzero"`
	PlanDay         bun.NullTime    `bun:"plan_day"`
	RoutePosition   int             `bun:"route_position,nullzero"`
	PlannedArrival  bun.NullTime    `bun:"planned_arrival"`
	PlannedStart    bun.NullTime    `bun:"planned_start"`
	PlannedEnd      bun.NullTime    `bun:"planned_end"`
	Pinned          bool            `bun:"pinned"`
	ETA             bun.NullTime    `bun:"eta"`
	AtRisk          bool            `bun:"at_risk"`
	NotDoneReason   sql.NullString  `bun:"not_done_reason"`
	Cause           sql.NullString  `bun:"cause"`
	Verdict         sql.NullString  `bun:"verdict"`
	ServiceRestored sql.NullBool    `bun:"service_restored"`
	StartedAt       bun.NullTime    `bun:"started_at"`
	ArrivedAt       bun.NullTime    `bun:"arrived_at"`
	FinishedAt      bun.NullTime    `bun:"finished_at"`
	Version         int             `bun:"version"`
	CreatedBy       int64           `bun:"created_by,nullzero"`
	CreatedAt       time.Time       `bun:"created_at,nullzero,default:now()"`
	UpdatedAt       time.Time       `bun:"updated_at,nullzero,default:now()"`
}

func span(a, b bun.NullTime) *dispatch.Span {
	if a.IsZero() || b.IsZero() {
		return nil
	}
	return &dispatch.Span{Start: a.Time, End: b.Time}
}

func (r *visitRow) visit() *dispatch.Visit {
	v := &dispatch.Visit{
		ID: r.ID, ReportID: r.ReportID, Folio: r.Folio.String, Status: dispatch.VisitStatus(r.Status),
		IncidentID: r.IncidentID, IncidentFolio: r.IncidentFolio.String,
		CustomerName: r.CustomerName.String, CustomerPhone: r.CustomerPhone.String,
		DurationMin: r.DurationMin, Skills: r.Skills, Address: r.Address, Lat: r.Lat, Lon: r.Lon,
		Priority: r.Priority, Urgent: r.Urgent, Availability: r.Availability,
		Window: span(r.WindowStart, r.WindowEnd), Hold: span(r.HoldStart, r.HoldEnd), HeldUntil: r.HeldUntil.Time,
		TechnicianID: r.TechnicianID, RoutePosition: r.RoutePosition,
		PlannedArrival: r.PlannedArrival.Time, PlannedStart: r.PlannedStart.Time, PlannedEnd: r.PlannedEnd.Time,
		Pinned: r.Pinned, ETA: r.ETA.Time, AtRisk: r.AtRisk,
		NotDoneReason: r.NotDoneReason.String, Cause: r.Cause.String, Verdict: r.Verdict.String,
		Version: r.Version, CreatedAt: r.CreatedAt,
	}
	if !r.PlanDay.IsZero() {
		v.PlanDay = r.PlanDay.Time.Format(time.DateOnly)
	}
	if r.ServiceRestored.Valid {
		b := r.ServiceRestored.Bool
		v.ServiceRestored = &b
	}
	if v.Skills == nil {
		v.Skills = []string{}
	}
	if v.Availability == nil {
		v.Availability = []dispatch.Span{}
	}
	return v
}

// selectVisits selects whole visits with their report's folio and the customer's name and
// phone (for the technician's tel: link), or, for an incident's own visit (no report, no
// customer), the incident's folio. The joins are outer so that neither kind is dropped.
func selectVisits(db bun.IDB, rows any) *bun.SelectQuery {
	return db.NewSelect().Model(rows).ColumnExpr("v.*").ColumnExpr("r.folio").
		ColumnExpr("c.name AS customer_name, c.phone AS customer_phone").
		ColumnExpr("vi.folio AS incident_folio").
		Join("LEFT JOIN reports AS r ON r.id = v.report_id").
		Join("LEFT JOIN customers AS c ON c.id = r.customer_id").
		Join("LEFT JOIN incidents AS vi ON vi.id = v.incident_id")
}

// canBeDone refuses a new visit no active technician could ever do: one asking for a
// skill nobody has ("skills"), or longer than any weekly shift of those who have them can
// hold with its break ("duration_min"). Such a visit sat in the board's queue for good,
// every slot search answering that nobody can take it.
func canBeDone(ctx context.Context, tx bun.Tx, nv dispatch.NewVisit) error {
	var techs []struct {
		Skills []string               `bun:"skills,array"`
		Shifts []dispatch.WeeklyShift `bun:"shifts,type:jsonb"`
	}
	if err := tx.NewSelect().Table("technicians").Column("skills", "shifts").Where("active").Scan(ctx, &techs); err != nil {
		return Wrap(err)
	}
	qualified, longest := false, time.Duration(0)
	for _, t := range techs {
		if !hasAll(t.Skills, nv.Skills) {
			continue
		}
		qualified = true
		for _, sh := range t.Shifts {
			start, ok1 := dispatch.ParseClock(sh.Start)
			end, ok2 := dispatch.ParseClock(sh.End)
			if !ok1 || !ok2 {
				continue
			}
			if end <= start {
				end += 24 * time.Hour // through midnight
			}
			free := end - start
			if sh.Break != nil {
				free -= time.Duration(sh.Break.Minutes) * time.Minute
			}
			longest = max(longest, free)
		}
	}
	switch {
	case len(techs) == 0:
		return nil // no team yet (a new installation): nothing to judge by
	case !qualified:
		return dispatch.Invalid("skills", "no active technician has every skill required (%s)", strings.Join(nv.Skills, ", "))
	case longest > 0 && time.Duration(nv.DurationMin)*time.Minute > longest:
		return dispatch.Invalid("duration_min", "longer than any shift of the technicians with those skills can hold (at most %d minutes)", int(longest/time.Minute))
	}
	return nil
}

// hasAll reports whether have holds every skill of want.
func hasAll(have, want []string) bool {
	for _, k := range want {
		if !slices.Contains(have, k) {
			return false
		}
	}
	return true
}

// Get returns one visit (404 when unknown).
func (s *Visits) Get(ctx context.Context, id int64) (*dispatch.Visit, error) {
	return getVisit(ctx, s.db, id, false)
}

func getVisit(ctx context.Context, db bun.IDB, id int64, lock bool) (*dispatch.Visit, error) {
	var row visitRow
	q := selectVisits(db, &row).Where("v.id = ?", id)
	if lock {
		q = q.For("UPDATE OF v")
	}
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("visit")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return row.visit(), nil
}

// ByReport returns the visits of a report, oldest first.
func (s *Visits) ByReport(ctx context.Context, reportID int64) ([]*dispatch.Visit, error) {
	var rows []visitRow
	if err := selectVisits(s.db, &rows).Where("v.report_id = ?", reportID).Order("v.id").Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	return visitsOf(rows), nil
}

// UnderWayBefore returns technician techID's visits under way (en route or on site) that
// belong to a business day before day, oldest first: a stop he set out for late one
// evening and had not finished when the day turned. They are on no later day's route, and
// may still be finished (SetStatus takes a step of a past day's visit).
func (s *Visits) UnderWayBefore(ctx context.Context, techID int64, day time.Time) ([]*dispatch.Visit, error) {
	var rows []visitRow
	err := selectVisits(s.db, &rows).
		Where("v.status IN ('en_route', 'on_site') AND v.technician_id = ?", techID).
		Where("v.plan_day < ?0::date OR (v.plan_day IS NULL AND v.window_start < ?1)", day.Format(time.DateOnly), day).
		Order("v.started_at", "v.id").Scan(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	return visitsOf(rows), nil
}

// Day returns the visits planned on a business day (YYYY-MM-DD) in route order, and the
// booked ones without a technician.
func (s *Visits) Day(ctx context.Context, day time.Time) ([]*dispatch.Visit, error) {
	return s.day(ctx, day, 0)
}

// TechnicianDay returns technician techID's visits of a business day in route order: Day's
// visits of his, read without the rest of the day's.
func (s *Visits) TechnicianDay(ctx context.Context, techID int64, day time.Time) ([]*dispatch.Visit, error) {
	return s.day(ctx, day, techID)
}

// day is Day, or TechnicianDay when techID is not 0.
func (s *Visits) day(ctx context.Context, day time.Time, techID int64) ([]*dispatch.Visit, error) {
	var rows []visitRow
	q := selectVisits(s.db, &rows).
		Where("v.status IN ('booked', 'assigned', 'en_route', 'on_site', 'completed', 'not_completed')").
		Where("(v.window_start >= ? AND v.window_start < ?) OR v.plan_day = ?::date", day, s.cfg.NextDay(day), day.Format(time.DateOnly))
	if techID != 0 {
		q = q.Where("v.technician_id = ?", techID)
	}
	if err := q.Order("v.technician_id", "v.planned_start", "v.id").Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	return visitsOf(rows), nil
}

func visitsOf(rows []visitRow) []*dispatch.Visit {
	out := make([]*dispatch.Visit, len(rows))
	for i := range rows {
		out[i] = rows[i].visit()
	}
	return out
}

func visitEvent(v *dispatch.Visit, typ string, actor *dispatch.User, at time.Time) *dispatch.Event {
	name, uid := dispatch.ActorOf(actor)
	if actor != nil && actor.Role == dispatch.RoleTechnician && v.TechnicianID != 0 {
		name = "technician:" + itoa64(v.TechnicianID)
	}
	// An incident's own visit has no report: its events go on the incident's timeline and
	// live stream through IncidentID, and text no customer.
	return &dispatch.Event{Type: typ, At: at, Actor: name, ActorUserID: uid, ReportID: v.ReportID, VisitID: v.ID,
		TechnicianID: v.TechnicianID, IncidentID: v.IncidentID}
}

// changeReport applies a change to the report inside tx, as Reports.Change does in its own
// transaction, so that a visit and its report move together.
func (s *Visits) changeReport(ctx context.Context, tx bun.Tx, folio string, c dispatch.Change, actor *dispatch.User, now time.Time) error {
	_, err := s.reports.ChangeTx(ctx, tx, folio, c, Origin{User: actor}, now)
	return err
}

// Create adds a visit to the report with that folio: at the report's location unless nv
// gives coordinates. The report moves to awaiting_visit. A closed report is a conflict.
func (s *Visits) Create(ctx context.Context, folio string, nv dispatch.NewVisit, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	if err := nv.Validate(); err != nil {
		return nil, err
	}
	var id, reportID int64
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		d, err := s.reports.get(ctx, tx, folio, true)
		if err != nil {
			return err
		}
		r := d.Report
		reportID, folio = r.ID, r.Folio
		if !r.Status.Active() {
			return dispatch.Conflict("illegal_transition", "a %s report gets no visit", r.Status)
		}
		// The report's row lock (above) orders two creations for it: the second one sees
		// the first one's visit here. The index visits_one_open_per_report backs this up.
		if err := noOtherOpenVisit(ctx, tx, r.ID, r.Folio, 0); err != nil {
			return err
		}
		if err := canBeDone(ctx, tx, nv); err != nil {
			return err
		}
		row := &visitRow{ReportID: r.ID, Status: string(dispatch.VisitUnscheduled), DurationMin: nv.DurationMin, Skills: nv.Skills,
			Address: nv.Address, Priority: nv.Priority, Urgent: nv.Urgent, Availability: nv.Availability}
		if actor != nil {
			row.CreatedBy = actor.ID
		}
		switch {
		case nv.Lat != nil:
			row.Lat, row.Lon = *nv.Lat, *nv.Lon
		case d.Location != nil && d.Location.Lat != nil:
			row.Lat, row.Lon = *d.Location.Lat, *d.Location.Lon
		default:
			return dispatch.Invalid("lat", "the report's address has no coordinates: give lat and lon")
		}
		if row.Address == "" && d.Location != nil {
			row.Address = d.Location.Line
		}
		_, err = tx.NewInsert().Model(row).
			Column("report_id", "status", "duration_min", "skills", "address", "lat", "lon", "priority", "urgent", "availability", "created_by").
			Returning("id").Exec(ctx)
		if err != nil {
			return Wrap(err)
		}
		id = row.ID
		v := row.visit()
		v.Folio = r.Folio
		if err := s.events.Append(ctx, tx, visitEvent(v, "visit.created", actor, now), map[string]any{
			"duration_min": v.DurationMin, "skills": v.Skills, "urgent": v.Urgent,
		}); err != nil {
			return err
		}
		if _, ok := dispatch.CanMove(r.Status, dispatch.ActionAwaitVisit); ok && r.Status != dispatch.StatusAwaitingVisit {
			return s.changeReport(ctx, tx, r.Folio, dispatch.Change{Action: dispatch.ActionAwaitVisit}, actor, now)
		}
		return nil
	})
	if err != nil {
		return nil, Wrap(openVisitError(ctx, s.db, err, reportID, folio))
	}
	return s.Get(ctx, id)
}

// openVisitIndex is the partial unique index that keeps a report to one open visit (see
// dispatch.VisitStatus.Open); openVisitSQL is its predicate over visits AS v.
const (
	openVisitIndex = "visits_one_open_per_report"
	openVisitSQL   = "v.status NOT IN ('completed', 'not_completed', 'cancelled')"
)

// noOtherOpenVisit refuses (409 open_visit, naming it) a change that would give report
// reportID (folio) a second open visit: it has one other than except.
func noOtherOpenVisit(ctx context.Context, db bun.IDB, reportID int64, folio string, except int64) error {
	var open []struct {
		ID   int64 `bun:"id"`
		Held bool  `bun:"held"`
	}
	err := db.NewRaw("SELECT v.id, v.held_by_incident_id IS NOT NULL AS held FROM visits AS v WHERE v.report_id = ? AND v.id <> ? AND "+
		openVisitSQL+" ORDER BY v.id LIMIT 1", reportID, except).Scan(ctx, &open)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Wrap(err)
	}
	if len(open) == 0 {
		return nil
	}
	if open[0].Held {
		return dispatch.Conflict("open_visit", "report %s already has visit %d open, held while the report's incident is open; "+
			"it is cancelled when the incident is resolved", folio, open[0].ID)
	}
	return dispatch.Conflict("open_visit", "report %s already has visit %d open; finish or cancel it before creating another", folio, open[0].ID)
}

// openVisitError turns the index's refusal of a second open visit for report reportID
// (folio) — a change racing with another one that the checks could not see yet — into the
// conflict noOtherOpenVisit answers, naming the visit that won; other errors pass through.
func openVisitError(ctx context.Context, db bun.IDB, err error, reportID int64, folio string) error {
	if !IsUniqueViolation(err) || Constraint(err) != openVisitIndex {
		return err
	}
	if cerr := noOtherOpenVisit(ctx, db, reportID, folio, 0); dispatch.ErrorKind(cerr) == dispatch.KindConflict {
		return cerr
	}
	return dispatch.Conflict("open_visit", "report %s already has an open visit; finish or cancel it before another", folio)
}

func itoa64(n int64) string {
	b := make([]byte, 0, 20)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// visitDay is the business day visit v is planned for: its route's day, or else its
// promised window's; the zero time when it has neither.
func (s *Visits) visitDay(v *dispatch.Visit) time.Time {
	if v.PlanDay != "" {
		if d, err := s.cfg.ParseDay("plan_day", v.PlanDay); err == nil {
			return d
		}
	}
	if v.Window != nil {
		return s.cfg.Day(v.Window.Start)
	}
	return time.Time{}
}

// freshPosition is how old a shared position may be for an ETA to leave from it; the tech
// page shares one a minute.
const freshPosition = 15 * time.Minute

// SetStatus records a technician's step on visit id. A technician may only move his own
// visits (another's is not found, 404: its existence is not told); steps out of order are
// conflicts. Completion resolves the report with the visit's outcome, in the same
// transaction.
func (s *Visits) SetStatus(ctx context.Context, id int64, o dispatch.Outcome, actor *dispatch.User, now time.Time) (*dispatch.Visit, error) {
	v, _, err := s.SetStatusOnce(ctx, id, o, actor, now, nil)
	return v, err
}

// SetStatusOnce is SetStatus made safe to send again: the first request that claims key
// records the step and keeps its answer in the same transaction; a later request with the
// same key (and Hash) records nothing and returns the first one's stored answer (Replayed),
// with the visit as it now stands.
// A refused step records nothing, its key included, so the step corrected may come with the
// same key. A nil key is SetStatus.
//
// Why: a phone whose answer was lost sends its step again. Without a key, the repeat is
// refused as out of order, which only hints that it was taken (the visit may have moved on
// meanwhile), and a visit that came back to where the step leaves from (not completed,
// booked again) would take it twice.
func (s *Visits) SetStatusOnce(ctx context.Context, id int64, o dispatch.Outcome, actor *dispatch.User, now time.Time, key *IdempotencyKey) (*dispatch.Visit, *Answer, error) {
	var replayed *Answer
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		replayed = nil
		if key == nil {
			return s.recordStep(ctx, tx, id, o, actor, now)
		}
		a, err := claimKey(ctx, tx, key, now)
		if err != nil {
			return err
		}
		if a != nil {
			replayed = a
			return nil
		}
		if err := s.recordStep(ctx, tx, id, o, actor, now); err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"id": id, "status": o.Status})
		if err != nil {
			return err
		}
		return saveAnswer(ctx, tx, key, &Answer{Status: 200, Body: body}) // HTTP 200: the step taken
	})
	if err != nil {
		return nil, nil, Wrap(err)
	}
	v, err := s.Get(ctx, id)
	return v, replayed, err
}

// recordStep records step o of visit id inside tx (see SetStatus).
func (s *Visits) recordStep(ctx context.Context, tx bun.Tx, id int64, o dispatch.Outcome, actor *dispatch.User, now time.Time) error {
	// Today's lock too: a step moves the ETAs of the rest of his day (refreshETAs).
	v, err := s.lockVisit(ctx, tx, id, now)
	if err != nil {
		return err
	}
	// Another technician's visit looks absent, whatever the body says, so that
	// neither the answer nor its validation tells him which ids exist.
	if actor != nil && actor.Role == dispatch.RoleTechnician {
		t, err := (&Technicians{}).byUser(ctx, tx, actor.ID)
		if err != nil || t.ID != v.TechnicianID {
			return dispatch.NotFound("visit")
		}
	}
	if err := o.Validate(); err != nil {
		return err
	}
	if !dispatch.CanMoveVisit(v.Status, o.Status) {
		return dispatch.Conflict("illegal_transition", "a %s visit cannot become %s", v.Status, o.Status)
	}
	if v.TechnicianID == 0 {
		return dispatch.Conflict("illegal_transition", "the visit has no technician")
	}
	// A step belongs to the visit's day: setting out tonight for tomorrow's visit would
	// text its customer an ETA for tonight and take the visit out of tomorrow's route.
	// A visit of a past day left unfinished may still be finished.
	if day := s.visitDay(v); day.After(s.cfg.Day(now)) {
		return dispatch.Conflict("visit_not_today", "the visit is planned for %s: its steps are recorded on that day", day.Format(time.DateOnly))
	}
	if o.Status == dispatch.VisitEnRoute {
		// One visit under way at a time: setting out for the next while still at (or on
		// the way to) another would text its customer an ETA nobody keeps. Only today's:
		// a visit left unfinished on another day does not stop his day.
		var other struct {
			ID    int64          `bun:"id"`
			Folio sql.NullString `bun:"folio"`
		}
		err := tx.NewSelect().Table("visits").ColumnExpr("visits.id, coalesce(r.folio, i.folio) AS folio").
			Join("LEFT JOIN reports AS r ON r.id = visits.report_id").
			Join("LEFT JOIN incidents AS i ON i.id = visits.incident_id").
			Where("visits.technician_id = ? AND visits.id <> ?", v.TechnicianID, v.ID).
			Where("visits.status IN ('en_route', 'on_site') AND visits.started_at >= ?", s.cfg.Day(now)).
			Limit(1).Scan(ctx, &other)
		if err == nil {
			return dispatch.Conflict("visit_under_way", "visit %d (%s) is under way: complete it or mark it not completed first", other.ID, other.Folio.String)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Wrap(err)
		}
	}
	q := tx.NewUpdate().Table("visits").Set("status = ?, version = version + 1, updated_at = now()", o.Status).Where("id = ?", v.ID)
	var data map[string]any
	switch o.Status {
	case dispatch.VisitEnRoute:
		eta := v.PlannedArrival
		if eta.Before(now) {
			eta = now
		}
		// Leaving from where he said he was a few minutes ago, he arrives no sooner
		// than the trip takes: the customer is texted this ETA. An older position (or
		// one from another day) says nothing of where he is now.
		var pos struct {
			Lat sql.NullFloat64 `bun:"last_lat"`
			Lon sql.NullFloat64 `bun:"last_lon"`
			At  bun.NullTime    `bun:"last_seen_at"`
		}
		if err := tx.NewSelect().Table("technicians").Column("last_lat", "last_lon", "last_seen_at").
			Where("id = ?", v.TechnicianID).Scan(ctx, &pos); err != nil {
			return Wrap(err)
		}
		if pos.Lat.Valid && pos.Lon.Valid && !pos.At.IsZero() && !pos.At.After(now.Add(time.Minute)) && now.Sub(pos.At.Time) <= freshPosition {
			sec, _ := s.cfg.Travel.Leg(schedule.Location{Lat: pos.Lat.Float64, Lon: pos.Lon.Float64}, schedule.Location{Lat: v.Lat, Lon: v.Lon})
			if trip := now.Add(time.Duration(sec * float64(time.Second))).Truncate(time.Second); trip.After(eta) {
				eta = trip
			}
		}
		q = q.Set("started_at = ?, eta = ?", now, eta)
		data = map[string]any{"eta": eta.UTC()}
	case dispatch.VisitOnSite:
		q = q.Set("arrived_at = ?", now)
	case dispatch.VisitCompleted:
		q = q.Set("finished_at = ?, cause = ?, verdict = ?, service_restored = ?", now, o.Cause, o.Verdict, *o.ServiceRestored)
		data = map[string]any{"cause": o.Cause, "verdict": o.Verdict, "service_restored": *o.ServiceRestored}
	case dispatch.VisitNotCompleted:
		q = q.Set("finished_at = ?, not_done_reason = ?", now, o.Reason)
		// A visit under way when its report attached to an incident was not held; back
		// to booking now, it is held like the report's other visits while the incident
		// is open (and cancelled when it is resolved), so that nobody is sent to a
		// customer of a known outage.
		inc, err := openIncidentOf(ctx, tx, v.ReportID)
		if err != nil {
			return err
		}
		if inc != 0 {
			q = q.Set("held_by_incident_id = coalesce(held_by_incident_id, ?)", inc)
		}
		data = map[string]any{"reason": o.Reason}
	}
	if o.Note != "" {
		if data == nil {
			data = map[string]any{}
		}
		data["note"] = o.Note
	}
	if _, err := q.Exec(ctx); err != nil {
		return Wrap(err)
	}
	if err := s.events.Append(ctx, tx, visitEvent(v, "visit."+string(o.Status), actor, now), data); err != nil {
		return err
	}
	switch o.Status {
	case dispatch.VisitOnSite:
		// Arriving late (or early) moves the ETAs of the rest of his day.
		if _, err := tx.NewUpdate().Table("visits").Set("eta = ?", now).Where("id = ?", v.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		return s.refreshETAs(ctx, tx, v.TechnicianID, schedule.Location{Lat: v.Lat, Lon: v.Lon}, now.Add(v.Duration()), now)
	case dispatch.VisitNotCompleted:
		return s.refreshETAs(ctx, tx, v.TechnicianID, schedule.Location{Lat: v.Lat, Lon: v.Lon}, now, now)
	case dispatch.VisitCompleted:
		if err := s.refreshETAs(ctx, tx, v.TechnicianID, schedule.Location{Lat: v.Lat, Lon: v.Lon}, now, now); err != nil {
			return err
		}
	default:
		return nil
	}
	if v.ReportID == 0 {
		// An incident's own visit: its outcome stays on the visit; the dispatcher
		// resolves the incident (and its reports) with cause and verdict.
		return nil
	}
	d, err := s.reports.get(ctx, tx, v.Folio, true)
	if err != nil {
		return err
	}
	if _, ok := dispatch.CanMove(d.Report.Status, dispatch.ActionResolve); !ok {
		return nil // resolved meanwhile by other means: the visit's outcome stays on the visit
	}
	return s.changeReport(ctx, tx, v.Folio, dispatch.Change{
		Action: dispatch.ActionResolve, Cause: o.Cause, Verdict: o.Verdict, ServiceRestored: o.ServiceRestored,
		Notes: o.Note, Channel: string(dispatch.ChannelWeb),
	}, actor, now)
}

// openIncidentOf returns the open incident that report reportID is attached to (0: none, or
// no report), share-locking it until tx ends. The lock orders a hold with the incident's
// resolution, which locks it for update before it cancels the visits it holds: a hold
// taken first is committed before the resolution reads the held visits, and one that comes
// during the resolution waits for it and finds the incident resolved. Read unlocked, the
// incident looked open until the resolution committed, and a visit held then was held by
// a resolved incident for good.
func openIncidentOf(ctx context.Context, tx bun.Tx, reportID int64) (int64, error) {
	if reportID == 0 {
		return 0, nil
	}
	var id int64
	err := tx.NewRaw(`SELECT i.id FROM reports AS r JOIN incidents AS i ON i.id = r.incident_id
		WHERE r.id = ? AND i.status = 'open' FOR SHARE OF i`, reportID).Scan(ctx, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, Wrap(err)
}
