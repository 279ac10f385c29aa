DROP TRIGGER visits_reschedule_answered ON visits;
DROP FUNCTION visits_reschedule_answered();
DROP INDEX visits_reschedule_requested_idx;
ALTER TABLE visits DROP COLUMN reschedule_requested_at;
