package postgres

import (
	"context"
	"database/sql"
	"errors"

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
