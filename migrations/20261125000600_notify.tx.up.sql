-- SMS notifications: editable templates, the transactional outbox, delivery callbacks,
-- inbound messages (for duplicate detection) and the customers' SMS consent history.
-- No foreign keys to reports or visits: the outbox outlives what caused it, and the
-- notify package must not depend on the order in which other schemas are created.

-- An admin's override of a default template (defaults live in code).
CREATE TABLE sms_templates (
    kind       text        NOT NULL,
    language   text        NOT NULL CHECK (language IN ('es', 'en')),
    body       text        NOT NULL CHECK (length(body) BETWEEN 1 AND 1600),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by bigint      REFERENCES users (id),
    PRIMARY KEY (kind, language)
);

-- One row per notification. dedupe_key makes an event unable to produce two texts.
-- state: pending → sending → sent | failed | cancelled | skipped (opted out).
-- ambiguous: a previous attempt may have reached Twilio; reconcile before sending again.
CREATE TABLE sms_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key      text        NOT NULL UNIQUE,
    kind            text        NOT NULL,
    event_id        bigint,
    report_id       bigint,
    visit_id        bigint,
    customer_id     bigint,
    to_phone        text        NOT NULL,
    language        text        NOT NULL,
    body            text        NOT NULL,
    eta             timestamptz,
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped')),
    send_after      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    attempt_at      timestamptz,
    ambiguous       boolean     NOT NULL DEFAULT false,
    ambiguous_since timestamptz,
    sender          text,
    sid             text        UNIQUE,
    status          text,
    status_rank     smallint    NOT NULL DEFAULT 0,
    error_code      integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_outbox_due_idx ON sms_outbox (send_after, id) WHERE state IN ('pending', 'sending');
CREATE INDEX sms_outbox_visit_idx ON sms_outbox (visit_id, id) WHERE visit_id IS NOT NULL;
CREATE INDEX sms_outbox_created_idx ON sms_outbox (created_at DESC);

-- Delivery callbacks as received; kept so that a callback arriving before the worker has
-- recorded the message's SID is applied when it does.
CREATE TABLE sms_callbacks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sid         text        NOT NULL,
    status      text        NOT NULL,
    error_code  integer,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sid, status)
);

-- Inbound texts, one row per Twilio MessageSid: a redelivered webhook finds its row and
-- gets the same answer without acting twice.
CREATE TABLE sms_inbound (
    message_sid       text        PRIMARY KEY,
    idempotency_token text        UNIQUE,
    from_phone        text        NOT NULL,
    body              text        NOT NULL,
    action            text        NOT NULL,
    report_id         bigint,
    reply             text        NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_inbound_from_idx ON sms_inbound (from_phone, received_at);

-- Consent: the current state per phone number and its full history.
CREATE TABLE sms_consent (
    phone      text        PRIMARY KEY,
    opted_out  boolean     NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE sms_consent_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone     text        NOT NULL,
    opted_out boolean     NOT NULL,
    at        timestamptz NOT NULL,
    source    text        NOT NULL,
    message   text        NOT NULL DEFAULT ''
);
CREATE INDEX sms_consent_history_phone_idx ON sms_consent_history (phone, id);
