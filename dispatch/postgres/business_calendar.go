package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
	"despacho/dispatch/sla"
)

// CalendarRecheck is how long an instance uses the business calendar it read before it
// checks the database again, the same bound as the SLA policies': an edit made through
// this instance applies at once, one made through another instance within CalendarRecheck.
const CalendarRecheck = PolicyRecheck

// EventCalendarReplaced records an admin's replacement of the business calendar; its data
// holds the new version and document.
const EventCalendarReplaced = "calendar.replaced"

// maxCachedVersions bounds the older versions kept in memory to measure the reports filed
// under them; one evicted is read again when a report needs it.
const maxCachedVersions = 32

// BusinessCalendar stores the business calendar admins edit (weekly hours and dated
// exceptions) as numbered versions, and caches the one in force (see CalendarRecheck) and
// the older ones that filed reports are still measured by. Every version has the time zone
// and the yearly (statutory) holidays of the calendar the process was configured with.
// Safe for concurrent use.
type BusinessCalendar struct {
	db     *bun.DB
	events *Events
	seed   *sla.Calendar
	// The calendar in force; its mu also guards versions.
	rechecked[sla.Calendar]
	versions map[int64]*sla.Calendar // older versions read for filed reports
}

// NewBusinessCalendar returns the calendar store on db. seed (nil: sla.DefaultCalendar) is
// the configured calendar: its zone and yearly holidays apply to every version, its week
// and explicit holidays are stored as version 1 when the database holds no calendar yet,
// and it measures the reports filed before calendars were stored (version 0). events
// records replacements.
func NewBusinessCalendar(db *bun.DB, events *Events, seed *sla.Calendar) *BusinessCalendar {
	if seed == nil {
		seed = sla.DefaultCalendar()
	}
	if events == nil {
		events = NewEvents()
	}
	return &BusinessCalendar{db: db, events: events, seed: seed,
		rechecked: rechecked[sla.Calendar]{every: CalendarRecheck, now: time.Now}, versions: map[int64]*sla.Calendar{}}
}

// Zone returns the business time zone, every version's: the configured calendar's.
func (b *BusinessCalendar) Zone() *time.Location { return b.seed.Location() }

// Current returns the calendar new reports are filed under: the cached one while it is
// younger than CalendarRecheck, else the stored one. When the database cannot be read but
// a calendar was read before, that one is used.
func (b *BusinessCalendar) Current(ctx context.Context) (*sla.Calendar, error) {
	cal, _, err := b.current(ctx)
	return cal, err
}

// current is Current with the version of the calendar it returns.
func (b *BusinessCalendar) current(ctx context.Context) (*sla.Calendar, int64, error) {
	return b.load(ctx, b.read, b.keep)
}

// Get returns the calendar in force and its version, read now.
func (b *BusinessCalendar) Get(ctx context.Context) (*sla.Calendar, int64, error) {
	cal, v, err := b.read(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	b.remember(cal, v)
	return cal, v, nil
}

// Version returns the calendar stored as version v, which reports filed under it are
// measured by; version 0 is the configured calendar. Versions never change, so each is read
// from the database at most once while it stays cached.
func (b *BusinessCalendar) Version(ctx context.Context, v int64) (*sla.Calendar, error) {
	return b.at(ctx, b.db, v)
}

// at is Version reading through db: a caller inside a transaction passes it, so that a
// version not cached is read on the connection it holds rather than a second one.
func (b *BusinessCalendar) at(ctx context.Context, db bun.IDB, v int64) (*sla.Calendar, error) {
	if v == 0 {
		return b.seed, nil
	}
	b.mu.Lock()
	if v == b.version && b.cur != nil {
		cal := b.cur
		b.mu.Unlock()
		return cal, nil
	}
	cal, ok := b.versions[v]
	b.mu.Unlock()
	if ok {
		return cal, nil
	}
	var doc string
	if err := db.NewRaw(`SELECT document FROM business_calendar WHERE version = ?`, v).Scan(ctx, &doc); errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("business calendar version %d is not stored", v)
	} else if err != nil {
		return nil, Wrap(err)
	}
	cal, err := b.decode([]byte(doc), v)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cache(cal, v)
	return cal, nil
}

// read returns the stored calendar in force and its version, seeding the table when it is
// empty; when the stored version is known, it returns a nil calendar (nothing changed).
func (b *BusinessCalendar) read(ctx context.Context, known int64) (*sla.Calendar, int64, error) {
	var row struct {
		Version  int64           `bun:"version"`
		Document json.RawMessage `bun:"document"`
	}
	err := b.db.NewRaw(`SELECT version, CASE WHEN version = ? THEN NULL ELSE document END AS document
		FROM business_calendar ORDER BY version DESC LIMIT 1`, known).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		if err := b.plant(ctx, b.db); err != nil {
			return nil, 0, err
		}
		return b.read(ctx, 0)
	}
	if err != nil {
		return nil, 0, Wrap(err)
	}
	if row.Document == nil {
		return nil, row.Version, nil
	}
	cal, err := b.decode(row.Document, row.Version)
	if err != nil {
		return nil, 0, err
	}
	return cal, row.Version, nil
}

