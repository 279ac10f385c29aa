-- Incidents: mass outages on one access point. The fault reports of its customers attach to
-- an open incident (reports.incident_id), their visits are held meanwhile
-- (visits.held_by_incident_id), and resolving it stores what each customer is owed
-- (compensations, NOM-184-SCFI-2018).

-- Incident folios have their own yearly series (I-2026-000001), allocated like reports'.
CREATE TABLE incident_folio_counters (
    year int    PRIMARY KEY,
    last bigint NOT NULL
);

CREATE TABLE incidents (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    folio                text        NOT NULL UNIQUE,
    access_point         text        NOT NULL,
    title                text        NOT NULL,
    status               text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    opened_by            text        NOT NULL CHECK (opened_by IN ('staff', 'rule')),
    created_by           bigint      REFERENCES users (id),
    started_at           timestamptz NOT NULL,
    estimated_restore_at timestamptz,
    cause                text,
    verdict              text        CHECK (verdict IN ('upheld', 'not_upheld')),
    restored_at          timestamptz,
    resolved_at          timestamptz,
    resolved_by          bigint      REFERENCES users (id),
    version              int         NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (status = 'open' OR (cause IS NOT NULL AND verdict IS NOT NULL AND restored_at IS NOT NULL)),
    CHECK (restored_at IS NULL OR restored_at >= started_at)
);
-- One open incident per access point: a second dispatcher opening the same outage gets a
-- conflict instead of splitting the customers between two incidents.
CREATE UNIQUE INDEX incidents_open_access_point_key ON incidents (access_point) WHERE status = 'open';
CREATE INDEX incidents_status_idx ON incidents (status, id);

ALTER TABLE reports ADD CONSTRAINT reports_incident_fk FOREIGN KEY (incident_id) REFERENCES incidents (id);
-- The incident rule counts recent unattached fault reports per access point.
CREATE INDEX reports_unattached_faults_idx ON reports (created_at)
    WHERE kind = 'fault' AND incident_id IS NULL AND status IN ('open', 'in_progress', 'awaiting_visit', 'waiting_customer');

-- A visit of a report attached to an open incident is held: not planned nor dispatched
-- until the incident is resolved (then it is cancelled with its resolved report) or the
-- customer's report is reopened (then it is released).
ALTER TABLE visits ADD COLUMN held_by_incident_id bigint REFERENCES incidents (id);
CREATE INDEX visits_held_by_incident_idx ON visits (held_by_incident_id) WHERE held_by_incident_id IS NOT NULL;

-- What a report's customer is owed for an outage: computed when the report is resolved
-- through its incident; amounts in MXN with centavos, never floats.
CREATE TABLE compensations (
    report_id    bigint        PRIMARY KEY REFERENCES reports (id),
    incident_id  bigint        REFERENCES incidents (id),
    customer_id  bigint        NOT NULL REFERENCES customers (id),
    outage_start timestamptz   NOT NULL,
    outage_end   timestamptz   NOT NULL CHECK (outage_end >= outage_start),
    plan_price   numeric(12,2) CHECK (plan_price >= 0),
    bonus_bp     int           NOT NULL CHECK (bonus_bp >= 2000),
    upheld       boolean       NOT NULL,
    amount       numeric(14,2) NOT NULL CHECK (amount >= 0),
    currency     text          NOT NULL DEFAULT 'MXN' CHECK (currency = 'MXN'),
    computed_at  timestamptz   NOT NULL,
    CHECK (upheld OR amount = 0)
);
CREATE INDEX compensations_incident_idx ON compensations (incident_id, report_id) WHERE incident_id IS NOT NULL;
