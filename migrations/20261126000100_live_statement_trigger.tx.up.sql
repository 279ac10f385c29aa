-- Events are queued for the live sequencer once per statement instead of once per row: a
-- batch of report creations writes its events in one INSERT, and one trigger call with its
-- transition table queues them all (the row trigger called PL/pgSQL and planned its INSERT
-- for every event).
DROP TRIGGER live_enqueue ON events;
DROP FUNCTION live_enqueue();

CREATE FUNCTION live_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO live_pending (event_id) SELECT id FROM added;
    RETURN NULL;
END $$;
CREATE TRIGGER live_enqueue AFTER INSERT ON events
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION live_enqueue();
