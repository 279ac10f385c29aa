package postgres

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"despacho/dispatch"
	"despacho/dispatch/sla"
)

type reportRow struct {
	bun.BaseModel `bun:"table:reports,alias:r"`
	dispatch.Report
}

// Reports stores reports, their customers and locations. Every change is written together
// with the event that records it.
type Reports struct {
	db       *bun.DB
	events   *Events
	sla      dispatch.SLA
	policies *SLAPolicies
	calendar *BusinessCalendar
	prepared *prepared
	// creations batches concurrent Creates into shared transactions (createBatch).
	creations *batcher[*creation]
}

// NewReports returns the report store on db; events records every change. New reports get
// the policies and the business calendar stored in the database (see SLAPolicies and
// BusinessCalendar); s.Policies (nil: sla.DefaultPolicies) and s.Calendar (nil: the
// default) seed them when the database has none yet, and s.Calendar's zone and yearly
// holidays are every stored calendar's.
func NewReports(db *bun.DB, events *Events, s dispatch.SLA) *Reports {
	if events == nil {
		events = NewEvents()
	}
	if s.Calendar == nil {
		s.Calendar = sla.DefaultCalendar()
	}
	if s.Policies == nil {
		s.Policies = sla.DefaultPolicies()
	}
	r := &Reports{db: db, events: events, sla: s, policies: NewSLAPolicies(db, events, s.Policies),
		calendar: NewBusinessCalendar(db, events, s.Calendar), prepared: newPrepared(db)}
	r.creations = &batcher[*creation]{leaders: defaultLeaders(), max: maxCreateBatch, run: r.createBatch,
		compatible: (*creation).compatible}
	return r
}

// Policies returns the store of the SLA policies this store files reports under; replace
// them through it so that this instance applies the change at once.
func (s *Reports) Policies() *SLAPolicies { return s.policies }

// Calendar returns the store of the business calendar this store files reports under;
// replace it through it so that this instance applies the change at once.
func (s *Reports) Calendar() *BusinessCalendar { return s.calendar }

// currentSLA is the calendar and the policies new reports get now.
func (s *Reports) currentSLA(ctx context.Context) (dispatch.SLA, error) {
	ps, err := s.policies.Current(ctx)
	if err != nil {
		return dispatch.SLA{}, err
	}
	cal, v, err := s.calendar.current(ctx)
	if err != nil {
		return dispatch.SLA{}, err
	}
	return dispatch.SLA{Calendar: cal, Policies: ps, CalendarVersion: v}, nil
}

// slaOf is base with the calendar report r is measured by: the version fixed on it, read
// through db when not cached (a caller in a transaction passes it). A report filed before
// policies were fixed on reports (SLAPolicy nil) is measured by the policies stored now,
// whatever base holds, so that the board, the desk, the SLA job and the incidents all
// measure it alike.
func (s *Reports) slaOf(ctx context.Context, db bun.IDB, r *dispatch.Report, base dispatch.SLA) (dispatch.SLA, error) {
	cal, err := s.calendar.at(ctx, db, r.CalendarVersion)
	if err != nil {
		return dispatch.SLA{}, err
	}
	base.Calendar, base.CalendarVersion = cal, r.CalendarVersion
	if r.SLAPolicy == nil {
		if base.Policies, err = s.policies.Current(ctx); err != nil {
			return dispatch.SLA{}, err
		}
	}
	return base, nil
}

// SLAOf returns what report r's SLA standing is computed with: the business calendar
// version and the policy fixed on it (the policies stored now for a report filed before
// policies were fixed on reports). The board and the desk show r's state by it, so that
// the state agrees with the due times stored on r.
func (s *Reports) SLAOf(ctx context.Context, r *dispatch.Report) (dispatch.SLA, error) {
	return s.slaOf(ctx, s.db, r, s.sla)
}

// Origin says who creates or changes a report. Staff are users; otherwise Actor names the
// source ("customer" for the public form and e-mails from the mail gateway).
type Origin struct {
	User  *dispatch.User
	Actor string
}