// plant stores the seed as version 1 unless a calendar is stored already.
func (b *BusinessCalendar) plant(ctx context.Context, db bun.IDB) error {
	doc, err := json.Marshal(b.seed.Document())
	if err != nil {
		return err
	}
	_, err = db.NewRaw(`INSERT INTO business_calendar (version, document) SELECT 1, ?
		WHERE NOT EXISTS (SELECT 1 FROM business_calendar) ON CONFLICT DO NOTHING`, string(doc)).Exec(ctx)
	return Wrap(err)
}

// decode builds the calendar of a stored document in the seed's zone with its yearly
// holidays.
func (b *BusinessCalendar) decode(raw []byte, version int64) (*sla.Calendar, error) {
	var d sla.CalendarDocument
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("stored business calendar version %d: %w", version, err)
	}
	cal, err := b.seed.WithDocument(d)
	if err != nil {
		return nil, fmt.Errorf("stored business calendar version %d: %w", version, err)
	}
	return cal, nil
}

// remember makes cal, read or written now as version, the one in force unless a newer one
// is known.
func (b *BusinessCalendar) remember(cal *sla.Calendar, version int64) { b.store(cal, version, b.keep) }

// keep makes cal the calendar in force, keeping the one it replaces for the reports filed
// under it; b.mu is held.
func (b *BusinessCalendar) keep(cal *sla.Calendar, version int64) {
	if b.cur != nil && b.version != version {
		b.cache(b.cur, b.version)
	}
	delete(b.versions, version)
	b.cur, b.version = cal, version
}

// cache keeps an older version; b.mu is held. Past the bound it forgets them all: they are
// read again, once each, as reports need them.
func (b *BusinessCalendar) cache(cal *sla.Calendar, version int64) {
	if version == b.version {
		return
	}
	if len(b.versions) >= maxCachedVersions {
		clear(b.versions)
	}
	b.versions[version] = cal
}

// Replace validates doc and stores it as the calendar in force, as a new version, in one
// transaction with calendar.replaced (who, the new version and the document as stored);
// it returns the new calendar and version. read is the version the admin read: when
// another version has been stored since (another admin saved in between), nothing is
// stored and it is a conflict (stale_version), so that one admin's save never undoes
// another's unseen; read 0 replaces whatever is stored. An invalid document is
// dispatch.Invalid naming the field and nothing is stored.
//
// Reports already filed keep their due times: each is measured, for the rest of its life,
// by the version it was filed (or last reclassified) under. Reports filed from now on (on
// every instance, within CalendarRecheck) get the new one.
func (b *BusinessCalendar) Replace(ctx context.Context, doc sla.CalendarDocument, read int64, by Origin, now time.Time) (*sla.Calendar, int64, error) {
	cal, err := b.seed.WithDocument(doc)
	var fe *sla.FieldError
	if errors.As(err, &fe) {
		return nil, 0, dispatch.Invalid(fe.Field, "%s", fe.Message)
	} else if err != nil {
		return nil, 0, err
	}
	stored := cal.Document()
	raw, err := json.Marshal(stored)
	if err != nil {
		return nil, 0, err
	}
	var version int64
	err = b.events.RunInTx(ctx, b.db, func(ctx context.Context, tx bun.Tx) error {
		var cur int64
		if err := tx.NewRaw(`SELECT coalesce(max(version), 0) FROM business_calendar`).Scan(ctx, &cur); err != nil {
			return Wrap(err)
		}
		if cur == 0 {
			if err := b.plant(ctx, tx); err != nil {
				return err
			}
			cur = 1
		}
		if read != 0 && cur != read {
			return staleCalendar(cur, read)
		}
		var userID any
		if by.User != nil {
			userID = by.User.ID
		}
		version = cur + 1
		_, err := tx.NewRaw(`INSERT INTO business_calendar (version, document, created_at, created_by) VALUES (?, ?, ?, ?)`,
			version, string(raw), now.UTC(), userID).Exec(ctx)
		if IsUniqueViolation(err) {
			// Another admin's save took this version in the meantime.
			return staleCalendar(version, read)
		} else if err != nil {
			return Wrap(err)
		}
		ev := &dispatch.Event{Type: EventCalendarReplaced, At: now}
		by.event(ev)
		return b.events.Append(ctx, tx, ev, map[string]any{"version": version, "calendar": stored})
	})
	if err != nil {
		return nil, 0, Wrap(err)
	}
	b.remember(cal, version)
	return cal, version, nil
}

func staleCalendar(cur, read int64) error {
	return dispatch.Conflict("stale_version", "the business calendar was changed by someone else (version %d, you read %d); read it again and repeat your change", cur, read)
}
