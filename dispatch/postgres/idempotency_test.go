package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"despacho/dispatch"
	"despacho/dispatch/dispatchtest"
	"despacho/dispatch/postgres"
)

// TestStoredAnswer: the read-only lookup a caller answers a retry with before counting it.
// It returns the answer a committed request stored under the key and the same request hash,
// as a replay; another hash under the key is idempotency_key_reused; an unknown key, a key
// of another scope and a key claimed by a request not yet committed are NotFound; a key
// stored without a hash (e-mail Message-IDs) answers any request. It claims nothing: the key
// is still free for the first request after a NotFound.
func TestStoredAnswer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dispatchtest.DB(t)
	reports := postgres.NewReports(db, nil, dispatch.SLA{})
	now := time.Now()
	create := func(k *postgres.IdempotencyKey) string {
		t.Helper()
		in := dispatch.ReportInput{Channel: "web", Kind: "fault", Description: "Sin servicio",
			Customer: dispatch.CustomerInput{Name: "Cliente", Phone: "5511112222", Language: "es"}}
		nr, err := in.Validate(now)
		if err != nil {
			t.Fatal(err)
		}
		c, a, err := reports.Create(ctx, nr, postgres.Origin{Actor: "customer"}, postgres.CreateOptions{Key: k,
			Answer: func(c *postgres.Created) (int, any) { return 201, map[string]string{"folio": c.Report.Folio} }})
		if err != nil || a == nil || a.Replayed {
			t.Fatalf("create = %+v, %v; want a first answer", a, err)
		}
		return c.Report.Folio
	}
	hash := postgres.RequestHash([]byte(`{"a":1}`))
	k := &postgres.IdempotencyKey{Scope: "public:report", Key: "k-0123456789abcdef", Hash: hash}

	if _, err := postgres.StoredAnswer(ctx, db, k); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("before any request: %v, want NotFound", err)
	}
	folio := create(k) // the lookup claimed nothing: the key is the first request's
	a, err := postgres.StoredAnswer(ctx, db, k)
	if err != nil {
		t.Fatalf("stored answer: %v", err)
	}
	var body struct{ Folio string }
	if a.Status != 201 || !a.Replayed || a.ReportID == 0 || json.Unmarshal(a.Body, &body) != nil || body.Folio != folio {
		t.Fatalf("stored answer = %d replayed=%v report=%d %s, want 201, replayed, %s", a.Status, a.Replayed, a.ReportID, a.Body, folio)
	}

	other := *k
	other.Hash = postgres.RequestHash([]byte(`{"a":2}`))
	if _, err := postgres.StoredAnswer(ctx, db, &other); dispatch.ErrorKind(err) != dispatch.KindInvalid || !hasCode(err, "idempotency_key_reused") {
		t.Fatalf("another request under the key: %v, want idempotency_key_reused", err)
	}
	for _, o := range []postgres.IdempotencyKey{
		{Scope: "public:report", Key: "k-unknown-000000000", Hash: hash},
		{Scope: "tickets:user:1", Key: k.Key, Hash: hash},
	} {
		if _, err := postgres.StoredAnswer(ctx, db, &o); dispatch.ErrorKind(err) != dispatch.KindNotFound {
			t.Errorf("%s/%s: %v, want NotFound", o.Scope, o.Key, err)
		}
	}

	// A key claimed by a request still being served is not visible: NotFound, not its
	// empty answer (the caller goes on, and its claim waits for that request).
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, key, request_hash) VALUES ('public:report', 'k-in-flight-0000000', ?)`, hash); err != nil {
		t.Fatal(err)
	}
	inflight := &postgres.IdempotencyKey{Scope: "public:report", Key: "k-in-flight-0000000", Hash: hash}
	if _, err := postgres.StoredAnswer(ctx, db, inflight); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("a key claimed in an open transaction: %v, want NotFound", err)
	}
	// Inside it, the claimed row has no answer yet: NotFound too.
	if _, err := postgres.StoredAnswer(ctx, tx, inflight); dispatch.ErrorKind(err) != dispatch.KindNotFound {
		t.Fatalf("a claimed key without its answer: %v, want NotFound", err)
	}
	_ = tx.Rollback()

	// Without a hash (e-mail Message-IDs) any request with the key is the same one.
	mk := &postgres.IdempotencyKey{Scope: "test:nohash", Key: "<m1@example.mx>"}
	create(mk)
	if a, err := postgres.StoredAnswer(ctx, db, &postgres.IdempotencyKey{Scope: mk.Scope, Key: mk.Key}); err != nil || a.Status != 201 {
		t.Fatalf("key without a hash: %+v, %v; want its answer", a, err)
	}
}

func hasCode(err error, code string) bool {
	var e *dispatch.Error
	return errors.As(err, &e) && e.Code == code
}
