package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"despacho/dispatch"
)

// AccessPoints puts customers on access points (customers.access_point) and sets their
// monthly plan price, one at a time or from an imported file.
type AccessPoints struct {
	db *bun.DB
}

// NewAccessPoints returns the access point store on db.
func NewAccessPoints(db *bun.DB) *AccessPoints { return &AccessPoints{db: db} }

// Import applies every assignment in one transaction, or none: a customer that does not
// exist, or one named on two lines, makes a *dispatch.LinesError listing every such line,
// and nothing changes. A nil PlanPrice keeps the customer's price. It returns how many
// customers it updated.
func (s *AccessPoints) Import(ctx context.Context, rows []dispatch.AccessPointAssignment) (int, error) {
	if len(rows) == 0 {
		return 0, dispatch.Invalid("body", "has no customer lines")
	}
	var n int
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		upd, bad, err := resolveAssignments(ctx, tx, rows)
		if err != nil {
			return err
		}
		if len(bad) > 0 {
			return &dispatch.LinesError{Lines: bad}
		}
		res, err := tx.NewRaw(`UPDATE customers AS c SET access_point = u.ap, plan_price = coalesce(nullif(u.price, '')::numeric, c.plan_price)
			FROM unnest(?::bigint[], ?::text[], ?::text[]) AS u(id, ap, price) WHERE c.id = u.id`,
			pgdialect.Array(upd.ids), pgdialect.Array(upd.aps), pgdialect.Array(upd.prices)).Exec(ctx)
		if err != nil {
			return Wrap(err)
		}
		m, _ := res.RowsAffected()
		n = int(m)
		return nil
	})
	if err != nil {
		return 0, Wrap(err)
	}
	return n, nil
}

// Check returns, without changing anything, the lines of rows that Import would refuse (a
// customer that does not exist, or one named on two lines). The import API uses it to list
// these lines together with those the CSV parser refused, so that one answer names every
// bad line.
func (s *AccessPoints) Check(ctx context.Context, rows []dispatch.AccessPointAssignment) ([]dispatch.LineError, error) {
	_, bad, err := resolveAssignments(ctx, s.db, rows)
	return bad, err
}

// assignments are resolved rows, column by column, ready for one UPDATE … FROM unnest.
type assignments struct {
	ids    []int64
	aps    []string
	prices []string
}

// resolveAssignments finds the customer of each row (by id or phone) through idb; rows
// naming no customer, or a customer already named on an earlier line, are returned as bad.
func resolveAssignments(ctx context.Context, idb bun.IDB, rows []dispatch.AccessPointAssignment) (assignments, []dispatch.LineError, error) {
	var upd assignments
	var phones []string
	var ids []int64
	for _, r := range rows {
		if r.CustomerID != 0 {
			ids = append(ids, r.CustomerID)
		} else {
			phones = append(phones, r.Phone)
		}
	}
	byPhone := map[string]int64{}
	known := map[int64]bool{}
	var found []struct {
		ID    int64  `bun:"id"`
		Phone string `bun:"phone,nullzero"`
	}
	err := idb.NewRaw(`SELECT id, phone FROM customers WHERE phone = ANY(?) OR id = ANY(?)`,
		pgdialect.Array(nonNilStrings(phones)), pgdialect.Array(nonNilInts(ids))).Scan(ctx, &found)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return upd, nil, Wrap(err)
	}
	for _, f := range found {
		known[f.ID] = true
		if f.Phone != "" {
			byPhone[f.Phone] = f.ID
		}
	}
	var bad []dispatch.LineError
	seen := map[int64]int{}
	for _, r := range rows {
		id := r.CustomerID
		switch {
		case id != 0 && !known[id]:
			bad = append(bad, dispatch.LineError{Line: r.Line, Field: "customer_id", Message: fmt.Sprintf("no customer %d", id)})
			continue
		case id == 0:
			if id = byPhone[r.Phone]; id == 0 {
				bad = append(bad, dispatch.LineError{Line: r.Line, Field: "phone", Message: "no customer has phone " + r.Phone})
				continue
			}
		}
		if first, dup := seen[id]; dup {
			bad = append(bad, dispatch.LineError{Line: r.Line, Field: "customer_id", Message: fmt.Sprintf("the same customer is on line %d", first)})
			continue
		}
		seen[id] = r.Line
		price := ""
		if r.PlanPrice != nil {
			price = r.PlanPrice.String()
		}
		upd.ids, upd.aps, upd.prices = append(upd.ids, id), append(upd.aps, r.AccessPoint), append(upd.prices, price)
	}
	return upd, bad, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// Set puts the customer id on accessPoint ("" takes them off any) and, when price is not
// nil, sets their monthly plan price. It returns the customer as stored.
func (s *AccessPoints) Set(ctx context.Context, id int64, accessPoint string, price *dispatch.Centavos) (*dispatch.Customer, error) {
	var p any
	if price != nil {
		if *price < 0 {
			return nil, dispatch.Invalid("plan_price", "must not be negative")
		}
		p = price.String()
	}
	var ap any
	if accessPoint != "" {
		ap = accessPoint
	}
	res, err := s.db.NewRaw(`UPDATE customers SET access_point = ?, plan_price = coalesce(?::numeric, plan_price) WHERE id = ?`, ap, p, id).Exec(ctx)
	if err != nil {
		return nil, Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, dispatch.NotFound("customer")
	}
	return oneCustomer(ctx, s.db, "c.id = ?", id)
}

// AccessPointSummary is one access point with its customers and open incident.
type AccessPointSummary struct {
	Name      string `bun:"name" json:"name"`
	Customers int    `bun:"customers" json:"customers"`
	// WithoutPrice counts customers with no plan price: an upheld incident cannot be
	// resolved while any of them has an attached report.
	WithoutPrice int `bun:"without_price" json:"customers_without_price"`
	// OpenIncidentID is the incident open on it, 0 when none.
	OpenIncidentID    int64  `bun:"open_incident_id,nullzero" json:"open_incident_id,omitempty"`
	OpenIncidentFolio string `bun:"open_incident_folio,nullzero" json:"open_incident_folio,omitempty"`
}

// List returns every access point customers are on, by name.
func (s *AccessPoints) List(ctx context.Context) ([]AccessPointSummary, error) {
	var out []AccessPointSummary
	err := s.db.NewRaw(`SELECT c.access_point AS name, count(*) AS customers, count(*) FILTER (WHERE c.plan_price IS NULL) AS without_price,
			i.id AS open_incident_id, i.folio AS open_incident_folio
		FROM customers AS c LEFT JOIN incidents AS i ON i.access_point = c.access_point AND i.status = 'open'
		WHERE c.access_point IS NOT NULL GROUP BY c.access_point, i.id, i.folio ORDER BY c.access_point`).Scan(ctx, &out)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, Wrap(err)
	}
	if out == nil {
		out = []AccessPointSummary{}
	}
	return out, nil
}
