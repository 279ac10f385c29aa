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

// PolicyRecheck is how long an instance uses the SLA policies it read before it checks the
// database again. An edit made through this instance applies at once; one made through
// another instance applies here within PolicyRecheck.
const PolicyRecheck = time.Second

// EventSLAPoliciesReplaced records an admin's replacement of the SLA policies; its data
// holds the new version and document.
const EventSLAPoliciesReplaced = "sla.policies_replaced"

// SLAPolicies stores the one set of SLA policies that new reports are filed under, and
// caches it (see PolicyRecheck). Safe for concurrent use.
type SLAPolicies struct {
	db     *bun.DB
	events *Events
	seed   *sla.Policies
	rechecked[sla.Policies]
}

// NewSLAPolicies returns the policy store on db; seed is stored when the database holds no
// policies yet (nil: sla.DefaultPolicies), and events records replacements.
func NewSLAPolicies(db *bun.DB, events *Events, seed *sla.Policies) *SLAPolicies {
	if seed == nil {
		seed = sla.DefaultPolicies()
	}
	if events == nil {
		events = NewEvents()
	}
	return &SLAPolicies{db: db, events: events, seed: seed, rechecked: rechecked[sla.Policies]{every: PolicyRecheck, now: time.Now}}
}

// Current returns the policies new reports get: the cached set while it is younger than
// PolicyRecheck, else the stored one. When the database cannot be read but a set was read
// before, that set is used.
func (p *SLAPolicies) Current(ctx context.Context) (*sla.Policies, error) {
	ps, _, err := p.load(ctx, p.read, nil)
	return ps, err
}

// Get returns the stored policies and their version, read now.
func (p *SLAPolicies) Get(ctx context.Context) (*sla.Policies, int64, error) {
	ps, v, err := p.read(ctx, 0)
	if err != nil {
		return nil, 0, err
	}
	p.remember(ps, v)
	return ps, v, nil
}

// read returns the stored set and its version, seeding the table when empty; when the
// stored version is known, it returns a nil set (nothing changed).
func (p *SLAPolicies) read(ctx context.Context, known int64) (*sla.Policies, int64, error) {
	var row struct {
		Version  int64           `bun:"version"`
		Document json.RawMessage `bun:"document"`
	}
	err := p.db.NewRaw(`SELECT version, CASE WHEN version = ? THEN NULL ELSE document END AS document FROM sla_policy_set`, known).Scan(ctx, &row)
	if errors.Is(err, sql.ErrNoRows) {
		doc, err := json.Marshal(p.seed.Document())
		if err != nil {
			return nil, 0, err
		}
		if _, err := p.db.NewRaw(`INSERT INTO sla_policy_set (version, document) VALUES (1, ?) ON CONFLICT DO NOTHING`, string(doc)).Exec(ctx); err != nil {
			return nil, 0, Wrap(err)
		}
		return p.read(ctx, 0)
	}
	if err != nil {
		return nil, 0, Wrap(err)
	}
	if row.Document == nil {
		return nil, row.Version, nil
	}
	ps, err := decodePolicies(row.Document)
	if err != nil {
		return nil, 0, err
	}
	return ps, row.Version, nil
}

func decodePolicies(b []byte) (*sla.Policies, error) {
	var d sla.Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("stored SLA policies: %w", err)
	}
	ps, err := d.Policies()
	if err != nil {
		return nil, fmt.Errorf("stored SLA policies: %w", err)
	}
	return ps, nil
}

func (p *SLAPolicies) remember(ps *sla.Policies, version int64) { p.store(ps, version, nil) }

// Replace stores ps as the whole set in one transaction, records sla.policies_replaced
// with the new document, and returns the new version. Reports already filed keep their due
// times; reports filed from now on (on every instance, within PolicyRecheck) get ps.
func (p *SLAPolicies) Replace(ctx context.Context, ps *sla.Policies, by Origin, now time.Time) (int64, error) {
	return p.ReplaceVersion(ctx, ps, 0, by, now)
}

// ReplaceVersion is Replace of the set an admin read at version read: when the stored set
// is no longer that version (another admin saved in between), nothing is stored and it is
// a conflict (stale_version), so that one admin's save never undoes another's unseen.
// read 0 replaces whatever is stored.
func (p *SLAPolicies) ReplaceVersion(ctx context.Context, ps *sla.Policies, read int64, by Origin, now time.Time) (int64, error) {
	d := ps.Document()
	doc, err := json.Marshal(d)
	if err != nil {
		return 0, err
	}
	var version int64
	err = p.events.RunInTx(ctx, p.db, func(ctx context.Context, tx bun.Tx) error {
		if read != 0 {
			var cur int64
			err := tx.NewRaw(`SELECT version FROM sla_policy_set FOR UPDATE`).Scan(ctx, &cur)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return Wrap(err)
			}
			if cur != read {
				return dispatch.Conflict("stale_version", "the SLA policies were changed by someone else (version %d, you read %d); read them again and repeat your change", cur, read)
			}
		}
		var userID any
		if by.User != nil {
			userID = by.User.ID
		}
		err := tx.NewRaw(`INSERT INTO sla_policy_set (version, document, updated_at, updated_by) VALUES (1, ?, ?, ?)
			ON CONFLICT (one) DO UPDATE SET version = sla_policy_set.version + 1, document = EXCLUDED.document,
				updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
			RETURNING version`, string(doc), now.UTC(), userID).Scan(ctx, &version)
		if err != nil {
			return Wrap(err)
		}
		ev := &dispatch.Event{Type: EventSLAPoliciesReplaced, At: now}
		by.event(ev)
		return p.events.Append(ctx, tx, ev, map[string]any{"version": version, "policies": d})
	})
	if err != nil {
		return 0, Wrap(err)
	}
	p.remember(ps, version)
	return version, nil
}
