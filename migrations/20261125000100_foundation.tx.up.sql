-- Users, sessions and the event log: the spine every other table hangs on.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL,
    role          text        NOT NULL CHECK (role IN ('admin', 'dispatcher', 'agent', 'technician')),
    password_hash text        NOT NULL,
    active        boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A session is stored by the SHA-256 of its token: a leaked table gives no usable token.
CREATE TABLE sessions (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- The event log: every change writes one row here in its own transaction. It is both a
-- report's append-only timeline and the feed of live updates and notifications. tx_id lets
-- readers tell which rows belong to transactions that may still be open.
CREATE TABLE events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id         xid8        NOT NULL DEFAULT pg_current_xact_id(),
    type          text        NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_user_id bigint      REFERENCES users (id),
    actor         text        NOT NULL DEFAULT 'system',
    channel       text,
    report_id     bigint,
    visit_id      bigint,
    technician_id bigint,
    incident_id   bigint,
    data          jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX events_report_idx ON events (report_id, id) WHERE report_id IS NOT NULL;
CREATE INDEX events_visit_idx ON events (visit_id, id) WHERE visit_id IS NOT NULL;
CREATE INDEX events_at_idx ON events (at);

-- Events are append-only: the database itself refuses edits and deletes of history, except
-- the retention job's deletes of old rows (it sets despacho.retention = 'on' in its transaction).
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('despacho.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
