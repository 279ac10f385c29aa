-- The business calendar admins edit (weekly hours and dated exceptions; sla.CalendarDocument
-- as JSON), one row per version: the row with the highest version is the calendar in force.
-- Rows are never changed or deleted, because a report keeps the version its due times are
-- counted on (reports.calendar_version) and is measured by it for the rest of its life. The
-- service seeds version 1 with the calendar it is configured with when it finds none. The
-- time zone and the statutory holidays are not stored: they come from the configuration.
CREATE TABLE business_calendar (
    version    bigint      PRIMARY KEY CHECK (version > 0),
    document   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint      REFERENCES users (id)
);

CREATE FUNCTION business_calendar_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'business calendar versions are never changed: insert a new version' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER business_calendar_append_only BEFORE UPDATE OR DELETE ON business_calendar
    FOR EACH ROW EXECUTE FUNCTION business_calendar_append_only();

-- The version of the business calendar a report's due times are counted on, fixed with its
-- policy (at filing and at a change of kind or priority). NULL (reports filed before this
-- migration): the calendar the service is configured with, on which they were counted. No
-- foreign key: every report filed would take a share lock on the calendar's row.
ALTER TABLE reports ADD COLUMN calendar_version bigint;
