package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// Technicians stores technicians, their shifts, exceptions and last positions.
type Technicians struct {
	db     *bun.DB
	events *Events
}

// NewTechnicians returns the technician store on db; events records the changes.
func NewTechnicians(db *bun.DB, events *Events) *Technicians {
	return &Technicians{db: db, events: events}
}

type technicianRow struct {
	bun.BaseModel `bun:"table:technicians,alias:t"`

	ID         int64                  `bun:"id,pk,autoincrement"`
	Name       string                 `bun:"name"`
	Phone      string                 `bun:"phone"`
	UserID     int64                  `bun:"user_id,nullzero"`
	Skills     []string               `bun:"skills,array"`
	HomeLat    float64                `bun:"home_lat"`
	HomeLon    float64                `bun:"home_lon"`
	Shifts     []dispatch.WeeklyShift `bun:"shifts,type:jsonb"`
	Active     bool                   `bun:"active"`
	LastLat    sql.NullFloat64        `bun:"last_lat"`
	LastLon    sql.NullFloat64        `bun:"last_lon"`
	LastSeenAt bun.NullTime           `bun:"last_seen_at"`
	Version    int                    `bun:"version"`
	CreatedAt  time.Time              `bun:"created_at,nullzero,default:now()"`
	UpdatedAt  time.Time              `bun:"updated_at,nullzero,default:now()"`
}

func (r *technicianRow) technician() *dispatch.Technician {
	t := &dispatch.Technician{
		ID: r.ID, Name: r.Name, Phone: r.Phone, UserID: r.UserID, Skills: r.Skills,
		Home: dispatch.LatLon{Lat: r.HomeLat, Lon: r.HomeLon}, Shifts: r.Shifts, Active: r.Active,
		Version: r.Version, CreatedAt: r.CreatedAt,
	}
	if t.Skills == nil {
		t.Skills = []string{}
	}
	if t.Shifts == nil {
		t.Shifts = []dispatch.WeeklyShift{}
	}
	if r.LastLat.Valid && !r.LastSeenAt.IsZero() {
		t.Position = &dispatch.Position{Lat: r.LastLat.Float64, Lon: r.LastLon.Float64, At: r.LastSeenAt.Time}
	}
	return t
}

func rowOfTechnician(t *dispatch.Technician) *technicianRow {
	return &technicianRow{
		ID: t.ID, Name: t.Name, Phone: t.Phone, UserID: t.UserID, Skills: t.Skills,
		HomeLat: t.Home.Lat, HomeLon: t.Home.Lon, Shifts: t.Shifts, Active: t.Active, Version: t.Version,
	}
}

// checkUser refuses a linked account that does not exist or is not a technician's.
func checkTechnicianUser(ctx context.Context, db bun.IDB, userID int64) error {
	if userID == 0 {
		return nil
	}
	var role string
	err := db.NewSelect().Table("users").Column("role").Where("id = ?", userID).Scan(ctx, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return dispatch.Invalid("user_id", "no such user")
	}
	if err != nil {
		return Wrap(err)
	}
	if role != string(dispatch.RoleTechnician) {
		return dispatch.Invalid("user_id", "the user's role must be technician, not %s", role)
	}
	return nil
}

func technicianWriteError(err error) error {
	if IsUniqueViolation(err) && Constraint(err) == "technicians_user_key" {
		e := dispatch.Invalid("user_id", "the user is already linked to another technician")
		e.Code = "user_linked" // not a bad value: the account is taken (the page says so)
		return e
	}
	return Wrap(err)
}

// Create validates t, inserts it active, sets its ID and Version and records
// "technician.created".
func (s *Technicians) Create(ctx context.Context, t *dispatch.Technician, actor *dispatch.User) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.Active = true
	return s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := checkTechnicianUser(ctx, tx, t.UserID); err != nil {
			return err
		}
		row := rowOfTechnician(t)
		_, err := tx.NewInsert().Model(row).Column("name", "phone", "user_id", "skills", "home_lat", "home_lon", "shifts", "active").
			Returning("id, version, created_at").Exec(ctx)
		if err != nil {
			return technicianWriteError(err)
		}
		t.ID, t.Version, t.CreatedAt = row.ID, row.Version, row.CreatedAt
		name, uid := dispatch.ActorOf(actor)
		return s.events.Append(ctx, tx, &dispatch.Event{Type: "technician.created", Actor: name, ActorUserID: uid, TechnicianID: t.ID},
			map[string]any{"name": t.Name, "skills": t.Skills})
	})
}

// Update writes t's fields if its Version is still current (else 409 stale_version) and
// bumps the version.
func (s *Technicians) Update(ctx context.Context, t *dispatch.Technician, actor *dispatch.User) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error { return s.update(ctx, tx, t, actor) })
}

// update is Update inside tx, t already validated.
func (s *Technicians) update(ctx context.Context, tx bun.Tx, t *dispatch.Technician, actor *dispatch.User) error {
	if err := checkTechnicianUser(ctx, tx, t.UserID); err != nil {
		return err
	}
	row := rowOfTechnician(t)
	res, err := tx.NewUpdate().Model(row).Column("name", "phone", "user_id", "skills", "home_lat", "home_lon", "shifts", "active").
		Set("version = version + 1, updated_at = now()").
		Where("id = ? AND version = ?", t.ID, t.Version).Returning("version").Exec(ctx)
	if err != nil {
		return technicianWriteError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.get(ctx, tx, t.ID, false); err != nil {
			return err
		}
		return dispatch.Conflict("stale_version", "the technician changed meanwhile; reload")
	}
	t.Version = row.Version
	name, uid := dispatch.ActorOf(actor)
	return s.events.Append(ctx, tx, &dispatch.Event{Type: "technician.updated", Actor: name, ActorUserID: uid, TechnicianID: t.ID},
		map[string]any{"version": t.Version})
}