func (o Origin) event(ev *dispatch.Event) {
	if o.User != nil {
		ev.Actor, ev.ActorUserID = dispatch.ActorOf(o.User)
		return
	}
	ev.Actor = o.Actor
	if ev.Actor == "" {
		ev.Actor = "system"
	}
}

// Get returns the report with that folio, its customer, location and timeline.
func (s *Reports) Get(ctx context.Context, folio string) (*dispatch.ReportDetail, error) {
	return s.get(ctx, s.db, folio, false)
}

func (s *Reports) get(ctx context.Context, db bun.IDB, folio string, forUpdate bool) (*dispatch.ReportDetail, error) {
	folio, ok := dispatch.ParseFolio(folio)
	if !ok {
		return nil, dispatch.NotFound("report")
	}
	var row reportRow
	q := db.NewSelect().Model(&row).Where("r.folio = ?", folio)
	if forUpdate {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("report")
	} else if err != nil {
		return nil, Wrap(err)
	}
	d := &dispatch.ReportDetail{Report: &row.Report}
	c, err := oneCustomer(ctx, db, "c.id = ?", row.CustomerID)
	if err != nil {
		return nil, err
	}
	d.Customer = c
	if row.LocationID != 0 {
		var l locationRow
		if err := db.NewSelect().Model(&l).Where("l.id = ?", row.LocationID).Scan(ctx); err != nil {
			return nil, Wrap(err)
		}
		d.Location = &l.Location
	}
	if !forUpdate {
		if d.Timeline, err = Timeline(ctx, db, row.ID); err != nil {
			return nil, err
		}
		if d.ActorNames, err = actorNames(ctx, db, d.Timeline); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// actorNames returns the names of the users who took the steps of timeline, by id: one
// query for the whole timeline. A report's timeline (get) and an incident's
// (IncidentTimeline) both name their actors through it.
func actorNames(ctx context.Context, db bun.IDB, timeline []dispatch.Event) (map[int64]string, error) {
	out := map[int64]string{}
	var ids []int64
	for _, ev := range timeline {
		if ev.ActorUserID != 0 && !slices.Contains(ids, ev.ActorUserID) {
			ids = append(ids, ev.ActorUserID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID   int64  `bun:"id"`
		Name string `bun:"name"`
	}
	if err := db.NewRaw("SELECT id, name FROM users WHERE id IN (?)", bun.In(ids)).Scan(ctx, &rows); err != nil {
		return nil, Wrap(err)
	}
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}

// Change applies one action to the report with that folio, as of now, and records it with
// its event in one transaction; it returns the report as it now stands. Illegal moves are
// conflicts (illegal_transition), a stale version is stale_version.
func (s *Reports) Change(ctx context.Context, folio string, c dispatch.Change, by Origin, now time.Time) (*dispatch.ReportDetail, error) {
	err := s.events.RunInTxRetry(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		_, err := s.ChangeTx(ctx, tx, folio, c, by, now)
		return err
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return s.Get(ctx, folio)
}

// ChangeTx is Change inside a transaction the caller holds (a store that moves a report
// together with its own rows): it locks the report, applies c as of now, writes the report
// and its event in tx (with the breach marks the change fixes, see lateBreaches), and
// returns the report as changed. Nothing is written on error; the
// caller rolls back.
func (s *Reports) ChangeTx(ctx context.Context, tx bun.Tx, folio string, c dispatch.Change, by Origin, now time.Time) (*dispatch.Report, error) {
	cur, err := s.currentSLA(ctx)
	if err != nil {
		return nil, err
	}
	d, err := s.get(ctx, tx, folio, true)
	if err != nil {
		return nil, err
	}
	r := d.Report
	if c.Action != dispatch.ActionReclassify {
		// A report keeps the calendar it was filed under; reclassifying fixes the policy
		// and the calendar in force now, as filing does.
		if cur, err = s.slaOf(ctx, tx, r, cur); err != nil {
			return nil, err
		}
	}
	old := r.Version
	ran, responded, active := r.PausedSince == nil, r.FirstRespondedAt != nil, r.Status.Active()
	ch, typ, data, err := r.Apply(c, now, cur)
	if err != nil {
		return nil, err
	}
	late := lateBreaches(r, ran, responded, cur)
	r.Version = old + 1
	if r.Pauses == nil {
		r.Pauses = []dispatch.Pause{}
	}
	row := &reportRow{Report: *r}
	res, err := tx.NewUpdate().Model(row).ExcludeColumn("id", "folio", "customer_id", "location_id", "access_code_hash", "created_at", "created_by", "incident_id").
		Where("r.id = ?", r.ID).Where("r.version = ?", old).Exec(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, dispatch.Conflict("stale_version", "the report changed meanwhile; reload it")
	}
	ev := &dispatch.Event{Type: typ, At: now, Channel: string(ch), ReportID: r.ID}
	by.event(ev)
	data["folio"], data["version"] = r.Folio, r.Version
	if c.Action == dispatch.ActionReopen || c.Action == dispatch.ActionResolve {
		if err := keepCompensation(ctx, tx, r.ID, data); err != nil {
			return nil, err
		}
	}
	if err := s.events.Append(ctx, tx, ev, data); err != nil {
		return nil, err
	}
	for _, b := range late {
		if err := appendMark(ctx, tx, s.events, r, b.typ, b.st, now); err != nil {
			return nil, err
		}
	}
	if active && !r.Status.Active() {
		if err := s.cancelUnstarted(ctx, tx, r, by, now); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// cancelUnstarted cancels, in tx, the visits of report r (just resolved or cancelled) that
// no technician has set out for, and writes visit.cancelled for each, in id order: nobody is
// sent to a report nobody works on any more, and the boards and his route drop the visit.
// The reason is dispatch.ReasonReportResolved or ReasonReportCancelled. A visit under way is
// left for its technician to finish.
//
// It locks visit rows after the report's, as an incident does; Change runs under
// RunInTxRetry for the deadlock that may meet a change taking them the other way round.
func (s *Reports) cancelUnstarted(ctx context.Context, tx bun.Tx, r *dispatch.Report, by Origin, now time.Time) error {
	reason := dispatch.ReasonReportCancelled
	if r.Status == dispatch.StatusResolved {
		reason = dispatch.ReasonReportResolved
	}
	_, err := cancelVisits(ctx, tx, s.events, by, now, func(_ *dispatch.Event, data map[string]any) {
		data["reason"], data["folio"] = reason, r.Folio
	}, "v.report_id = ? AND v.status IN (?)", r.ID, bun.In(unstartedVisitStatuses))
	return err
}

// unstartedVisitStatuses are the states of an open visit that no technician has set out
// for (see cancelUnstarted).
var unstartedVisitStatuses = []dispatch.VisitStatus{dispatch.VisitUnscheduled, dispatch.VisitBooked,
	dispatch.VisitAssigned, dispatch.VisitNotCompleted}

// lateBreach is a deadline found breached by the change that fixes its outcome.
type lateBreach struct {
	typ string
	st  sla.Status
}

// lateBreaches raises on r, just changed, the SLA states its change fixes as breached, and
// returns their marks: the resolution budget when the change stopped a clock that ran
// before it (ran) after the budget had run out, the first-response budget when the change
// is the first response (not responded before it) and came late. The SLA job marks only
// running clocks of reports nobody has responded to, once a minute, so a deadline that
// passed since its last run would otherwise never be recorded.
func lateBreaches(r *dispatch.Report, ran, responded bool, s dispatch.SLA) []lateBreach {
	var out []lateBreach
	if ran && r.PausedSince != nil && r.SLAState != sla.StateBreached {
		if st := r.SLAStatus(s, *r.PausedSince); st.State == sla.StateBreached {
			r.SLAState = sla.StateBreached
			out = append(out, lateBreach{dispatch.EventReportSLABreached, st})
		}
	}
	if !responded && r.FirstRespondedAt != nil && r.FirstResponseState != sla.StateBreached {
		if st := r.FirstResponseStatus(s, *r.FirstRespondedAt); st.State == sla.StateBreached {
			r.FirstResponseState = sla.StateBreached
			out = append(out, lateBreach{dispatch.EventReportFirstResponseBreached, st})
		}
	}
	return out
}

// appendMark writes the SLA mark typ (at risk or breached, st the standing) of report r.
func appendMark(ctx context.Context, tx bun.Tx, events *Events, r *dispatch.Report, typ string, st sla.Status, now time.Time) error {
	ev := &dispatch.Event{Type: typ, At: now, Actor: "system", ReportID: r.ID}
	data := map[string]any{"folio": r.Folio, "due_at": st.Due, "used": st.Used, "area": r.Area, "priority": r.Priority}
	return events.Append(ctx, tx, ev, data)
}

// ListFilter selects reports for List. Zero fields do not filter.
type ListFilter struct {
	Statuses  []dispatch.Status
	Kind      sla.Kind
	Area      dispatch.Area
	DueBefore time.Time
	// Query is searched, case-insensitively, in the folio, subject, description and
	// customer name.
	Query string
	// Phone, in E.164, keeps the reports of the customer with that phone: an index lookup
	// (customers_phone_key, then reports_customer_idx), never a scan of every report.
	Phone string
	// After is the cursor of the previous page ("" for the first).
	After string
	Limit int

	afterID int64 // After decoded
}

// where adds f's conditions but its text search to q, a query of reports AS r joined to
// customers AS c.
func (f ListFilter) where(q *bun.SelectQuery) *bun.SelectQuery {
	if f.afterID != 0 {
		q = q.Where("r.id < ?", f.afterID)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("r.status IN (?)", bun.In(f.Statuses))
	}
	if f.Kind != "" {
		q = q.Where("r.kind = ?", f.Kind)
	}
	if f.Area != "" {
		q = q.Where("r.area = ?", f.Area)
	}
	if !f.DueBefore.IsZero() {
		q = q.Where("r.due_at < ?", f.DueBefore)
	}
	if f.Phone != "" {
		q = q.Where("c.phone = ?", f.Phone)
	}
	return q
}

// ListItem is one report of a list.
type ListItem struct {
	dispatch.Report
	CustomerName  string `bun:"customer_name"`
	CustomerPhone string `bun:"customer_phone"`
}

// List returns reports matching f, newest first, one page at a time, and the cursor of the
// next page ("" on the last). A cursor not made by List is invalid ("after").
func (s *Reports) List(ctx context.Context, f ListFilter) ([]ListItem, string, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	var rows []struct {
		bun.BaseModel `bun:"table:reports,alias:r"`
		ListItem
	}
	q := s.db.NewSelect().Model(&rows).ColumnExpr("r.*").
		ColumnExpr("c.name AS customer_name, c.phone AS customer_phone").
		Join("JOIN customers AS c ON c.id = r.customer_id")
	if f.After != "" {
		id, err := decodeCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		f.afterID = id
	}
	if f.Query == "" {
		q = f.where(q)
	} else {
		// The text is in the report or in its customer's name: one page of each, newest
		// first, each read the way its planner finds cheapest (a term on most reports by
		// walking them newest first, a rare one by the trigram indexes of migration
		// 20261129000400), then the newest of both. One condition over the two tables
		// could use no index, and read every report to find a rare name (about a second
		// at 300,000 reports). Both pages pass f's other filters already.
		pat := "%" + likeEscaper.Replace(f.Query) + "%"
		page := func(cond string) *bun.SelectQuery {
			return f.where(s.db.NewSelect().TableExpr("reports AS r").Column("r.id").
				Join("JOIN customers AS c ON c.id = r.customer_id").Where(cond, pat)).
				OrderExpr("r.id DESC").Limit(int64(f.Limit + 1))
		}
		q = q.Where("r.id IN (SELECT id FROM (?) AS own UNION SELECT id FROM (?) AS named)",
			page("r.folio ILIKE ?0 OR r.subject ILIKE ?0 OR r.description ILIKE ?0"), page("c.name ILIKE ?0"))
	}
	if err := q.OrderExpr("r.id DESC").Limit(int64(f.Limit + 1)).Scan(ctx); err != nil {
		return nil, "", Wrap(err)
	}
	rows, next := nextPage(rows, f.Limit, func(i int) int64 { return rows[i].ID })
	out := make([]ListItem, len(rows))
	for i := range rows {
		out[i] = rows[i].ListItem
	}
	return out, next, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// encodeCursor is the cursor of the page after row id. A list (reports, visits) is read in
// keyset pages in order of id: a page of limit rows is read with a limit of limit+1, and the
// next page's cursor is its last row's (see nextPage).
func encodeCursor(id int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(id))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the id of cursor s, the next page's cursor of a list (see nextPage);
// any other is 422 after.
func decodeCursor(s string) (int64, error) {
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil && len(b) == 8 {
		if id := int64(binary.BigEndian.Uint64(b)); id > 0 {
			return id, nil
		}
	}
	return 0, dispatch.Invalid("after", "is not a cursor returned by this list")
}

// nextPage cuts rows, read with a limit of limit+1, to a page of at most limit rows and
// returns it with the next page's cursor: the id (id(i) of row i) of the page's last row,
// or "" when rows held no more than limit, the last page.
func nextPage[T any](rows []T, limit int, id func(i int) int64) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	return rows[:limit], encodeCursor(id(limit - 1))
}

// SLAMarks counts what MarkSLATargets marked, per deadline.
type SLAMarks struct {
	AtRisk, Breached                           int // resolution
	FirstResponseAtRisk, FirstResponseBreached int
}

func (m SLAMarks) total() int {
	return m.AtRisk + m.Breached + m.FirstResponseAtRisk + m.FirstResponseBreached
}

// MarkSLA is MarkSLATargets returning the resolution marks only.
func (s *Reports) MarkSLA(ctx context.Context, now time.Time) (atRisk, breached int, err error) {
	m, err := s.MarkSLATargets(ctx, now)
	return m.AtRisk, m.Breached, err
}

// MarkSLATargets records, as of now, the active reports whose resolution budget is 80 %
// used (report.sla_at_risk) or used up (report.sla_breached), and those nobody has
// responded to (see dispatch.Report.FirstRespondedAt) whose first-response budget is 80 %
// used (report.first_response_at_risk) or used up (report.first_response_breached). Each
// mark is written at most once per report and deadline; a report found already past its
// due time gets only the breach. Reports waiting on the customer are skipped: their clock
// is stopped (a breach before it stopped was marked by the change that stopped it). Rows another transaction holds are left for the next run. Marking does not
// bump a report's version, so it never makes a person's change stale.
func (s *Reports) MarkSLATargets(ctx context.Context, now time.Time) (SLAMarks, error) {
	const batch = 200
	var m SLAMarks
	for {
		n, marked := 0, m.total()
		err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
			n = 0
			var rows []reportRow
			err := tx.NewSelect().Model(&rows).
				Where("r.status IN ('open', 'in_progress', 'awaiting_visit')").
				WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
					return q.Where("r.sla_state <> 'breached' AND ((r.sla_state = 'ok' AND r.sla_risk_at <= ?) OR r.due_at <= ?)", now, now).
						WhereOr(`r.first_responded_at IS NULL AND r.first_response_state <> 'breached'
							AND ((r.first_response_state = 'ok' AND r.first_response_risk_at <= ?) OR r.first_response_due_at <= ?)`, now, now)
				}).
				OrderExpr("r.id").Limit(batch).For("UPDATE SKIP LOCKED").Scan(ctx)
			if err != nil {
				return Wrap(err)
			}
			n = len(rows)
			for i := range rows {
				if err := s.markOne(ctx, tx, &rows[i].Report, now, &m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return m, Wrap(err)
		}
		if n < batch || m.total() == marked {
			return m, nil
		}
	}
}

// markOne writes r's due SLA marks in tx and counts them in m.
func (s *Reports) markOne(ctx context.Context, tx bun.Tx, r *dispatch.Report, now time.Time, m *SLAMarks) error {
	type mark struct {
		column, typ string
		st          sla.Status
		count       *int
	}
	var marks []mark
	recompute := false
	measure, err := s.slaOf(ctx, tx, r, s.sla)
	if err != nil {
		return err
	}
	switch st := r.SLAStatus(measure, now); {
	case r.SLAState == sla.StateBreached:
	case st.State == sla.StateBreached:
		marks = append(marks, mark{"sla_state", dispatch.EventReportSLABreached, st, &m.Breached})
	case st.State == sla.StateAtRisk && r.SLAState == sla.StateOK:
		marks = append(marks, mark{"sla_state", dispatch.EventReportSLAAtRisk, st, &m.AtRisk})
	case r.SLARiskAt != nil && !r.SLARiskAt.After(now) && r.SLAState == sla.StateOK, r.DueAt != nil && !r.DueAt.After(now):
		recompute = true
	}
	if r.FirstRespondedAt == nil {
		switch st := r.FirstResponseStatus(measure, now); {
		case r.FirstResponseState == sla.StateBreached:
		case st.State == sla.StateBreached:
			marks = append(marks, mark{"first_response_state", dispatch.EventReportFirstResponseBreached, st, &m.FirstResponseBreached})
		case st.State == sla.StateAtRisk && r.FirstResponseState == sla.StateOK:
			marks = append(marks, mark{"first_response_state", dispatch.EventReportFirstResponseAtRisk, st, &m.FirstResponseAtRisk})
		case r.FirstResponseRiskAt != nil && !r.FirstResponseRiskAt.After(now) && r.FirstResponseState == sla.StateOK,
			r.FirstResponseDueAt != nil && !r.FirstResponseDueAt.After(now):
			recompute = true
		}
	}
	if recompute {
		// The stored instants ran ahead of the report's policy (a report filed before the
		// policy was fixed on it, whose looked-up policy changed): recompute them.
		r.ComputeSLA(measure)
		if _, err := tx.NewRaw(`UPDATE reports SET due_at = ?, sla_risk_at = ?, first_response_due_at = ?, first_response_risk_at = ? WHERE id = ?`,
			r.DueAt, r.SLARiskAt, r.FirstResponseDueAt, r.FirstResponseRiskAt, r.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
	}
	for _, mk := range marks {
		if _, err := tx.NewRaw(`UPDATE reports SET ? = ? WHERE id = ?`, bun.Ident(mk.column), mk.st.State, r.ID).Exec(ctx); err != nil {
			return Wrap(err)
		}
		if err := appendMark(ctx, tx, s.events, r, mk.typ, mk.st, now); err != nil {
			return err
		}
		*mk.count++
	}
	return nil
}

// CustomerMessage is a message from a customer that may belong to a report already filed:
// an e-mail reply.
type CustomerMessage struct {
	// Key is the message's own idempotency key (scope "email", its Message-ID): the same
	// message twice is added once.
	Key *IdempotencyKey
	// Refs are the keys of the messages it answers (In-Reply-To first, then References),
	// in the Key's scope.
	Refs []string
	// Folio is a folio the message names (e.g. in its subject), "" if none. It is used only
	// when no reference matches, and only if FromEmail is the report's customer's e-mail.
	Folio string
	// FromEmail is the sender's address (the From without its display name); it is
	// required, at most 254 bytes. The event keeps it ("from"), and it decides whether the message is the
	// customer's (see AddCustomerMessage).
	FromEmail string
	Channel   dispatch.Channel
	Subject   string
	Text      string
	At        time.Time
}

// ErrNotThreaded is returned by AddCustomerMessage when the message belongs to no report.
var ErrNotThreaded = errors.New("the message belongs to no report")

// fromCustomer reports whether from, a message's sender address, is customerEmail, the
// customer's e-mail on file: compared trimmed and without regard to case (a display name
// is no part of either). An empty address is nobody's.
func fromCustomer(customerEmail, from string) bool {
	customerEmail, from = strings.TrimSpace(customerEmail), strings.TrimSpace(from)
	return from != "" && strings.EqualFold(customerEmail, from)
}

// maxAddress is the longest e-mail address, in bytes, as dispatch.NormalizeEmail has it.
const maxAddress = 254

// senderActor is the event actor of a message that its sender's address, from, does not
// show to be the customer's: "email:" and the address in lower case (as "user:12" names a
// user; addresses compare regardless of case), so that the timeline says who wrote.
func senderActor(from string) string { return "email:" + strings.ToLower(strings.TrimSpace(from)) }

// AddCustomerMessage adds m to the timeline of the report it answers, as
// report.customer_message with data {"folio","subject","text","from"}, in one transaction
// with its key; the answer stored with the key (and returned) is status with
// {"folio","threaded":true}. A message already added returns its first answer (Replayed).
// A message that answers no report returns ErrNotThreaded and stores nothing.
//
// A reply found by its references may come from anybody the thread reached (a forward, a
// neighbour in copy, a forged reply quoting a Message-ID): unless m.FromEmail is the
// report's customer's e-mail on file (compared trimmed, regardless of case), it still
// joins the timeline, but as from that address: its actor is "email:" and the address,
// lower-cased, instead of by's "customer" (a staff user in by stays the actor: he filed
// it). A folio alone threads only the customer's own mail. Either way the report's status,
// version and SLA do not change: a message is not a response, and it neither reopens,
// resumes nor confirms anything.
func (s *Reports) AddCustomerMessage(ctx context.Context, m CustomerMessage, by Origin, status int) (*Answer, error) {
	switch from := strings.TrimSpace(m.FromEmail); {
	case from == "":
		return nil, dispatch.Invalid("from", "the message has no sender")
	case len(from) > maxAddress:
		// No customer's address is that long (dispatch.NormalizeEmail), and it would be
		// kept whole in the event.
		return nil, dispatch.Invalid("from", "is too long for an e-mail address")
	}
	var answer *Answer
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		answer = nil
		a, err := claimKey(ctx, tx, m.Key, m.At)
		if err != nil || a != nil {
			answer = a
			return err
		}
		var found struct {
			ID    int64  `bun:"id"`
			Folio string `bun:"folio"`
			Email string `bun:"email"` // the customer's e-mail on file, "" for none
		}
		err = sql.ErrNoRows
		if len(m.Refs) > 0 {
			err = tx.NewRaw(`SELECT r.id, r.folio, coalesce(c.email, '') AS email FROM idempotency_keys AS k
				JOIN reports AS r ON r.id = k.report_id JOIN customers AS c ON c.id = r.customer_id
				WHERE k.scope = ? AND k.key IN (?) ORDER BY array_position(?::text[], k.key) LIMIT 1`,
				m.Key.Scope, bun.In(m.Refs), pgdialect.Array(m.Refs)).Scan(ctx, &found)
		}
		if errors.Is(err, sql.ErrNoRows) && m.Folio != "" {
			err = tx.NewRaw(`SELECT r.id, r.folio, c.email FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
				WHERE r.folio = ? AND lower(c.email) = lower(?)`, m.Folio, strings.TrimSpace(m.FromEmail)).Scan(ctx, &found)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotThreaded
		}
		if err != nil {
			return Wrap(err)
		}
		who := by
		if who.User == nil && !fromCustomer(found.Email, m.FromEmail) {
			who.Actor = senderActor(m.FromEmail)
		}
		ev := &dispatch.Event{Type: dispatch.EventReportCustomerMessage, At: m.At, Channel: string(m.Channel), ReportID: found.ID}
		who.event(ev)
		data := map[string]any{"folio": found.Folio, "subject": m.Subject, "text": m.Text, "from": strings.TrimSpace(m.FromEmail)}
		if err := s.events.Append(ctx, tx, ev, data); err != nil {
			return err
		}
		body, err := json.Marshal(map[string]any{"folio": found.Folio, "threaded": true})
		if err != nil {
			return err
		}
		answer = &Answer{Status: status, Body: body, ReportID: found.ID}
		return saveAnswer(ctx, tx, m.Key, answer)
	})
	if err != nil {
		if errors.Is(err, ErrNotThreaded) {
			return nil, err
		}
		return nil, Wrap(err)
	}
	return answer, nil
}

// IDForCode returns the id of the report with that folio when code is its access code; a
// wrong code and an unknown folio give the same NotFound, so folios cannot be probed.
func (s *Reports) IDForCode(ctx context.Context, folio, code string) (int64, error) {
	d, err := s.Get(ctx, folio)
	if err != nil {
		return 0, err
	}
	if !d.Report.CheckAccessCode(code) {
		return 0, dispatch.NotFound("folio")
	}
	return d.Report.ID, nil
}
