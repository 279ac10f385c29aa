package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"despacho/dispatch"
)

// IdempotencyKey makes a creating request safe to retry: the first request that claims
// (Scope, Key) does the work and stores its answer in the same transaction; later ones get
// that answer back. Scope separates callers and routes (e.g. "tickets:user:12"); Hash is
// the digest of the request, so a reused key with another request is refused. A nil Hash
// means any request with the key is the same one (e-mail Message-IDs).
type IdempotencyKey struct {
	Scope string
	Key   string
	Hash  []byte
}

// RequestHash digests a request body for an IdempotencyKey.
func RequestHash(body []byte) []byte {
	h := sha256.Sum256(body)
	return h[:]
}

// Answer is a stored answer to a request.
type Answer struct {
	Status   int
	Body     json.RawMessage
	ReportID int64
	// Replayed is true when the answer was stored by an earlier request.
	Replayed bool
}

// claimKey claims k inside tx. It returns nil when the caller now owns the key and must do
// the work, or the earlier request's answer. A concurrent request holding the key makes
// this wait until it commits (then its answer is returned) or rolls back (then the key is
// ours). A reused key with a different request is invalid (HTTP 422).
func claimKey(ctx context.Context, tx bun.Tx, k *IdempotencyKey, now time.Time) (*Answer, error) {
	hash := k.Hash
	if hash == nil {
		hash = []byte{}
	}
	var claimed []string
	err := tx.NewRaw(`INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (scope, key) DO NOTHING RETURNING key`, k.Scope, k.Key, hash, now).Scan(ctx, &claimed)
	if err != nil {
		return nil, Wrap(err)
	}
	if len(claimed) == 1 {
		return nil, nil
	}
	return readAnswer(ctx, tx, k)
}

// StoredAnswer returns, without claiming the key or locking anything, the answer an earlier
// request stored for k once it committed, as a replay (Replayed). A caller answers a retry
// with it before doing anything a first request would (count it against a limit): the
// request was already served. It is NotFound when no answer is stored for (Scope, Key),
// which includes a request still being served (its row is not visible outside its
// transaction: the caller goes on and claimKey waits for it), and invalid
// (idempotency_key_reused) when the key was stored with another request's hash.
func StoredAnswer(ctx context.Context, db bun.IDB, k *IdempotencyKey) (*Answer, error) {
	a, err := readAnswer(ctx, db, k)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && a.Status == 0) {
		return nil, dispatch.NotFound("idempotency key")
	}
	return a, err
}

// readAnswer reads the answer stored for k; sql.ErrNoRows when there is no row.
func readAnswer(ctx context.Context, db bun.IDB, k *IdempotencyKey) (*Answer, error) {
	var row struct {
		RequestHash []byte          `bun:"request_hash"`
		Status      int             `bun:"status"`
		Response    json.RawMessage `bun:"response"`
		ReportID    *int64          `bun:"report_id"`
	}
	err := db.NewRaw(`SELECT request_hash, status, response, report_id FROM idempotency_keys WHERE scope = ? AND key = ?`,
		k.Scope, k.Key).Scan(ctx, &row)
	if err != nil {
		return nil, Wrap(err)
	}
	if k.Hash != nil && !bytes.Equal(row.RequestHash, k.Hash) {
		return nil, &dispatch.Error{Kind: dispatch.KindInvalid, Code: "idempotency_key_reused", Field: "Idempotency-Key",
			Message: "this Idempotency-Key was already used with a different request"}
	}
	a := &Answer{Status: row.Status, Body: row.Response, Replayed: true}
	if row.ReportID != nil {
		a.ReportID = *row.ReportID
	}
	return a, nil
}

// saveAnswer stores the answer of the request that claimed k, in the same transaction.
func saveAnswer(ctx context.Context, tx bun.Tx, k *IdempotencyKey, a *Answer) error {
	var reportID any
	if a.ReportID != 0 {
		reportID = a.ReportID
	}
	_, err := tx.NewRaw(`UPDATE idempotency_keys SET status = ?, response = ?, report_id = ? WHERE scope = ? AND key = ?`,
		a.Status, string(a.Body), reportID, k.Scope, k.Key).Exec(ctx)
	return Wrap(err)
}

// EmailScope is the scope of e-mail Message-IDs. They are not only retries' keys but the
// threads' memory: a reply finds its report by the Message-IDs it names, days or months
// later (see AddCustomerMessage). Their answers hold a folio, never an access code.
const EmailScope = "email"

// PurgeIdempotencyKeys deletes the keys of scopes starting with scopePrefix (e.g.
// "tickets:") older than before, and returns how many went. Retries come within minutes, so
// a day is plenty; stored answers may hold a report's access code, so they should not be
// kept for ever. Keys of EmailScope are never purged, whatever the prefix.
func PurgeIdempotencyKeys(ctx context.Context, db bun.IDB, scopePrefix string, before time.Time) (int64, error) {
	res, err := db.NewRaw(`DELETE FROM idempotency_keys WHERE starts_with(scope, ?) AND scope <> ? AND created_at < ?`,
		scopePrefix, EmailScope, before).Exec(ctx)
	if err != nil {
		return 0, Wrap(err)
	}
	return res.RowsAffected()
}
