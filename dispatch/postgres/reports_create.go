package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/sla"
)

// Created is what Create made.
type Created struct {
	Report     *dispatch.Report
	Customer   *dispatch.Customer
	Location   *dispatch.Location
	AccessCode string // shown once, and to the creation's hooks (see AccessCode); only its hash is stored
	// SLA is the business calendar (with its version) and the policies the report's due
	// times were computed with.
	SLA dispatch.SLA
	// Timeline is the report's timeline as the creating transaction committed it, as
	// Reports.Get would read it: report.created, with its id, and what the event hooks
	// appended in the same transaction (its attachment to an open incident). ActorNames
	// names the staff users who took its steps, by id.
	Timeline   []dispatch.Event
	ActorNames map[int64]string
}

// CreateOptions are the optional parts of Create.
type CreateOptions struct {
	// Key makes the creation idempotent; Answer then gives what to store for it (default:
	// 201 and {"folio"}).
	Key    *IdempotencyKey
	Answer func(*Created) (status int, body any)
	// Trusted lets the input update the stored customer (staff input); the public form may not.
	Trusted bool
	// TextPhone is a phone number (E.164) the customer wrote in his own words (an e-mail's
	// body), not one given as his phone: it never finds a customer, since anybody may
	// write anybody's number. It is added to the customer found or made when he has no
	// phone and no other customer has it, before report.created is written (so the folio
	// is texted to it); report.created's data "text_phone" has the number and what became
	// of it ({"phone","outcome"}, see TextPhoneStored).
	TextPhone string
	// Cited are folios the customer's words name that the report is not filed under (an
	// e-mail naming a folio that is not his, or none at all): report.created's data
	// "cited_folios" keeps them for the agent who follows the report up. They are not
	// looked up.
	Cited []string
}

// Create stores a validated new report: it finds or creates the customer (by phone, else
// e-mail), stores the location, draws the folio (unique and increasing; a rolled-back
// creation may leave a gap), sets the access code and due times, and writes
// report.created, all in one transaction. With a key, a repeated request returns (nil, the
// first answer) and creates nothing; otherwise the answer is the one opts.Answer made,
// stored with the key.
//
// Creations that arrive together commit together (see batcher): the caller waits for
// its batch's transaction, which writes every report of the batch with a few set-based
// statements. A batch that fails for any reason is rolled back and each of its creations
// is run again alone, so one bad creation never fails another.
func (s *Reports) Create(ctx context.Context, nr *dispatch.NewReport, by Origin, opts CreateOptions) (*Created, *Answer, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c := &creation{ctx: ctx, nr: nr, by: by, opts: opts, done: make(chan struct{})}
	s.creations.submit(c)
	<-c.done
	return c.result()
}

// result is what Create returns for c: an error, the first answer to a repeated key, or
// the report made with its answer.
func (c *creation) result() (*Created, *Answer, error) {
	if c.err != nil {
		return nil, nil, c.err
	}
	if c.answer != nil && c.answer.Replayed {
		return nil, c.answer, nil
	}
	return c.out, c.answer, nil
}

// creation is one Create waiting for its batch, and its working state in the batch.
type creation struct {
	ctx  context.Context
	nr   *dispatch.NewReport
	by   Origin
	opts CreateOptions
	done chan struct{} // closed when out, answer and err are final

	out    *Created
	answer *Answer
	err    error

	// Set while the batch runs.
	r       dispatch.Report
	c       dispatch.Customer
	loc     *dispatch.Location
	year    int
	matched bool // the customer statement returned this creation's row (its key, if any, was claimed)
	made    bool // its customer was created by it
	folioN  int64
	eventID int64 // drawn for report.created, so that the answer stored with the event names it
	ev      *dispatch.Event
	// textPhone is what became of opts.TextPhone (TextPhoneStored, …).
	textPhone string
}

