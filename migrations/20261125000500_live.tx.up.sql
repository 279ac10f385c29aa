-- Live updates: a gap-free, commit-ordered sequence over the event log (see dispatch/live).
--
-- Event ids come from an identity and are not committed in id order, so a reader that
-- follows ids can skip an event whose transaction is still open. Instead every event is
-- queued in live_pending by a trigger, in the writer's own transaction; a sequencer (any
-- instance, serialised by the row lock on live_state) moves committed entries from the queue
-- to live_seq with the next numbers. Sequencing transactions run one after another, so when a
-- reader sees seq N it also sees every seq below N: readers follow seq with a plain cursor.
CREATE TABLE live_pending (
    event_id bigint PRIMARY KEY
);

CREATE TABLE live_seq (
    seq      bigint PRIMARY KEY,
    event_id bigint NOT NULL UNIQUE
);

-- One row: the last seq handed out. Its row lock serialises the sequencers.
CREATE TABLE live_state (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq bigint  NOT NULL
);

CREATE FUNCTION live_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO live_pending (event_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER live_enqueue AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION live_enqueue();

-- The retention job's deletes of old events take their sequence entries with them.
CREATE FUNCTION live_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM live_seq WHERE event_id IN (SELECT id FROM gone);
    DELETE FROM live_pending WHERE event_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER live_forget AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION live_forget();

-- Events written before this migration are sequenced in id order. CREATE TRIGGER above
-- waited for every open writer of events, so this snapshot sees them all.
INSERT INTO live_seq (seq, event_id) SELECT row_number() OVER (ORDER BY id), id FROM events;
INSERT INTO live_state (last_seq) SELECT count(*) FROM events;