// Get returns one technician (404 when unknown).
func (s *Technicians) Get(ctx context.Context, id int64) (*dispatch.Technician, error) {
	return s.get(ctx, s.db, id, false)
}

func (s *Technicians) get(ctx context.Context, db bun.IDB, id int64, lock bool) (*dispatch.Technician, error) {
	var row technicianRow
	q := db.NewSelect().Model(&row).Where("id = ?", id)
	if lock {
		// NO KEY UPDATE: changes to one technician wait for each other, while bookings that
		// give him a visit (the foreign key's KEY SHARE) go on. FOR UPDATE would make such a
		// booking, which holds its day, wait for a change that then waits for that day.
		q = q.For("NO KEY UPDATE")
	}
	err := q.Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("technician")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return row.technician(), nil
}

// ByUser returns the technician linked to a user account (404 when none).
func (s *Technicians) ByUser(ctx context.Context, userID int64) (*dispatch.Technician, error) {
	return s.byUser(ctx, s.db, userID)
}

// List returns the technicians by id; activeOnly leaves out the inactive ones.
func (s *Technicians) List(ctx context.Context, activeOnly bool) ([]*dispatch.Technician, error) {
	return listTechnicians(ctx, s.db, activeOnly)
}

func listTechnicians(ctx context.Context, db bun.IDB, activeOnly bool) ([]*dispatch.Technician, error) {
	var rows []technicianRow
	q := db.NewSelect().Model(&rows).Order("id")
	if activeOnly {
		q = q.Where("active")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	out := make([]*dispatch.Technician, len(rows))
	for i := range rows {
		out[i] = rows[i].technician()
	}
	return out, nil
}

type exceptionRow struct {
	bun.BaseModel `bun:"table:technician_exceptions,alias:x"`

	ID           int64     `bun:"id,pk,autoincrement"`
	TechnicianID int64     `bun:"technician_id"`
	StartsAt     time.Time `bun:"starts_at"`
	EndsAt       time.Time `bun:"ends_at"`
	Reason       string    `bun:"reason"`
	Note         string    `bun:"note"`
	CreatedBy    int64     `bun:"created_by,nullzero"`
}

func (r *exceptionRow) exception() dispatch.Exception {
	return dispatch.Exception{ID: r.ID, TechnicianID: r.TechnicianID, Start: r.StartsAt, End: r.EndsAt, Reason: r.Reason, Note: r.Note}
}

// AddException records an exception inside tx (so a caller can re-plan in the same
// transaction) and the event "technician.exception_added".
func (s *Technicians) AddException(ctx context.Context, tx bun.Tx, e *dispatch.Exception, actor *dispatch.User) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if _, err := s.get(ctx, tx, e.TechnicianID, true); err != nil {
		return err
	}
	name, uid := dispatch.ActorOf(actor)
	row := &exceptionRow{TechnicianID: e.TechnicianID, StartsAt: e.Start, EndsAt: e.End, Reason: e.Reason, Note: e.Note, CreatedBy: uid}
	if _, err := tx.NewInsert().Model(row).ExcludeColumn("id").Returning("id").Exec(ctx); err != nil {
		return Wrap(err)
	}
	e.ID = row.ID
	return s.events.Append(ctx, tx, &dispatch.Event{Type: "technician.exception_added", Actor: name, ActorUserID: uid, TechnicianID: e.TechnicianID},
		map[string]any{"start": e.Start, "end": e.End, "reason": e.Reason})
}

// Exceptions returns the exceptions that overlap [from, to), of one technician or, with
// technicianID 0, of all.
func (s *Technicians) Exceptions(ctx context.Context, technicianID int64, from, to time.Time) ([]dispatch.Exception, error) {
	return listExceptions(ctx, s.db, technicianID, from, to)
}

func listExceptions(ctx context.Context, db bun.IDB, technicianID int64, from, to time.Time) ([]dispatch.Exception, error) {
	var rows []exceptionRow
	q := db.NewSelect().Model(&rows).Where("starts_at < ? AND ends_at > ?", to, from).Order("technician_id", "starts_at")
	if technicianID != 0 {
		q = q.Where("technician_id = ?", technicianID)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, Wrap(err)
	}
	out := make([]dispatch.Exception, len(rows))
	for i := range rows {
		out[i] = rows[i].exception()
	}
	return out, nil
}

// SetPosition stores a technician's last known position (in tx, so ETAs can be updated with
// it).
func (s *Technicians) SetPosition(ctx context.Context, tx bun.Tx, id int64, p dispatch.Position) error {
	if err := (dispatch.LatLon{Lat: p.Lat, Lon: p.Lon}).Validate("position"); err != nil {
		return err
	}
	res, err := tx.NewUpdate().Table("technicians").
		Set("last_lat = ?, last_lon = ?, last_seen_at = ?", p.Lat, p.Lon, p.At).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return dispatch.NotFound("technician")
	}
	return nil
}

func (s *Technicians) byUser(ctx context.Context, db bun.IDB, userID int64) (*dispatch.Technician, error) {
	var row technicianRow
	err := db.NewSelect().Model(&row).Where("user_id = ?", userID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("technician")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return row.technician(), nil
}

// AddExceptionTx is AddException in a transaction of its own.
func (s *Technicians) AddExceptionTx(ctx context.Context, e *dispatch.Exception, actor *dispatch.User) error {
	return Wrap(s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		return s.AddException(ctx, tx, e, actor)
	}))
}

// IDByUser returns the id of the technician linked to a user; NotFound when none is.
func (s *Technicians) IDByUser(ctx context.Context, userID int64) (int64, error) {
	t, err := s.ByUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}
