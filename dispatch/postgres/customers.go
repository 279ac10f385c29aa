package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
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

// What became of a phone number found in a customer's own words (an e-mail's body): see
// CreateOptions.TextPhone and Reports.AddTextPhone. A number from free text is a guess,
// never a way to find a customer: it only fills in a phone the customer lacks.
const (
	TextPhoneStored  = "stored"   // added to the customer, who had no phone
	TextPhoneOnFile  = "on_file"  // already the customer's phone
	TextPhoneKept    = "kept"     // the customer has another phone, which stays
	TextPhoneTaken   = "taken"    // another customer's phone: not added
	TextPhoneUnknown = "stranger" // the sender is not the customer on file: not added
)

// EventCustomerPhoneAdded records, on the report a customer's message went to, that the
// phone number he wrote in it was added to him (he had none): texts about his reports go
// to it from then on. Data: folio, phone.
const EventCustomerPhoneAdded = "report.customer_phone_added"

// addTextPhone adds phone (E.164) to the customer cu when he has none and no other
// customer has it, in tx, and says what became of it; cu becomes the stored row. The
// update runs under a savepoint, so that a concurrent creation taking the number (the
// unique index) leaves tx usable: the number is then taken.
func addTextPhone(ctx context.Context, tx bun.Tx, cu *dispatch.Customer, phone string) (string, error) {
	switch cu.Phone {
	case phone:
		return TextPhoneOnFile, nil
	case "":
	default:
		return TextPhoneKept, nil
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT text_phone"); err != nil {
		return "", Wrap(err)
	}
	var row customerRow
	err := tx.NewRaw(`UPDATE customers AS c SET phone = ? WHERE c.id = ? AND c.phone IS NULL
		AND NOT EXISTS (SELECT 1 FROM customers AS o WHERE o.phone = ?) RETURNING c.*`, phone, cu.ID, phone).Scan(ctx, &row)
	if IsUniqueViolation(err) {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT text_phone"); err != nil {
			return "", Wrap(err)
		}
		return TextPhoneTaken, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", Wrap(err)
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT text_phone"); err != nil {
		return "", Wrap(err)
	}
	if err == nil {
		*cu = row.Customer
		return TextPhoneStored, nil
	}
	// Not updated: the number is another's, or the customer got a phone meanwhile.
	if err := tx.NewSelect().Model(&row).Where("c.id = ?", cu.ID).Scan(ctx); err != nil {
		return "", Wrap(err)
	}
	*cu = row.Customer
	switch cu.Phone {
	case phone:
		return TextPhoneOnFile, nil
	case "":
		return TextPhoneTaken, nil
	}
	return TextPhoneKept, nil
}

// AddTextPhone stores phone (E.164), a number the customer wrote in a message already
// added to report reportID (AddCustomerMessage), on the report's customer — only when
// fromEmail is the customer's e-mail on file (a message threaded by its references may
// come from anybody the thread reached), and as addTextPhone does: a phone on file is
// never replaced by one read from a text. When it is stored, EventCustomerPhoneAdded is
// written on the report in the same transaction. It returns what became of the number.
func (s *Reports) AddTextPhone(ctx context.Context, reportID int64, fromEmail, phone string, at time.Time, by Origin) (string, error) {
	var outcome string
	err := s.events.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var found struct {
			customerRow
			Folio string `bun:"folio"`
		}
		err := tx.NewRaw(`SELECT c.*, r.folio FROM reports AS r JOIN customers AS c ON c.id = r.customer_id
			WHERE r.id = ? FOR UPDATE OF c`, reportID).Scan(ctx, &found)
		if errors.Is(err, sql.ErrNoRows) {
			return dispatch.NotFound("report")
		}
		if err != nil {
			return Wrap(err)
		}
		cu := found.Customer
		if fromEmail == "" || !strings.EqualFold(cu.Email, fromEmail) {
			outcome = TextPhoneUnknown
			return nil
		}
		if outcome, err = addTextPhone(ctx, tx, &cu, phone); err != nil || outcome != TextPhoneStored {
			return err
		}
		ev := &dispatch.Event{Type: EventCustomerPhoneAdded, At: at, Channel: string(dispatch.ChannelEmail), ReportID: reportID}
		by.event(ev)
		return s.events.Append(ctx, tx, ev, map[string]any{"folio": found.Folio, "phone": phone})
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}
