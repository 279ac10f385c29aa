-- A report has at most one visit that is not finished (completed, not_completed or
-- cancelled): two open visits meant two appointments and two texts for one fault (a double
-- submit of "new visit"). A not_completed visit counts as finished here: a new visit may be
-- created after it, and booking it again is refused while another one is open (409
-- open_visit, see postgres.Visits). An incident's own visits have no report and are not
-- concerned; a visit held by an incident is still open.
--
-- The duplicates already stored are cancelled first, or the index could not be built: per
-- report, the one furthest along (on site, en route, assigned, booked, then unscheduled;
-- the oldest among equals) is kept, every other one is cancelled with a visit.cancelled
-- event (reason duplicate_open_visit) and its texts still waiting are withdrawn.
CREATE TEMPORARY TABLE one_open_visit_dups ON COMMIT DROP AS
SELECT id, report_id, technician_id, status FROM (
    SELECT id, report_id, technician_id, status,
        row_number() OVER (PARTITION BY report_id ORDER BY
            CASE status WHEN 'on_site' THEN 4 WHEN 'en_route' THEN 3 WHEN 'assigned' THEN 2 WHEN 'booked' THEN 1 ELSE 0 END DESC,
            id) AS n
    FROM visits
    WHERE report_id IS NOT NULL AND status NOT IN ('completed', 'not_completed', 'cancelled')
) AS ranked WHERE n > 1;

UPDATE visits AS v SET status = 'cancelled', hold_start = NULL, hold_end = NULL, held_until = NULL,
    version = v.version + 1, updated_at = now()
FROM one_open_visit_dups AS d WHERE d.id = v.id;

INSERT INTO events (type, actor, report_id, visit_id, technician_id, data)
SELECT 'visit.cancelled', 'system', report_id, id, technician_id,
    jsonb_build_object('from', status, 'reason', 'duplicate_open_visit')
FROM one_open_visit_dups ORDER BY id;

UPDATE sms_outbox SET state = 'cancelled', updated_at = now()
WHERE state = 'pending' AND visit_id IN (SELECT id FROM one_open_visit_dups);

CREATE UNIQUE INDEX visits_one_open_per_report ON visits (report_id)
    WHERE report_id IS NOT NULL AND status NOT IN ('completed', 'not_completed', 'cancelled');