// compatible reports whether c may join a batch whose creations' phones, e-mails and
// idempotency keys are in seen, and adds its own. The set-based statements would otherwise
// insert one customer twice or update one row twice (PostgreSQL refuses the latter).
func (c *creation) compatible(seen map[string]bool) bool {
	cu := c.nr.Customer
	var keys []string
	if cu.Phone != "" {
		keys = append(keys, "p"+cu.Phone)
	}
	if cu.Email != "" {
		keys = append(keys, "e"+cu.Email)
	}
	if k := c.opts.Key; k != nil {
		keys = append(keys, "k"+k.Scope+"\x00"+k.Key)
	}
	for _, k := range keys {
		if seen[k] {
			return false
		}
	}
	for _, k := range keys {
		seen[k] = true
	}
	return true
}

const (
	// maxCreateBatch bounds the reports of one transaction.
	maxCreateBatch = 32
	// createTimeout bounds a batch's transaction: it runs on its own context, since one
	// client going away must not roll back the reports of the others.
	createTimeout = 30 * time.Second
)

// createBatch writes batch in one transaction and completes each creation. When the
// transaction fails and the batch has more than one creation, each is run again alone.
func (s *Reports) createBatch(batch []*creation) {
	live := batch[:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err // gone before its batch began: nothing was written
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	batch = live
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), createTimeout)
	defer cancel()
	err := s.writeBatch(ctx, batch)
	if err != nil && len(batch) > 1 {
		for _, c := range batch {
			s.createBatch([]*creation{c})
		}
		return
	}
	created := false
	for _, c := range batch {
		if err != nil {
			c.out, c.answer, c.err = nil, nil, Wrap(err)
		}
		created = created || c.out != nil
		close(c.done)
	}
	if created {
		s.events.Announce(s.db)
	}
}

// writeBatch is the transaction of createBatch: three statements for the whole batch (the
// customers, locations, keys, folios and ids; the reports, their events and the keys'
// answers) plus the event hooks, which take the batch's events together.
func (s *Reports) writeBatch(ctx context.Context, batch []*creation) error {
	cur, err := s.currentSLA(ctx)
	if err != nil {
		return err
	}
	return s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		return s.writeBatchTx(ctx, tx, cur, batch)
	})
}

// CreateTx is Create inside a transaction the caller holds (an SMS webhook files the
// report its text asks for in the transaction that records the text): the report is
// written in tx, alone, and announced when the caller's Events.RunInTx commits (or by a
// NOTIFY in tx when the caller's transaction was begun elsewhere). It never waits for a
// second connection, which a caller holding one must not do: a full pool of such callers
// would wait for ever.
func (s *Reports) CreateTx(ctx context.Context, tx bun.Tx, nr *dispatch.NewReport, by Origin, opts CreateOptions) (*Created, *Answer, error) {
	cur, err := s.currentSLA(ctx)
	if err != nil {
		return nil, nil, err
	}
	c := &creation{ctx: ctx, nr: nr, by: by, opts: opts}
	if err := s.writeBatchTx(ctx, tx, cur, []*creation{c}); err != nil {
		return nil, nil, Wrap(err)
	}
	if c.answer != nil && c.answer.Replayed {
		return c.result()
	}
	if appended, ok := ctx.Value(appendedKey{}).(*bool); ok {
		*appended = true
	} else if _, err := tx.ExecContext(ctx, "SELECT pg_notify(?, '')", EventsChannel); err != nil {
		return nil, nil, Wrap(err)
	}
	return c.result()
}

