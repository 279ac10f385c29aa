-- Technicians with their weekly shifts and exceptions, and visits: the stored plan is the
-- technician, position and planned times on each visit row.

CREATE TABLE technicians (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text             NOT NULL,
    phone        text             NOT NULL, -- E.164
    user_id      bigint           REFERENCES users (id),
    skills       text[]           NOT NULL DEFAULT '{}',
    home_lat     double precision NOT NULL CHECK (home_lat BETWEEN -90 AND 90),
    home_lon     double precision NOT NULL CHECK (home_lon BETWEEN -180 AND 180),
    -- Weekly shifts [{"weekday":1,"start":"09:00","end":"18:00","break":{...}}], business time.
    shifts       jsonb            NOT NULL DEFAULT '[]'::jsonb,
    active       boolean          NOT NULL DEFAULT true,
    last_lat     double precision CHECK (last_lat BETWEEN -90 AND 90),
    last_lon     double precision CHECK (last_lon BETWEEN -180 AND 180),
    last_seen_at timestamptz,
    version      int              NOT NULL DEFAULT 1,
    created_at   timestamptz      NOT NULL DEFAULT now(),
    updated_at   timestamptz      NOT NULL DEFAULT now()
);
-- One technician record per user account.
CREATE UNIQUE INDEX technicians_user_key ON technicians (user_id) WHERE user_id IS NOT NULL;

-- Time off, sick days: whole days or part of one; the technician works no shift inside them.
CREATE TABLE technician_exceptions (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    technician_id bigint      NOT NULL REFERENCES technicians (id),
    starts_at     timestamptz NOT NULL,
    ends_at       timestamptz NOT NULL,
    reason        text        NOT NULL CHECK (reason IN ('time_off', 'sick', 'unavailable', 'other')),
    note          text        NOT NULL DEFAULT '',
    created_by    bigint      REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX technician_exceptions_tech_idx ON technician_exceptions (technician_id, starts_at);

CREATE TABLE visits (
    id               bigint           GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id        bigint           NOT NULL REFERENCES reports (id),
    status           text             NOT NULL DEFAULT 'unscheduled' CHECK (status IN
                         ('unscheduled', 'booked', 'assigned', 'en_route', 'on_site', 'completed', 'not_completed', 'cancelled')),
    duration_min     int              NOT NULL CHECK (duration_min BETWEEN 5 AND 720),
    skills           text[]           NOT NULL DEFAULT '{}',
    address          text             NOT NULL DEFAULT '',
    lat              double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon              double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    priority         int              NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
    urgent           boolean          NOT NULL DEFAULT false,
    -- When the customer can receive a technician: [{"start","end"}]; empty means any time.
    availability     jsonb            NOT NULL DEFAULT '[]'::jsonb,
    -- The promised arrival window: once booked (texted), every re-plan must keep it.
    window_start     timestamptz,
    window_end       timestamptz,
    -- A window offered and held while the customer chooses; an expired hold is no hold.
    hold_start       timestamptz,
    hold_end         timestamptz,
    held_until       timestamptz,
    -- The plan: technician, business day, order in his route and planned times.
    technician_id    bigint           REFERENCES technicians (id),
    plan_day         date,
    route_position   int,
    planned_arrival  timestamptz,
    planned_start    timestamptz,
    planned_end      timestamptz,
    pinned           boolean          NOT NULL DEFAULT false,
    eta              timestamptz,
    at_risk          boolean          NOT NULL DEFAULT false,
    -- Outcome.
    not_done_reason  text             CHECK (not_done_reason IN ('customer_absent', 'no_access', 'needs_parts', 'other')),
    cause            text,
    verdict          text             CHECK (verdict IN ('upheld', 'not_upheld')),
    service_restored boolean,
    started_at       timestamptz,
    arrived_at       timestamptz,
    finished_at      timestamptz,
    version          int              NOT NULL DEFAULT 1,
    created_by       bigint           REFERENCES users (id),
    created_at       timestamptz      NOT NULL DEFAULT now(),
    updated_at       timestamptz      NOT NULL DEFAULT now(),
    CHECK ((window_start IS NULL) = (window_end IS NULL) AND (window_end IS NULL OR window_end > window_start)),
    CHECK ((planned_start IS NULL) = (planned_end IS NULL) AND (planned_end IS NULL OR planned_end > planned_start)),
    CHECK (technician_id IS NOT NULL OR planned_start IS NULL),
    -- The database itself refuses two live visits of one technician at overlapping times.
    -- Deferred: a re-plan rewrites many rows and only the committed whole must be consistent.
    CONSTRAINT visits_no_overlap EXCLUDE USING gist (
        technician_id WITH =, tstzrange(planned_start, planned_end) WITH &&
    ) WHERE (planned_start IS NOT NULL AND status IN ('booked', 'assigned', 'en_route', 'on_site'))
      DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX visits_report_idx ON visits (report_id);
CREATE INDEX visits_day_idx ON visits (plan_day, technician_id, route_position) WHERE plan_day IS NOT NULL;
CREATE INDEX visits_window_idx ON visits (window_start) WHERE window_start IS NOT NULL;
CREATE INDEX visits_hold_idx ON visits (held_until) WHERE held_until IS NOT NULL;
CREATE INDEX visits_tech_idx ON visits (technician_id, planned_start) WHERE technician_id IS NOT NULL;
