-- Customers, their service locations, reports (folios) with their SLA clocks, the per-year
-- folio counters and the idempotency keys of creating requests.

CREATE TABLE customers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text          NOT NULL,
    phone        text,                               -- E.164
    email        text,
    language     text          NOT NULL DEFAULT 'es' CHECK (language IN ('es', 'en')),
    sms_opt_out  boolean       NOT NULL DEFAULT false,
    access_point text,
    plan_price   numeric(12,2) CHECK (plan_price >= 0), -- MXN per month
    created_at   timestamptz   NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
-- A phone number names one customer: reports by phone find their customer through it.
CREATE UNIQUE INDEX customers_phone_key ON customers (phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_email_idx ON customers (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX customers_access_point_idx ON customers (access_point) WHERE access_point IS NOT NULL;

-- A service location: where a technician would go. One row per customer and address line.
CREATE TABLE locations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint           NOT NULL REFERENCES customers (id),
    line        text             NOT NULL,
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    zone        text,
    created_at  timestamptz      NOT NULL DEFAULT now(),
    CHECK ((lat IS NULL) = (lon IS NULL))
);
CREATE UNIQUE INDEX locations_customer_line_key ON locations (customer_id, line);

-- Folio numbers come from one sequence per year, made on first use: unique, increasing and
-- never reused (a sequence never goes back, even after a crash), drawn inside the creating
-- transaction without a lock. A rolled-back creation leaves a gap; a counter row would have
-- none but serialises every creation behind its row lock until commit (measured: a lock
-- convoy capping creation near 150 reports/s).
CREATE FUNCTION next_report_folio(y int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    seq text := 'report_folio_' || y;
BEGIN
    -- No exception block on the common path: each would cost a subtransaction.
    IF to_regclass(seq) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %I', seq);
        EXCEPTION WHEN unique_violation OR duplicate_table THEN
            NULL; -- another transaction made it meanwhile
        END;
    END IF;
    RETURN nextval(seq);
END $$;

CREATE TABLE reports (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    folio                 text        NOT NULL UNIQUE,
    kind                  text        NOT NULL CHECK (kind IN ('fault', 'complaint', 'inquiry', 'clarification', 'suggestion', 'cancellation', 'other')),
    channel               text        NOT NULL CHECK (channel IN ('phone', 'email', 'web', 'in_person', 'sms')),
    priority              text        NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    area                  text        NOT NULL CHECK (area IN ('customer_service', 'technical', 'billing', 'complaints')),
    status                text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'awaiting_visit', 'waiting_customer', 'resolved', 'closed', 'cancelled')),
    customer_id           bigint      NOT NULL REFERENCES customers (id),
    location_id           bigint      REFERENCES locations (id),
    subject               text        NOT NULL DEFAULT '',
    description           text        NOT NULL,
    access_code_hash      bytea       NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    version               int         NOT NULL DEFAULT 1,
    created_by            bigint      REFERENCES users (id),
    -- SLA: due times with the pauses so far taken into account; NULL while paused.
    first_response_due_at timestamptz,
    first_responded_at    timestamptz,
    due_at                timestamptz,
    sla_risk_at           timestamptz, -- when 80 % of the resolution budget is used
    paused_since          timestamptz, -- set while waiting_customer
    pauses                jsonb       NOT NULL DEFAULT '[]'::jsonb, -- closed pauses [{"start","end"}]
    sla_state             text        NOT NULL DEFAULT 'ok' CHECK (sla_state IN ('ok', 'at_risk', 'breached')),
    -- Faults: when the customer lost service (as reported) and when it came back.
    outage_started_at     timestamptz,
    service_restored_at   timestamptz,
    -- Resolution as told to the customer.
    cause                 text,
    verdict               text        CHECK (verdict IN ('upheld', 'not_upheld')),
    service_restored      boolean,
    restored_confirmed_at timestamptz,
    resolution_notes      text,
    resolved_at           timestamptz,
    closed_at             timestamptz,
    -- The incident (mass outage) the report is attached to; incidents add the reference.
    incident_id           bigint
);
CREATE INDEX reports_customer_idx ON reports (customer_id);
CREATE INDEX reports_status_idx ON reports (status, id);
CREATE INDEX reports_incident_idx ON reports (incident_id) WHERE incident_id IS NOT NULL;
-- The SLA job reads the open reports whose risk or due instant has come.
CREATE INDEX reports_sla_idx ON reports (sla_risk_at, due_at)
    WHERE status IN ('open', 'in_progress', 'awaiting_visit') AND sla_state <> 'breached';

-- Idempotency keys of creating requests (Idempotency-Key header, e-mail Message-IDs): the
-- key is claimed in the same transaction as the change, so a retry finds either nothing
-- (the first attempt rolled back) or the first answer.
CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       int         NOT NULL DEFAULT 0,
    response     jsonb,
    report_id    bigint      REFERENCES reports (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