// writeBatchTx is writeBatch's work inside tx.
func (s *Reports) writeBatchTx(ctx context.Context, tx bun.Tx, cur dispatch.SLA, batch []*creation) error {
	for _, c := range batch {
		c.out, c.answer, c.matched, c.made = nil, nil, false, false
		c.r, c.c = *c.nr.Report, *c.nr.Customer
		// The year is the business zone's: a report filed on 31 December at 20:00 in
		// Mexico City belongs to that year, whatever UTC says.
		c.year = c.r.CreatedAt.In(s.sla.Calendar.Location()).Year()
		c.loc = nil
		if c.nr.Location != nil {
			l := *c.nr.Location
			c.loc = &l
		}
	}
	if err := matchCustomers(ctx, s.prepared, s.db, tx, batch); err != nil {
		return err
	}
	var fresh []*creation
	for _, c := range batch {
		if !c.matched {
			// The key was taken: nothing was changed for this one; the first request's
			// answer is read (a concurrent holder of the key is waited for).
			a, err := claimKey(ctx, tx, c.opts.Key, c.r.CreatedAt)
			if err != nil {
				return err
			}
			if a == nil { // the key was purged meanwhile
				return dispatch.Conflict("retry", "the Idempotency-Key changed hands; try again")
			}
			c.answer = a
			continue
		}
		if !c.made && c.opts.Trusted {
			if err := updateCustomer(ctx, tx, &c.c, c.nr.Customer); err != nil {
				return err
			}
		}
		c.textPhone = ""
		if c.opts.TextPhone != "" {
			var err error
			if c.textPhone, err = addTextPhone(ctx, tx, &c.c, c.opts.TextPhone); err != nil {
				return err
			}
		}
		if err := c.prepare(cur); err != nil {
			return err
		}
		fresh = append(fresh, c)
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := s.insertReports(ctx, tx, fresh); err != nil {
		return err
	}
	evs := make([]*dispatch.Event, len(fresh))
	codes := make(map[int64]string, len(fresh))
	for i, c := range fresh {
		evs[i] = c.ev
		codes[c.r.ID] = c.out.AccessCode
	}
	if err := s.events.runHooksBatch(context.WithValue(ctx, accessCodesKey{}, codes), tx, evs); err != nil {
		return err
	}
	return changedByHooks(ctx, tx, fresh)
}

// changedByHooks reads back, inside the creating tx, the reports of fresh that its event
// hooks changed (the incident hook attaches a fault to its access point's open outage:
// incident_id, version, and report.attached_to_incident on its timeline), so that the
// answer to the creation, and the one stored with its key for retries, tell the report and
// its timeline as they were committed. A creation's report has version 1 and one event
// until something changes it: the usual batch reads back nothing.
func changedByHooks(ctx context.Context, tx bun.Tx, fresh []*creation) error {
	byID := make(map[int64]*creation, len(fresh))
	ids := make([]int64, len(fresh))
	for i, c := range fresh {
		byID[c.r.ID], ids[i] = c, c.r.ID
	}
	var rows []reportRow
	err := tx.NewSelect().Model(&rows).Where("r.id IN (?)", bun.In(ids)).
		Where("r.version <> 1 OR EXISTS (SELECT 1 FROM events AS e WHERE e.report_id = r.id AND e.type <> ?)", dispatch.EventReportCreated).
		Scan(ctx)
	if err != nil {
		return Wrap(err)
	}
	for _, row := range rows {
		c := byID[row.ID]
		c.r = row.Report // c.out.Report points at it
		if c.out.Timeline, err = Timeline(ctx, tx, row.ID); err != nil {
			return err
		}
		if c.out.ActorNames, err = actorNames(ctx, tx, c.out.Timeline); err != nil {
			return err
		}
		if c.opts.Key == nil {
			continue
		}
		if err := c.makeAnswer(); err != nil {
			return err
		}
		if _, err := tx.NewRaw(`UPDATE idempotency_keys SET status = ?, response = ? WHERE scope = ? AND key = ?`,
			c.answer.Status, string(c.answer.Body), c.opts.Key.Scope, c.opts.Key.Key).Exec(ctx); err != nil {
			return Wrap(err)
		}
	}
	return nil
}

// accessCodesKey carries, in the context of the hooks a creation's transaction runs, the
// access codes of the reports it created, by report id.
type accessCodesKey struct{}

// AccessCode returns the access code of report reportID when ctx is that of the event hooks
// run by the transaction that created it (on report.created, and on what those hooks append
// in turn, such as its attachment to an incident); ok is false anywhere else. It is the only
// moment the code is known, since only its hash is stored: the SMS outbox puts it in the
// link of the folio text, so that a customer who reported by phone, e-mail or SMS can open
// his status page, which asks for it.
func AccessCode(ctx context.Context, reportID int64) (code string, ok bool) {
	codes, _ := ctx.Value(accessCodesKey{}).(map[int64]string)
	code, ok = codes[reportID]
	return code, ok && code != ""
}

// prepare completes the report of a matched creation (ids, folio, access code, due times),
// its report.created event and, with a key, the answer to store.
func (c *creation) prepare(cur dispatch.SLA) error {
	r := &c.r
	r.CustomerID = c.c.ID
	if c.loc != nil {
		r.LocationID = c.loc.ID
	}
	if c.by.User != nil {
		r.CreatedBy = c.by.User.ID
	}
	if r.Pauses == nil {
		r.Pauses = []dispatch.Pause{}
	}
	if r.FirstResponseState == "" {
		r.FirstResponseState = sla.StateOK
	}
	if r.SLAState == "" {
		r.SLAState = sla.StateOK
	}
	r.FixPolicy(cur)
	r.ComputeSLA(cur)
	r.Folio = dispatch.FormatFolio(c.year, c.folioN)
	code := dispatch.NewAccessCode()
	r.AccessCodeHash = dispatch.HashAccessCode(r.Folio, code)
	// The event's id is drawn beforehand and its time is what the events table keeps, so
	// that the answer made here, and stored with the key in the statement that writes the
	// event, shows the step as Reports.Get reads it back.
	c.ev = &dispatch.Event{ID: c.eventID, Type: dispatch.EventReportCreated, At: r.CreatedAt.UTC().Truncate(time.Microsecond),
		Channel: string(r.Channel), ReportID: r.ID}
	c.by.event(c.ev)
	data := map[string]any{
		"folio": r.Folio, "kind": r.Kind, "channel": r.Channel, "priority": r.Priority, "area": r.Area,
		"status": r.Status, "subject": r.Subject, "customer_id": c.c.ID, "due_at": r.DueAt,
		// The incident rule's input, so that its hook need not read it back.
		"access_point": c.c.AccessPoint,
	}
	if c.opts.TextPhone != "" {
		data["text_phone"] = map[string]string{"phone": c.opts.TextPhone, "outcome": c.textPhone}
	}
	if len(c.opts.Cited) > 0 {
		data["cited_folios"] = c.opts.Cited
	}
	// The public form files a report under the customer its phone or e-mail names, whose
	// record it may not change: a name typed there that is not the one on file (anyone may
	// type anyone's e-mail) is kept on the report's first step, for staff to see who wrote.
	if !c.made && !c.opts.Trusted && c.nr.Customer != nil {
		if typed := strings.TrimSpace(c.nr.Customer.Name); typed != "" && !strings.EqualFold(typed, strings.TrimSpace(c.c.Name)) {
			data["name_given"] = typed
		}
	}
	if _, _, err := prepareEvent(c.ev, data); err != nil {
		return err
	}
	names := map[int64]string{}
	if u := c.by.User; u != nil && u.Name != "" {
		names[u.ID] = u.Name
	}
	c.out = &Created{Report: r, Customer: &c.c, Location: c.loc, AccessCode: code, SLA: cur,
		Timeline: []dispatch.Event{*c.ev}, ActorNames: names}
	if c.opts.Key != nil {
		return c.makeAnswer()
	}
	return nil
}

// makeAnswer sets the answer to store with c's key for c.out (opts.Answer, by default 201
// and {"folio"}).
func (c *creation) makeAnswer() error {
	status, body := 201, any(map[string]string{"folio": c.out.Report.Folio})
	if c.opts.Answer != nil {
		status, body = c.opts.Answer(c.out)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	c.answer = &Answer{Status: status, Body: b, ReportID: c.out.Report.ID}
	return nil
}

// insertReports writes the reports of batch, their events (under the ids matchCustomers
// drew) and the answers of their keys in one statement. The rows go as JSON, so that the statement
// has one text whatever the batch's size and is prepared once per connection. The NOTIFY
// comes after commit (see Events.Announce).
func (s *Reports) insertReports(ctx context.Context, tx bun.Tx, batch []*creation) error {
	var cols []string
	repJSON := []byte{'['}
	type eventRec struct {
		ID          int64           `json:"id"`
		Type        string          `json:"type"`
		At          string          `json:"at"`
		ActorUserID any             `json:"actor_user_id"`
		Actor       string          `json:"actor"`
		Channel     any             `json:"channel"`
		ReportID    int64           `json:"report_id"`
		Data        json.RawMessage `json:"data"`
	}
	evs := make([]eventRec, len(batch))
	type answerRec struct {
		Status   int             `json:"status"`
		Response json.RawMessage `json:"response"`
		ReportID int64           `json:"report_id"`
		Scope    string          `json:"scope"`
		Key      string          `json:"key"`
	}
	answers := []answerRec{}
	for i, c := range batch {
		if i > 0 {
			repJSON = append(repJSON, ',')
		}
		var err error
		if cols, repJSON, err = appendRecord(repJSON, s.db, &reportRow{Report: c.r}); err != nil {
			return err
		}
		ev := c.ev
		if ev.At.IsZero() {
			ev.At = c.r.CreatedAt
		}
		ev.At = ev.At.UTC()
		data := ev.Data
		if len(data) == 0 {
			data = json.RawMessage("{}")
		}
		evs[i] = eventRec{ID: ev.ID, Type: ev.Type, At: ev.At.Truncate(time.Microsecond).Format(time.RFC3339Nano), ActorUserID: nullID(ev.ActorUserID),
			Actor: ev.Actor, ReportID: ev.ReportID, Data: data}
		if ev.Channel != "" {
			evs[i].Channel = ev.Channel
		}
		if c.opts.Key != nil {
			answers = append(answers, answerRec{Status: c.answer.Status, Response: c.answer.Body, ReportID: c.r.ID, Scope: c.opts.Key.Scope, Key: c.opts.Key.Key})
		}
	}
	repJSON = append(repJSON, ']')
	evJSON, err := json.Marshal(evs)
	if err != nil {
		return err
	}
	ansJSON, err := json.Marshal(answers)
	if err != nil {
		return err
	}
	list := strings.Join(cols, ", ")
	q := `WITH rep AS (
			INSERT INTO reports (` + list + `) SELECT ` + list + ` FROM jsonb_populate_recordset(NULL::reports, ?0::jsonb)
		), e AS (
			INSERT INTO events (id, type, at, actor_user_id, actor, channel, report_id, data) OVERRIDING SYSTEM VALUE
			SELECT id, type, at, actor_user_id, actor, channel, report_id, data FROM jsonb_to_recordset(?1::jsonb)
				AS x (id bigint, type text, at timestamptz, actor_user_id bigint, actor text, channel text, report_id bigint, data jsonb)
			RETURNING id, report_id
		), ans AS (
			UPDATE idempotency_keys AS k SET status = a.status, response = a.response, report_id = a.report_id
			FROM jsonb_to_recordset(?2::jsonb) AS a (status int, response jsonb, report_id bigint, scope text, key text)
			WHERE k.scope = a.scope AND k.key = a.key
		)
		SELECT e.id, e.report_id FROM e`
	var rows []struct {
		ID       int64 `bun:"id"`
		ReportID int64 `bun:"report_id"`
	}
	if err := s.prepared.scan(ctx, s.db, &tx, q, []any{string(repJSON), string(evJSON), string(ansJSON)}, &rows); err != nil {
		return err
	}
	if len(rows) != len(batch) {
		return fmt.Errorf("report insert returned %d events for %d reports", len(rows), len(batch))
	}
	byReport := make(map[int64]int64, len(rows))
	for _, r := range rows {
		byReport[r.ReportID] = r.ID
	}
	for _, c := range batch {
		if byReport[c.r.ID] != c.ev.ID {
			return fmt.Errorf("report %d: its event was written as %d, drawn as %d", c.r.ID, byReport[c.r.ID], c.ev.ID)
		}
	}
	return nil
}

// matchCustomers finds, for each creation of batch, the customer it describes — by phone,
// else by e-mail — or creates it, and in the same statement claims its idempotency key,
// stores its location (for the customer, updating the coordinates and zone of a known
// line), and draws its folio number, report id and the id of its report.created. A creation whose key was already taken
// changes nothing and is left unmatched (its answer is read with claimKey). The creations
// of a batch share no phone, e-mail or key (creation.compatible).
func matchCustomers(ctx context.Context, ps *prepared, db *bun.DB, tx bun.Tx, batch []*creation) error {
	// A customer known by e-mail only has no unique column to meet a concurrent creation
	// on, so two reports by a new e-mail, committing at once, would make two customers.
	// Their e-mails are locked (in order, for the transaction) before the statement below
	// takes its snapshot: the second then finds the first's customer.
	var emails []string
	for _, c := range batch {
		if c.c.Phone == "" && c.c.Email != "" {
			emails = append(emails, c.c.Email)
		}
	}
	if len(emails) > 0 {
		slices.Sort(emails)
		var locked []bool
		err := ps.scan(ctx, db, &tx, `SELECT pg_advisory_xact_lock(hashtextextended('customer e-mail ' || e, 0)) IS NULL
			FROM unnest(string_to_array(?0::text, chr(10))) AS e ORDER BY e`, []any{strings.Join(emails, "\n")}, &locked)
		if err != nil {
			return err
		}
	}
	type input struct {
		Ord    int        `json:"ord"`
		Phone  string     `json:"phone"`
		Email  string     `json:"email"`
		Name   string     `json:"name"`
		Lang   string     `json:"lang"`
		AP     string     `json:"ap"`
		Price  *float64   `json:"price"`
		Year   int        `json:"year"`
		Line   *string    `json:"line"`
		Lat    *float64   `json:"lat"`
		Lon    *float64   `json:"lon"`
		Zone   *string    `json:"zone"`
		KScope *string    `json:"kscope"`
		KKey   *string    `json:"kkey"`
		KHash  *string    `json:"khash"`
		KAt    *time.Time `json:"kat"`
	}
	in := make([]input, len(batch))
	for i, c := range batch {
		cu := &c.c
		in[i] = input{Ord: i, Phone: cu.Phone, Email: cu.Email, Name: cu.Name, Lang: string(cu.Language), AP: cu.AccessPoint, Price: cu.PlanPrice, Year: c.year}
		if c.loc != nil {
			line := c.loc.Line
			in[i].Line, in[i].Lat, in[i].Lon = &line, c.loc.Lat, c.loc.Lon
			if c.loc.Zone != "" {
				zone := c.loc.Zone
				in[i].Zone = &zone
			}
		}
		if k := c.opts.Key; k != nil {
			scope, key, hash, at := k.Scope, k.Key, `\x`+hex.EncodeToString(k.Hash), c.r.CreatedAt.UTC().Truncate(time.Microsecond)
			in[i].KScope, in[i].KKey, in[i].KHash, in[i].KAt = &scope, &key, &hash, &at
		}
	}
	inJSON, err := json.Marshal(in)
	if err != nil {
		return err
	}
	var q strings.Builder
	// The input goes as JSON, so that the statement has one text whatever the batch's size
	// and is prepared once per connection.
	q.WriteString(`WITH input AS (
			SELECT * FROM jsonb_to_recordset(?0::jsonb) AS i (ord int, phone text, email text, name text, lang text, ap text,
				price numeric, year int, line text, lat float8, lon float8, zone text, kscope text, kkey text, khash bytea, kat timestamptz)
		`)
	// Inserts go in key order so that two batches that share keys lock them in the same
	// order (a deadlock would only cost a retry, alone, after deadlock_timeout).
	q.WriteString(`), claim AS (
			INSERT INTO idempotency_keys (scope, key, request_hash, created_at)
			SELECT kscope, kkey, khash, kat FROM input WHERE kkey IS NOT NULL ORDER BY kscope, kkey
			ON CONFLICT (scope, key) DO NOTHING RETURNING scope, key
		), ok AS (
			SELECT i.* FROM input AS i
			WHERE i.kkey IS NULL OR EXISTS (SELECT 1 FROM claim AS k WHERE k.scope = i.kscope AND k.key = i.kkey)
		), found AS (
			SELECT DISTINCT ON (i.ord) i.ord, m.* FROM ok AS i CROSS JOIN LATERAL (
				SELECT c.*, 0 AS pref FROM customers AS c WHERE c.phone = i.phone
				UNION ALL
				(SELECT c.*, 1 FROM customers AS c WHERE i.email <> '' AND lower(c.email) = i.email ORDER BY c.id LIMIT 1)
			) AS m ORDER BY i.ord, m.pref
		), made AS (
			INSERT INTO customers (name, phone, email, language, sms_opt_out, access_point, plan_price)
			SELECT i.name, NULLIF(i.phone, ''), NULLIF(i.email, ''), i.lang, false, NULLIF(i.ap, ''), i.price
			FROM ok AS i WHERE NOT EXISTS (SELECT 1 FROM found AS f WHERE f.ord = i.ord) ORDER BY i.phone, i.email
			-- A concurrent creation for the same new phone waits on the insert and then gets
			-- the same row.
			ON CONFLICT (phone) WHERE phone IS NOT NULL DO UPDATE SET phone = EXCLUDED.phone
			RETURNING *, 2 AS pref
		), x AS (
			SELECT * FROM found
			UNION ALL
			SELECT i.ord, m.* FROM made AS m JOIN ok AS i
				ON CASE WHEN i.phone <> '' THEN m.phone = i.phone ELSE m.email = i.email END
		), loc AS (
			INSERT INTO locations AS l (customer_id, line, lat, lon, zone)
			SELECT x.id, i.line, i.lat, i.lon, i.zone FROM x JOIN ok AS i ON i.ord = x.ord
			WHERE i.line IS NOT NULL ORDER BY x.id, i.line
			ON CONFLICT (customer_id, line) DO UPDATE
			SET lat = COALESCE(EXCLUDED.lat, l.lat), lon = COALESCE(EXCLUDED.lon, l.lon), zone = COALESCE(EXCLUDED.zone, l.zone)
			RETURNING l.*
		)
		SELECT x.*, x.pref = 2 AS made, next_report_folio(i.year) AS folio_n,
			nextval(pg_get_serial_sequence('reports', 'id')) AS report_id,
			nextval(pg_get_serial_sequence('events', 'id')) AS event_id,
			(SELECT to_jsonb(loc) FROM loc WHERE loc.customer_id = x.id AND loc.line = i.line) AS loc
		FROM x JOIN ok AS i ON i.ord = x.ord ORDER BY x.ord`)
	var rows []struct {
		customerRow
		Ord      int             `bun:"ord"`
		Made     bool            `bun:"made"`
		FolioN   int64           `bun:"folio_n"`
		ReportID int64           `bun:"report_id"`
		EventID  int64           `bun:"event_id"`
		Loc      json.RawMessage `bun:"loc"`
	}
	if err := ps.scan(ctx, db, &tx, q.String(), []any{string(inJSON)}, &rows); err != nil {
		return Wrap(err)
	}
	for _, row := range rows {
		if row.Ord < 0 || row.Ord >= len(batch) || batch[row.Ord].matched {
			return fmt.Errorf("customer match returned row %d twice or out of range", row.Ord)
		}
		c := batch[row.Ord]
		if c.loc != nil {
			if err := json.Unmarshal(row.Loc, c.loc); err != nil {
				return fmt.Errorf("stored location: %w", err)
			}
		}
		c.matched, c.made, c.folioN, c.r.ID, c.eventID = true, row.Made, row.FolioN, row.ReportID, row.EventID
		c.c = row.Customer
	}
	for i, c := range batch {
		if !c.matched && c.opts.Key == nil {
			return fmt.Errorf("customer match returned no row for creation %d", i)
		}
	}
	return nil
}

// updateCustomer applies staff input in to the stored customer found (trusted input): an
// access point and plan price fill in or update the stored ones, and a phone or e-mail
// the stored customer lacks is added. found becomes the stored row.
func updateCustomer(ctx context.Context, tx bun.Tx, found, in *dispatch.Customer) error {
	q := tx.NewUpdate().Table("customers").Where("id = ?", found.ID)
	changed := false
	if in.AccessPoint != "" && in.AccessPoint != found.AccessPoint {
		q, changed = q.Set("access_point = ?", in.AccessPoint), true
	}
	if in.PlanPrice != nil && (found.PlanPrice == nil || *found.PlanPrice != *in.PlanPrice) {
		q, changed = q.Set("plan_price = ?", *in.PlanPrice), true
	}
	if in.Email != "" && found.Email == "" {
		q, changed = q.Set("email = ?", in.Email), true
	}
	if in.Phone != "" && found.Phone == "" {
		q, changed = q.Set("phone = ?", in.Phone), true
	}
	if !changed {
		return nil
	}
	row := &customerRow{}
	if err := q.Returning("*").Scan(ctx, row); err != nil {
		if IsUniqueViolation(err) {
			return dispatch.Conflict("retry", "the customer's phone was just taken by another report; try again")
		}
		return Wrap(err)
	}
	*found = row.Customer
	return nil
}
