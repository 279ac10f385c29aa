-- A customer's request for another time (an SMS reply "2" / CAMBIAR to a text about his
-- visit): when it came, while no one has answered it. The dispatchers' board lists every
-- visit with a pending request in its queue, whatever its status and technician, until a
-- new window is booked (re-booked, or booked again after the visit could not be
-- completed), the visit ends (completed or cancelled), or a dispatcher clears it.
ALTER TABLE visits ADD COLUMN reschedule_requested_at timestamptz;
CREATE INDEX visits_reschedule_requested_idx ON visits (id) WHERE reschedule_requested_at IS NOT NULL;

-- A request is answered by whatever change books the visit (another promised window, or a
-- booking again after it could not be completed, even of the window it had) or ends it,
-- whichever path makes it (booking by staff or by the customer on his page, an urgent
-- insert, a cancellation by staff or by an incident's resolution, the technician's
-- completion): the trigger clears it in the same statement, so that no path can leave a
-- request pending on a visit that no longer needs one. A re-plan that only changes the
-- technician or the order keeps the window, and so keeps the request; so does booking a
-- booked visit again in the window it has (staff clear the request when that was the
-- answer).
CREATE FUNCTION visits_reschedule_answered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.reschedule_requested_at := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER visits_reschedule_answered BEFORE UPDATE ON visits FOR EACH ROW
    WHEN (OLD.reschedule_requested_at IS NOT NULL
        AND NEW.reschedule_requested_at IS NOT DISTINCT FROM OLD.reschedule_requested_at
        AND (NEW.window_start IS DISTINCT FROM OLD.window_start
            OR NEW.window_end IS DISTINCT FROM OLD.window_end
            OR (NEW.status = 'booked' AND OLD.status IN ('unscheduled', 'not_completed'))
            OR (NEW.status IN ('completed', 'cancelled') AND NEW.status IS DISTINCT FROM OLD.status)))
    EXECUTE FUNCTION visits_reschedule_answered();
