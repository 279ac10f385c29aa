DROP TRIGGER live_enqueue ON events;
DROP FUNCTION live_enqueue();

CREATE FUNCTION live_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO live_pending (event_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER live_enqueue AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION live_enqueue();
