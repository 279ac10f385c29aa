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
)

type customerRow struct {
	bun.BaseModel `bun:"table:customers,alias:c"`
	dispatch.Customer
}

type locationRow struct {
	bun.BaseModel `bun:"table:locations,alias:l"`
	dispatch.Location
}

// Customers reads customers.
type Customers struct {
	db bun.IDB
}

// NewCustomers returns the customer store on db.
func NewCustomers(db bun.IDB) *Customers { return &Customers{db: db} }

// ByID returns the customer with that id.
func (s *Customers) ByID(ctx context.Context, id int64) (*dispatch.Customer, error) {
	return oneCustomer(ctx, s.db, "c.id = ?", id)
}

// ByPhone returns the customer whose phone is e164 (already normalized).
func (s *Customers) ByPhone(ctx context.Context, e164 string) (*dispatch.Customer, error) {
	return oneCustomer(ctx, s.db, "c.phone = ?", e164)
}

func oneCustomer(ctx context.Context, db bun.IDB, where string, arg any) (*dispatch.Customer, error) {
	var row customerRow
	err := db.NewSelect().Model(&row).Where(where, arg).OrderExpr("c.id").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, dispatch.NotFound("customer")
	}
	if err != nil {
		return nil, Wrap(err)
	}
	return &row.Customer, nil
}

// matchCustomer finds the customer c describes — by phone, else by e-mail — or creates it,
// inside tx, replaces *c with the stored row, and in the same round trip draws the report's
// folio number for year and its id, and stores loc (when not nil) for the customer as
// addLocation once did. With a key, it first claims the key as claimKey does, and when the
// key was already taken it changes nothing and returns claimed false. When staff give it (trusted), an access point and plan price fill
// in or update the stored ones, and a phone or e-mail the stored customer lacks is added; a
// public form never changes a stored customer.
func matchCustomer(ctx context.Context, ps *prepared, db *bun.DB, tx bun.Tx, c *dispatch.Customer, trusted bool, year int, loc *dispatch.Location, key *IdempotencyKey, now time.Time) (folioN, reportID int64, claimed bool, err error) {
	// One statement: the customer with the phone, else the first with the e-mail, else a
	// new one (a concurrent report for the same new phone waits on the insert and then
	// gets the same row), its location, the folio number and the report id.
	var rows []struct {
		customerRow
		Made     bool            `bun:"made"`
		FolioN   int64           `bun:"folio_n"`
		ReportID int64           `bun:"report_id"`
		Loc      json.RawMessage `bun:"loc"`
	}
	var line, zone any
	var lat, lon *float64
	if loc != nil {
		line, lat, lon = loc.Line, loc.Lat, loc.Lon
		if loc.Zone != "" {
			zone = loc.Zone
		}
	}
	claim, ok := "", "true"
	args := []any{c.Phone, c.Email, c.Name, c.Language, c.AccessPoint, c.PlanPrice, year, line, lat, lon, zone}
	if key != nil {
		claim = `claim AS (
			INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?11::text, ?12::text, ?13::bytea, ?14::timestamptz)
			ON CONFLICT (scope, key) DO NOTHING RETURNING key
		), `
		ok = "EXISTS (SELECT 1 FROM claim)"
		khash := key.Hash
		if khash == nil {
			khash = []byte{}
		}
		args = append(args, key.Scope, key.Key, khash, now)
	}
	// A prepared statement (see prepared): the casts give PostgreSQL each parameter's type.
	err = ps.scan(ctx, db, &tx, `WITH `+claim+`found AS (
			SELECT * FROM (
				SELECT c.*, 0 AS pref FROM customers AS c WHERE c.phone = ?0::text
				UNION ALL
				(SELECT c.*, 1 FROM customers AS c WHERE ?1::text <> '' AND lower(c.email) = ?1::text ORDER BY c.id LIMIT 1)
			) AS m ORDER BY pref LIMIT 1
		), made AS (
			INSERT INTO customers (name, phone, email, language, sms_opt_out, access_point, plan_price)
			SELECT ?2::text, NULLIF(?0::text, ''), NULLIF(?1::text, ''), ?3::text, false, NULLIF(?4::text, ''), ?5::numeric
			WHERE NOT EXISTS (SELECT 1 FROM found) AND `+ok+`
			ON CONFLICT (phone) WHERE phone IS NOT NULL DO UPDATE SET phone = EXCLUDED.phone
			RETURNING *, 2 AS pref
		), x AS (
			SELECT * FROM found UNION ALL SELECT * FROM made
		), loc AS (
			INSERT INTO locations AS l (customer_id, line, lat, lon, zone)
			SELECT x.id, ?7::text, ?8::float8, ?9::float8, ?10::text FROM x WHERE ?7::text IS NOT NULL AND `+ok+`
			ON CONFLICT (customer_id, line) DO UPDATE
			SET lat = COALESCE(EXCLUDED.lat, l.lat), lon = COALESCE(EXCLUDED.lon, l.lon), zone = COALESCE(EXCLUDED.zone, l.zone)
			RETURNING l.*
		)
		SELECT x.*, x.pref = 2 AS made, next_report_folio(?6::int) AS folio_n,
			nextval(pg_get_serial_sequence('reports', 'id')) AS report_id,
			(SELECT to_jsonb(loc) FROM loc) AS loc
		FROM x WHERE `+ok, args, &rows)
	if err != nil {
		return 0, 0, false, Wrap(err)
	}
	if key != nil && len(rows) == 0 {
		return 0, 0, false, nil
	}
	if len(rows) != 1 {
		return 0, 0, false, fmt.Errorf("customer match returned %d rows", len(rows))
	}
	if loc != nil {
		if err := json.Unmarshal(rows[0].Loc, loc); err != nil {
			return 0, 0, false, fmt.Errorf("stored location: %w", err)
		}
	}
	reportID = rows[0].ReportID
	found := &rows[0].Customer
	folioN = rows[0].FolioN
	if rows[0].Made {
		*c = *found
		return folioN, reportID, true, nil
	}
	if trusted {
		q := tx.NewUpdate().Table("customers").Where("id = ?", found.ID)
		changed := false
		if c.AccessPoint != "" && c.AccessPoint != found.AccessPoint {
			q, changed = q.Set("access_point = ?", c.AccessPoint), true
		}
		if c.PlanPrice != nil && (found.PlanPrice == nil || *found.PlanPrice != *c.PlanPrice) {
			q, changed = q.Set("plan_price = ?", *c.PlanPrice), true
		}
		if c.Email != "" && found.Email == "" {
			q, changed = q.Set("email = ?", c.Email), true
		}
		if c.Phone != "" && found.Phone == "" {
			q, changed = q.Set("phone = ?", c.Phone), true
		}
		if changed {
			row := &customerRow{}
			if err := q.Returning("*").Scan(ctx, row); err != nil {
				if IsUniqueViolation(err) {
					return 0, 0, false, dispatch.Conflict("retry", "the customer's phone was just taken by another report; try again")
				}
				return 0, 0, false, Wrap(err)
			}
			found = &row.Customer
		}
	}
	*c = *found
	return folioN, reportID, true, nil
}
